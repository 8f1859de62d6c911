"""SIGTERM while a call is in flight, for each server binary: the call finishes with its real
answer, and the binary exits 0 within its drain deadline.

A call is held in flight deterministically: the test takes an ACCESS EXCLUSIVE lock on the
table the call writes (a superuser psql session on the services' database), starts the call,
waits until PostgreSQL shows the service's backend waiting on that lock, sends SIGTERM, then
releases the lock. Questions (CreateQuestion), billing (a webhook delivery on the HTTP door)
and identity (CreateUser) are drained in that order, since questions needs identity to
authenticate.

Prints `drain: FAILED at step '<step>': ...` and exits 1 on the first failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ".."),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests", "e2e"))
from suite_harness import RpcError, StepFailed, Suite, report_failure, with_db  # noqa: E402

DRAIN = 8.0  # <SVC>_GRPC_DRAIN_TIMEOUT below


class TableLock:
    """A superuser session holding ACCESS EXCLUSIVE on `table` until release()."""

    def __init__(self, url, table):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n"
                              "\\echo locked\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        if line != "locked":
            raise StepFailed(f"could not lock {table}: psql said {line!r}")

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("COMMIT;\n\\q\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


def waiting_on_lock(suite, role):
    sql = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
           f"AND usename = '{role}' AND wait_event_type = 'Lock'")
    out = subprocess.run(["psql", "-X", "-qAt", with_db(suite.admin_url, "postgres",
                                                         suite.database), "-c", sql],
                         capture_output=True, text=True, timeout=30)
    return out.returncode == 0 and out.stdout.strip() not in ("", "0")


def drain_one(suite, svc, table, call):
    """Holds `call` in flight on a lock of `table`, SIGTERMs `svc`, releases; returns what the
    call returned (or raised) and the exit status."""
    lock = TableLock(with_db(suite.admin_url, "postgres", suite.database), table)
    result = {}

    def run():
        try:
            result["value"] = call()
        except Exception as e:  # reported below, with the step
            result["error"] = e

    worker = threading.Thread(target=run)
    try:
        worker.start()
        deadline = time.monotonic() + 15
        while not waiting_on_lock(suite, f"{svc}_service"):
            if time.monotonic() > deadline or not worker.is_alive():
                raise StepFailed(f"step '{svc}': the call never waited on the lock of {table} "
                                 f"({result})")
            time.sleep(0.1)
        proc = suite.procs[svc]
        proc.send_signal(15)
        time.sleep(0.5)
        if proc.poll() is not None:
            raise StepFailed(f"step '{svc}': exited ({proc.returncode}) with a call in flight")
    finally:
        lock.release()
    worker.join(timeout=30)
    try:
        code = suite.procs[svc].wait(timeout=DRAIN + 5)
    except subprocess.TimeoutExpired:
        code = None
    return result, code


def main():
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="drain.")
    suite = None
    step = "setup"
    try:
        suite = Suite.start(workdir, extra_env={"{SVC}_GRPC_DRAIN_TIMEOUT": f"{int(DRAIN)}s",
                                                "DB_STATEMENT_TIMEOUT_MS": "20000"})
        admin = suite.call("identity", "identity.v1.IdentityService/Login", {
            "email": suite.admin_email, "password": suite.admin_password})["sessionToken"]

        step = "questions: CreateQuestion in flight at SIGTERM"
        print(f"drain: step: {step}", flush=True)
        result, code = drain_one(suite, "questions", "questions.questions", lambda: suite.call(
            "questions", "questions.v1.QuestionBankService/CreateQuestion", {
                "stem": "Drained question?", "difficulty": "QUESTION_DIFFICULTY_EASY",
                "choices": [{"text": "yes", "isCorrect": True}, {"text": "no"}]}, admin))
        if "error" in result or not result.get("value", {}).get("question", {}).get("id"):
            raise StepFailed(f"step '{step}': the in-flight call got {result}")
        if code != 0:
            raise StepFailed(f"step '{step}': exit status {code}")

        step = "billing: a webhook delivery in flight at SIGTERM"
        print(f"drain: step: {step}", flush=True)
        payload = json.dumps({"id": "evt_drain1", "object": "event", "type": "customer.created",
                              "created": int(time.time()), "livemode": False,
                              "api_version": "2024-06-20",
                              "data": {"object": {"id": "cus_drain1", "object": "customer"}}})
        result, code = drain_one(suite, "billing", "billing.stripe_events",
                                 lambda: suite.post_webhook(payload))
        if result.get("value", (None,))[0] != 200:
            raise StepFailed(f"step '{step}': the in-flight delivery got {result}")
        if code != 0:
            raise StepFailed(f"step '{step}': exit status {code}")

        step = "identity: CreateUser in flight at SIGTERM"
        print(f"drain: step: {step}", flush=True)
        result, code = drain_one(suite, "identity", "identity.users", lambda: suite.call(
            "identity", "identity.v1.IdentityService/CreateUser", {
                "email": "drained@e2e.example", "password": "drained-password-1"}))
        if "error" in result or not result.get("value", {}).get("user", {}).get("userId"):
            raise StepFailed(f"step '{step}': the in-flight call got {result}")
        if code != 0:
            raise StepFailed(f"step '{step}': exit status {code}")
    except (StepFailed, RpcError) as e:
        report_failure("drain", f"{e} (during {step})", suite)
        return 1
    finally:
        if suite:
            suite.close()
    print("drain: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

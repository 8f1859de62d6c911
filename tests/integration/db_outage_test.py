"""The three server binaries while PostgreSQL goes away and comes back.

The services reach the test database through a TCP proxy owned by this test. Cutting it
(every connection dropped, new ones refused) must turn each service's health NOT_SERVING and
make calls answer UNAVAILABLE promptly (not hang); restoring it must bring every service back
to SERVING and working calls without a restart. Finally, SIGTERM while the database is
unreachable again: each binary still exits 0 within its drain deadline.

Prints `db_outage: FAILED at step '<step>': ...` and exits 1 on the first failure.
"""
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ".."),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests", "e2e"))
from suite_harness import RpcError, StepFailed, Suite, report_failure  # noqa: E402

SERVICES = ("identity", "billing", "questions")
DRAIN = 5.0  # <SVC>_GRPC_DRAIN_TIMEOUT below


class Proxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL until cut(); restore() lets connections in."""

    def __init__(self):
        self.target = None
        self.down = False
        self.lock = threading.Lock()
        self.conns = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)

    def start(self, pg_port):
        self.target = pg_port
        threading.Thread(target=self._accept, daemon=True).start()
        return self.listener.getsockname()[1]

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            with self.lock:
                if self.down:
                    client.close()
                    continue
                try:
                    backend = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                except OSError:
                    client.close()
                    continue
                backend.settimeout(None)
                self.conns += [client, backend]
            for a, b in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.down = True
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def restore(self):
        with self.lock:
            self.down = False


class Check:
    def __init__(self):
        self.step = ""

    def __call__(self, condition, what):
        if not condition:
            raise StepFailed(f"step '{self.step}': {what}")

    def start(self, name):
        self.step = name
        print(f"db_outage: step: {name}", flush=True)


def expect_unavailable(suite, check, svc, method, body, token=None, within=10.0):
    start = time.monotonic()
    try:
        out = suite.call(svc, method, body, token, timeout=30)
        check(False, f"{method} answered OK while the database is unreachable: {out}")
    except RpcError as e:
        took = time.monotonic() - start
        check(e.code == "unavailable", f"{method}: want unavailable, got {e.code}: {e.message}")
        check(took < within, f"{method} took {took:.1f}s to say UNAVAILABLE (limit {within}s)")


def main():
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="dbout.")
    proxy = Proxy()
    check = Check()
    suite = None
    try:
        suite = Suite.start(workdir, db_proxy=proxy.start, extra_env={
            "{SVC}_GRPC_HEALTH_INTERVAL": "200ms", "{SVC}_GRPC_DRAIN_TIMEOUT": f"{int(DRAIN)}s"})

        check.start("all three SERVING and working through the proxy")
        admin = suite.call("identity", "identity.v1.IdentityService/Login", {
            "email": suite.admin_email, "password": suite.admin_password})["sessionToken"]
        suite.call("questions", "questions.v1.QuestionBankService/ListQuestions", {}, admin)

        check.start("database cut: every service turns NOT_SERVING")
        proxy.cut()
        for svc in SERVICES:
            suite.wait_health(svc, "NOT_SERVING", within=15)

        check.start("database cut: calls answer UNAVAILABLE promptly")
        expect_unavailable(suite, check, "identity", "identity.v1.IdentityService/Login",
                           {"email": suite.admin_email, "password": suite.admin_password})
        expect_unavailable(suite, check, "questions",
                           "questions.v1.QuestionBankService/ListQuestions", {}, admin)
        expect_unavailable(suite, check, "billing", "billing.v1.BillingService/ListStripeEvents",
                           {}, admin)
        status, body = suite.post_webhook(
            '{"id":"evt_outage","object":"event","type":"customer.created","created":1,'
            '"livemode":false,"api_version":"2024-06-20","data":{"object":{"id":"cus_outage",'
            '"object":"customer"}}}')
        check(status in (500, 503), f"webhook during the outage answered {status}: {body}")

        check.start("database back: every service SERVING again, without a restart")
        proxy.restore()
        for svc in SERVICES:
            suite.wait_health(svc, "SERVING", within=30)
        pids = {svc: p.pid for svc, p in suite.procs.items()}
        admin = suite.call("identity", "identity.v1.IdentityService/Login", {
            "email": suite.admin_email, "password": suite.admin_password})["sessionToken"]
        suite.call("questions", "questions.v1.QuestionBankService/ListQuestions", {}, admin)
        suite.call("billing", "billing.v1.BillingService/ListStripeEvents", {}, admin)
        check(all(suite.procs[s].pid == pids[s] and suite.procs[s].poll() is None
                  for s in SERVICES), "a service restarted or died")

        check.start("SIGTERM while the database is unreachable: exit 0 within the drain deadline")
        proxy.cut()
        for svc in SERVICES:
            suite.wait_health(svc, "NOT_SERVING", within=15)
        start = time.monotonic()
        codes = suite.stop(within=DRAIN + 5)
        took = time.monotonic() - start
        check(all(code == 0 for code in codes.values()), f"exit statuses {codes}")
        check(took < DRAIN + 5, f"stopping took {took:.1f}s")
    except (StepFailed, RpcError) as e:
        report_failure("db_outage", e, suite)
        return 1
    finally:
        proxy.restore()
        if suite:
            suite.close()
    print("db_outage: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The backup and restore drill, on a running suite under a steady write load.

The suite runs on a PostgreSQL cluster that archives its WAL (tools/pg --archive, as
tools/run starts it). While one writer per service keeps writing (identity CreateUser,
billing's Stripe webhook, questions CreateQuestion):
  1. tools/backup takes a base backup;
  2. writes go on; the test notes a target time T between two writes; writes go on;
  3. the test waits until the WAL of the last acknowledged write is archived (archive_timeout
     bounds this: it is the RPO of a restore after losing the whole cluster) and stops the
     source cluster for good;
  4. tools/restore --to T rebuilds the database into a new cluster; the suite's services are
     started on it (the RTO: restore + services SERVING).
Then every write acknowledged before T is in the restored database, no write begun after T
is, and the suite serves reads and writes from the restore. Before that, tools/restore must
refuse, with its reason, a target older than every backup, a directory that exists and a
target past the end of the archive.

Prints `drill: ...` figures, and `drill: FAILED at step '<step>': ...` on failure.
"""
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ha_lib import (DATABASE, StepFailed, UrlSuite, Writer, create_suite_database,  # noqa: E402
                    free_ports, psql, repo_root, run, stored)
from suite_harness import RpcError, report_failure  # noqa: E402

SERVICES = ("identity", "billing", "questions")


class Check:
    def __init__(self):
        self.step = ""

    def __call__(self, condition, what):
        if not condition:
            raise StepFailed(f"step '{self.step}': {what}")

    def start(self, name):
        self.step = name
        print(f"drill: step: {name}", flush=True)


def url(port, user="postgres", db="postgres"):
    return f"postgresql://{user}@127.0.0.1:{port}/{db}"


def main():
    workdir = tempfile.mkdtemp(prefix="drill.")
    os.chmod(workdir, 0o755)
    tools = os.path.join(repo_root(), "tools")
    source, restored = os.path.join(workdir, "pg"), os.path.join(workdir, "restored")
    archive, backups = os.path.join(workdir, "archive"), os.path.join(workdir, "backups")
    check = Check()
    suite = None
    writers = []
    started = []
    try:
        check.start("the suite on a cluster that archives its WAL")
        port = free_ports(2)
        run([f"{tools}/pg", "start", source, str(port), f"--archive={archive}"])
        started.append(source)
        create_suite_database(url(port), url(port, "suite_owner", DATABASE))
        target_port = port + 1
        suite = UrlSuite.start_on(lambda role: url(port, role, DATABASE), url(port, db=DATABASE),
                                  workdir)
        admin = suite.call("identity", "identity.v1.IdentityService/Login", {
            "email": suite.admin_email, "password": suite.admin_password})["sessionToken"]
        writers = [Writer(suite, svc, admin) for svc in SERVICES]
        for w in writers:
            w.start()
        time.sleep(3)

        check.start("tools/backup while the writes go on")
        t0 = time.monotonic()
        backup = run([f"{tools}/backup", "--url", url(port), "--archive", archive, backups])
        backup_seconds = time.monotonic() - t0
        size = subprocess.run(["du", "-sh", backup], capture_output=True, text=True).stdout.split()[0]
        print(f"drill: backup {os.path.basename(backup)}: {size} in {backup_seconds:.1f} s",
              flush=True)

        check.start("a target time between writes")
        time.sleep(4)
        target = time.time()
        time.sleep(4)
        for w in writers:
            w.stopping.set()
        for w in writers:
            w.join(timeout=30)
        target_text = datetime.datetime.fromtimestamp(target, datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S.%f+00")
        for w in writers:
            failed = [c for c in w.calls if c[2] != "ok"]
            check(not failed, f"{w.svc}: writes failed during the drill: {failed[:3]}")

        check.start("the last write's WAL reaches the archive (RPO)")
        last_ack = max(c[1] for w in writers for c in w.calls)
        segment = psql(url(port), "SELECT pg_walfile_name(pg_current_wal_lsn())")[0]
        while True:
            done = psql(url(port), "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")[0]
            # A backup's history file (<segment>.<offset>.backup) is archived before its
            # segment is complete: only a whole segment name counts.
            if done[:24] > segment or (len(done) == 24 and done >= segment):
                break
            check(time.time() - last_ack < 30, f"segment {segment} not archived after 30 s")
            time.sleep(0.2)
        rpo = time.time() - last_ack
        print(f"drill: the last acknowledged write was in the archive {rpo:.1f} s after it "
              f"(archive_timeout 10 s bounds it)", flush=True)

        check.start("the source is lost: services and cluster stopped")
        suite.stop()
        run([f"{tools}/pg", "stop", source])
        started.remove(source)

        check.start("tools/restore refuses what it cannot do, and says why")
        def refused(args, reason):
            out = subprocess.run([f"{tools}/restore", "--backups", backups, "--port",
                                  str(target_port), *args], capture_output=True, text=True,
                                 timeout=300)
            check(out.returncode != 0, f"tools/restore {args} succeeded")
            check(reason in out.stderr, f"tools/restore {args}: want {reason!r}, got {out.stderr}")
        before_backup = datetime.datetime.fromtimestamp(
            target - 3600, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")
        refused(["--to", before_backup, os.path.join(workdir, "r1")], "no backup in")
        os.makedirs(os.path.join(workdir, "r2"))
        refused(["--to", target_text, os.path.join(workdir, "r2")], "exists")
        # Past the archive's last commit: the server stops replay at the end of the archive.
        after_archive = datetime.datetime.fromtimestamp(
            time.time() + 3600, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")
        refused(["--to", after_archive, os.path.join(workdir, "r3")],
                "recovery ended before configured recovery target was reached")
        run([f"{tools}/pg", "stop", os.path.join(workdir, "r3")], check=False)

        check.start(f"tools/restore --to '{target_text}'")
        t0 = time.monotonic()
        out = subprocess.run([f"{tools}/restore", "--to", target_text, "--backups", backups,
                              "--port", str(target_port), restored], capture_output=True,
                             text=True, timeout=600)
        started.append(restored)
        check(out.returncode == 0, f"tools/restore failed: {out.stderr}")
        restore_seconds = time.monotonic() - t0
        suite.url_for = lambda role: url(target_port, role, DATABASE)
        for svc in SERVICES:
            suite.start_service(svc)
        rto = time.monotonic() - t0
        print(f"drill: restored in {restore_seconds:.1f} s; the suite SERVING from it "
              f"{rto:.1f} s after tools/restore began (RTO)", flush=True)

        check.start("every write acknowledged before the target is there, none begun after")
        before = after = 0
        for w in writers:
            acked_before = [c[3] for c in w.calls if c[2] == "ok" and c[1] < target]
            begun_after = [c[3] for c in w.calls if c[2] == "ok" and c[0] > target]
            found = stored(url(target_port, db=DATABASE), w.svc,
                           acked_before + begun_after)
            missing = sorted(set(acked_before) - found)
            extra = sorted(set(begun_after) & found)
            print(f"drill: {w.svc}: {len(acked_before)} writes acknowledged before the target, "
                  f"{len(missing)} missing; {len(begun_after)} begun after it, {len(extra)} "
                  f"present", flush=True)
            check(acked_before and begun_after, f"{w.svc}: writes on only one side of the target")
            check(not missing, f"{w.svc}: writes acknowledged before the target missing: {missing}")
            check(not extra, f"{w.svc}: writes begun after the target present: {extra}")
            before += len(acked_before)
            after += len(begun_after)

        check.start("the suite serves reads and writes from the restore")
        admin = suite.call("identity", "identity.v1.IdentityService/Login", {
            "email": suite.admin_email, "password": suite.admin_password})["sessionToken"]
        listed = suite.call("questions", "questions.v1.QuestionBankService/ListQuestions",
                            {"pageSize": 5}, admin)
        check(listed.get("questions"), f"no questions listed from the restore: {listed}")
        probe = Writer(suite, "questions", admin)
        probe.write("after-restore")
        check(stored(url(target_port, db=DATABASE), "questions", ["after-restore"]),
              "a write on the restored suite is not stored")
        print(f"drill: passed with {before} writes before the target restored and {after} after "
              f"it left out", flush=True)
    except (StepFailed, RpcError) as e:
        for w in writers:
            w.stopping.set()
        report_failure("drill", e, suite)
        return 1
    finally:
        if suite:
            suite.stop()
        for cluster in started:
            run([f"{tools}/pg", "stop", cluster], check=False)
    shutil.rmtree(workdir, ignore_errors=True)  # kept after a failure, for its logs
    return 0


if __name__ == "__main__":
    # Bazel's timeout sends SIGTERM first: leave through main's `finally`, which stops the
    # clusters and servers this test started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())

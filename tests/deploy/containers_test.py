"""The suite as containers: the images of deploy/docker (their runtime stage, fed with the
binaries Bazel built: `tools/images --binaries`, no compiler runs) started with podman as a
deployment starts them — host network, the image's non-root user, read-only root file system,
every capability dropped, no privilege escalation — and driven only from outside:

  a fresh database of tools/test's PostgreSQL → the migrate image runs `up` → identity,
  billing, questions containers → grpc.health.v1.Health SERVING → the e2e flow through
  `buf curl` (sign up, login, signed Stripe webhooks, an exam practice session) and the
  operator doors → `podman stop` (SIGTERM) drains every container, which exits 0.

Skipped (exit 0, `containers: SKIPPED: ...`) only when this machine cannot run containers at
all (tools/install-podman fails, or podman cannot start the base image). Every container and
image it made is removed on the way out, also when it is interrupted.
"""
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.getcwd()),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests/e2e"))

from flow import Flow  # noqa: E402
import suite_harness  # noqa: E402
from suite_harness import StepFailed, Suite, report_failure, with_db  # noqa: E402
from podman_images import build_images, image, podman, remove_images, unusable  # noqa: E402

# Longer than the services' drain deadline (GRPC_DRAIN_TIMEOUT, 20 s by default): a container
# that needs the SIGKILL podman sends after this many seconds did not drain.
STOP_SECONDS = 40


class Container:
    """What Suite needs of a started service (poll, returncode) for a podman container."""

    def __init__(self, name):
        self.name = name
        self.returncode = None

    def state(self):
        out = podman("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", self.name,
                     check=False, timeout=30)
        if out.returncode != 0:
            return False, -1  # gone: nothing removes these containers before close()
        running, code = out.stdout.split()
        return running == "true", int(code)

    def poll(self):
        running, code = self.state()
        if running:
            return None
        self.returncode = code
        return code


class ContainerSuite(Suite):
    def __init__(self, workdir, tag, run_id):
        super().__init__(workdir)
        self.tag = tag
        self.run_id = run_id
        self.names = {}

    def image(self, name):
        return image(name, self.tag)

    def _create_database(self):
        admin = os.environ.get("SUITE_TEST_PG_URL")
        if not admin:
            raise StepFailed("setup: SUITE_TEST_PG_URL is not set (run through tools/test)")
        self.admin_url = admin
        self.database = f"containers_{secrets.token_hex(6)}"
        suite_harness.psql(admin, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                           "'suite_owner') THEN CREATE ROLE suite_owner LOGIN CREATEROLE; END IF; "
                           "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        suite_harness.psql(admin, f"CREATE DATABASE {self.database} OWNER suite_owner")
        print("containers: step: the migrate image runs `up` as the owner", flush=True)
        out = podman("run", "--rm", "--name", f"{self.run_id}-migrate", *self.hardening(),
                     "-e", f"DATABASE_URL={with_db(admin, 'suite_owner', self.database)}",
                     self.image("migrate"), "up", check=False, timeout=180)
        if out.returncode != 0:
            raise StepFailed(f"setup: migrate image `up` exited {out.returncode}: "
                             f"{out.stderr.strip()}{out.stdout.strip()}")
        status = podman("run", "--rm", "--name", f"{self.run_id}-migrate", *self.hardening(),
                        "-e", f"DATABASE_URL={with_db(admin, 'suite_owner', self.database)}",
                        self.image("migrate"), check=False, timeout=120)
        # The image's default command; it exits 1 while a migration is pending or broken.
        if status.returncode != 0:
            raise StepFailed(f"setup: migrate image `status` after `up` ({status.returncode}): "
                             f"{status.stdout.strip()}{status.stderr.strip()}")

    @staticmethod
    def hardening():
        """What deploy/k8s's securityContext asks of every pod, as podman flags; the user is
        the image's own (USER 10001), which run() checks."""
        return ["--network", "host", "--read-only", "--cap-drop", "all",
                "--security-opt", "no-new-privileges", "--pull", "never"]

    def _start_all(self):
        # The environment and ports are suite_up's (--dry_run, through _env); podman runs them.
        for svc in ("identity", "billing", "questions"):
            self.start_service(svc)

    def start_service(self, svc):
        name = f"{self.run_id}-{svc}"
        self.names[svc] = name
        self.logs[svc] = os.path.join(self.workdir, f"{svc}.log")
        env = self._env(svc)
        args = ["run", "--detach", "--name", name, *self.hardening()]
        for k, v in sorted(env.items()):
            args += ["--env", f"{k}={v}"]
        podman(*args, self.image(svc))
        self.procs[svc] = Container(name)
        self.wait_health(svc, "SERVING", within=60.0)

    def save_log(self, svc):
        out = podman("logs", self.names[svc], check=False, timeout=30)
        with open(self.logs[svc], "w") as f:
            f.write(out.stdout + out.stderr)

    def tail(self, svc, lines=20):
        if svc in self.names:
            self.save_log(svc)
        return super().tail(svc, lines)

    def stop(self, within=STOP_SECONDS, only=None):
        """`podman stop` (SIGTERM, then SIGKILL after `within` s) to every running container,
        all at once; returns each exit status (None: it needed the SIGKILL)."""
        chosen = {svc: c for svc, c in self.procs.items() if only is None or svc in only}
        stoppers = {svc: subprocess.Popen(["podman", "stop", "--time", str(int(within)), c.name],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    for svc, c in chosen.items() if c.poll() is None}
        for p in stoppers.values():
            p.wait(timeout=within + 60)
        codes = {}
        for svc, c in chosen.items():
            code = c.poll()
            codes[svc] = None if code in (137, None) else code
        return codes

    def close(self):
        try:
            self.stop()
        finally:
            for svc in list(self.names):
                self.save_log(svc)
            for name in self.names.values():
                podman("rm", "--force", "--time", "0", name, check=False, timeout=60)
            self.drop_database()


def interrupted(signum, frame):
    raise KeyboardInterrupt()


def skip(reason):
    print(f"containers: SKIPPED: {reason}")
    return 0


def main():
    root = suite_harness.repo_root()
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="containers.")
    run_id = f"suite-ct-{secrets.token_hex(4)}"
    tag = run_id.removeprefix("suite-")

    reason = unusable(root)
    if reason:
        return skip(reason)

    suite = None
    # A timeout or Ctrl-C must still remove the containers: turn SIGTERM into an exception
    # that unwinds through the `finally` blocks below.
    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    try:
        print("containers: step: images from the host-built binaries (tools/images --binaries)",
              flush=True)
        build_images(root, tag)

        suite = ContainerSuite(workdir, tag, run_id)
        suite._create_database()
        print("containers: step: identity, billing, questions containers answer Health SERVING",
              flush=True)
        suite._start_all()
        for svc, name in suite.names.items():
            user = podman("exec", name, "id", "-u").stdout.strip()
            if user in ("", "0"):
                raise StepFailed(f"step 'non-root': {svc} runs as uid {user!r}")
            wrote = podman("exec", name, "sh", "-c", "touch /app/x", check=False)
            if wrote.returncode == 0:
                raise StepFailed(f"step 'read-only': {svc} could write to its root file system")

        flow = Flow(suite, log=lambda line: print(line.replace("e2e:", "containers:"), flush=True))
        flow.run()
        flow.operator_doors()

        print("containers: step: podman stop (SIGTERM) drains every container, exit status 0",
              flush=True)
        codes = suite.stop()
        if any(code != 0 for code in codes.values()):
            raise StepFailed(f"step 'podman stop': exit statuses {codes} (None: SIGKILLed after "
                             f"{STOP_SECONDS}s)")
    except StepFailed as e:
        report_failure("containers", e, suite)
        return 1
    except KeyboardInterrupt:
        print("containers: interrupted; removing containers", file=sys.stderr)
        return 1
    finally:
        if suite:
            suite.close()
        remove_images(tag)
    print(f"containers: passed in {time.monotonic() - started:.0f}s (logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Starts the three built server binaries against a fresh, migrated database (through
tests/harness/suite_up, the one harness that starts the suite) and talks to them only through
their public doors: gRPC with `buf curl` (server reflection, JSON) and billing's
Stripe webhook over HTTP.

    suite = Suite.start(workdir)          # fresh database, migrate, three binaries, health
    token = suite.call("identity", "identity.v1.IdentityService/Login", {...})["sessionToken"]
    suite.post_webhook(event_json)        # signed with the suite's webhook secret
    codes = suite.stop()                  # SIGTERM each; {"identity": 0, ...}

Used by tests/e2e (the flow) and tests/logs (the flow, then a scan of every service's stdout).
Needs SUITE_TEST_PG_URL (a superuser URL, from tools/test) and the repository root (for
node_modules/.bin/buf) from SUITE_REPO_ROOT or the runfiles' symlinks.
"""
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

WORKSPACE = os.environ.get("TEST_WORKSPACE", "suite")
RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", os.getcwd()), WORKSPACE)
BINARIES = {
    "identity": "services/identity/identity_server",
    "billing": "services/billing/billing_server",
    "questions": "services/questions/questions_server",
}
MIGRATE = "migrations/migrate"
MIGRATIONS = "migrations"
SUITE_UP = "tests/harness/suite_up"


class StepFailed(Exception):
    """A step of a flow did not do what it should; the message names the step."""


class RpcError(Exception):
    def __init__(self, method, code, message):
        super().__init__(f"{method} -> {code}: {message}")
        self.method = method
        self.code = code
        self.message = message


def repo_root():
    root = os.environ.get("SUITE_REPO_ROOT")
    if root:
        return root
    # Runfiles are symlinks into the work tree.
    marker = os.path.realpath(os.path.join(RUNFILES, "tests/e2e/suite_harness.py"))
    return marker[: -len("/tests/e2e/suite_harness.py")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_db(url, user, dbname, port=None):
    """`url` with its user and database (and port) replaced (the test cluster trusts loopback)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}:{port or parts.port or 5432}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, ""))


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   capture_output=True, text=True, timeout=60)


def make_test_pki(workdir):
    """A throw-away CA and one server certificate for localhost in `workdir` (tests/e2e/
    test_pki.sh: ca.crt, tls.crt, tls.key); returns the CA certificate's path."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_pki.sh")
    proc = subprocess.run([script, workdir], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise StepFailed(f"test_pki.sh {workdir}: {proc.stderr.strip()}")
    return os.path.join(workdir, "ca.crt")


def report_failure(test, message, suite):
    """Prints `<test>: FAILED at <message>` to stderr and, when `suite` started, stops it and
    prints the end of every service's log, which usually says why."""
    print(f"{test}: FAILED at {message}", file=sys.stderr)
    if suite:
        suite.stop()
        for svc in suite.logs:
            print(f"--- end of {svc}'s log ---\n{suite.tail(svc)}", file=sys.stderr)


class Proc:
    """One service process of the running suite_up, with what tests used of subprocess.Popen:
    pid, poll(), wait(timeout), send_signal(sig), kill() and returncode (negative: the signal
    that ended it, as Popen has it)."""

    def __init__(self, suite, svc, pid):
        self.suite, self.svc, self.pid = suite, svc, pid
        self.returncode = None

    def _note(self, reply):
        if reply.get("exited"):
            code = reply.get("exit_code")
            self.returncode = -(code - 128) if code is not None and code > 128 else code
        return self.returncode

    def poll(self):
        if self.returncode is None:
            self._note(self.suite.control("poll", self.svc, 0))
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            reply = self.suite.control("wait", self.svc, 0, timeout if timeout else 3600)
            if not reply.get("exited"):
                raise subprocess.TimeoutExpired(f"{self.svc} (pid {self.pid})", timeout)
            self._note(reply)
        return self.returncode

    def send_signal(self, sig):
        self.suite.control("signal", self.svc, 0, int(sig))

    def kill(self):
        self._note(self.suite.control("kill", self.svc, 0))


class Suite:
    def __init__(self, workdir, extra_env=None, tls_ca=None, health_ports=False):
        self.workdir = workdir
        # Extra variables for every service, e.g. a short health interval; "{SVC}" in a name
        # becomes the service's prefix (IDENTITY, ...).
        self.extra_env = extra_env or {}
        # When set, the gRPC ports serve TLS and `buf curl` trusts this CA file.
        self.tls_ca = tls_ca
        # When true, each service also serves its plaintext health port (<SVC>_HEALTH_PORT),
        # reachable as the service name "<svc>_health" in call() and addr().
        self.health_ports = health_ports
        # When set, the services reach PostgreSQL through this local port (a test's proxy).
        self.service_db_port = None
        self.buf = os.path.join(repo_root(), "node_modules", ".bin", "buf")
        self.procs = {}
        self.logs = {}
        self.ports = {}
        self.webhook_secret = "whsec_" + secrets.token_hex(24)
        self.admin_email = f"admin-{secrets.token_hex(4)}@e2e.example"
        self.admin_password = "Adm1n-" + secrets.token_urlsafe(18)
        self.page_secrets = {svc: secrets.token_hex(32) for svc in BINARIES}
        self.database = None
        self.admin_url = None
        # suite_up's flags that create and migrate the database (see _create_database).
        self.setup_args = []
        self.suite_up = None
        # Where suite_up's own messages go (None: this process's stderr).
        self.suite_up_stderr = None
        self.plan = None
        self.lock = threading.Lock()

    # ---- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, workdir, extra_env=None, db_proxy=None, tls_ca=None, health_ports=False):
        """db_proxy(pg_port) -> local port: called after the database is chosen, before the
        services start; they then connect through the returned port. tls_ca, health_ports:
        see __init__."""
        suite = cls(workdir, extra_env, tls_ca, health_ports)
        suite._create_database()
        if db_proxy:
            suite.service_db_port = db_proxy(urllib.parse.urlsplit(suite.admin_url).port or 5432)
        suite._start_all()
        return suite

    def _create_database(self):
        """Names a fresh database of tools/test's cluster; suite_up creates and migrates it."""
        admin = os.environ.get("SUITE_TEST_PG_URL")
        if not admin:
            raise StepFailed("setup: SUITE_TEST_PG_URL is not set (run through tools/test)")
        self.admin_url = admin
        self.database = f"e2e_{secrets.token_hex(6)}"
        self.setup_args = [f"--admin_url={admin}", f"--create_database={self.database}",
                           "--migrate"]

    def url_as(self, role):
        return with_db(self.admin_url, role, self.database, self.service_db_port)

    def _expanded_env(self, svc):
        return {k.replace("{SVC}", svc.upper()): v for k, v in self.extra_env.items()}

    def _suite_up_args(self):
        """The suite as tests/harness/suite_up starts it (the one harness: tests/harness)."""
        args = [os.path.join(RUNFILES, SUITE_UP), f"--binaries_dir={RUNFILES}",
                f"--logs_dir={self.workdir}", f"--database_url={self.url_as('{role}')}",
                "--metrics", "--serving_timeout_s=30", f"--webhook_secret={self.webhook_secret}",
                f"--admin_email={self.admin_email}", f"--admin_password={self.admin_password}",
                "--page_token_secret=" + ",".join(f"{k}={v}" for k, v in self.page_secrets.items()),
                "--env=DB_POOL_SIZE=4", "--env=DB_CONNECT_TIMEOUT_S=2"]
        if self.health_ports:
            args.append("--health_ports")
        if self.tls_ca:
            args += [f"--tls_ca={self.tls_ca}",
                     f"--tls_cert={self.extra_env['{SVC}_TLS_CERT_FILE']}",
                     f"--tls_key={self.extra_env['{SVC}_TLS_KEY_FILE']}"]
        args += [f"--env={k}={v}" for k, v in self.extra_env.items()]
        return args

    def _note_ports(self, services):
        for svc, replicas in services.items():
            if not replicas:
                continue
            r = replicas[0]
            self.ports[svc] = r["port"]
            self.logs[svc] = r["log"]
            for key, name in (("metrics_port", f"{svc}_metrics"), ("health_port", f"{svc}_health"),
                              ("webhook_port", "webhook")):
                if key in r:
                    self.ports[name] = r[key]

    def _env(self, svc):
        """The environment suite_up gives `svc` (its ports chosen once), for a subclass that
        runs the services some other way (tests/deploy's containers)."""
        if self.plan is None:
            proc = subprocess.run(self._suite_up_args() + ["--dry_run"], capture_output=True,
                                  text=True, timeout=60)
            if proc.returncode != 0:
                raise StepFailed(f"setup: suite_up --dry_run: {proc.stderr.strip()}")
            self.plan = json.loads(proc.stdout)
            self._note_ports(self.plan["services"])
        env = dict(self.plan["env"][svc][0])
        env.update(self._expanded_env(svc))
        return env

    def _start_all(self):
        """Starts suite_up (which creates and migrates the database when asked, then starts the
        three services and waits for SERVING) and keeps it as the suite's controller."""
        self.suite_up = subprocess.Popen(self._suite_up_args() + self.setup_args,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.suite_up_stderr, text=True, bufsize=1)
        up = self._read()
        if up.get("event") != "up":
            self.suite_up.wait(timeout=60)
            raise StepFailed(f"setup: {up.get('error', up)}")
        self._note_ports(up["services"])
        for svc, replicas in up["services"].items():
            if replicas:  # a service started with no replica (--replicas=identity=0,...)
                self.procs[svc] = Proc(self, svc, replicas[0]["pid"])

    def _read(self):
        """The next answer of suite_up, past the events of services exiting on their own."""
        while True:
            line = self.suite_up.stdout.readline()
            if not line:
                return {"event": "failed", "error": "suite_up ended"}
            msg = json.loads(line)
            if msg.get("event") != "exited":
                return msg

    def control(self, *words):
        """One command to suite_up (tests/harness/suite_up.cc); returns its answer."""
        with self.lock:
            if self.suite_up is None or self.suite_up.poll() is not None:
                raise StepFailed(f"suite_up is not running (command {words})")
            self.suite_up.stdin.write(json.dumps([str(w) for w in words]) + "\n")
            self.suite_up.stdin.flush()
            return self._read()

    def start_service(self, svc):
        """Starts (or restarts) one binary, appending to its log, and waits for SERVING (with
        extra_env and url_as as they are now)."""
        overrides = dict(self._expanded_env(svc), DATABASE_URL=self.url_as(f"{svc}_service"))
        reply = self.control("start", svc, 0, *(f"{k}={v}" for k, v in overrides.items()))
        if not reply.get("ok"):
            raise StepFailed(f"setup: {svc}: {reply.get('error')}")
        self.procs[svc] = Proc(self, svc, reply["pid"])

    def health(self, svc):
        try:
            return self.call(svc, "grpc.health.v1.Health/Check", {}, timeout=5).get("status", "")
        except RpcError as e:
            return e.code

    def wait_health(self, svc, want, within=30.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            proc = self.procs[svc]
            if proc.poll() is not None:
                raise StepFailed(f"setup: {svc} exited with {proc.returncode} before {want}; "
                                 f"log:\n{self.tail(svc)}")
            if self.health(svc) == want:
                return
            time.sleep(0.2)
        raise StepFailed(f"setup: {svc} not {want} within {within}s; log:\n{self.tail(svc)}")

    def tail(self, svc, lines=20):
        with open(self.logs[svc], errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self, within=30.0, only=None):
        """SIGTERM to every service (or those in `only`); returns each exit status (None: had
        to be killed after `within` seconds)."""
        codes = {}
        procs = {svc: p for svc, p in self.procs.items() if only is None or svc in only}
        if self.suite_up is None or self.suite_up.poll() is not None:
            return {svc: p.returncode for svc, p in procs.items()}
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for svc, proc in procs.items():
            try:
                codes[svc] = proc.wait(timeout=within)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[svc] = None
        return codes

    def drop_database(self):
        if self.database:
            try:
                psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            except subprocess.SubprocessError:
                pass

    def close(self):
        """Stops whatever still runs, ends suite_up and drops the database: a test's
        `finally`."""
        self.stop()
        if self.suite_up is not None:
            try:
                self.suite_up.stdin.close()  # EOF: suite_up stops what is left and exits
                self.suite_up.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.suite_up.kill()
                self.suite_up.wait()
        self.drop_database()

    # ---- doors -------------------------------------------------------------------------------

    def addr(self, svc):
        return f"127.0.0.1:{self.ports[svc]}"

    def _scheme(self, svc):
        return "https" if self.tls_ca and not svc.endswith("_health") else "http"

    def _transport(self, svc):
        """buf curl's flags for `svc`'s port: HTTP/2 without TLS, or TLS trusting tls_ca (a
        health port is always plaintext)."""
        if self._scheme(svc) == "https":
            return ["--cacert", self.tls_ca]
        return ["--http2-prior-knowledge"]

    def call(self, svc, method, body, token=None, stream=None, timeout=30):
        """One RPC through `buf curl` (reflection, JSON). Raises RpcError with the gRPC code
        in buf's lower-case form ("permission_denied")."""
        args = [self.buf, "curl", "--protocol", "grpc", *self._transport(svc),
                "--timeout", f"{timeout}s", "-d", "@-"]
        if token:
            args += ["-H", "@-"]
        args.append(f"{self._scheme(svc)}://{self.addr(svc)}/{method}")
        messages = stream if stream is not None else [body]
        stdin = (f"Authorization: Bearer {token}\n\n" if token else "") + "\n".join(
            json.dumps(m) for m in messages)
        proc = subprocess.run(args, input=stdin, capture_output=True, text=True,
                              timeout=timeout + 15)
        if proc.returncode != 0:
            try:
                err = json.loads(proc.stderr)
            except ValueError:
                raise RpcError(method, "transport", proc.stderr.strip()) from None
            raise RpcError(method, err.get("code", "unknown"), err.get("message", ""))
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    def list_services(self, svc):
        """The services `svc` lists through server reflection."""
        proc = subprocess.run([self.buf, "curl", "--protocol", "grpc", *self._transport(svc),
                               "--list-services", f"{self._scheme(svc)}://{self.addr(svc)}"],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RpcError("list-services", "transport", proc.stderr.strip())
        return proc.stdout.split()

    def metrics(self, svc):
        """The text of `svc`'s Prometheus endpoint."""
        url = f"http://127.0.0.1:{self.ports[svc + '_metrics']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read().decode()

    def sign(self, payload, at=None):
        t = int(at if at is not None else time.time())
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256)
        return f"t={t},v1={mac.hexdigest()}"

    def post_webhook(self, payload, signature=None):
        """POSTs a Stripe event to billing's HTTP door; returns (status, body)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['webhook']}/webhooks/stripe", data=payload.encode(),
            method="POST", headers={"Content-Type": "application/json",
                                    "Stripe-Signature": signature or self.sign(payload)})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

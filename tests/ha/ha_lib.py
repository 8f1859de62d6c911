"""What the high-availability and recovery tests share: a pg_auto_failover pair (tools/pg-ha)
with the suite's database on it, a Suite whose services connect to a database of the test's
choosing (the pair's multi-host URL), and writers that record every acknowledged write.

    ha = HaPair.start(workdir)           # monitor + primary + synchronous standby
    ha.create_suite_database()           # the suite's roles and schema, migrated
    suite = UrlSuite.start_on(lambda role: ha.url(role, "suite"), ha.url(db="suite"), workdir)
    writers = [Writer(suite, svc, admin_token) for svc in ("identity", "billing", "questions")]
    ...
    suite.stop(); ha.stop()
"""
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ".."),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests", "e2e"))
from suite_harness import (MIGRATE, MIGRATIONS, RUNFILES, RpcError, StepFailed, Suite,  # noqa: E402,F401
                           repo_root)

DATABASE = "suite"


def free_ports(count):
    """`count` consecutive TCP ports on 127.0.0.1 that nothing listens on, below the
    kernel's ephemeral range (so no client socket takes one meanwhile)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        busy = False
        for port in range(base, base + count):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    busy = True
                    break
        if not busy:
            return base
    raise StepFailed("setup: no free ports")


def run(args, timeout=180, check=True, env=None):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise StepFailed(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    return proc.stdout.strip()


def psql(url, sql, timeout=60):
    """Runs `sql`; returns its rows as a list of '|'-separated strings."""
    out = run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql], timeout=timeout)
    return [line for line in out.splitlines() if line]


class HaPair:
    def __init__(self, directory, port):
        self.dir = directory
        self.port = port
        self.tool = os.path.join(repo_root(), "tools", "pg-ha")

    @classmethod
    def start(cls, workdir):
        directory = os.path.join(workdir, "ha")
        os.makedirs(directory, exist_ok=True)
        os.chmod(workdir, 0o755)
        pair = cls(directory, free_ports(3))
        run([pair.tool, "start", directory, str(pair.port)], timeout=300)
        return pair

    def stop(self):
        run([self.tool, "stop", self.dir], timeout=120, check=False)

    def url(self, user="postgres", db="postgres"):
        return run([self.tool, "url", self.dir, user, db])

    def monitor_url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/pg_auto_failover"

    def node_url(self, node, db="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port + int(node[-1])}/{db}"

    def nodes(self):
        """{node name: (reported state, goal state)} from the monitor."""
        rows = psql(self.monitor_url(),
                    "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node")
        return {r.split("|")[0]: tuple(r.split("|")[1:]) for r in rows}

    def primary(self):
        """The node that takes writes: primary, or wait_primary (promoted, its standby not
        caught up yet: it commits without waiting for one)."""
        for name, (reported, goal) in self.nodes().items():
            if reported == goal and reported in ("primary", "wait_primary"):
                return name
        raise StepFailed(f"no settled primary: {self.nodes()}")

    def postmaster_pid(self, node):
        with open(os.path.join(self.dir, node, "postmaster.pid")) as f:
            return int(f.readline())

    def run_node(self, node):
        """Starts the keeper of `node` again (after its whole process group was killed)."""
        run([self.tool, "run-node", self.dir, node])

    def wait_settled(self, within):
        """Waits until one node is primary and the other secondary, both settled; returns
        {"primary": name, "secondary": name}."""
        deadline = time.monotonic() + within
        last = {}
        while time.monotonic() < deadline:
            try:
                last = self.nodes()
            except StepFailed:
                last = {}
            roles = {reported: name for name, (reported, goal) in last.items() if reported == goal}
            if set(roles) == {"primary", "secondary"} and len(last) == 2:
                return roles
            time.sleep(0.2)
        raise StepFailed(f"the pair did not settle as primary + secondary within {within}s: {last}")

    def create_suite_database(self):
        create_suite_database(self.url(), self.url("suite_owner", DATABASE))


class UrlSuite(Suite):
    """The suite's three services on a database of the test's own: `url_for(role)` gives each
    service's DATABASE_URL (for the HA pair, both nodes and target_session_attrs=read-write).
    Setting url_for and calling start_service again moves a service to another database."""

    @classmethod
    def start_on(cls, url_for, admin_url, workdir, extra_env=None):
        suite = cls(workdir, extra_env)
        suite.url_for = url_for
        suite.database = DATABASE
        suite.admin_url = admin_url
        suite._start_all()
        return suite

    def url_as(self, role):
        return self.url_for(role)

    def drop_database(self):
        pass  # the test throws its clusters away whole


def create_suite_database(admin_url, owner_url):
    """The suite's owner role, database and schema on a fresh cluster."""
    psql(admin_url, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                    "'suite_owner') THEN CREATE ROLE suite_owner LOGIN CREATEROLE; END IF; END $$")
    psql(admin_url, f"CREATE DATABASE {DATABASE} OWNER suite_owner")
    run([os.path.join(RUNFILES, MIGRATE), f"--migrations_dir={os.path.join(RUNFILES, MIGRATIONS)}",
         "up"], env=dict(os.environ, DATABASE_URL=owner_url))


class Writer(threading.Thread):
    """Writes to one service until stopped, each write with a key of its own (identity
    CreateUser, questions CreateQuestion, billing's Stripe webhook); records every call as
    (start, end, outcome, key), times from time.time(), outcome "ok" or the gRPC code (or
    http_<status>)."""

    def __init__(self, suite, svc, admin):
        super().__init__(daemon=True)
        self.suite, self.svc, self.admin = suite, svc, admin
        self.calls = []
        self.stopping = threading.Event()

    def write(self, key):
        s = self.suite
        if self.svc == "identity":
            s.call("identity", "identity.v1.IdentityService/CreateUser", {
                "email": f"{key}@ha.example", "password": "Ha-pass-" + secrets.token_hex(8),
                "firstName": "Ha", "lastName": "Writer"}, timeout=20)
        elif self.svc == "questions":
            s.call("questions", "questions.v1.QuestionBankService/CreateQuestion", {
                "stem": f"HA question {key}: which choice is right?",
                "explanation": "A.", "difficulty": "QUESTION_DIFFICULTY_EASY",
                "choices": [{"text": "A", "isCorrect": True}, {"text": "B"}],
                "externalKey": key}, self.admin, timeout=20)
        else:
            payload = ('{"id":"evt_%s","object":"event","type":"customer.created","created":1,'
                       '"livemode":false,"api_version":"2024-06-20","data":{"object":'
                       '{"id":"cus_%s","object":"customer"}}}' % (key, key))
            status, body = s.post_webhook(payload)
            if status != 200:
                raise RpcError("webhook", f"http_{status}", body[:200])

    def run(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            key = f"ha{self.svc[0]}{n}x{secrets.token_hex(3)}"
            start = time.time()
            try:
                self.write(key)
                outcome = "ok"
            except RpcError as e:
                outcome = e.code
            except Exception as e:  # noqa: BLE001 - the client itself timed out or failed
                outcome = f"client:{type(e).__name__}"
            self.calls.append((start, time.time(), outcome, key))
            if outcome != "ok":
                time.sleep(0.05)


def stored(url, svc, keys):
    """Which of `keys` (a Writer's) the database at `url` holds."""
    if not keys:
        return set()
    quoted = ",".join(f"'{k}'" for k in keys)
    sql = {
        "identity": "SELECT split_part(email, '@', 1) FROM identity.users WHERE email IN "
                    f"({','.join(repr(k + '@ha.example') for k in keys)})",
        "questions": f"SELECT external_key FROM questions.questions WHERE external_key IN ({quoted})",
        "billing": "SELECT substr(stripe_event_id, 5) FROM billing.stripe_events WHERE "
                   f"stripe_event_id IN ({','.join(repr('evt_' + k) for k in keys)})",
    }[svc]
    return set(psql(url, sql))

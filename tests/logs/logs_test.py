"""Runs the end-to-end flow (tests/e2e/flow.py) against the three built binaries, captures
every service's stdout and stderr, then reads the logs as an operator would:

- nothing secret: every token, password, webhook secret/signature and page-token secret the
  flow used or received is searched for literally, plus patterns: argon2id hashes, `whsec_`,
  `Bearer `, and 13–19 digit card numbers that pass the Luhn check;
- one JSON object per line, and one `"event":"rpc"` line per RPC served: per method, the count
  equals the service's own grpc_server_handled_total (successful health checks are counted but
  not logged, by design), each with method, code, latency_ms and a request id;
- caller ids: authenticated calls name the caller's user id, anonymous ones none;
- request ids: questions' call to billing's GetEntitlement carries the request id of the
  StartPracticeSession that caused it.

Prints every finding and exits 1 when there is any.
"""
import json
import os
import re
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ".."),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests", "e2e"))
from flow import Flow  # noqa: E402
from suite_harness import StepFailed, Suite  # noqa: E402

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PATTERNS = {
    "argon2id hash": re.compile(r"\$argon2id\$"),
    "Stripe webhook secret": re.compile(r"whsec_"),
    "bearer credential": re.compile(r"Bearer\s", re.IGNORECASE),
}
DIGITS = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def luhn(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Server streams a caller keeps open for the life of its process.
LONG_LIVED_STREAMS = ("/grpc.health.v1.Health/Watch", "/identity.v1.IdentityService/WatchRevocations")


def handled_by_method(port):
    """grpc_server_handled_total summed over codes: {"/pkg.Service/Method": count}, without
    successful health checks (probes are counted, not logged)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts = {}
    for line in text.splitlines():
        m = re.match(r'grpc_server_handled_total\{grpc_service="([^"]*)",grpc_method="([^"]*)"'
                     r'[^}]*\} (\S+)$', line)
        if m:
            if m.group(1) == "grpc.health.v1.Health" and 'grpc_code="OK"' in line:
                continue  # counted but deliberately not logged (shared/rpc/server/call_interceptor.h)
            key = f"/{m.group(1)}/{m.group(2)}"
            counts[key] = counts.get(key, 0) + int(float(m.group(3)))
    return counts


def scan(suite, known, user_ids, handled):
    findings = []
    rpc_lines = {}
    for svc, path in suite.logs.items():
        with open(path, errors="replace") as f:
            text = f.read()
        for what, value in known.items():
            if value and value in text:
                findings.append(f"{svc}: the {what} appears in the log")
        for what, pattern in PATTERNS.items():
            if pattern.search(text):
                findings.append(f"{svc}: a {what} appears in the log")
        for m in DIGITS.finditer(text):
            if luhn(m.group()):
                findings.append(f"{svc}: a card-like number {m.group()[:4]}… appears in the log")
        lines = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                findings.append(f"{svc}:{n}: not a JSON line: {line[:120]}")
                continue
            if not isinstance(entry, dict):
                findings.append(f"{svc}:{n}: not a JSON object: {line[:120]}")
            elif entry.get("event") == "rpc":
                lines.append(entry)
                for field in ("method", "code", "latency_ms", "request_id"):
                    if field not in entry or entry[field] in ("", None):
                        findings.append(f"{svc}:{n}: RPC line without {field}: {line[:160]}")
                if not isinstance(entry.get("latency_ms"), (int, float)):
                    findings.append(f"{svc}:{n}: latency_ms is not a number: {line[:160]}")
        rpc_lines[svc] = lines
        logged = {}
        for e in lines:
            # The callers hold some streams open until the servers stop: their health-checking
            # channels' grpc.health.v1.Health/Watch, and billing's and questions' revocation
            # subscriptions. Those end (and are logged) after the counters were read, so only
            # streams of these kinds that ended by then are compared.
            if (e.get("method") in LONG_LIVED_STREAMS
                    and str(e.get("time", "")) > handled[svc].get("_read_at", "~")):
                continue
            logged[e.get("method")] = logged.get(e.get("method"), 0) + 1
        for method in sorted(set(logged) | set(handled[svc])):
            if method == "_read_at":
                continue
            if logged.get(method, 0) != handled[svc].get(method, 0):
                findings.append(f"{svc}: {method}: {logged.get(method, 0)} RPC log lines, but "
                                f"the service counted {handled[svc].get(method, 0)} RPCs "
                                "(grpc_server_handled_total)")

    def lines_of(svc, method):
        return [e for e in rpc_lines[svc] if e.get("method", "").endswith("/" + method)]

    # Callers: who made each call is known from the flow.
    expectations = [
        ("questions", "CreateQuestion", user_ids["admin"]),
        ("questions", "SubmitAttempt", user_ids["member"]),
        ("questions", "GetUserStats", user_ids["member"]),
        ("billing", "GetCustomer", user_ids["admin"]),
        ("billing", "GetEntitlement", user_ids["member"]),
        ("identity", "Logout", user_ids["member"]),
    ]
    for svc, method, want in expectations:
        entries = lines_of(svc, method)
        if not entries:
            findings.append(f"{svc}: no RPC line for {method}")
        for e in entries:
            if e.get("caller_id") != want:
                findings.append(f"{svc}: {method} logged caller_id {e.get('caller_id')!r}, "
                                f"want {want!r}")
    for e in lines_of("identity", "Login") + lines_of("identity", "CreateUser"):
        if e.get("caller_id"):
            findings.append(f"identity: anonymous {e['method']} logged a caller_id")
    for svc, entries in rpc_lines.items():
        for e in entries:
            if not UUID.match(str(e.get("request_id", ""))):
                findings.append(f"{svc}: request_id {e.get('request_id')!r} is not a UUID")
            if e.get("caller_id") and not UUID.match(str(e["caller_id"])):
                findings.append(f"{svc}: caller_id {e['caller_id']!r} is not a user id")

    # Request ids follow a call across services.
    billing_ids = {e.get("request_id") for e in lines_of("billing", "GetEntitlement")}
    starts = lines_of("questions", "StartPracticeSession")
    if not starts:
        findings.append("questions: no StartPracticeSession line")
    for e in starts:
        if e.get("request_id") not in billing_ids:
            findings.append(f"questions: StartPracticeSession request {e.get('request_id')} has "
                            "no GetEntitlement line with the same request id at billing")
    return findings


def self_test(suite, known, user_ids, handled, workdir):
    """Plants each kind of leak in a copy of the logs: every one must be found (the scan can
    fail). Returns the plantings that went unnoticed."""
    member_token = known["member session token"]
    plants = {
        "session token": json.dumps({"event": "debug", "token": member_token}),
        "argon2id hash": json.dumps({"event": "debug", "h": "$argon2id$v=19$m=19456,t=2,p=1$x"}),
        "card number": json.dumps({"event": "debug", "pan": "4000056655665556"}),
        "non-JSON line": "plain text line",
        "RPC line without request id": json.dumps({"event": "rpc", "method": "/x.Y/Z",
                                                   "code": "OK", "latency_ms": 1}),
    }
    missed = []
    originals = dict(suite.logs)
    clean = len(scan(suite, known, user_ids, handled))
    try:
        for what, line in plants.items():
            path = os.path.join(workdir, "planted-questions.log")
            with open(originals["questions"]) as src, open(path, "w") as dst:
                dst.write(src.read() + line + "\n")
            suite.logs["questions"] = path
            if len(scan(suite, known, user_ids, handled)) <= clean:
                missed.append(what)
            os.remove(path)
    finally:
        suite.logs.update(originals)
    return missed


def main():
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="logs.")
    suite = None
    try:
        suite = Suite.start(workdir)
        flow = Flow(suite)
        known = flow.run()
        # A call's server-side bookkeeping (counter, then log line) ends just after the client
        # has its answer: let the last one settle before reading the counters.
        time.sleep(0.5)
        handled = {svc: handled_by_method(suite.ports[f"{svc}_metrics"]) for svc in suite.logs}
        now = time.time()
        read_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        for counts in handled.values():
            counts["_read_at"] = read_at
        codes = suite.stop()
        if any(code != 0 for code in codes.values()):
            raise StepFailed(f"SIGTERM: exit statuses {codes}")
        findings = scan(suite, known, flow.user_ids, handled)
        findings += [f"self-test: a planted {what} was not found"
                     for what in self_test(suite, known, flow.user_ids, handled, workdir)]
    except StepFailed as e:
        print(f"logs: FAILED at {e}", file=sys.stderr)
        return 1
    finally:
        if suite:
            suite.close()
    for f in findings:
        print("logs: FINDING:", f, file=sys.stderr)
    if findings:
        print(f"logs: {len(findings)} finding(s); logs in {workdir}", file=sys.stderr)
        return 1
    print(f"logs: clean; {len(known)} known secrets searched; the self-test found every planted "
          f"leak; logs in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

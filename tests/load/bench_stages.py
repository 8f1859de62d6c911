#!/usr/bin/env python3
"""Two stages of tools/bench, run on the suite it brought up (its PostgreSQL, data set and
identity):

  ab          GetEntitlement and GetQuestion throughput of the current billing and questions
              (B) against the same services built at a past commit (A, the baseline), A and B
              alternately on the same database, data set and identity, several rounds each, so
              that the machine's noise hits both; prints per RPC throughput A, B, the ratio B/A
              and its spread over the rounds, and the p99s.
  revocation  the revocation bound: a second identity replica beside the bench's, a billing and
              a questions following both, GetEntitlement and GetQuestion driven closed-loop at
              the bench's concurrency, and meanwhile `loadgen --revocation_rounds` (the
              measurement of revocation_bound_test, tests/load/revocation_probe.h): from the
              revoking call's OK to the first refusal on billing and on questions, p50/p99/max.

Each prints its table on stderr and merges its figures into the bench's JSON (--out) under
"ab" or "revocation_bound". The services it starts (through tests/harness/suite_up, driven by
tests/e2e/suite_harness.py) get loopback ports of their own and are stopped before it returns.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import urllib.request

# suite_up's Python driver (tests/e2e/suite_harness.py), the one that tools and tests share.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
import suite_harness  # noqa: E402

PAGE_SECRETS = "identity=bench-identity-page-secret,billing=bench-billing-page-secret," \
               "questions=bench-questions-page-secret"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Services(suite_harness.Suite):
    """Some services of the suite, started by one tests/harness/suite_up (the one harness that
    starts services) against the bench's database, which is already migrated: `replicas` says
    which ("identity=0,billing=1,questions=1"), `bindir` whose binaries, `env` ("SVC:NAME=VALUE")
    what goes on top (e.g. IDENTITY_ADDR of services not started here). Stopped by close()."""

    def __init__(self, args, name, bindir, replicas, env=(), ports=None):
        workdir = os.path.join(args.work, name)
        os.makedirs(workdir, exist_ok=True)
        super().__init__(workdir)
        self.args, self.name, self.bindir = args, name, bindir
        self.replicas, self.env, self.fixed_ports = replicas, list(env), ports
        self.webhook_secret = args.stripe_secret
        self.suite_up_stderr = open(os.path.join(workdir, "suite_up.log"), "w")
        try:
            self._start_all()
        except suite_harness.StepFailed as e:
            raise SystemExit(f"bench: {name}: {e}; see the logs in {workdir}") from e
        up = ", ".join(f"{svc} {self.addr(svc)}" for svc in self.procs)
        log(f"{name}: {up} (logs {workdir})")

    def _suite_up_args(self):
        args = [f"{self.args.bin}/tests/harness/suite_up", f"--binaries_dir={self.bindir}",
                f"--logs_dir={self.workdir}",
                f"--database_url=postgresql://{{role}}@127.0.0.1:{self.args.pg_port}/suite",
                f"--replicas={self.replicas}", "--metrics", "--trusted_peers=127.0.0.1",
                "--env=questions:QUESTIONS_FREE_QUOTA=1000000"]
        if self.fixed_ports:
            args.append(f"--ports={self.fixed_ports}")
        return args + [f"--env={e}" for e in self.env]

    def _start_all(self):
        # The secrets through the environment, not on a command line anyone can read.
        os.environ["SUITE_UP_WEBHOOK_SECRET"] = self.webhook_secret
        os.environ["SUITE_UP_PAGE_TOKEN_SECRET"] = PAGE_SECRETS
        super()._start_all()

    def cpu_seconds(self, *svcs):
        """User + system CPU the named services have used so far."""
        total = 0
        for svc in svcs:
            with open(f"/proc/{self.procs[svc].pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (after pid and comm)
        return total / os.sysconf("SC_CLK_TCK")

    def identity_client_metrics(self, svc):
        """The identity_client_* samples on `svc`'s /metrics (what its token cache did)."""
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.ports[svc + '_metrics']}/metrics", timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in body.splitlines():
            if line.startswith("identity_client_") and " " in line:
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out


def callers_of(identity_target):
    """billing and questions calling this identity (not one started beside them)."""
    return [f"billing:IDENTITY_ADDR={identity_target}",
            f"questions:IDENTITY_ADDR={identity_target}"]


def loadgen(args, name, billing, questions, *extra):
    """One loadgen run; its JSON results (a list of runs)."""
    out = os.path.join(args.work, f"{name}.json")
    cmd = [f"{args.bin}/tests/load/loadgen", f"--identity_addr={args.identity_addr}",
           f"--billing_addr={billing}", f"--questions_addr={questions}",
           f"--admin_email={os.environ['BENCH_ADMIN_EMAIL']}",
           f"--admin_password={os.environ['BENCH_ADMIN_PASSWORD']}",
           f"--stripe_secret={args.stripe_secret}", f"--json_out={out}", *extra]
    with open(os.path.join(args.work, f"{name}.log"), "w") as err:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    if res.returncode != 0:
        with open(os.path.join(args.work, f"{name}.log")) as f:
            sys.stderr.write(f.read())
        raise SystemExit(f"bench: loadgen {name} failed ({res.returncode})")
    with open(out) as f:
        return json.load(f), res.stdout


def merge_out(path, key, value):
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[key] = value
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)


def errors_of(run):
    return sum(run.get("errors", {}).values())


WARMUP = 1.0  # seconds of load before a run is measured


def ab(args):
    rpcs = ["GetEntitlement", "GetQuestion"]
    groups = {}
    try:
        # Both pairs up at once and idle in turn, so neither starts cold nor pays for the
        # other's start-up; identity (the bench's, current) is shared.
        addrs = {}
        for variant, bindir in (("A", args.baseline_bin), ("B", args.bin)):
            groups[variant] = Services(args, f"ab-{variant}", bindir,
                                       "identity=0,billing=1,questions=1",
                                       callers_of(args.identity_addr))
            addrs[variant] = (groups[variant].addr("billing"), groups[variant].addr("questions"))
        log(f"A/B: A = billing+questions at {args.baseline_rev} {addrs['A']}, "
            f"B = current {addrs['B']}; identity (current) {args.identity_addr}")
        rounds = []
        for r in range(args.rounds):
            # A B in even rounds, B A in odd ones: a drift within a round favours neither.
            order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
            row = {}
            for rpc in rpcs:
                for variant in order:
                    # CPU per call of the variant's two services: the cost of a call, which
                    # the other engineers' load on the machine moves far less than throughput.
                    procs = ("billing", "questions")
                    cpu0 = groups[variant].cpu_seconds(*procs)
                    runs, _ = loadgen(args, f"ab_{r}_{rpc}_{variant}", *addrs[variant],
                                      f"--rpc={rpc}", f"--concurrency={args.concurrency}",
                                      f"--duration={args.seconds}", f"--warmup={WARMUP}",
                                      "--users=32")
                    run = runs[0]
                    # The warm-up's calls are served but not counted: estimated at the same rate.
                    calls = run["throughput"] * (args.seconds + WARMUP)
                    run["cpu_us_per_call"] = (groups[variant].cpu_seconds(*procs) - cpu0) / calls * 1e6
                    row[f"{rpc}/{variant}"] = run
                a, b = row[f"{rpc}/A"], row[f"{rpc}/B"]
                log(f"A/B round {r + 1}/{args.rounds} {rpc}: A {a['throughput']:.0f}/s "
                    f"B {b['throughput']:.0f}/s B/A {b['throughput'] / a['throughput']:.3f}; "
                    f"CPU/call A {a['cpu_us_per_call']:.0f} B {b['cpu_us_per_call']:.0f} µs "
                    f"(load {os.getloadavg()[0]:.1f})")
            rounds.append(row)
        # B's cache must have answered the calls: a bypass counts a ValidateSession sent while
        # not following revocations.
        cache = {f"{svc}-B": groups["B"].identity_client_metrics(svc)
                 for svc in ("billing", "questions")}
    finally:
        for group in groups.values():
            group.close()

    result = {"baseline_rev": args.baseline_rev, "rounds": args.rounds,
              "seconds": args.seconds, "concurrency": args.concurrency,
              "identity": "current", "rpcs": {}, "b_identity_client": cache}
    lines = [
        f"A/B: A = billing+questions at {args.baseline_rev}, B = this tree; same identity, "
        f"database and data set; c={args.concurrency}, {args.seconds:g} s per run, "
        f"{args.rounds} rounds (A B, B A, ...)",
        "| RPC | A ok/s | B ok/s | B/A mean | B/A min–max | A p99 ms | B p99 ms "
        "| CPU µs/call A | B | errors A/B |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rpc in rpcs:
        a = [row[f"{rpc}/A"] for row in rounds]
        b = [row[f"{rpc}/B"] for row in rounds]
        ratios = [y["throughput"] / x["throughput"] for x, y in zip(a, b)]
        med = lambda runs, k: statistics.median(run[k] for run in runs)
        p99 = lambda runs: statistics.median(run["latency_ms"]["p99"] for run in runs)
        entry = {
            "a_throughput": [x["throughput"] for x in a],
            "b_throughput": [y["throughput"] for y in b],
            "ratio": ratios, "ratio_mean": statistics.mean(ratios),
            "ratio_stdev": statistics.stdev(ratios) if len(ratios) > 1 else 0.0,
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "a_p99_ms": [x["latency_ms"]["p99"] for x in a],
            "b_p99_ms": [y["latency_ms"]["p99"] for y in b],
            "a_errors": sum(errors_of(x) for x in a), "b_errors": sum(errors_of(y) for y in b),
            "a_cpu_us_per_call": [x["cpu_us_per_call"] for x in a],
            "b_cpu_us_per_call": [y["cpu_us_per_call"] for y in b],
        }
        result["rpcs"][rpc] = entry
        lines.append(
            f"| {rpc} | {med(a, 'throughput'):,.0f} | {med(b, 'throughput'):,.0f} | "
            f"**{entry['ratio_mean']:.3f}** ± {entry['ratio_stdev']:.3f} | "
            f"{entry['ratio_min']:.3f}–{entry['ratio_max']:.3f} | {p99(a):.2f} | {p99(b):.2f} | "
            f"{med(a, 'cpu_us_per_call'):.0f} | {med(b, 'cpu_us_per_call'):.0f} | "
            f"{entry['a_errors']}/{entry['b_errors']} |")
    lines.append("(ok/s, p99 and CPU per call of the variant's billing + questions: medians over "
                 "the rounds; B/A: mean ± stdev of the per-round ratios)")
    for n, m in cache.items():
        lines.append(f"B {n}: revocation stream up {m.get('identity_client_revocation_stream_up')}"
                     f", cache bypasses {m.get('identity_client_cache_bypass_total')}")
    table = "\n".join(lines)
    print(table, file=sys.stderr, flush=True)
    result["table"] = table
    result["loadavg_end"] = os.getloadavg()
    merge_out(args.out, "ab", result)


def revocation(args):
    services = None
    try:
        # Both callers balance over the two replicas, as the deployment runs them; a round
        # revokes on each in turn. The second replica's port is chosen here, so that its callers
        # started beside it are given both.
        second = f"127.0.0.1:{suite_harness.free_port()}"
        replicas = [args.identity_addr, second]
        services = Services(args, "revocation", args.bin, "identity=1,billing=1,questions=1",
                            callers_of("ipv4:" + ",".join(replicas)),
                            ports=f"identity={second.rsplit(':', 1)[1]}")
        b, q = services.addr("billing"), services.addr("questions")
        log(f"revocation bound: identity {replicas}, billing {b}, questions {q}; "
            f"{args.revocation_rounds} rounds under GetEntitlement + GetQuestion at "
            f"c={args.concurrency} each")
        rev_out = os.path.join(args.work, "revocation_bound.json")
        runs, stdout = loadgen(args, "revocation", b, q, "--rpc=GetEntitlement",
                               f"--concurrency={args.concurrency}",
                               "--background_rpc=GetQuestion",
                               f"--background_concurrency={args.concurrency}", "--users=32",
                               f"--revocation_rounds={args.revocation_rounds}",
                               f"--identity_addrs={','.join(replicas)}",
                               f"--revocation_out={rev_out}")
        cache = {f"{svc}-rev": services.identity_client_metrics(svc)
                 for svc in ("billing", "questions")}
    finally:
        if services:
            services.close()
    with open(rev_out) as f:
        bound = json.load(f)
    if not args.keep_samples:
        bound.pop("samples", None)
    bound["load"] = [{k: run[k] for k in ("rpc", "throughput", "latency_ms", "errors")
                      if k in run} for run in runs]
    lines = [line for line in stdout.splitlines() if line.startswith("revocation bound")]
    for run in runs:
        lines.append(f"  load during it: {run['rpc']} {run['throughput']:,.0f} ok/s, p99 "
                     f"{run['latency_ms']['p99']:.2f} ms, errors {errors_of(run)}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    bound["identity_client"] = cache
    bound["printed"] = lines
    merge_out(args.out, "revocation_bound", bound)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("stage", choices=["ab", "revocation"])
    p.add_argument("--bin", required=True, help="bazel-bin of this tree (-c opt)")
    p.add_argument("--baseline_bin", help="bazel-bin of the baseline (ab)")
    p.add_argument("--baseline_rev", default="8f3c5b3")
    p.add_argument("--pg_port", required=True)
    p.add_argument("--identity_addr", required=True, help="the bench's identity")
    p.add_argument("--stripe_secret", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--revocation_rounds", type=int, default=200)
    p.add_argument("--keep_samples", action="store_true")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    {"ab": ab, "revocation": revocation}[args.stage](args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The retention purge's effect on ValidateSession, as an A/B on one running suite.

  purge_ab.py run --database_url=URL --retention_url=URL --purge=BIN [options] -- LOADGEN...
  purge_ab.py merge PURGE_AB.json BENCH_RESULTS.json

`run` fills a backlog of purgeable rows (identity.login_attempts past their 90 days, sessions
revoked or expired over 30 days ago: rows the real purge removes), then alternates windows of
ValidateSession load (LOADGEN... --rpc=ValidateSession, closed loop at --concurrency):
A with no purge, B with the real retention binary (`purge`, its default batch settings, as
suite_retention) running from before the window's load starts until it ends. The rounds go on
until the purge has removed --rows rows in B windows (at least --min_rounds, at most
--max_rounds). Before a B window whose backlog might run out within it, the backlog is topped
up again, outside the windows, so each B window purges from start to end. After each B the two
tables are vacuumed (outside the windows) so that the next A window does not pay for B's dead
rows. Prints the table and writes the figures to --json_out.

Each window is a separate loadgen run (its users are created and logged in before it measures)
and reports its own p50/p99; the A and B figures are the medians over their windows, the ratio
is median p99 B / median p99 A. Removed rows are counted in the tables themselves (purgeable
rows before the purge starts minus after it stops), divided by the purge's wall time.

`merge` adds the result to an existing bench-results.json under "purge_ab".
Standard library only; psql must be on PATH.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# What the purge removes under its defaults (docs/retention.md): login attempts older than
# 90 days, sessions whose end (the earlier of revocation and expiry) is over 30 days ago.
# The filled rows are older than that by a margin, so the purge's clock and ours agree.
PURGEABLE = {
    "identity.login_attempts": "created_at < now() - interval '90 days'",
    "identity.sessions": "LEAST(revoked_at, expires_at) < now() - interval '30 days'",
}

# Owners of the filled sessions: users that cannot log in (no password), so nothing the load
# does touches them, and the sessions spread over many users as real ones do.
FILL_USERS = """
INSERT INTO identity.users (email, first_name, last_name)
SELECT 'purge-ab-' || g || '@bench.test', 'Purge', 'Backlog' FROM generate_series(1, 1000) g
ON CONFLICT ((lower(email))) DO NOTHING;
"""

# Login attempts 91..121 days old, a third of them successful, as the login path writes them.
FILL_ATTEMPTS = """
INSERT INTO identity.login_attempts (email, ip, user_agent, success, failure_reason,
                                     created_at, updated_at)
SELECT 'purge-ab-' || (g % 1000) || '@bench.test', '10.1.' || (g % 250) || '.' || (g % 200),
       'purge-ab', g % 3 = 0, CASE WHEN g % 3 = 0 THEN NULL ELSE 'invalid_credentials' END, t, t
FROM (SELECT g, now() - interval '91 days' - random() * interval '30 days' AS t
      FROM generate_series(1, {n}) g) s;
"""

# Sessions that ended 31..61 days ago: three in four expired, one in four revoked (its expiry
# a week after the revocation). Neither fires the deletion's revocation trigger (an expired or
# revoked session's deletion revokes nothing).
FILL_SESSIONS = """
INSERT INTO identity.sessions (user_id, session_token_hash, last_seen_at, expires_at,
                               absolute_expires_at, revoked_at, ip_created, user_agent_created,
                               created_at, updated_at)
SELECT u.ids[1 + g % array_length(u.ids, 1)],
       encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'),
       e - interval '1 hour',
       CASE WHEN g % 4 = 0 THEN e + interval '7 days' ELSE e END,
       CASE WHEN g % 4 = 0 THEN e + interval '7 days' ELSE e END,
       CASE WHEN g % 4 = 0 THEN e END,
       '10.2.0.1', 'purge-ab', e - interval '1 day', e
FROM (SELECT g, now() - interval '31 days' - random() * interval '30 days' AS e
      FROM generate_series(1, {n}) g) s,
     (SELECT array_agg(id) AS ids FROM identity.users
      WHERE email LIKE 'purge-ab-%@bench.test') u;
"""


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
                       input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"purge_ab: psql failed: {r.stderr.strip()}\n{sql}")
    return r.stdout.strip()


def backlog(url):
    """Purgeable rows per table."""
    return {table: int(psql(url, f"SELECT count(*) FROM {table} WHERE {where};"))
            for table, where in PURGEABLE.items()}


def top_up(url, target):
    """Fills each table's backlog up to half of `target` rows; returns the rows inserted."""
    have = backlog(url)
    inserted = 0
    for table, sql in (("identity.login_attempts", FILL_ATTEMPTS),
                       ("identity.sessions", FILL_SESSIONS)):
        missing = target // 2 - have[table]
        if missing > 0:
            psql(url, sql.format(n=missing))
            inserted += missing
    return inserted


def vacuum(url, admin_url=None):
    """Cleans up after a fill or a purge, outside the windows; with a superuser's URL also
    checkpoints, so that the WAL of the fill, the purge and the vacuum is not flushed in the
    middle of the next window."""
    psql(url, "VACUUM ANALYZE identity.login_attempts; VACUUM ANALYZE identity.sessions;")
    if admin_url:
        psql(admin_url, "CHECKPOINT;")


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def window(loadgen, concurrency, seconds, label, workdir, at_load_start=None):
    """One loadgen run of ValidateSession; its JSON result. `at_load_start` is called when the
    loadgen has finished its setup (users created and logged in) and starts its load: its
    warm-up second, then the measured seconds."""
    out = os.path.join(workdir, f"{label}.json")
    cmd = loadgen + ["--rpc=ValidateSession", f"--concurrency={concurrency}",
                     f"--duration={seconds}", f"--json_out={out}", f"--label={label}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = []
    load = None
    for line in proc.stderr:
        err.append(line)
        if line.startswith("loadgen: setup ") and load is None:
            load = loadavg()  # the machine's other work shows here (it is shared)
            if at_load_start:
                at_load_start()
    if proc.wait() != 0:
        sys.exit(f"purge_ab: loadgen failed ({label}): {''.join(err)[-2000:]}")
    with open(out) as f:
        result = json.load(f)[0]
    result["loadavg_1m_at_load_start"] = load
    return result


def purge_ms(path):
    """The `ms` of the purge's retention.purge log line (written when a run completes)."""
    with open(path) as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "retention.purge":
                return entry.get("ms")
    return None


def cmd_run(argv):
    p = argparse.ArgumentParser(prog="purge_ab.py run")
    p.add_argument("--database_url", required=True,
                   help="a role that may insert into and vacuum the identity tables (the owner)")
    p.add_argument("--retention_url", required=True, help="the purge's DATABASE_URL")
    p.add_argument("--admin_url", default="", help="a superuser, for CHECKPOINT (optional)")
    p.add_argument("--purge", required=True, help="the //tools/purge:purge binary")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per window")
    p.add_argument("--rows", type=int, default=1000000,
                   help="the backlog, and the rows the B windows must remove in all")
    p.add_argument("--min_rounds", type=int, default=3)
    p.add_argument("--max_rounds", type=int, default=12)
    p.add_argument("--json_out", required=True)
    p.add_argument("loadgen", nargs="+", help="the loadgen command, without --rpc")
    a = p.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="purge-ab.")
    purge_env = dict(os.environ, DATABASE_URL=a.retention_url)
    for k in list(purge_env):
        # The binary's defaults, whatever the caller's shell says.
        if k.startswith("RETENTION_"):
            del purge_env[k]

    started = time.time()
    psql(a.database_url, FILL_USERS)
    inserted = top_up(a.database_url, a.rows)
    vacuum(a.database_url, a.admin_url)
    print(f"purge_ab: backlog {backlog(a.database_url)} ({inserted} rows inserted in "
          f"{time.time() - started:.0f} s)", file=sys.stderr)

    rounds = []
    removed_total = 0
    rate_estimate = None
    while len(rounds) < a.max_rounds and (len(rounds) < a.min_rounds or removed_total < a.rows):
        n = len(rounds) + 1
        ra = window(a.loadgen, a.concurrency, a.seconds, f"purge_ab_A{n}", workdir)
        # A B window must purge from its start to its end: top the backlog up (outside the
        # windows) when what is left could run out within one.
        left = sum(backlog(a.database_url).values())
        need = (rate_estimate or 0) * (a.seconds + 2) * 1.5
        refilled = 0
        if left == 0 or left < need:
            refilled = top_up(a.database_url, a.rows)
            vacuum(a.database_url, a.admin_url)
        before = backlog(a.database_url)
        log_path = os.path.join(workdir, f"purge_B{n}.log")
        log = open(log_path, "w")
        purge = {}

        def start_purge():
            purge["t0"] = time.time()
            purge["proc"] = subprocess.Popen([a.purge], env=purge_env, stdout=log,
                                             stderr=subprocess.STDOUT)

        rb = window(a.loadgen, a.concurrency, a.seconds, f"purge_ab_B{n}", workdir, start_purge)
        still_running = purge["proc"].poll() is None
        if still_running:
            # A run stopped anywhere leaves whole batches done; the next one goes on.
            purge["proc"].terminate()
            elapsed = time.time() - purge["t0"]
        purge["proc"].wait()
        log.close()
        if not still_running:
            # Finished inside the window: its own time (the rest of the window had no purge).
            ms = purge_ms(log_path)
            elapsed = ms / 1000 if ms else time.time() - purge["t0"]
        after = backlog(a.database_url)
        removed = sum(before.values()) - sum(after.values())
        removed_total += removed
        rate = removed / elapsed if elapsed > 0 else 0.0
        rate_estimate = max(rate_estimate or 0, rate)
        vacuum(a.database_url, a.admin_url)
        rounds.append({
            "round": n, "A": ra, "B": rb, "loadavg_1m": {"A": ra["loadavg_1m_at_load_start"],
                                                "B": rb["loadavg_1m_at_load_start"]},
            "backlog_before_B": before, "backlog_after_B": after, "refilled_before_B": refilled,
            "purge_seconds": elapsed, "rows_removed": removed, "rows_per_second": rate,
            "purge_running_at_window_end": still_running,
        })
        print(f"purge_ab: round {n}: A p50 {ra['latency_ms']['p50']:.2f} p99 "
              f"{ra['latency_ms']['p99']:.2f} ms | B p50 {rb['latency_ms']['p50']:.2f} p99 "
              f"{rb['latency_ms']['p99']:.2f} ms, purge removed {removed} rows in {elapsed:.1f} s"
              f"{'' if still_running else ' (purge finished inside the window)'}",
              file=sys.stderr)

    med = lambda side, q: statistics.median(r[side]["latency_ms"][q] for r in rounds)
    tput = lambda side: statistics.median(r[side]["throughput"] for r in rounds)
    purge_seconds = sum(r["purge_seconds"] for r in rounds)
    result = {
        "rpc": "ValidateSession", "concurrency": a.concurrency, "window_seconds": a.seconds,
        "backlog_rows": a.rows, "rounds": rounds,
        "A": {"p50_ms": med("A", "p50"), "p99_ms": med("A", "p99"), "throughput": tput("A")},
        "B": {"p50_ms": med("B", "p50"), "p99_ms": med("B", "p99"), "throughput": tput("B")},
        "rows_removed_in_B": removed_total,
        "rows_per_second_in_B": removed_total / purge_seconds if purge_seconds else 0.0,
        "errors": sum(r[s]["error_count"] for r in rounds for s in ("A", "B")),
        "all_B_windows_purging_throughout": all(r["purge_running_at_window_end"] for r in rounds),
        "machine": {"nproc": os.cpu_count(),
                    "loadavg_1m_min": min(min(r["loadavg_1m"].values()) for r in rounds),
                    "loadavg_1m_max": max(max(r["loadavg_1m"].values()) for r in rounds)},
        "seconds_total": time.time() - started,
    }
    result["p99_ratio_B_over_A"] = result["B"]["p99_ms"] / result["A"]["p99_ms"]
    # A B window in which the purge ran out of rows measured less than a purge: no verdict
    # from such a run (a backlog smaller than one window's purge, BENCH_PURGE_ROWS).
    result["target"] = {"target": "ValidateSession p99 with the purge running <= 1.5x without",
                        "value": round(result["p99_ratio_B_over_A"], 2),
                        "met": (result["p99_ratio_B_over_A"] <= 1.5 and result["errors"] == 0
                                and result["all_B_windows_purging_throughout"])}
    with open(a.json_out, "w") as f:
        json.dump(result, f, indent=2)
    print_table(result)


def print_table(r):
    print(f"\npurge A/B: ValidateSession, closed loop c={r['concurrency']}, "
          f"{len(r['rounds'])} rounds of {r['window_seconds']:g} s windows "
          f"(A: no purge, B: tools/purge with its defaults)")
    print(f"  {'round':<6} {'A p50':>7} {'A p99':>7} {'A ok/s':>7} {'B p50':>7} {'B p99':>7} "
          f"{'B ok/s':>7} {'removed':>8} {'rows/s':>7}")
    for x in r["rounds"]:
        print(f"  {x['round']:<6} {x['A']['latency_ms']['p50']:>7.2f} "
              f"{x['A']['latency_ms']['p99']:>7.2f} {x['A']['throughput']:>7.0f} "
              f"{x['B']['latency_ms']['p50']:>7.2f} {x['B']['latency_ms']['p99']:>7.2f} "
              f"{x['B']['throughput']:>7.0f} {x['rows_removed']:>8} "
              f"{x['rows_per_second']:>7.0f}{'' if x['purge_running_at_window_end'] else ' *'}")
    print(f"  median: A p50 {r['A']['p50_ms']:.2f} ms p99 {r['A']['p99_ms']:.2f} ms | "
          f"B p50 {r['B']['p50_ms']:.2f} ms p99 {r['B']['p99_ms']:.2f} ms | "
          f"p99 B/A {r['p99_ratio_B_over_A']:.2f} | "
          f"removed {r['rows_removed_in_B']} rows, {r['rows_per_second_in_B']:.0f} rows/s in B | "
          f"errors {r['errors']}")
    if not r["all_B_windows_purging_throughout"]:
        print("  * the purge finished inside that B window: the backlog was too small for a "
              "window, so this run does not measure the bound")
    m = r["machine"]
    print(f"  load average (1 min) at the windows: {m['loadavg_1m_min']:.1f} .. "
          f"{m['loadavg_1m_max']:.1f} on {m['nproc']} cores")
    t = r["target"]
    verdict = ("met    " if t["met"] else
               "NOT MET" if r["all_B_windows_purging_throughout"] else "no verdict")
    print(f"  {verdict}  {t['target']}: {t['value']}")


def cmd_merge(src, dst):
    with open(src) as f:
        ab = json.load(f)
    res = {}
    if os.path.exists(dst):
        with open(dst) as f:
            res = json.load(f)
    res["purge_ab"] = ab
    if "targets" in res:
        res["targets"].append(ab["target"])
    with open(dst, "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        cmd_run(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "merge":
        cmd_merge(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)

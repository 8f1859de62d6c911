#!/usr/bin/env python3
"""Helpers of tools/bench; standard library only.

  bench_lib.py pgbench LOG RPC MARKER OUTDIR   the RPC's own SQL, as the service sent it
                                               (PostgreSQL log, log_statement=all), turned
                                               into pgbench scripts; prints the -f arguments
  bench_lib.py explain LOG URL OUT.json        EXPLAIN every list query found in LOG
  bench_lib.py report DIR OUT.json             the results table and bench-results.json

How the database ceiling is measured: for each RPC the bench logs a few real calls, takes each
call's transaction (BEGIN .. COMMIT of one backend: every statement the RPC ran, in order,
with its parameters) and writes it as a pgbench script with the same SQL text. Parameters stay
parameters where they must vary (unique keys: a per-client counter; SubmitAttempt's
session/question/choice/user come from a prepared table through one \\gset lookup) and become
literals otherwise (one script per logged call, picked at random, so the keys vary). pgbench
runs them with -M prepared at the loadgen's concurrency.
"""
import json
import os
import re
import subprocess
import sys

LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[(\d+)\] (LOG|DETAIL):  (.*)$")
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")
# A statement planned per call (shared/db Planning::kPerCall) runs unnamed; its SQL opens
# with its name in a comment.
NAMED_BY_COMMENT = re.compile(r"^/\* (\S+) \*/ ")


def parse_log(path):
    """Yields (pid, kind, text) per log entry; kind is 'statement', 'execute', 'params'."""
    entries = []
    with open(path, errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = LINE.match(raw)
            if not m:
                if entries and (raw.startswith("\t") or not raw[:4].isdigit()):
                    pid, kind, text = entries[-1]
                    entries[-1] = (pid, kind, text + "\n" + raw.lstrip("\t"))
                continue
            pid, level, text = m.groups()
            if level == "LOG" and text.startswith("statement: "):
                entries.append((pid, "statement", text[len("statement: "):]))
            elif level == "LOG" and text.startswith("execute "):
                name, _, sql = text[len("execute "):].partition(": ")
                named = NAMED_BY_COMMENT.match(sql)
                if name == "<unnamed>" and named:
                    name = named.group(1)
                entries.append((pid, "execute", (name, sql)))
            elif level == "DETAIL" and text.startswith("parameters: "):
                entries.append((pid, "params", text[len("parameters: "):]))
    return entries


def transactions(entries, marker):
    """Every BEGIN..COMMIT of one backend that executed `marker`: lists of
    ('sql', text) / ('exec', name, sql, params). A `marker` executed outside BEGIN..COMMIT
    (autocommit, TxMode::kAutocommitRead) is a transaction of that one statement."""
    open_tx = {}
    autocommit = {}  # pid -> its last statement executed outside a transaction
    found = []
    for pid, kind, text in entries:
        tx = open_tx.get(pid)
        if kind == "statement":
            autocommit.pop(pid, None)
            if text.upper().startswith("BEGIN"):
                open_tx[pid] = [("sql", text)]
            elif tx is not None:
                tx.append(("sql", text))
                if text.upper() in ("COMMIT", "ROLLBACK"):
                    if any(s[0] == "exec" and s[1] == marker for s in tx):
                        found.append(tx)
                    del open_tx[pid]
        elif kind == "execute" and tx is None:
            autocommit[pid] = ["exec", text[0], text[1], {}]
            if text[0] == marker:
                found.append([autocommit[pid]])
        elif kind == "execute":
            tx.append(["exec", text[0], text[1], {}])
        elif kind == "params" and tx is None and pid in autocommit:
            autocommit.pop(pid)[3] = {int(n): (None if v == "NULL" else v[1:-1].replace("''", "'"))
                                      for n, v in PARAM.findall(text)}
        elif kind == "params" and tx is not None and tx and tx[-1][0] == "exec":
            tx[-1][3] = {int(n): (None if v == "NULL" else v[1:-1].replace("''", "'"))
                         for n, v in PARAM.findall(text)}
    return found


def literal(value):
    if value is None:
        return "NULL"
    # pgbench would read ":word" inside a literal as a variable: write colons as E'\x3a'.
    if re.search(r":[A-Za-z0-9_]", value) or "\\" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a") + "'"
    return "'" + value.replace("'", "''") + "'"


def substitute(sql, params, fixed):
    """Replaces $n by a literal of its value, or by fixed[value] (a pgbench expression)."""
    def repl(m):
        n = int(m.group(1))
        v = params.get(n)
        if v is not None and v in fixed:
            return fixed[v]
        return literal(v)
    return re.sub(r"\$(\d+)(?!\d)", repl, sql)


def script(tx, rpc, rows_per_client):
    """The pgbench script of one logged transaction of `rpc`."""
    fixed = {}
    head = ["\\set k :k + 1"]
    for step in tx:
        if step[0] != "exec":
            continue
        name, _, params = step[1], step[2], step[3]
        if rpc == "IngestStripeEvent" and name == "billing_event_claim":
            fixed[params[1]] = "('evt_pgb_' || :client_id || '_' || :k)"
        if rpc == "RecordTransaction" and name == "billing_transaction_insert":
            fixed[params[12]] = "('pgb-' || :client_id || '-' || :k)"
        if rpc == "SubmitAttempt" and name == "insert_attempt":
            for n, var in ((1, ":s"), (2, ":q"), (3, ":c"), (4, ":u")):
                fixed[params[n]] = var
            head += [f"\\set w :client_id * {rows_per_client} + :k",
                     "SELECT s, q, c, u FROM bench.attempt_work WHERE i = :w \\gset"]
    out = list(head)
    for step in tx:
        if step[0] == "sql":
            # "BEGIN; SET TRANSACTION READ ONLY" is one round trip from the service; pgbench
            # would send two commands, so it becomes the equivalent single "BEGIN READ ONLY".
            m = re.match(r"(?is)^BEGIN;\s*SET TRANSACTION (.*?);?\s*$", step[1])
            if m:
                out.append(f"BEGIN {m.group(1)};")
            else:
                out += [s.strip() + ";" for s in step[1].split(";") if s.strip()]
        else:
            out.append(substitute(step[2], step[3], fixed) + ";")
    return "\n".join(out) + "\n"


def cmd_pgbench(log, rpc, marker, outdir, rows_per_client="0"):
    txs = transactions(parse_log(log), marker)[-32:]
    if not txs:
        sys.exit(f"bench_lib: no transaction with {marker} in {log}")
    os.makedirs(outdir, exist_ok=True)
    args = []
    seen = set()
    for i, tx in enumerate(txs):
        text = script(tx, rpc, int(rows_per_client))
        if text in seen:
            continue
        seen.add(text)
        path = os.path.join(outdir, f"{rpc}.{i}.sql")
        with open(path, "w") as f:
            f.write(text)
        args += ["-f", path]
    print(" ".join(args))


LIST_NAMES = re.compile(r"(^list_|_list$|_live$)")


def runs_with_an_index(entry):
    """Whether the plans a list statement runs with use an index: the custom plan (its first
    runs) and, unless it is planned on every call, the generic plan it may settle on."""
    return entry["custom_uses_index"] and (entry.get("planned_per_call", False)
                                           or entry["generic_uses_index"])


def cmd_explain(log, url, out):
    """EXPLAINs each distinct list statement (name + which parameters were NULL) found in the
    log, as a generic plan (what a prepared statement runs after its first executions) and as
    a custom plan with the logged values."""
    shapes = {}
    entries = parse_log(log)
    for i, (pid, kind, text) in enumerate(entries):
        if kind != "execute" or not LIST_NAMES.search(text[0]):
            continue
        params = {}
        if i + 1 < len(entries) and entries[i + 1][0] == pid and entries[i + 1][1] == "params":
            params = {int(n): (None if v == "NULL" else v[1:-1].replace("''", "'"))
                      for n, v in PARAM.findall(entries[i + 1][2])}
        key = (text[0], tuple(sorted(n for n, v in params.items() if v is None)))
        shapes[key] = (text[1], params)
    results = []
    for (name, nulls), (sql, params) in sorted(shapes.items()):
        entry = {"statement": name, "null_params": list(nulls),
                 "planned_per_call": bool(NAMED_BY_COMMENT.match(sql))}
        for mode, label in (("force_generic_plan", "generic"), ("force_custom_plan", "custom"),
                            ("force_generic_plan; SET enable_seqscan = off", "noseq")):
            args = ", ".join(literal(params.get(n)) for n in range(1, len(params) + 1))
            q = (f"SET plan_cache_mode = {mode};\nPREPARE bench_q AS {sql};\n"
                 f"EXPLAIN (COSTS OFF) EXECUTE bench_q{'(' + args + ')' if params else ''};\n")
            r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
                               input=q, capture_output=True, text=True)
            plan = r.stdout.strip() if r.returncode == 0 else "ERROR: " + r.stderr.strip()
            entry[label + "_plan"] = plan
            entry[label + "_uses_index"] = bool(re.search(r"Index", plan))
            entry[label + "_seq_scans"] = re.findall(r"Seq Scan on (\S+)", plan)
        results.append(entry)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    for e in results:
        generic = ("per call" if e["planned_per_call"]
                   else "yes" if e["generic_uses_index"] else "NO ")
        print(f"  {e['statement']:<34} nulls={str(e['null_params']):<22} "
              f"index generic={generic} "
              f"custom={'yes' if e['custom_uses_index'] else 'NO '} "
              f"index plan exists={'yes' if e['noseq_uses_index'] else 'NO '} "
              f"seq scans: {', '.join(sorted(set(e['custom_seq_scans'] + ([] if e['planned_per_call'] else e['generic_seq_scans'])))) or '-'}")


def load(path):
    with open(path) as f:
        return json.load(f)


def pgbench_tps(path):
    """tps of a pgbench output (excluding connection time)."""
    text = open(path).read()
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    return (float(m.group(1)) if m else 0.0), (int(failed.group(1)) if failed else None), text


def memory_targets(mem):
    """The memory targets of each service in `mem` ({svc: {idle_rss_kib, hwm_kib, end_hwm_kib}}).

    The peak is the larger of the VmHWM up to the peak-throughput step and the one of the whole
    run (the bench folds every step's VmHWM into it): the login flood, the sweep to c = 256 and
    the imports of up to 10^6 questions come after the peak step.
    """
    targets = []
    for svc, m in mem.items():
        targets.append({"target": f"{svc} RSS idle <= 24 MiB",
                        "value": round(m["idle_rss_kib"] / 1024, 1),
                        "met": m["idle_rss_kib"] <= 24 * 1024})
        peak = max(m["hwm_kib"], m.get("end_hwm_kib", 0))
        targets.append({"target": f"{svc} RSS peak (VmHWM over the whole run) <= 64 MiB",
                        "value": round(peak / 1024, 1), "met": peak <= 64 * 1024})
    return targets


def peak_phases(by_phase, services=("identity", "billing", "questions"), top=3):
    """The steps of the run with the highest peaks of each service, highest first.

    `by_phase` is the bench's list of [step, identity VmHWM, billing VmHWM, questions VmHWM] (KiB),
    each the peak of that step alone. Returns {svc: [[step, kib], ...]} with `top` entries.
    """
    out = {}
    for i, svc in enumerate(services):
        ranked = sorted(by_phase, key=lambda p: p[1 + i], reverse=True)[:top]
        out[svc] = [[p[0], p[1 + i]] for p in ranked]
    return out


def against_hashing(run, cores, seconds_per_hash):
    """A Login run against the hashing ceiling of `cores`: cores / one argon2id hash. The Login
    row has the machine's cores; the own-core row (tools/bench pins a second identity with one
    hashing worker to CPU 0 and the rest of the suite to the other CPUs) has one."""
    ceiling = cores / seconds_per_hash
    return {"seconds_per_hash": seconds_per_hash, "hash_ceiling": ceiling,
            "ratio": run["throughput"] / ceiling}


def login_row(label, run, cores, vs):
    """The report's table line of a Login run `vs` its hashing ceiling (against_hashing)."""
    return (f"{label:<18} {run['concurrency']:>4} {run['throughput']:>8.0f} "
            f"{run['latency_ms']['p50']:>7.2f} {run['latency_ms']['p99']:>7.2f} "
            f"{run['error_count']:>4}  hashing ceiling {vs['hash_ceiling']:.0f}/s "
            f"({cores} {'core' if cores == 1 else 'cores'} / {vs['seconds_per_hash'] * 1000:.1f} "
            f"ms) ratio {vs['ratio']:.2f}")


def cmd_report(d, out):
    meta = load(os.path.join(d, "meta.json"))
    res = {"machine": meta["machine"], "settings": meta["settings"], "rpcs": {}, "targets": []}
    la = os.path.join(d, "loadavg.txt")
    if os.path.exists(la):
        loads = [float(l.split()[1]) for l in open(la) if l.strip()]
        res["machine"]["loadavg_1m_during_runs"] = {"min": min(loads), "max": max(loads)}
    rpc_server = {"ValidateSession": "identity", "Login": "identity", "GetEntitlement": "billing",
                  "IngestStripeEvent": "billing", "RecordTransaction": "billing",
                  "GetQuestion": "questions", "ListQuestions": "questions",
                  "SubmitAttempt": "questions"}
    target_of = {"ValidateSession": 0.7, "GetEntitlement": 0.7, "GetQuestion": 0.7,
                 "ListQuestions": 0.5, "SubmitAttempt": 0.5, "IngestStripeEvent": 0.5,
                 "RecordTransaction": 0.5}
    empty = {s: load(os.path.join(d, f"health_{s}.json"))[0] for s in
             ("identity", "billing", "questions")}
    res["rpc_ceiling"] = {s: r["throughput"] for s, r in empty.items()}
    rows = []
    for rpc, target in target_of.items():
        r = load(os.path.join(d, f"peak_{rpc}.json"))[0]
        tps, failed, _ = pgbench_tps(os.path.join(d, f"pgbench_{rpc}.txt"))
        rpc_c = res["rpc_ceiling"][rpc_server[rpc]]
        combined = 1.0 / (1.0 / rpc_c + 1.0 / tps) if tps > 0 and rpc_c > 0 else 0.0
        ratio = r["throughput"] / combined if combined else 0.0
        entry = {"peak": r, "db_ceiling_tps": tps, "db_ceiling_failed": failed,
                 "rpc_ceiling": rpc_c, "combined_ceiling": combined, "ratio": ratio,
                 "target_ratio": target, "met": ratio >= target and r["error_count"] == 0}
        p70 = os.path.join(d, f"p70_{rpc}.json")
        if os.path.exists(p70):
            q = load(p70)[0]
            entry["at_70pct"] = q
            entry["p99_over_p50_at_70pct"] = (q["latency_ms"]["p99"] / q["latency_ms"]["p50"]
                                               if q["latency_ms"]["p50"] else None)
        res["rpcs"][rpc] = entry
        rows.append((rpc, r, tps, rpc_c, combined, ratio, target, entry))
        res["targets"].append({"target": f"{rpc} >= {int(target * 100)}% of combined ceiling",
                               "value": round(ratio, 3), "met": entry["met"]})
    # Login vs the hashing ceiling.
    h = load(os.path.join(d, "hash_time.json"))
    cores = meta["machine"]["nproc"]
    login = load(os.path.join(d, "peak_Login.json"))[0]
    res["login"] = {"peak": login, **against_hashing(login, cores, h["seconds_per_hash"])}
    res["targets"].append({"target": "Login >= 90% of hashing ceiling",
                           "value": round(res["login"]["ratio"], 3),
                           "met": res["login"]["ratio"] >= 0.9 and login["error_count"] == 0})
    own = os.path.join(d, "login_own_core.json")
    if os.path.exists(own):
        own_hash = os.path.join(d, "hash_time_own_core.json")
        own_run = load(own)[0]
        res["login_own_core"] = {"run": own_run, **against_hashing(
            own_run, 1, load(own_hash)["seconds_per_hash"] if os.path.exists(own_hash)
            else h["seconds_per_hash"])}
        oc = res["login_own_core"]
        res["targets"].append({"target": ("Login with identity alone on a core (1 hashing worker, "
                                          "the rest of the suite on the other cores) >= 90% of "
                                          "that core's hashing ceiling"),
                               "value": round(oc["ratio"], 3),
                               "met": oc["ratio"] >= 0.9 and oc["run"]["error_count"] == 0})
    quiet = load(os.path.join(d, "vs_quiet.json"))[0]
    flood = load(os.path.join(d, "vs_flood.json"))
    ratio = flood[0]["latency_ms"]["p99"] / quiet["latency_ms"]["p99"]
    res["login_flood"] = {"quiet": quiet, "during_flood": flood[0], "login_background": flood[1],
                          "p99_ratio": ratio}
    res["targets"].append({"target": "ValidateSession p99 during login flood <= 3x quiet p99",
                           "value": round(ratio, 2),
                           "met": ratio <= 3.0 and flood[0]["error_count"] == 0})
    empty70 = os.path.join(d, "p70_Health.json")
    if os.path.exists(empty70):
        q = load(empty70)[0]
        res["empty_rpc_at_70pct"] = {"result": q, "p99_over_p50": (
            q["latency_ms"]["p99"] / q["latency_ms"]["p50"] if q["latency_ms"]["p50"] else None)}
    worst = max((e.get("p99_over_p50_at_70pct") or 0) for e in res["rpcs"].values())
    errs = sum(e["at_70pct"]["error_count"] for e in res["rpcs"].values() if "at_70pct" in e)
    res["targets"].append({"target": "at 70% of peak: p99 <= 5x p50 (worst RPC), zero errors",
                           "value": round(worst, 2), "met": worst <= 5.0 and errs == 0})
    mem = meta.get("memory", {})
    res["memory_kib"] = mem
    if meta.get("memory_by_phase"):
        res["memory_by_phase_kib"] = meta["memory_by_phase"]
        res["memory_peak_phases_kib"] = peak_phases(meta["memory_by_phase"])
    res["targets"].extend(memory_targets(mem))
    sweep = []
    for c in meta["settings"]["sweep"]:
        r = load(os.path.join(d, f"sweep_{c}.json"))[0]
        sweep.append({"concurrency": c, "throughput": r["throughput"],
                      "p50": r["latency_ms"]["p50"], "p99": r["latency_ms"]["p99"],
                      "errors": r["error_count"]})
    res["concurrency_sweep"] = {"rpc": meta["settings"]["sweep_rpc"], "points": sweep}
    growth = {}
    for label in ("small", "normal", "large", "huge"):
        p = os.path.join(d, f"growth_{label}.json")
        if os.path.exists(p):
            growth[label] = {"questions": meta["settings"]["bank_sizes"][label],
                             "result": load(p)[0]}
            practice = os.path.join(d, f"growth_{label}_practice.json")
            if os.path.exists(practice):
                growth[label]["practice"] = load(practice)[0]
    res["growth"] = growth
    largest = "huge" if "huge" in growth else "large"
    if "small" in growth and largest in growth:
        g = growth[largest]["result"]["latency_ms"]["p50"] / growth["small"]["result"]["latency_ms"]["p50"]
        res["targets"].append({"target": (f"ListQuestions p50 flat within 2x from "
                                          f"{growth['small']['questions']} to "
                                          f"{growth[largest]['questions']} questions"),
                               "value": round(g, 2), "met": g <= 2.0})
    ex = os.path.join(d, "explain.json")
    if os.path.exists(ex):
        e = load(ex)
        res["explain"] = e
        sizes = os.path.join(d, "table_sizes.txt")
        if os.path.exists(sizes):
            res["explain_table_sizes"] = {name: int(rows) for name, rows in
                                          (line.split() for line in open(sizes) if line.strip())}
        bad = [x["statement"] for x in e if not runs_with_an_index(x)]
        no_index = [x["statement"] for x in e if not x["noseq_uses_index"]]
        res["targets"].append({"target": "EXPLAIN of every list query uses an index",
                               "value": f"{len(e) - len(bad)}/{len(e)} shapes at the table sizes of explain_table_sizes"
                               + (f" (seq scan: {', '.join(sorted(set(bad)))})" if bad else "")
                               + f"; with enable_seqscan=off {len(e) - len(no_index)}/{len(e)}"
                               + (f" (no index plan: {', '.join(sorted(set(no_index)))})" if no_index else ""),
                               "met": not bad})
    with open(out, "w") as f:
        json.dump(res, f, indent=2)

    # The table.
    print()
    print(f"{'rpc':<18} {'conc':>4} {'ok/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} "
          f"{'rpc ceil':>9} {'db ceil':>8} {'combined':>9} {'ratio':>6} {'target':>6}")
    for rpc, r, tps, rpc_c, combined, ratio, target, entry in rows:
        print(f"{rpc:<18} {r['concurrency']:>4} {r['throughput']:>8.0f} "
              f"{r['latency_ms']['p50']:>7.2f} {r['latency_ms']['p99']:>7.2f} "
              f"{r['error_count']:>4} {rpc_c:>9.0f} {tps:>8.0f} {combined:>9.0f} "
              f"{ratio:>6.2f} {target:>6.2f} {'met' if entry['met'] else 'NOT MET'}")
    print(login_row("Login", login, cores, res["login"]))
    if "login_own_core" in res:
        print(login_row("Login, own core", res["login_own_core"]["run"], 1,
                        res["login_own_core"]))
    print()
    print("70% of peak (open loop):")
    for rpc, e in res["rpcs"].items():
        if "at_70pct" in e:
            q = e["at_70pct"]
            print(f"  {rpc:<18} rate {q['target_rate']:>7.0f}/s  ok/s {q['throughput']:>7.0f}  "
                  f"p50 {q['latency_ms']['p50']:.2f} ms  p99 {q['latency_ms']['p99']:.2f} ms  "
                  f"p99/p50 {e['p99_over_p50_at_70pct']:.2f}  errors {q['error_count']}")
    if res.get("empty_rpc_at_70pct"):
        e = res["empty_rpc_at_70pct"]
        q = e["result"]
        print(f"  (reference) the empty RPC (identity's health Check) at {q['target_rate']:.0f}/s: "
              f"p50 {q['latency_ms']['p50']:.2f} ms  p99 {q['latency_ms']['p99']:.2f} ms  "
              f"p99/p50 {e['p99_over_p50']:.2f}  errors {q['error_count']}")
    lf = res["login_flood"]
    print(f"\nValidateSession at {quiet['target_rate']:.0f}/s: p99 quiet "
          f"{quiet['latency_ms']['p99']:.2f} ms, during login flood "
          f"{lf['during_flood']['latency_ms']['p99']:.2f} ms ({lf['p99_ratio']:.2f}x); "
          f"logins meanwhile {lf['login_background']['throughput']:.0f}/s")
    print("\nconcurrency sweep (" + res["concurrency_sweep"]["rpc"] + "):")
    for p in sweep:
        print(f"  c={p['concurrency']:>3}  {p['throughput']:>8.0f}/s  p50 {p['p50']:.2f} ms  "
              f"p99 {p['p99']:.2f} ms  errors {p['errors']}")
    print("\nListQuestions (closed loop, c=4) by bank size:")
    for label, g in growth.items():
        r = g["result"]
        print(f"  {g['questions']:>8} questions: {r['throughput']:.0f}/s p50 "
              f"{r['latency_ms']['p50']:.2f} ms p99 {r['latency_ms']['p99']:.2f} ms")
    if any("practice" in g for g in growth.values()):
        print("\nStartPracticeSession (20 questions, closed loop, c=4) by bank size:")
        for label, g in growth.items():
            if "practice" in g:
                r = g["practice"]
                print(f"  {g['questions']:>8} questions: {r['throughput']:.0f}/s p50 "
                      f"{r['latency_ms']['p50']:.2f} ms p99 {r['latency_ms']['p99']:.2f} ms "
                      f"errors {r['error_count']}")
    print("\nmemory (KiB):")
    for svc, m in mem.items():
        print(f"  {svc:<10} idle VmRSS {m['idle_rss_kib']:>7}  VmHWM {m['hwm_kib']:>7}  "
              f"after load VmRSS {m['end_rss_kib']:>7}  VmHWM {m['end_hwm_kib']:>7}")
        if svc in res.get("memory_peak_phases_kib", {}):
            print("  " + " " * 10 + " highest during: " + ", ".join(
                f"{step} {kib}" for step, kib in res["memory_peak_phases_kib"][svc]))
    if "loadavg_1m_during_runs" in res["machine"]:
        l = res["machine"]["loadavg_1m_during_runs"]
        print(f"\nload average (1 min) at the measured runs: {l['min']:.1f} .. {l['max']:.1f} "
              f"on {cores} cores (other work on the machine shows here)")
    if "sched_autogroup" in res["machine"]:
        a = res["machine"]["sched_autogroup"]
        print(f"kernel.sched_autogroup_enabled: {a['before']} before the run, {a['during']} during it")
    if res["settings"].get("tls"):
        print("TLS on every gRPC port (BENCH_TLS=1): the services' and the loadgen's calls included")
    print("\ntargets:")
    for t in res["targets"]:
        print(f"  {'met    ' if t['met'] else 'NOT MET'}  {t['target']}: {t['value']}")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"pgbench": cmd_pgbench, "explain": cmd_explain, "report": cmd_report}[cmd](*args)

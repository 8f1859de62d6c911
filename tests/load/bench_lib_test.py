"""Tests of bench_lib: the PostgreSQL log → pgbench script conversion, the pgbench parser and
the memory targets."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_lib  # noqa: E402

LOG = """\
2026-11-22 05:54:46.471 UTC [5322] LOG:  statement: BEGIN; SET TRANSACTION READ ONLY
2026-11-22 05:54:46.471 UTC [5322] LOG:  execute lookup: SELECT a FROM t WHERE h = $1 AND at > $2::timestamptz AND n = $10
2026-11-22 05:54:46.471 UTC [5322] DETAIL:  parameters: $1 = 'it''s', $2 = '2026-11-22 05:54:46+00', $10 = NULL
2026-11-22 05:54:46.471 UTC [9999] LOG:  statement: SELECT 1
2026-11-22 05:54:46.472 UTC [5322] LOG:  statement: COMMIT
2026-11-22 05:54:47.000 UTC [7000] LOG:  statement: BEGIN
2026-11-22 05:54:47.001 UTC [7000] LOG:  execute billing_event_claim: INSERT INTO e (id, body) VALUES ($1, $2::jsonb)
2026-11-22 05:54:47.001 UTC [7000] DETAIL:  parameters: $1 = 'evt_1', $2 = '{"id": "evt_1"}'
2026-11-22 05:54:47.002 UTC [7000] LOG:  execute billing_event_finish: UPDATE e SET s = 1 WHERE id = $1
2026-11-22 05:54:47.002 UTC [7000] DETAIL:  parameters: $1 = 'evt_1'
2026-11-22 05:54:47.003 UTC [7000] LOG:  statement: COMMIT
2026-11-22 05:54:48.000 UTC [7100] LOG:  execute lookup: SELECT a FROM t WHERE h = $1 AND at > $2::timestamptz AND n = $10
2026-11-22 05:54:48.000 UTC [7100] DETAIL:  parameters: $1 = 'auto', $2 = '2026-11-22 05:54:46+00', $10 = NULL
2026-11-22 05:54:49.000 UTC [7200] LOG:  execute <unnamed>: /* users_list */ SELECT id FROM u WHERE e LIKE $1
2026-11-22 05:54:49.000 UTC [7200] DETAIL:  parameters: $1 = 'ab%'
2026-11-22 05:54:49.500 UTC [7300] LOG:  execute <unnamed>: SELECT 2
"""


class BenchLibTest(unittest.TestCase):
    def setUp(self):
        fd, self.log = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write(LOG)

    def tearDown(self):
        os.unlink(self.log)

    def test_finds_only_transactions_that_ran_the_marker(self):
        entries = bench_lib.parse_log(self.log)
        self.assertEqual(len(bench_lib.transactions(entries, "lookup")), 2)
        self.assertEqual(len(bench_lib.transactions(entries, "billing_event_claim")), 1)
        self.assertEqual(bench_lib.transactions(entries, "absent"), [])

    def test_a_statement_planned_per_call_is_named_by_its_comment(self):
        executed = [text for _, kind, text in bench_lib.parse_log(self.log) if kind == "execute"]
        self.assertIn(("users_list", "/* users_list */ SELECT id FROM u WHERE e LIKE $1"),
                      executed)
        self.assertIn(("<unnamed>", "SELECT 2"), executed)

    def test_a_list_statement_planned_per_call_is_judged_by_its_custom_plan(self):
        def entry(generic, custom, per_call):
            return {"generic_uses_index": generic, "custom_uses_index": custom,
                    "planned_per_call": per_call}
        self.assertTrue(bench_lib.runs_with_an_index(entry(True, True, False)))
        self.assertFalse(bench_lib.runs_with_an_index(entry(False, True, False)))
        self.assertFalse(bench_lib.runs_with_an_index(entry(True, False, False)))
        self.assertTrue(bench_lib.runs_with_an_index(entry(False, True, True)))
        self.assertFalse(bench_lib.runs_with_an_index(entry(True, False, True)))

    def test_an_autocommit_statement_is_a_transaction_of_its_own(self):
        txs = bench_lib.transactions(bench_lib.parse_log(self.log), "lookup")
        self.assertEqual(len(txs), 2)
        text = bench_lib.script(txs[1], "ValidateSession", 0)
        self.assertEqual(text.splitlines()[1:], [
            "SELECT a FROM t WHERE h = 'auto' AND at > E'2026-11-22 05\\x3a54\\x3a46+00'"
            "::timestamptz AND n = NULL;"])

    def test_read_only_begin_is_one_command_and_params_become_safe_literals(self):
        tx = bench_lib.transactions(bench_lib.parse_log(self.log), "lookup")[0]
        text = bench_lib.script(tx, "ValidateSession", 0)
        lines = text.splitlines()
        self.assertEqual(lines[1], "BEGIN READ ONLY;")
        # Quotes doubled; a colon before a word written as \x3a so pgbench sees no variable;
        # $10 is not mistaken for $1 followed by 0.
        self.assertEqual(
            lines[2],
            "SELECT a FROM t WHERE h = 'it''s' AND at > E'2026-11-22 05\\x3a54\\x3a46+00'"
            "::timestamptz AND n = NULL;")
        self.assertEqual(lines[-1], "COMMIT;")

    def test_unique_keys_become_per_client_expressions_everywhere(self):
        tx = bench_lib.transactions(bench_lib.parse_log(self.log), "billing_event_claim")[0]
        text = bench_lib.script(tx, "IngestStripeEvent", 0)
        expr = "('evt_pgb_' || :client_id || '_' || :k)"
        self.assertEqual(text.count(expr), 2)
        self.assertIn("'{\"id\": \"evt_1\"}'::jsonb", text)  # the body stays as logged
        self.assertTrue(text.startswith("\\set k :k + 1\n"))

    def test_pgbench_output_is_parsed(self):
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("number of failed transactions: 3 (0.1%)\n"
                    "tps = 1234.5 (without initial connection time)\n")
        try:
            tps, failed, _ = bench_lib.pgbench_tps(path)
        finally:
            os.unlink(path)
        self.assertEqual(tps, 1234.5)
        self.assertEqual(failed, 3)

    def test_the_peak_memory_target_counts_the_whole_run(self):
        mem = {"questions": {"idle_rss_kib": 20000, "hwm_kib": 40000, "end_rss_kib": 50000,
                             "end_hwm_kib": 70000},
               "billing": {"idle_rss_kib": 25000, "hwm_kib": 30000, "end_rss_kib": 30000,
                           "end_hwm_kib": 31000}}
        met = {t["target"]: (t["value"], t["met"]) for t in bench_lib.memory_targets(mem)}
        self.assertEqual(met["questions RSS idle <= 24 MiB"], (19.5, True))
        self.assertEqual(met["questions RSS peak (VmHWM over the whole run) <= 64 MiB"],
                         (68.4, False))
        self.assertEqual(met["billing RSS idle <= 24 MiB"], (24.4, False))
        self.assertEqual(met["billing RSS peak (VmHWM over the whole run) <= 64 MiB"],
                         (30.3, True))

    def test_login_on_its_own_core_is_measured_against_one_core(self):
        run = {"throughput": 95.0, "error_count": 0}
        own = bench_lib.against_hashing(run, 1, 0.0095)
        self.assertAlmostEqual(own["hash_ceiling"], 105.263, places=2)
        self.assertAlmostEqual(own["ratio"], 0.9025, places=3)
        shared = bench_lib.against_hashing(run, 2, 0.0095)
        self.assertAlmostEqual(shared["hash_ceiling"], 210.526, places=2)
        self.assertAlmostEqual(shared["ratio"], 0.45125, places=4)

    def test_peak_phases_ranks_each_services_steps_by_their_own_peak(self):
        by_phase = [["start", 21000, 22000, 23000], ["peak_Login", 50000, 25000, 24000],
                    ["vs_flood", 61000, 24000, 30000], ["import_huge", 30000, 26000, 58000]]
        ranked = bench_lib.peak_phases(by_phase, top=2)
        self.assertEqual(ranked["identity"], [["vs_flood", 61000], ["peak_Login", 50000]])
        self.assertEqual(ranked["billing"], [["import_huge", 26000], ["peak_Login", 25000]])
        self.assertEqual(ranked["questions"], [["import_huge", 58000], ["vs_flood", 30000]])


if __name__ == "__main__":
    unittest.main()

// The retention job end to end, and the rules of billing and questions: the purge binary run
// as the CronJob runs it (suite_retention, configured by environment) purges every service's
// tables, writes one JSON line and its metrics file, and refuses bad configuration with exit
// code 2; the billing and questions rules keep everything inside their period, at each
// boundary, and each batch is an index range.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/billing/storage/retention.h"
#include "services/identity/testing/retention_fixture.h"
#include "services/questions/storage/retention.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"

namespace {

using suite::db::retention::PurgeOptions;
using suite::db::retention::PurgeRule;
using suite::db::retention::PurgeRunResult;
using suite::db::retention::RunPurge;

using suite::identity::testing::kNow;
using suite::identity::testing::Ts;

class PurgeTest : public suite::identity::testing::RetentionTest {
 protected:
  void AddEvent(const std::string& id, const std::string& status, absl::Time received) {
    Exec(absl::StrCat("INSERT INTO billing.stripe_events (stripe_event_id, type, livemode, "
                      "received_at, status, raw_event_redacted) VALUES ('",
                      id, "', 'invoice.paid', false, ", Ts(received), ", '", status,
                      "', '{\"id\": \"", id, "\"}')"));
  }

  // An open practice session with `correct` correct and one wrong attempt.
  void AddSession(const std::string& id, absl::Time started, int correct) {
    Exec(absl::StrCat("INSERT INTO questions.practice_sessions (id, user_id, mode, "
                      "question_ids, started_at) VALUES ('",
                      id, "', '00000000-0000-0000-0000-0000000000b1', 'exam', '{}', ",
                      Ts(started), ")"));
    for (int i = 0; i <= correct; ++i) {
      Exec(absl::StrCat(
          "WITH q AS (INSERT INTO questions.questions (stem, difficulty, author_id) VALUES "
          "('s', 'easy', '00000000-0000-0000-0000-0000000000b2') RETURNING id), "
          "c AS (INSERT INTO questions.choices (question_id, position, text, is_correct) "
          "SELECT id, 0, 't', true FROM q RETURNING id, question_id) "
          "INSERT INTO questions.attempts (session_id, question_id, choice_id, user_id, "
          "is_correct) SELECT '",
          id, "', question_id, id, '00000000-0000-0000-0000-0000000000b1', ",
          i < correct ? "true" : "false", " FROM c"));
    }
  }

  PurgeRunResult Purge(const std::vector<PurgeRule>& rules) {
    PurgeOptions options;
    options.now = kNow;
    return RunPurge(*pool_, rules, options);
  }
};

TEST_F(PurgeTest, SettledEventPayloadsGoAfterTheirPeriodAndTheEventRowsStay) {
  const absl::Time cutoff = kNow - suite::billing::BillingRetention().stripe_event_payloads;
  AddEvent("evt_after_1s", "processed", cutoff + absl::Seconds(1));
  AddEvent("evt_at", "processed", cutoff);
  AddEvent("evt_before_1us", "processed", cutoff - absl::Microseconds(1));
  AddEvent("evt_ignored_before_1s", "ignored", cutoff - absl::Seconds(1));
  // Not settled: may still be reprocessed, so its payload stays however old.
  AddEvent("evt_failed_old", "failed", cutoff - absl::Hours(24 * 365));
  AddEvent("evt_received_old", "received", cutoff - absl::Hours(24 * 365));
  PurgeRunResult run = Purge(suite::billing::BillingPurgeRules(suite::billing::BillingRetention()));
  ASSERT_TRUE(run.ok()) << run.rules[0].status;
  EXPECT_EQ(run.rules[0].rows, 2);
  EXPECT_EQ(Column("SELECT stripe_event_id || ':' || coalesce(raw_event_redacted->>'id', 'NULL') "
                   "FROM billing.stripe_events ORDER BY 1"),
            (std::vector<std::string>{"evt_after_1s:evt_after_1s", "evt_at:evt_at",
                                      "evt_before_1us:NULL", "evt_failed_old:evt_failed_old",
                                      "evt_ignored_before_1s:NULL",
                                      "evt_received_old:evt_received_old"}));
  // Run again: nothing left to do, nothing else touched.
  PurgeRunResult again =
      Purge(suite::billing::BillingPurgeRules(suite::billing::BillingRetention()));
  EXPECT_EQ(again.rules[0].rows, 0);
}

TEST_F(PurgeTest, AbandonedPracticeSessionsAreClosedAndScoredAfterTheirPeriodOnly) {
  const absl::Time cutoff =
      kNow - suite::questions::QuestionsRetention().abandoned_practice_sessions;
  AddSession("00000000-0000-0000-0000-000000000001", cutoff + absl::Seconds(1), 1);
  AddSession("00000000-0000-0000-0000-000000000002", cutoff, 1);
  AddSession("00000000-0000-0000-0000-000000000003", cutoff - absl::Microseconds(1), 2);
  AddSession("00000000-0000-0000-0000-000000000004", cutoff - absl::Seconds(1), 0);
  // Already ended by its user: its score and end stay as they were.
  AddSession("00000000-0000-0000-0000-000000000005", cutoff - absl::Hours(48), 1);
  Exec("UPDATE questions.practice_sessions SET ended_at = 'epoch', score = 7 "
       "WHERE id = '00000000-0000-0000-0000-000000000005'");
  PurgeRunResult run =
      Purge(suite::questions::QuestionsPurgeRules(suite::questions::QuestionsRetention()));
  ASSERT_TRUE(run.ok()) << run.rules[0].status;
  EXPECT_EQ(run.rules[0].rows, 2);
  EXPECT_EQ(Column("SELECT right(id::text, 1) || ':' || coalesce(score::text, 'open') || ':' || "
                   "coalesce((ended_at = 'epoch')::text, 'open') FROM questions.practice_sessions ORDER BY 1"),
            (std::vector<std::string>{"1:open:open", "2:open:open", "3:2:false", "4:0:false",
                                      "5:7:true"}));
}

TEST_F(PurgeTest, EachBillingAndQuestionsBatchIsAnIndexRangeNotAScan) {
  Exec("INSERT INTO billing.stripe_events (stripe_event_id, type, livemode, received_at, "
       "status, raw_event_redacted) SELECT 'evt_' || i, 't', false, "
       "now() - i * interval '1 minute', 'processed', '{}' FROM generate_series(1, 20000) i");
  Exec("INSERT INTO questions.practice_sessions (user_id, mode, question_ids, started_at, "
       "ended_at, score) SELECT gen_random_uuid(), 'tutor', '{}', "
       "now() - i * interval '1 minute', CASE WHEN i % 10 = 0 THEN NULL ELSE now() END, "
       "CASE WHEN i % 10 = 0 THEN NULL ELSE 1 END FROM generate_series(1, 20000) i");
  Exec("INSERT INTO questions.audit_log (seq, occurred_at, action, target_type, target_id, "
       "outcome, prev_hash, hash) SELECT i, now() - (20001 - i) * interval '1 minute', "
       "'question.publish', 'question', 'q', 'succeeded', repeat('0', 64), repeat('0', 64) "
       "FROM generate_series(1, 20000) i");
  Exec("INSERT INTO billing.audit_log (seq, occurred_at, action, target_type, target_id, "
       "outcome, prev_hash, hash) SELECT i, now() - i * interval '1 minute', 'ledger.append', "
       "'transaction', 't', 'succeeded', repeat('0', 64), repeat('0', 64) "
       "FROM generate_series(1, 20000) i");
  Exec("ANALYZE billing.stripe_events, billing.audit_log, questions.practice_sessions, "
       "questions.audit_log");
  std::vector<PurgeRule> rules =
      suite::billing::BillingPurgeRules(suite::billing::BillingRetention());
  for (const PurgeRule& r :
       suite::questions::QuestionsPurgeRules(suite::questions::QuestionsRetention())) {
    rules.push_back(r);
  }
  for (const PurgeRule& rule : rules) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
    tx.exec0("PREPARE s AS " + rule.sql);
    std::string plan;
    for (const auto& r : tx.exec("EXPLAIN EXECUTE s(" +
                                 std::to_string(absl::ToUnixMicros(kNow - rule.keep)) +
                                 ", 1000)")) {
      plan += r[0].as<std::string>() + "\n";
    }
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << rule.table << "\n" << plan;
    EXPECT_NE(plan.find("Index Scan"), std::string::npos) << rule.table << "\n" << plan;
    EXPECT_NE(plan.find("Tid Scan"), std::string::npos) << rule.table << "\n" << plan;
  }
}

// Runs the purge binary with `env` (NAME=value ...) prepended; returns its exit code and
// puts its stdout in `out`.
int RunBinary(const std::string& env, std::string* out, const std::string& args = "") {
  const std::string command = env + " tools/purge/purge " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out->append(buffer.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(PurgeTest, TheBinaryPurgesEveryServiceLogsOneLineAndWritesItsMetrics) {
  const absl::Time now = absl::Now();
  Exec(absl::StrCat("INSERT INTO identity.login_attempts (email, ip, success, created_at) VALUES "
                    "('old', 'ip', true, ",
                    Ts(now - absl::Hours(24 * 91)), "), ('young', 'ip', true, ",
                    Ts(now - absl::Hours(24 * 89)), ")"));
  AddEvent("evt_old", "processed", now - absl::Hours(24 * 31));
  AddSession("00000000-0000-0000-0000-000000000009", now - absl::Hours(25), 1);
  const std::string metrics = absl::StrCat(getenv("TEST_TMPDIR"), "/retention.prom");
  std::string out;
  ASSERT_EQ(RunBinary(absl::StrCat("DATABASE_URL='", db_->UrlAs("suite_retention"),
                                   "' RETENTION_BATCH_SIZE=1 RETENTION_METRICS_FILE='", metrics,
                                   "'"),
                      &out),
            0)
      << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << out;
  nlohmann::json line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line["event"], "retention.purge");
  EXPECT_EQ(line["rows"], 3);
  ASSERT_EQ(line["tables"].size(), 8u);  // 4 identity, 2 billing, 2 questions
  for (const auto& table : line["tables"]) EXPECT_TRUE(table["complete"].get<bool>()) << table;
  EXPECT_EQ(Column("SELECT email FROM identity.login_attempts"),
            (std::vector<std::string>{"young"}));
  std::ifstream file(metrics);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_NE(text.str().find(
                "retention_purged_rows_total{table=\"identity.login_attempts\",action=\"delete\"} 1"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("retention_purge_seconds_total{table=\"billing.stripe_events\""),
            std::string::npos)
      << text.str();
}

TEST_F(PurgeTest, TheBinaryRefusesBadConfigurationWithExitCodeTwoAndTouchesNothing) {
  Exec(absl::StrCat("INSERT INTO identity.login_attempts (email, ip, success, created_at) VALUES "
                    "('old', 'ip', true, ",
                    Ts(absl::Now() - absl::Hours(24 * 91)), ")"));
  const std::string url = absl::StrCat("DATABASE_URL='", db_->UrlAs("suite_retention"), "'");
  for (const std::string bad : {"RETENTION_LOGIN_ATTEMPTS=1h", "RETENTION_LOGIN_ATTEMPTS=-5h",
                                "RETENTION_LOGIN_ATTEMPTS=ninety", "RETENTION_BATCH_SIZE=0",
                                "RETENTION_SERVICES=identity,ledger", "RETENTION_PAUSE=inf"}) {
    std::string out;
    EXPECT_EQ(RunBinary(url + " " + bad, &out), 2) << bad << ": " << out;
    EXPECT_NE(out.find(bad.substr(0, bad.find('='))), std::string::npos) << bad << ": " << out;
  }
  EXPECT_EQ(Column("SELECT email FROM identity.login_attempts"),
            (std::vector<std::string>{"old"}));
}

// The JSON line `verify-audit` printed for `schema` (one line per chain).
nlohmann::json VerifyLine(const std::string& out, const std::string& schema) {
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("schema", "") == schema) return j;
  }
  ADD_FAILURE() << "no line for " << schema << " in: " << out;
  return nlohmann::json::object();
}

TEST_F(PurgeTest, VerifyAuditReportsAWholeChainAndNamesTheFirstBrokenRow) {
  const std::string url = absl::StrCat("DATABASE_URL='", db_->UrlAs("suite_retention"), "'");
  // Two rows per chain, appended as the stores append them (the chain head locked and moved).
  for (const std::string schema : {"identity", "billing", "questions"}) {
    for (int i = 0; i < 2; ++i) {
      Exec(absl::StrCat(
          "WITH h AS (SELECT seq, hash FROM ", schema, ".audit_chain_head WHERE id FOR UPDATE), "
          "e AS (SELECT h.seq + 1 AS seq, h.hash AS prev, clock_timestamp() AS at FROM h), "
          "i AS (INSERT INTO ", schema, ".audit_log (seq, occurred_at, action, target_type, "
          "target_id, outcome, prev_hash, hash) SELECT e.seq, e.at, 'thing.delete', 'thing', 'u', "
          "'succeeded', e.prev, ", schema, ".audit_hash(e.prev, e.seq, e.at, NULL, 'thing.delete', "
          "'thing', 'u', NULL, 'succeeded', NULL, NULL) FROM e RETURNING seq, hash) "
          "UPDATE ", schema, ".audit_chain_head SET seq = i.seq, hash = i.hash FROM i"));
    }
  }
  std::string out;
  ASSERT_EQ(RunBinary(url, &out, "verify-audit"), 0) << out;
  for (const std::string schema : {"identity", "billing", "questions"}) {
    nlohmann::json whole = VerifyLine(out, schema);
    EXPECT_EQ(whole["event"], "audit.verify") << schema;
    EXPECT_EQ(whole["rows"], 2) << schema;
    EXPECT_TRUE(whole.value("intact", false)) << schema;
  }

  // Either chain broken fails the run, and the line of the broken one names its row.
  for (const std::string schema : {"questions", "billing", "identity"}) {
    Exec(absl::StrCat("UPDATE ", schema, ".audit_log SET target_id = 'someone else' WHERE seq = 2"));
    out.clear();
    ASSERT_EQ(RunBinary(url, &out, "verify-audit"), 1) << out;
    nlohmann::json broken = VerifyLine(out, schema);
    EXPECT_FALSE(broken.value("intact", true)) << schema;
    EXPECT_EQ(broken["broken_seq"], 2) << schema;
  }
  nlohmann::json other = VerifyLine(out, "questions");
  EXPECT_FALSE(other.value("intact", true));

  out.clear();
  EXPECT_EQ(RunBinary(url, &out, "verify-everything"), 2) << out;
}

}  // namespace

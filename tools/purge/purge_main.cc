// The retention job (docs/retention.md): one run purges every table past its period, in
// bounded batches, through each service's own purge rules, then exits. Run by the CronJob in
// deploy/k8s/base/retention-cronjob.yaml as the role suite_retention; by hand:
//
//   DATABASE_URL=postgresql://suite_retention@127.0.0.1:5432/suite bazel run //tools/purge
//
// Configuration (environment; durations as Go/absl durations, e.g. 2160h, 30m):
//   RETENTION_SERVICES                       identity,billing,questions   (whose rules run)
//   RETENTION_LOGIN_ATTEMPTS                 2160h  (90 days, by created_at)
//   RETENTION_SESSIONS_AFTER_END             720h   (30 days after revocation or expiry)
//   RETENTION_EMAIL_VERIFICATIONS_AFTER_END  168h   (7 days after use or expiry)
//   RETENTION_IDENTITY_AUDIT_LOG             17520h (2 years, by occurred_at; at least 8760h)
//   RETENTION_STRIPE_EVENT_PAYLOADS          720h   (30 days after arrival, settled events)
//   RETENTION_BILLING_AUDIT_LOG              17520h (2 years, by occurred_at; at least 8760h)
//   RETENTION_ABANDONED_PRACTICE_SESSIONS    24h    (open sessions closed after this)
//   RETENTION_QUESTIONS_AUDIT_LOG            17520h (2 years, by occurred_at; at least 8760h)
//   RETENTION_BATCH_SIZE                     1000   (rows per batch and transaction)
//   RETENTION_MAX_BATCHES                    0      (per table and run; 0: until done)
//   RETENTION_PAUSE                          0s     (between batches)
//   RETENTION_METRICS_FILE                   unset  (write the run's metrics there, in the
//                                                    Prometheus text format, for a textfile
//                                                    collector: a CronJob is never scraped)
// plus the pool's DATABASE_URL and DB_* variables (shared/db/config.h).
//
// `purge verify-audit` instead checks the audit chains (shared/db/audit/audit_log.h): one
// JSON line per chain (event audit.verify: rows, first/last seq, intact, and when broken
// broken_seq and the problem); exit 1 when a chain is broken.
//
// Exit codes: 0 every rule completed or stopped at RETENTION_MAX_BATCHES; 1 a rule failed
// (what it did before stays done; the next run goes on from there); 2 bad configuration.
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/billing/storage/retention.h"
#include "services/identity/storage/retention.h"
#include "services/questions/storage/retention.h"
#include "shared/base/json_log.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/config.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"
#include "shared/metrics/metrics.h"

namespace {

using suite::db::retention::PurgeRule;

absl::Status ReadDuration(const char* name, absl::Duration* out) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return absl::OkStatus();
  absl::Duration parsed;
  if (!absl::ParseDuration(value, &parsed) || parsed < absl::ZeroDuration() ||
      parsed == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": \"", value, "\" is not a finite, non-negative duration"));
  }
  *out = parsed;
  return absl::OkStatus();
}

absl::Status ReadInt(const char* name, int min, int max, int* out) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return absl::OkStatus();
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": \"", value, "\" is not an integer in [", min, ", ", max, "]"));
  }
  *out = parsed;
  return absl::OkStatus();
}

struct Config {
  std::vector<PurgeRule> rules;
  suite::db::retention::PurgeOptions options;
  std::string metrics_file;
};

absl::Status Load(Config* config) {
  suite::identity::IdentityRetention identity;
  suite::billing::BillingRetention billing;
  suite::questions::QuestionsRetention questions;
  for (absl::Status s : {
           ReadDuration("RETENTION_LOGIN_ATTEMPTS", &identity.login_attempts),
           ReadDuration("RETENTION_SESSIONS_AFTER_END", &identity.sessions_after_end),
           ReadDuration("RETENTION_EMAIL_VERIFICATIONS_AFTER_END",
                        &identity.email_verifications_after_end),
           ReadDuration("RETENTION_IDENTITY_AUDIT_LOG", &identity.audit_log),
           ReadDuration("RETENTION_STRIPE_EVENT_PAYLOADS", &billing.stripe_event_payloads),
           ReadDuration("RETENTION_BILLING_AUDIT_LOG", &billing.audit_log),
           ReadDuration("RETENTION_ABANDONED_PRACTICE_SESSIONS",
                        &questions.abandoned_practice_sessions),
           ReadDuration("RETENTION_QUESTIONS_AUDIT_LOG", &questions.audit_log),
           ReadInt("RETENTION_BATCH_SIZE", 1, 100000, &config->options.batch_size),
           ReadInt("RETENTION_MAX_BATCHES", 0, 1000000000, &config->options.max_batches),
           ReadDuration("RETENTION_PAUSE", &config->options.pause),
       }) {
    if (!s.ok()) return s;
  }
  const char* services = std::getenv("RETENTION_SERVICES");
  const std::string list =
      services == nullptr || *services == '\0' ? "identity,billing,questions" : services;
  for (absl::string_view service : absl::StrSplit(list, ',')) {
    std::vector<PurgeRule> rules;
    if (service == "identity") {
      rules = suite::identity::IdentityPurgeRules(identity);
    } else if (service == "billing") {
      rules = suite::billing::BillingPurgeRules(billing);
    } else if (service == "questions") {
      rules = suite::questions::QuestionsPurgeRules(questions);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("RETENTION_SERVICES: unknown service \"", service,
                       "\" (identity, billing, questions)"));
    }
    config->rules.insert(config->rules.end(), rules.begin(), rules.end());
  }
  // A period below its rule's minimum is named by the variable that set it.
  const std::map<std::string, std::string> variable_of = {
      {"identity.login_attempts", "RETENTION_LOGIN_ATTEMPTS"},
      {"identity.sessions", "RETENTION_SESSIONS_AFTER_END"},
      {"identity.email_verifications", "RETENTION_EMAIL_VERIFICATIONS_AFTER_END"},
      {"identity.audit_log", "RETENTION_IDENTITY_AUDIT_LOG"},
      {"billing.stripe_events", "RETENTION_STRIPE_EVENT_PAYLOADS"},
      {"billing.audit_log", "RETENTION_BILLING_AUDIT_LOG"},
      {"questions.practice_sessions", "RETENTION_ABANDONED_PRACTICE_SESSIONS"},
      {"questions.audit_log", "RETENTION_QUESTIONS_AUDIT_LOG"},
  };
  for (const PurgeRule& rule : config->rules) {
    absl::Status valid = suite::db::retention::ValidatePurgeRule(rule);
    if (!valid.ok()) {
      auto variable = variable_of.find(rule.table);
      return absl::InvalidArgumentError(absl::StrCat(
          variable == variable_of.end() ? rule.table : variable->second, ": ", valid.message()));
    }
  }
  const char* metrics_file = std::getenv("RETENTION_METRICS_FILE");
  if (metrics_file != nullptr) config->metrics_file = metrics_file;
  return absl::OkStatus();
}

}  // namespace

// `purge verify-audit`: walks each audit chain (identity's, billing's, questions') from its
// oldest row; prints one JSON line per chain and exits 1 when one is broken, naming its first
// broken row.
int VerifyAudit() {
  absl::StatusOr<suite::db::PoolConfig> pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) {
    return suite::LogStartupFailure("retention", 2, "database config",
                                         pool_config.status());
  }
  pool_config->pool_size = 1;
  absl::StatusOr<std::unique_ptr<suite::db::ConnectionPool>> pool =
      suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) {
    return suite::LogStartupFailure("retention", 2, "database pool", pool.status());
  }
  int exit_code = 0;
  for (const char* schema : {"identity", "billing", "questions"}) {
    absl::Status registered = suite::db::audit::RegisterAuditStatements(**pool, schema);
    absl::StatusOr<suite::db::audit::ChainReport> report =
        registered.ok() ? suite::db::audit::VerifyAuditChain(**pool, schema)
                        : absl::StatusOr<suite::db::audit::ChainReport>(registered);
    if (!report.ok()) {
      suite::WriteLogLine({{"severity", "ERROR"},
                                {"event", "audit.verify_failed"},
                                {"schema", schema},
                                {"status", report.status().ToString()}});
      exit_code = 1;
      continue;
    }
    nlohmann::json line = {{"severity", report->broken_seq ? "ERROR" : "INFO"},
                           {"event", "audit.verify"},
                           {"schema", schema},
                           {"rows", report->rows},
                           {"first_seq", report->first_seq},
                           {"last_seq", report->last_seq},
                           {"intact", !report->broken_seq.has_value()}};
    if (report->broken_seq) {
      line["broken_seq"] = *report->broken_seq;
      line["problem"] = report->problem;
      exit_code = 1;
    }
    suite::WriteLogLine(std::move(line));
  }
  return exit_code;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "verify-audit") return VerifyAudit();
  if (argc > 1) {
    return suite::LogStartupFailure(
        "retention", 2, "arguments",
        absl::InvalidArgumentError("usage: purge [verify-audit]"));
  }
  Config config;
  if (absl::Status s = Load(&config); !s.ok()) {
    return suite::LogStartupFailure("retention", 2, "retention config", s);
  }
  absl::StatusOr<suite::db::PoolConfig> pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) {
    return suite::LogStartupFailure("retention", 2, "database config",
                                         pool_config.status());
  }
  pool_config->pool_size = 1;  // batches run one after another
  absl::StatusOr<std::unique_ptr<suite::db::ConnectionPool>> pool =
      suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) {
    return suite::LogStartupFailure("retention", 2, "database pool", pool.status());
  }
  config.options.now = absl::Now();
  suite::db::retention::PurgeRunResult run =
      suite::db::retention::RunPurge(**pool, config.rules, config.options);
  if (!config.metrics_file.empty()) {
    // Written to a temporary name and renamed, so a collector never reads half a file.
    const std::string temporary = config.metrics_file + ".tmp";
    std::ofstream out(temporary, std::ios::trunc);
    out << suite::metrics::Registry::Default().Render();
    out.close();
    if (!out || std::rename(temporary.c_str(), config.metrics_file.c_str()) != 0) {
      suite::WriteLogLine({{"severity", "ERROR"},
                                {"event", "retention.metrics_file_failed"},
                                {"path", config.metrics_file}});
      return 1;
    }
  }
  return run.ok() ? 0 : 1;
}

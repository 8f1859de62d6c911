#include "shared/db/retention/purger.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "shared/base/json_log.h"
#include "shared/db/transaction.h"
#include "shared/metrics/metrics.h"

namespace suite::db::retention {
namespace {

constexpr int kMaxBatchSize = 100000;

void Record(const RulePurgeResult& result) {
  metrics::Registry& registry = metrics::Registry::Default();
  absl::StatusOr<metrics::CounterFamily*> rows = registry.AddCounter(
      "retention_purged_rows_total", "Rows removed or thinned out by the retention purge.",
      {"table", "action"});
  if (rows.ok()) (*rows)->WithLabels({result.table, result.action}).Increment(result.rows);
  absl::StatusOr<metrics::CounterFamily*> seconds = registry.AddCounter(
      "retention_purge_seconds_total", "Seconds spent in retention purge batches.",
      {"table", "action"});
  if (seconds.ok()) {
    (*seconds)->WithLabels({result.table, result.action})
        .Increment(absl::ToDoubleSeconds(result.elapsed));
  }
  absl::StatusOr<metrics::CounterFamily*> failures = registry.AddCounter(
      "retention_purge_failures_total", "Retention purge rules that stopped on an error.",
      {"table", "action"});
  if (failures.ok()) {
    auto& series = (*failures)->WithLabels({result.table, result.action});
    if (!result.status.ok()) series.Increment();
  }
}

RulePurgeResult RunRule(ConnectionPool& pool, const PurgeRule& rule,
                        const PurgeOptions& options) {
  RulePurgeResult result;
  result.table = rule.table;
  result.action = rule.action;
  const absl::Time started = absl::Now();
  const int64_t cutoff = absl::ToUnixMicros(options.now - rule.keep);
  result.status = pool.RegisterStatement(rule.statement, rule.sql);
  while (result.status.ok()) {
    if (result.batches > 0 && options.pause > absl::ZeroDuration()) {
      absl::SleepFor(options.pause);
    }
    // One batch, one transaction: it commits whole or not at all, so a run stopped anywhere
    // (statement cancelled, connection lost, process killed) leaves only whole batches done.
    absl::StatusOr<int64_t> affected = RunInTransaction<int64_t>(
        pool, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<int64_t> {
          SUITE_ASSIGN_OR_RETURN(pqxx::result r,
                                 tx.Exec(rule.statement, cutoff, options.batch_size));
          return static_cast<int64_t>(r.affected_rows());
        });
    if (!affected.ok()) {
      result.status = affected.status();
      break;
    }
    ++result.batches;
    result.rows += *affected;
    if (*affected < options.batch_size) {
      result.complete = true;
      break;
    }
    if (options.max_batches > 0 && result.batches >= options.max_batches) break;
  }
  result.elapsed = absl::Now() - started;
  return result;
}

}  // namespace

const char kCutoffSql[] = "(timestamptz 'epoch' + $1::bigint * interval '1 microsecond')";

namespace {

std::string PickRows(absl::string_view table, absl::string_view key, absl::string_view extra) {
  return absl::StrCat("SELECT ctid FROM ", table, " WHERE ", key, " < ", kCutoffSql,
                      extra.empty() ? "" : " AND ", extra, " ORDER BY ", key,
                      " LIMIT $2 FOR UPDATE SKIP LOCKED");
}

}  // namespace

std::string DeleteBatchSql(absl::string_view table, absl::string_view key,
                           absl::string_view extra) {
  return absl::StrCat("DELETE FROM ", table, " WHERE ctid = ANY(ARRAY(",
                      PickRows(table, key, extra), "))");
}

std::string UpdateBatchSql(absl::string_view table, absl::string_view set,
                           absl::string_view key, absl::string_view extra) {
  return absl::StrCat("UPDATE ", table, " t SET ", set, " WHERE t.ctid = ANY(ARRAY(",
                      PickRows(table, key, extra), "))");
}

bool PurgeRunResult::ok() const {
  for (const RulePurgeResult& r : rules) {
    if (!r.status.ok()) return false;
  }
  return true;
}

absl::Status ValidatePurgeOptions(const PurgeOptions& options) {
  if (options.now == absl::InfinitePast() || options.now == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("now: must be a finite time");
  }
  if (options.batch_size < 1 || options.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size: must be between 1 and ", kMaxBatchSize, ", got ",
                     options.batch_size));
  }
  if (options.max_batches < 0) {
    return absl::InvalidArgumentError("max_batches: must not be negative");
  }
  if (options.pause < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pause: must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ValidatePurgeRule(const PurgeRule& rule) {
  if (rule.table.empty() || rule.statement.empty() || rule.sql.empty()) {
    return absl::InvalidArgumentError("purge rule: table, statement and sql are required");
  }
  if (rule.keep < rule.min_keep) {
    return absl::InvalidArgumentError(
        absl::StrCat(rule.table, " retention: ", absl::FormatDuration(rule.keep),
                     " is shorter than the minimum ", absl::FormatDuration(rule.min_keep)));
  }
  return absl::OkStatus();
}

PurgeRunResult RunPurge(ConnectionPool& pool, const std::vector<PurgeRule>& rules,
                        const PurgeOptions& options) {
  PurgeRunResult run;
  const absl::Time started = absl::Now();
  const absl::Status valid = ValidatePurgeOptions(options);
  nlohmann::json tables = nlohmann::json::array();
  int64_t total = 0;
  for (const PurgeRule& rule : rules) {
    RulePurgeResult result;
    absl::Status rule_valid = valid.ok() ? ValidatePurgeRule(rule) : valid;
    if (rule_valid.ok()) {
      result = RunRule(pool, rule, options);
    } else {
      result.table = rule.table;
      result.action = rule.action;
      result.status = rule_valid;
    }
    Record(result);
    total += result.rows;
    nlohmann::json entry = {{"table", result.table},
                            {"action", result.action},
                            {"rows", result.rows},
                            {"batches", result.batches},
                            {"complete", result.complete},
                            {"keep_seconds", absl::ToInt64Seconds(rule.keep)},
                            {"ms", suite::LogMilliseconds(result.elapsed)}};
    if (!result.status.ok()) entry["status"] = result.status.ToString();
    tables.push_back(std::move(entry));
    run.rules.push_back(std::move(result));
  }
  run.elapsed = absl::Now() - started;
  suite::WriteLogLine({{"severity", run.ok() ? "INFO" : "ERROR"},
                     {"event", "retention.purge"},
                     {"rows", total},
                     {"ms", suite::LogMilliseconds(run.elapsed)},
                     {"batch_size", options.batch_size},
                     {"tables", std::move(tables)}});
  return run;
}

}  // namespace suite::db::retention

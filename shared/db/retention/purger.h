// The retention runner: removes (or thins out) rows past their retention period in bounded
// batches, each batch its own short transaction, so a purge never holds a long lock, never
// rewrites a table, and can be stopped at any moment without leaving anything half-done.
//
// Each service's storage layer owns its tables and so its purge statements: it describes them
// as PurgeRules (services/<svc>/storage/retention.h) and this runner executes them:
//
//   std::vector<PurgeRule> rules = suite::identity::IdentityPurgeRules(IdentityRetention());
//   PurgeRunResult run = RunPurge(pool, rules, PurgeOptions{.now = absl::Now()});
//
// A rule's SQL acts on at most $2 rows whose retention ended before the cutoff $1 (a bigint of
// Unix microseconds: cutoff = now - keep), selecting them FOR UPDATE SKIP LOCKED through an
// index range, and reports what it did through its affected-row count. So two runs (replicas
// of the CronJob, or a run and a slow leftover) never wait on each other, and a row a live
// request is writing is simply left for the next batch or run.
#ifndef SUITE_SHARED_DB_RETENTION_PURGER_H_
#define SUITE_SHARED_DB_RETENTION_PURGER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/db/pool.h"

namespace suite::db::retention {

struct PurgeRule {
  std::string table;      // "identity.login_attempts": the metric and log label
  std::string action;     // "delete", "drop_payload", "close": what a batch does to a row
  std::string statement;  // the registered statement's name
  std::string sql;        // one batch: $1 cutoff (Unix microseconds), $2 batch size
  absl::Duration keep;    // rows whose retention ended within `keep` of now stay
  // The shortest `keep` that is safe (e.g. longer than the login throttle's window, which
  // counts these rows): RunPurge refuses a rule configured below it.
  absl::Duration min_keep = absl::ZeroDuration();
};

struct PurgeOptions {
  absl::Time now = absl::InfinitePast();  // required: the cutoff of each rule is now - keep
  int batch_size = 1000;                  // rows per batch (and per transaction)
  // Stop each rule after this many batches (0: until done). What is left is finished by the
  // next run; the result then says complete = false.
  int max_batches = 0;
  // Pause between two batches, so a large backlog leaves room to the service's own writes.
  absl::Duration pause = absl::ZeroDuration();
};

struct RulePurgeResult {
  std::string table;
  std::string action;
  int64_t rows = 0;
  int batches = 0;
  absl::Duration elapsed;
  bool complete = false;  // the last batch found fewer rows than batch_size
  absl::Status status;    // the first error; the batches before it stay committed
};

struct PurgeRunResult {
  std::vector<RulePurgeResult> rules;
  absl::Duration elapsed;
  bool ok() const;
};

// The cutoff parameter $1 (Unix microseconds) as a timestamptz, for a rule's WHERE clause:
// exact to the microsecond, so a period ends where the caller's clock put it.
extern const char kCutoffSql[];

// One batch that deletes at most $2 rows of `table` whose `key` (an indexed column or
// expression, e.g. "created_at") is before the cutoff and that also match `extra` (may be
// empty): the rows are picked in key order and locked in a sub-select (FOR UPDATE SKIP
// LOCKED), which the ORDER BY + LIMIT makes an index range on `key` rather than a scan, and
// deleted by physical address (a TID scan), so the batch touches nothing else.
std::string DeleteBatchSql(absl::string_view table, absl::string_view key,
                           absl::string_view extra = "");

// The same batch shape, updating `set` (e.g. "payload = NULL") instead of deleting. `set` may
// refer to the row as `t`.
std::string UpdateBatchSql(absl::string_view table, absl::string_view set,
                           absl::string_view key, absl::string_view extra = "");

// ValidatePurgeOptions returns INVALID_ARGUMENT naming the field: now unset, a batch size
// outside [1, 100000], negative max_batches or pause.
absl::Status ValidatePurgeOptions(const PurgeOptions& options);

// ValidatePurgeRule returns INVALID_ARGUMENT naming the rule's table when its keep is below
// its min_keep, or an empty table, statement or SQL.
absl::Status ValidatePurgeRule(const PurgeRule& rule);

// RunPurge registers the rules' statements with `pool` and runs each rule until it is done
// (or max_batches), one transaction per batch. A rule that is invalid or fails (its statement cancelled,
// the database gone) stops there with its status; the other rules still run. Records
// retention_purged_rows_total{table,action} and retention_purge_seconds_total{table,action}
// in the default metrics registry and writes one JSON log line for the whole run
// (event "retention.purge"). Thread-compatible.
PurgeRunResult RunPurge(ConnectionPool& pool, const std::vector<PurgeRule>& rules,
                        const PurgeOptions& options);

}  // namespace suite::db::retention

#endif  // SUITE_SHARED_DB_RETENTION_PURGER_H_

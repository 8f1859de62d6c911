// Keeps a service from serving on a database that lacks a migration its code was built with.
//
// Code and schema are deployed separately (migrations/README.md): a migration job runs
// `migrate up`, then the new build rolls out. Should the build come first (job not run,
// failed, or rolled back), its queries would fail on missing columns and tables call by
// call. The guard turns that into one clear state instead: health NOT_SERVING, so that load
// balancers and readiness probes send nothing, and one JSON log line naming the missing file.
// A database AHEAD of the build (a newer build's migrations applied, as during a rolling
// upgrade where the expand migration runs before the new code) is served normally: the
// expand/contract rule of migrations/README.md keeps such migrations compatible with the code
// that is still running.
//
//   suite::db::migrate::SchemaGuard guard(pool, "identity",
//                                         suite::migrations::BuiltWith({"core", "identity"}));
//   server->FollowProbe([pool, &guard] { return pool->Healthy() && guard.Check(); });
//
// What the build needs is every file of migrations/<owner>/ for its owners at build time
// (//migrations:built_with generates the list); what the database has is migrate.history,
// which the service roles may read (migrations/core/..._grant_services_read_migrate_history).
// Log lines, each written only when the verdict changes:
//   {"severity":"ERROR","event":"schema.migration_missing","service":"identity",
//    "migration":"identity/20261206203000_add_login_attempts_pair_failures_index",
//    "missing":[...every missing file...],"action":"run `migrate up` ..."}
//   {"severity":"INFO","event":"schema.migrations_present","service":"identity"}
//   {"severity":"INFO","event":"schema.ahead","service":"identity","unknown":[...]}
//   {"severity":"ERROR","event":"schema.check_failed","service":"identity","status":"..."}
#ifndef SUITE_SHARED_DB_MIGRATE_SCHEMA_GUARD_H_
#define SUITE_SHARED_DB_MIGRATE_SCHEMA_GUARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"
#include "shared/db/pool.h"

namespace suite::db::migrate {

// One migration file, as named in migrations/<owner>/<version>_<name>.sql.
struct KnownMigration {
  std::string owner;
  int64_t version = 0;
  std::string name;

  // ToString returns "owner/version_name", the file's path under migrations/ without ".sql".
  std::string ToString() const;

  friend bool operator==(const KnownMigration& a, const KnownMigration& b) {
    return a.owner == b.owner && a.version == b.version && a.name == b.name;
  }
};

// The database compared with the files a build knows.
struct MigrationComparison {
  std::vector<KnownMigration> missing;  // built with, not in migrate.history (apply order)
  // In migrate.history for one of the build's owners but unknown to the build: a newer
  // build's migrations (by version order).
  std::vector<KnownMigration> unknown;
};

// CompareWithHistory reads migrate.history on `conn` (in a read-only transaction) and compares
// it with `built_with`; only the owners that appear in `built_with` are looked at. Errors: the
// code of the failure's SQLSTATE (StatusFromException), e.g. PERMISSION_DENIED when the role
// may not read the history, NOT_FOUND... as mapped; UNAVAILABLE when the connection breaks.
// Never throws.
absl::StatusOr<MigrationComparison> CompareWithHistory(
    pqxx::connection& conn, const std::vector<KnownMigration>& built_with);

class SchemaGuard {
 public:
  // `pool` is not owned and must outlive the guard; `service` names the service in log lines.
  SchemaGuard(ConnectionPool* pool, std::string service, std::vector<KnownMigration> built_with);
  SchemaGuard(const SchemaGuard&) = delete;
  SchemaGuard& operator=(const SchemaGuard&) = delete;

  // Check compares the database with the build (one small read, on a pooled connection it
  // waits at most 1 s for) and returns whether the service may serve: true when nothing is
  // missing. When the comparison cannot be made, the last verdict stands (false before the
  // first), so a busy pool does not flap a serving replica. Logs as described above.
  // Thread-safe.
  bool Check();

 private:
  ConnectionPool* const pool_;
  const std::string service_;
  const std::vector<KnownMigration> built_with_;
  absl::Mutex mu_;
  absl::optional<bool> serving_ ABSL_GUARDED_BY(mu_);
  std::vector<KnownMigration> logged_missing_ ABSL_GUARDED_BY(mu_);
  std::vector<KnownMigration> logged_unknown_ ABSL_GUARDED_BY(mu_);
  std::string logged_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::db::migrate

#endif  // SUITE_SHARED_DB_MIGRATE_SCHEMA_GUARD_H_

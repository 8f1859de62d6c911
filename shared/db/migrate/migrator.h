// The migrator: applies, rolls back and reports the SQL migrations of `migrations/`
// in order, core first. `bazel run //migrations:migrate -- up|down [N]|status|verify`
// is a thin command over this class.
//
//   MigratorOptions options;
//   options.database_url = "postgresql://suite_owner@127.0.0.1:5432/suite";
//   options.migrations_dir = "migrations";
//   SUITE_ASSIGN_OR_RETURN(std::unique_ptr<Migrator> migrator, Migrator::Create(options));
//   SUITE_ASSIGN_OR_RETURN(int applied, migrator->Up());
//
// How it behaves:
// - Files are read and validated once, in Create: a bad name or a malformed file fails there,
//   before anything touches the database (loader.h, parser.h).
// - What was applied is recorded in `migrate.history` (owner, version, name, checksum = sha256
//   of the whole file, applied_at, execution_ms), which Up creates when missing.
// - Refused with FAILED_PRECONDITION (and shown as a problem by Status): an applied file whose
//   content changed; an applied version whose file is gone; a pending file older than the
//   newest applied one of its owner.
// - Each migration is all-or-nothing: its Up statements and its history row commit in one
//   transaction, so a failure leaves no trace and the next run simply retries it. A file
//   marked `-- +migrate NoTransaction` runs statement by statement and its history row is
//   written after the last one; such files must be idempotent (CREATE INDEX CONCURRENTLY IF
//   NOT EXISTS, ...) so that a rerun after a failure completes them.
// - Runners are serialised by a session-level advisory lock (kAdvisoryLockKey) held on a
//   connection of its own (migrations run on a second one) and taken by polling
//   pg_try_advisory_lock: a runner blocked inside
//   pg_advisory_lock would hold a snapshot that another runner's CREATE INDEX CONCURRENTLY
//   waits for, while that runner holds the lock it waits for. After taking the lock the
//   history is read again, so each file is applied exactly once. Should the lock's
//   connection break, the runner stops (UNAVAILABLE) before committing another migration.
//
// Thread-safety: a Migrator may be used from one thread at a time; separate instances (in one
// or many processes) may run concurrently against the same database.
#ifndef SUITE_SHARED_DB_MIGRATE_MIGRATOR_H_
#define SUITE_SHARED_DB_MIGRATE_MIGRATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/db/migrate/parser.h"
#include "shared/db/schema/schema_check.h"
#include "shared/db/schema/schema_spec.h"

namespace suite::db::migrate {

struct MigratorOptions {
  std::string database_url;    // libpq URL; the role should be the schema owner (suite_owner)
  std::string migrations_dir;  // holds one folder per owner
  // How long Up and Down wait for another runner to release the lock: DEADLINE_EXCEEDED after.
  absl::Duration lock_timeout = absl::Minutes(5);
  // Pause between two attempts to take the lock.
  absl::Duration lock_poll_interval = absl::Milliseconds(100);
  // Receives one line per migration applied or rolled back; may be empty.
  std::function<void(absl::string_view)> log;
};

// The state of one migration (a file, a history row, or both).
enum class MigrationState { kApplied, kPending, kProblem };

// MigrationStateName returns "applied", "pending" or "problem".
absl::string_view MigrationStateName(MigrationState state);

struct MigrationStatus {
  std::string owner;
  int64_t version = 0;
  std::string name;        // verb_description
  MigrationState state = MigrationState::kPending;
  std::string applied_at;  // "YYYY-MM-DD HH:MM:SS" UTC, empty unless recorded in history
  std::string problem;     // why it is a problem; empty otherwise
};

// The database compared with the files, in apply order.
struct StatusReport {
  std::vector<MigrationStatus> migrations;
  int applied = 0;
  int pending = 0;
  int problems = 0;

  // Clean is true when everything is applied and nothing is wrong.
  bool Clean() const { return pending == 0 && problems == 0; }
  // ToString returns one line per migration and a summary line, e.g.
  //   applied  core/20240101000000_create_core_schema  (2026-11-22 05:30:01 UTC)
  //   1 applied, 0 pending, 0 problems
  std::string ToString() const;
};

// One owner's differences between the declared and the live schema.
struct OwnerDifferences {
  std::string owner;
  std::vector<schema::SchemaDifference> differences;
};

// FormatOwnerDifferences returns one "owner: object: message" line per difference.
std::string FormatOwnerDifferences(const std::vector<OwnerDifferences>& owners);

class Migrator {
 public:
  // The advisory lock key (pg_try_advisory_lock(bigint)) that serialises runners on a database.
  static constexpr int64_t kAdvisoryLockKey = 0x7375697465'6d6967;  // "suite" "mig"

  // Create loads and validates every migration of options.migrations_dir; it does not contact
  // the database. Returns NOT_FOUND when the directory is missing, INVALID_ARGUMENT naming
  // each bad file and line, INVALID_ARGUMENT for an empty database_url.
  static absl::StatusOr<std::unique_ptr<Migrator>> Create(MigratorOptions options);

  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  // Up applies every pending migration in order and returns how many it applied (0 when the
  // database is up to date). Returns FAILED_PRECONDITION listing every problem (nothing is
  // applied then), DEADLINE_EXCEEDED when the lock was not obtained within lock_timeout,
  // UNAVAILABLE when the database cannot be reached or the lock was lost, and for a failing
  // statement the code of
  // its SQLSTATE (suite::db::StatusFromException) with "<file>:<line>: <server message>";
  // migrations applied before the failing one stay applied.
  absl::StatusOr<int> Up();

  // Down rolls back the `n` (>= 1) most recently applied migrations, newest first (owners in
  // reverse apply order), each with its history row in one transaction; returns how many it
  // rolled back (fewer when fewer are applied). Returns INVALID_ARGUMENT for n < 1,
  // FAILED_PRECONDITION when one of them has no file or a changed file (nothing is rolled
  // back then), and otherwise the codes of Up.
  absl::StatusOr<int> Down(int n);

  // Status compares the history with the files without changing anything (it takes no lock).
  // Returns UNAVAILABLE when the database cannot be reached.
  absl::StatusOr<StatusReport> Status();

  // Verify runs the schema check of every owner in `schemas` against the database and returns
  // the owners that differ (empty: all match). An owner with migrations but no entry in
  // `schemas` is reported as differing too (it cannot be checked). Returns UNAVAILABLE (or the mapped code) when
  // the catalog cannot be read.
  absl::StatusOr<std::vector<OwnerDifferences>> Verify(
      const std::vector<schema::OwnerSchema>& schemas);

  // The loaded migrations, in apply order.
  const std::vector<MigrationFile>& migrations() const { return files_; }

 private:
  Migrator(MigratorOptions options, std::vector<MigrationFile> files)
      : options_(std::move(options)), files_(std::move(files)) {}

  MigratorOptions options_;
  std::vector<MigrationFile> files_;
};

}  // namespace suite::db::migrate

#endif  // SUITE_SHARED_DB_MIGRATE_MIGRATOR_H_

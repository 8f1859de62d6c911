#include "shared/db/migrate/migrator.h"

#include <algorithm>
#include <exception>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "pqxx/pqxx"
#include "shared/base/status_macros.h"
#include "shared/db/errors.h"
#include "shared/db/migrate/loader.h"

namespace suite::db::migrate {
namespace {

struct HistoryRow {
  std::string owner;
  int64_t version = 0;
  std::string name;
  std::string checksum;
  std::string applied_at;
};

// The code comes from the one SQLSTATE mapping; the message keeps the server's text, because
// the migrator's reader is the operator who must fix the file, not a client.
absl::Status DbError(absl::string_view context, const std::exception& e) {
  const absl::Status mapped = StatusFromException(e);
  absl::Status out(mapped.code(),
                   absl::StrCat(context, ": ", absl::StripTrailingAsciiWhitespace(e.what())));
  if (absl::optional<std::string> state = SqlStateOf(mapped)) {
    out.SetPayload(kSqlStatePayload, absl::Cord(*state));
  }
  return out;
}

std::string Label(absl::string_view owner, int64_t version, absl::string_view name) {
  return absl::StrCat(owner, "/", version, "_", name);
}

bool ApplyOrder(const std::string& owner_a, int64_t version_a, const std::string& owner_b,
                int64_t version_b) {
  if (owner_a != owner_b) return OwnerLess(owner_a, owner_b);
  return version_a < version_b;
}

// Opens a connection for the migrator. Automatic reconnection (a libpqxx 6 feature) is
// turned off: a silently re-opened session would have lost the advisory lock.
std::unique_ptr<pqxx::connection> Connect(const std::string& url) {
  auto conn = std::make_unique<pqxx::connection>(url);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  pqxx::nontransaction tx(*conn);
  // IF NOT EXISTS notices would only clutter the operator's output.
  tx.exec0("SET client_min_messages = warning");
  return conn;
}

std::vector<HistoryRow> ReadHistory(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::vector<HistoryRow> rows;
  if (tx.exec1("SELECT to_regclass('migrate.history') IS NULL")[0].as<bool>()) return rows;
  for (const pqxx::row& r : tx.exec(
           "SELECT owner, version, name, checksum, "
           "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
           "FROM migrate.history")) {
    rows.push_back(HistoryRow{r[0].as<std::string>(), r[1].as<int64_t>(),
                              r[2].as<std::string>(), r[3].as<std::string>(),
                              r[4].as<std::string>()});
  }
  return rows;
}

StatusReport Compare(const std::vector<MigrationFile>& files,
                     const std::vector<HistoryRow>& history) {
  std::map<std::pair<std::string, int64_t>, const HistoryRow*> applied;
  std::map<std::string, int64_t> newest;  // owner -> newest applied version
  for (const HistoryRow& row : history) {
    applied[{row.owner, row.version}] = &row;
    int64_t& v = newest[row.owner];
    v = std::max(v, row.version);
  }
  StatusReport report;
  std::map<std::pair<std::string, int64_t>, bool> has_file;
  for (const MigrationFile& f : files) {
    has_file[{f.owner, f.version}] = true;
    MigrationStatus s;
    s.owner = f.owner;
    s.version = f.version;
    s.name = f.name;
    auto it = applied.find({f.owner, f.version});
    if (it != applied.end()) {
      s.applied_at = it->second->applied_at;
      if (it->second->checksum != f.checksum) {
        s.state = MigrationState::kProblem;
        s.problem = absl::StrCat(
            f.path, " changed after it was applied (recorded checksum ",
            it->second->checksum.substr(0, 12), "..., file now ", f.checksum.substr(0, 12),
            "...): restore it and put the change in a new migration");
      } else {
        s.state = MigrationState::kApplied;
      }
    } else {
      auto newest_it = newest.find(f.owner);
      if (newest_it != newest.end() && f.version < newest_it->second) {
        s.state = MigrationState::kProblem;
        s.problem = absl::StrCat(f.path, " is pending but older than ", f.owner, "/",
                                 newest_it->second,
                                 ", already applied: give it a version newer than that");
      } else {
        s.state = MigrationState::kPending;
      }
    }
    report.migrations.push_back(std::move(s));
  }
  for (const HistoryRow& row : history) {
    if (has_file.count({row.owner, row.version}) != 0) continue;
    MigrationStatus s;
    s.owner = row.owner;
    s.version = row.version;
    s.name = row.name;
    s.state = MigrationState::kProblem;
    s.applied_at = row.applied_at;
    s.problem = absl::StrCat(Label(row.owner, row.version, row.name),
                             " is recorded as applied but no file has this version: restore "
                             "the file (migrations are never deleted once applied)");
    report.migrations.push_back(std::move(s));
  }
  std::stable_sort(report.migrations.begin(), report.migrations.end(),
                   [](const MigrationStatus& a, const MigrationStatus& b) {
                     return ApplyOrder(a.owner, a.version, b.owner, b.version);
                   });
  for (const MigrationStatus& s : report.migrations) {
    switch (s.state) {
      case MigrationState::kApplied:
        ++report.applied;
        break;
      case MigrationState::kPending:
        ++report.pending;
        break;
      case MigrationState::kProblem:
        ++report.problems;
        break;
    }
  }
  return report;
}

absl::Status RefuseProblems(const StatusReport& report, absl::string_view action) {
  std::vector<std::string> lines;
  for (const MigrationStatus& s : report.migrations) {
    if (s.state == MigrationState::kProblem) lines.push_back(s.problem);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to ", action, ":\n  ", absl::StrJoin(lines, "\n  ")));
}

// The session-level advisory lock, held on a connection of its own for the whole run.
// Migration statements never run on it, so nothing a migration does (a failed statement, a
// RESET, a session change) can touch the lock; it is released when the connection closes.
class RunnerLock {
 public:
  // Acquire polls pg_try_advisory_lock until it succeeds or lock_timeout passes.
  static absl::StatusOr<std::unique_ptr<RunnerLock>> Acquire(const MigratorOptions& options) {
    auto lock = std::unique_ptr<RunnerLock>(new RunnerLock(Connect(options.database_url)));
    const absl::Time deadline = absl::Now() + options.lock_timeout;
    while (true) {
      bool locked = false;
      {
        pqxx::nontransaction tx(*lock->conn_);
        locked = tx.exec_params1("SELECT pg_try_advisory_lock($1)",
                                 Migrator::kAdvisoryLockKey)[0]
                     .as<bool>();
      }
      if (locked) return lock;
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "another migration runner held the lock (pg_try_advisory_lock(",
            Migrator::kAdvisoryLockKey, ")) for longer than the lock timeout of ",
            absl::FormatDuration(options.lock_timeout)));
      }
      // Sleeping between attempts (rather than waiting inside pg_advisory_lock) keeps this
      // runner free of any open snapshot that a CREATE INDEX CONCURRENTLY would wait for.
      absl::SleepFor(std::min(options.lock_poll_interval, deadline - now));
    }
  }

  // StillHeld returns UNAVAILABLE when the lock's connection broke (the server released the
  // lock then, so another runner may start: this one must not commit anything more).
  absl::Status StillHeld() {
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec1("SELECT 1");
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat(
          "lost the migration lock (its connection broke: ",
          absl::StripTrailingAsciiWhitespace(e.what()), "); stopped before committing more"));
    }
  }

 private:
  explicit RunnerLock(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  std::unique_ptr<pqxx::connection> conn_;
};

// Runs `statements` of `file`, then `bookkeeping` (the history change), all in one
// transaction, or one by one for a NoTransaction file. The lock is checked before the first
// statement and again before the commit.
template <typename Bookkeeping>
absl::Status RunStatements(pqxx::connection& conn, RunnerLock& lock, const MigrationFile& file,
                           const std::vector<Statement>& statements, Bookkeeping bookkeeping) {
  SUITE_RETURN_IF_ERROR(lock.StillHeld());
  const absl::Time start = absl::Now();
  auto run_all = [&](pqxx::transaction_base& tx) -> absl::Status {
    for (const Statement& st : statements) {
      try {
        tx.exec(st.sql);
      } catch (const std::exception& e) {
        return DbError(absl::StrCat(file.path, ":", st.line), e);
      }
    }
    return absl::OkStatus();
  };
  if (file.transactional) {
    pqxx::work tx(conn);
    SUITE_RETURN_IF_ERROR(run_all(tx));
    bookkeeping(tx, absl::ToInt64Milliseconds(absl::Now() - start));
    SUITE_RETURN_IF_ERROR(lock.StillHeld());
    tx.commit();
  } else {
    pqxx::nontransaction tx(conn);
    SUITE_RETURN_IF_ERROR(run_all(tx));
    SUITE_RETURN_IF_ERROR(lock.StillHeld());
    bookkeeping(tx, absl::ToInt64Milliseconds(absl::Now() - start));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view MigrationStateName(MigrationState state) {
  switch (state) {
    case MigrationState::kApplied:
      return "applied";
    case MigrationState::kPending:
      return "pending";
    case MigrationState::kProblem:
      return "problem";
  }
  return "unknown";
}

std::string StatusReport::ToString() const {
  std::string out;
  for (const MigrationStatus& s : migrations) {
    absl::StrAppend(&out, MigrationStateName(s.state), "  ", Label(s.owner, s.version, s.name));
    if (!s.applied_at.empty()) absl::StrAppend(&out, "  (", s.applied_at, " UTC)");
    if (!s.problem.empty()) absl::StrAppend(&out, "\n         ", s.problem);
    out.push_back('\n');
  }
  absl::StrAppend(&out, applied, " applied, ", pending, " pending, ", problems, " problems\n");
  return out;
}

std::string FormatOwnerDifferences(const std::vector<OwnerDifferences>& owners) {
  std::string out;
  for (const OwnerDifferences& owner : owners) {
    for (const schema::SchemaDifference& d : owner.differences) {
      absl::StrAppend(&out, owner.owner, ": ", d.object, ": ", d.message, "\n");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Migrator>> Migrator::Create(MigratorOptions options) {
  if (options.database_url.empty()) {
    return absl::InvalidArgumentError("no database URL: set DATABASE_URL or --database_url");
  }
  SUITE_ASSIGN_OR_RETURN(std::vector<MigrationFile> files,
                         LoadMigrations(options.migrations_dir));
  return std::unique_ptr<Migrator>(new Migrator(std::move(options), std::move(files)));
}

namespace {

void EnsureHistoryTable(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec0("CREATE SCHEMA IF NOT EXISTS migrate");
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS migrate.history ("
      " owner text NOT NULL,"
      " version bigint NOT NULL,"
      " name text NOT NULL,"
      " checksum text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now(),"
      " execution_ms integer NOT NULL,"
      " PRIMARY KEY (owner, version))");
}

}  // namespace

absl::StatusOr<int> Migrator::Up() {
  try {
    SUITE_ASSIGN_OR_RETURN(std::unique_ptr<RunnerLock> lock, RunnerLock::Acquire(options_));
    std::unique_ptr<pqxx::connection> conn = Connect(options_.database_url);
    EnsureHistoryTable(*conn);
    // Read after taking the lock: another runner may have applied files meanwhile.
    const StatusReport report = Compare(files_, ReadHistory(*conn));
    if (report.problems > 0) return RefuseProblems(report, "migrate up");
    std::map<std::pair<std::string, int64_t>, bool> pending;
    for (const MigrationStatus& s : report.migrations) {
      if (s.state == MigrationState::kPending) pending[{s.owner, s.version}] = true;
    }
    int applied = 0;
    for (const MigrationFile& file : files_) {
      if (pending.count({file.owner, file.version}) == 0) continue;
      SUITE_RETURN_IF_ERROR(RunStatements(
          *conn, *lock, file, file.up, [&](pqxx::transaction_base& tx, int64_t ms) {
            tx.exec_params0(
                "INSERT INTO migrate.history (owner, version, name, checksum, execution_ms) "
                "VALUES ($1, $2, $3, $4, $5)",
                file.owner, file.version, file.name, file.checksum, static_cast<int>(ms));
            if (options_.log) {
              options_.log(absl::StrCat("applied ", Label(file.owner, file.version, file.name),
                                        " (", ms, " ms)"));
            }
          }));
      ++applied;
    }
    return applied;
  } catch (const std::exception& e) {
    return DbError("migrate up", e);
  }
}

absl::StatusOr<int> Migrator::Down(int n) {
  if (n < 1) return absl::InvalidArgumentError("down needs a count of at least 1");
  try {
    SUITE_ASSIGN_OR_RETURN(std::unique_ptr<RunnerLock> lock, RunnerLock::Acquire(options_));
    std::unique_ptr<pqxx::connection> conn = Connect(options_.database_url);
    std::vector<HistoryRow> history = ReadHistory(*conn);
    std::sort(history.begin(), history.end(), [](const HistoryRow& a, const HistoryRow& b) {
      return ApplyOrder(b.owner, b.version, a.owner, a.version);  // newest first
    });
    if (history.size() > static_cast<size_t>(n)) history.resize(n);
    std::vector<const MigrationFile*> targets;
    std::vector<std::string> problems;
    for (const HistoryRow& row : history) {
      auto it = std::find_if(files_.begin(), files_.end(), [&](const MigrationFile& f) {
        return f.owner == row.owner && f.version == row.version;
      });
      if (it == files_.end()) {
        problems.push_back(absl::StrCat(Label(row.owner, row.version, row.name),
                                        " is applied but its file is missing: cannot roll it "
                                        "back without its Down section"));
      } else if (it->checksum != row.checksum) {
        problems.push_back(absl::StrCat(it->path,
                                        " changed after it was applied: its Down section may "
                                        "not undo what was applied; restore the file"));
      } else {
        targets.push_back(&*it);
      }
    }
    if (!problems.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to migrate down:\n  ", absl::StrJoin(problems, "\n  ")));
    }
    int rolled_back = 0;
    for (const MigrationFile* file : targets) {
      SUITE_RETURN_IF_ERROR(RunStatements(
          *conn, *lock, *file, file->down, [&](pqxx::transaction_base& tx, int64_t ms) {
            tx.exec_params0("DELETE FROM migrate.history WHERE owner = $1 AND version = $2",
                            file->owner, file->version);
            if (options_.log) {
              options_.log(absl::StrCat("rolled back ",
                                        Label(file->owner, file->version, file->name), " (", ms,
                                        " ms)"));
            }
          }));
      ++rolled_back;
    }
    return rolled_back;
  } catch (const std::exception& e) {
    return DbError("migrate down", e);
  }
}

absl::StatusOr<StatusReport> Migrator::Status() {
  try {
    std::unique_ptr<pqxx::connection> conn = Connect(options_.database_url);
    return Compare(files_, ReadHistory(*conn));
  } catch (const std::exception& e) {
    return DbError("migrate status", e);
  }
}

absl::StatusOr<std::vector<OwnerDifferences>> Migrator::Verify(
    const std::vector<schema::OwnerSchema>& schemas) {
  std::vector<OwnerDifferences> out;
  // An owner whose migrations nobody declared cannot be checked: that is a difference too.
  std::vector<std::string> undeclared;
  for (const MigrationFile& f : files_) {
    const bool declared =
        std::any_of(schemas.begin(), schemas.end(),
                    [&](const schema::OwnerSchema& s) { return s.owner == f.owner; });
    if (!declared && (undeclared.empty() || undeclared.back() != f.owner)) {
      undeclared.push_back(f.owner);
    }
  }
  for (const std::string& owner : undeclared) {
    out.push_back(OwnerDifferences{
        owner,
        {schema::SchemaDifference{
            owner, absl::StrCat("has migrations but no declared schema (add migrations/", owner,
                                "/schema.cc to //migrations:schemas)")}}});
  }
  for (const schema::OwnerSchema& owner : schemas) {
    absl::StatusOr<std::vector<schema::SchemaDifference>> diffs =
        schema::CheckSchema(options_.database_url, owner);
    if (!diffs.ok()) {
      return absl::Status(diffs.status().code(),
                          absl::StrCat("verify ", owner.owner, ": ", diffs.status().message()));
    }
    if (!diffs->empty()) out.push_back(OwnerDifferences{owner.owner, *std::move(diffs)});
  }
  return out;
}

}  // namespace suite::db::migrate

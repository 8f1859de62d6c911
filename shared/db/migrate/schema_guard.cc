#include "shared/db/migrate/schema_guard.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shared/base/json_log.h"
#include "shared/db/errors.h"

namespace suite::db::migrate {

std::string KnownMigration::ToString() const {
  return absl::StrCat(owner, "/", version, "_", name);
}

absl::StatusOr<MigrationComparison> CompareWithHistory(
    pqxx::connection& conn, const std::vector<KnownMigration>& built_with) {
  std::set<std::string> owners;
  std::set<std::pair<std::string, int64_t>> known;
  for (const KnownMigration& m : built_with) {
    owners.insert(m.owner);
    known.insert({m.owner, m.version});
  }
  std::set<std::pair<std::string, int64_t>> applied;
  MigrationComparison out;
  try {
    pqxx::read_transaction tx(conn);
    const pqxx::result rows =
        tx.exec("SELECT owner, version, name FROM migrate.history ORDER BY owner, version");
    tx.commit();
    for (const pqxx::row& row : rows) {
      KnownMigration m{row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<std::string>()};
      if (owners.count(m.owner) == 0) continue;
      applied.insert({m.owner, m.version});
      if (known.count({m.owner, m.version}) == 0) out.unknown.push_back(std::move(m));
    }
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
  for (const KnownMigration& m : built_with) {
    if (applied.count({m.owner, m.version}) == 0) out.missing.push_back(m);
  }
  return out;
}

SchemaGuard::SchemaGuard(ConnectionPool* pool, std::string service,
                         std::vector<KnownMigration> built_with)
    : pool_(pool), service_(std::move(service)), built_with_(std::move(built_with)) {}

namespace {

nlohmann::json Names(const std::vector<KnownMigration>& migrations) {
  nlohmann::json names = nlohmann::json::array();
  for (const KnownMigration& m : migrations) names.push_back(m.ToString());
  return names;
}

}  // namespace

bool SchemaGuard::Check() {
  absl::StatusOr<MigrationComparison> comparison = [&]() -> absl::StatusOr<MigrationComparison> {
    absl::StatusOr<ConnectionPool::Lease> lease = pool_->Checkout(absl::Now() + absl::Seconds(1));
    if (!lease.ok()) return lease.status();
    absl::StatusOr<MigrationComparison> result = CompareWithHistory(lease->connection(),
                                                                    built_with_);
    if (!result.ok() && result.status().code() == absl::StatusCode::kUnavailable) {
      lease->MarkBroken();
    }
    return result;
  }();

  absl::MutexLock lock(&mu_);
  if (!comparison.ok()) {
    // A busy or unreachable pool says nothing about the schema (the pool's own probe covers
    // reachability); any other failure, such as a role that may not read the history, is an
    // operator's problem worth one line.
    const absl::StatusCode code = comparison.status().code();
    if (code != absl::StatusCode::kResourceExhausted && code != absl::StatusCode::kUnavailable &&
        logged_error_ != comparison.status().ToString()) {
      logged_error_ = comparison.status().ToString();
      suite::WriteLogLine({{"severity", "ERROR"},
                         {"event", "schema.check_failed"},
                         {"service", service_},
                         {"status", logged_error_}});
    }
    return serving_.value_or(false);
  }
  logged_error_.clear();
  const bool serving = comparison->missing.empty();
  if (!serving && (serving_ != false || logged_missing_ != comparison->missing)) {
    suite::WriteLogLine(
        {{"severity", "ERROR"},
         {"event", "schema.migration_missing"},
         {"service", service_},
         {"migration", comparison->missing.front().ToString()},
         {"missing", Names(comparison->missing)},
         {"action", "not serving until the database has every migration of this build: run "
                    "`migrate up` with this build's migrations/"}});
  } else if (serving && serving_ == false) {
    suite::WriteLogLine({{"severity", "INFO"},
                       {"event", "schema.migrations_present"},
                       {"service", service_}});
  }
  if (!comparison->unknown.empty() && logged_unknown_ != comparison->unknown) {
    suite::WriteLogLine({{"severity", "INFO"},
                       {"event", "schema.ahead"},
                       {"service", service_},
                       {"unknown", Names(comparison->unknown)},
                       {"note", "applied migrations of a newer build; served, as expand "
                                "migrations keep older code working"}});
  }
  logged_missing_ = comparison->missing;
  logged_unknown_ = comparison->unknown;
  serving_ = serving;
  return serving;
}

}  // namespace suite::db::migrate

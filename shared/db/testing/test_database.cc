#include "shared/db/testing/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "pqxx/pqxx"
#include "shared/base/status_macros.h"
#include "shared/db/errors.h"
#include "shared/db/migrate/loader.h"
#include "shared/db/migrate/migrator.h"

namespace suite::db::testing {
namespace {

// Replaces the database path of a URL of the form scheme://user@host:port/db[?query].
std::string WithDatabaseAndUser(const std::string& url, absl::string_view db,
                                absl::string_view user) {
  const size_t scheme_end = url.find("://");
  const size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t at = url.find('@', host_start);
  const size_t authority_start = at == std::string::npos ? host_start : at + 1;
  const size_t slash = url.find('/', authority_start);
  const std::string authority = url.substr(
      authority_start, slash == std::string::npos ? std::string::npos : slash - authority_start);
  return absl::StrCat("postgresql://", user, "@", authority, "/", db);
}

std::string UniqueName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return absl::StrCat("t_", getpid(), "_", counter.fetch_add(1), "_", rd() % 1000000);
}

// Serialises template builds across the test processes of one cluster. Advisory locks are
// per database; every process takes this one in the maintenance database, which makes it
// cluster-wide in effect.
constexpr int64_t kTemplateLockKey = 0x7375697465'74706c;  // "suite" "tpl"

absl::Status DbFailure(absl::string_view what, const std::exception& e) {
  return absl::Status(StatusFromException(e).code(), absl::StrCat(what, ": ", e.what()));
}

// Takes kTemplateLockKey on `conn` (released when `conn` closes). Polls rather than blocks,
// so that a stuck builder shows up as a clear error instead of a hung test.
absl::Status LockTemplates(pqxx::connection& conn) {
  const absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (true) {
    {
      pqxx::nontransaction tx(conn);
      if (tx.exec_params1("SELECT pg_try_advisory_lock($1)", kTemplateLockKey)[0].as<bool>()) {
        return absl::OkStatus();
      }
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("waited 3 minutes for another test to build the "
                                         "migrated template database");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// Returns whether `name` exists and is a template (nullopt: it does not exist).
absl::optional<bool> TemplateState(pqxx::connection& conn, const std::string& name) {
  pqxx::nontransaction tx(conn);
  pqxx::result r =
      tx.exec_params("SELECT datistemplate FROM pg_database WHERE datname = $1", name);
  if (r.empty()) return absl::nullopt;
  return r[0][0].as<bool>();
}

// Returns the name of a template database migrated with `migrations_dir`, building it first
// when this cluster has none for the current content of the migrations.
absl::StatusOr<std::string> EnsureTemplate(const std::string& admin_url,
                                           absl::string_view migrations_dir) {
  SUITE_ASSIGN_OR_RETURN(std::vector<migrate::MigrationFile> files,
                         migrate::LoadMigrations(migrations_dir));
  const std::string name = absl::StrCat("tpl_", migrate::ContentHash(files).substr(0, 32));
  try {
    pqxx::connection conn(admin_url);
    if (TemplateState(conn, name) == absl::optional<bool>(true)) return name;
    SUITE_RETURN_IF_ERROR(LockTemplates(conn));
    // Another process may have finished it while this one waited.
    const absl::optional<bool> state = TemplateState(conn, name);
    if (state == absl::optional<bool>(true)) return name;
    if (state.has_value()) {
      // Left half-built by a process that died while holding the lock.
      pqxx::nontransaction tx(conn);
      tx.exec0("DROP DATABASE " + tx.quote_name(name) + " WITH (FORCE)");
    }
    SUITE_RETURN_IF_ERROR(TestDatabase::EnsureOwnerRole());
    {
      pqxx::nontransaction tx(conn);
      tx.exec0("CREATE DATABASE " + tx.quote_name(name) + " OWNER " +
               tx.quote_name(std::string(TestDatabase::kOwnerRole)));
    }
    migrate::MigratorOptions options;
    options.database_url = WithDatabaseAndUser(admin_url, name, TestDatabase::kOwnerRole);
    options.migrations_dir = std::string(migrations_dir);
    absl::Status migrated = [&]() -> absl::Status {
      SUITE_ASSIGN_OR_RETURN(std::unique_ptr<migrate::Migrator> migrator,
                             migrate::Migrator::Create(options));
      return migrator->Up().status();
    }();
    pqxx::nontransaction tx(conn);
    if (!migrated.ok()) {
      tx.exec0("DROP DATABASE " + tx.quote_name(name) + " WITH (FORCE)");
      return absl::Status(migrated.code(),
                          absl::StrCat("migrating the template database: ", migrated.message()));
    }
    // No connections to a template: CREATE DATABASE ... TEMPLATE refuses while there are any.
    tx.exec0("ALTER DATABASE " + tx.quote_name(name) + " ALLOW_CONNECTIONS false");
    tx.exec0("ALTER DATABASE " + tx.quote_name(name) + " IS_TEMPLATE true");
    return name;
  } catch (const std::exception& e) {
    return DbFailure("building the migrated template database", e);
  }
}

}  // namespace

absl::Status TestDatabase::EnsureOwnerRole() {
  SUITE_ASSIGN_OR_RETURN(std::string admin, AdminUrl());
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction tx(conn);
    // Several test processes may get here at once; losing the race is fine.
    tx.exec0(absl::StrCat(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ",
        tx.quote(std::string(kOwnerRole)), ") THEN CREATE ROLE ",
        tx.quote_name(std::string(kOwnerRole)),
        " LOGIN CREATEROLE; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"));
  } catch (const std::exception& e) {
    return DbFailure("creating the owner role", e);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::CreateMigrated(
    absl::string_view migrations_dir) {
  SUITE_ASSIGN_OR_RETURN(std::string admin, AdminUrl());
  SUITE_ASSIGN_OR_RETURN(std::string template_name, EnsureTemplate(admin, migrations_dir));
  std::string name = UniqueName();
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction tx(conn);
    tx.exec0("CREATE DATABASE " + tx.quote_name(name) + " TEMPLATE " +
             tx.quote_name(template_name) + " OWNER " +
             tx.quote_name(std::string(kOwnerRole)));
  } catch (const std::exception& e) {
    return DbFailure("cloning the migrated template database", e);
  }
  return std::unique_ptr<TestDatabase>(new TestDatabase(std::move(admin), std::move(name)));
}

absl::StatusOr<std::string> TestDatabase::AdminUrl() {
  const char* url = std::getenv("SUITE_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    return absl::FailedPreconditionError(
        "SUITE_TEST_PG_URL is not set: run the tests with tools/test, which starts PostgreSQL");
  }
  return std::string(url);
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::CreateEmpty() {
  absl::StatusOr<std::string> admin = AdminUrl();
  if (!admin.ok()) return admin.status();
  std::string name = UniqueName();
  try {
    pqxx::connection conn(*admin);
    pqxx::nontransaction tx(conn);
    tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("creating test database: ", e.what()));
  }
  return std::unique_ptr<TestDatabase>(new TestDatabase(*std::move(admin), std::move(name)));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The cluster is thrown away after the run; a database left behind costs nothing.
  }
}

std::string TestDatabase::UrlAs(absl::string_view role) const {
  return WithDatabaseAndUser(admin_url_, name_, role);
}

std::string SqlStateOfRunning(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
    return "";
  } catch (const std::exception& e) {
    return SqlStateOf(StatusFromException(e)).value_or(absl::StrCat("no sqlstate: ", e.what()));
  }
}

}  // namespace suite::db::testing

// Fresh, isolated PostgreSQL databases for tests.
//
// tools/test starts one throw-away PostgreSQL 15 cluster for the whole run and passes its
// superuser URL in SUITE_TEST_PG_URL. Each test takes its own database from it and drops it
// when done, so tests never see each other's rows and may run in parallel:
//
//   auto db = TestDatabase::CreateEmpty();
//   ASSERT_TRUE(db.ok()) << db.status();
//   pqxx::connection conn((*db)->url());
//
// Tests of code that needs the suite's schema take a migrated database instead: a clone of a
// template database that was migrated once per cluster with the repository's migrations, so
// each test still gets its own database but pays only for a copy. Such a test lists
// `data = ["//migrations:sql_files"]` (Bazel runs tests in the runfiles root, where the files
// appear under migrations/) and connects as the role its code would use in production:
//
//   auto db = TestDatabase::CreateMigrated();
//   ASSERT_TRUE(db.ok()) << db.status();
//   pqxx::connection service((*db)->UrlAs("identity_service"));  // DML on its own schema
//   pqxx::connection owner((*db)->url_owner());                  // what migrations run as
//   pqxx::connection admin((*db)->url());                        // superuser, test setup
//
// Not thread-compatible across the same instance; separate instances are independent.
#ifndef SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_
#define SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::db::testing {

class TestDatabase {
 public:
  // CreateEmpty makes a new, empty database. Returns FAILED_PRECONDITION when
  // SUITE_TEST_PG_URL is not set (run the tests through tools/test), UNAVAILABLE when the
  // cluster cannot be reached.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> CreateEmpty();

  // The role that owns the schemas and runs the migrations (migrations/README.md).
  static constexpr absl::string_view kOwnerRole = "suite_owner";

  // CreateMigrated makes a new database, owned by kOwnerRole, holding everything the
  // migrations under `migrations_dir` create (by default the repository's, at the runfiles
  // path of //migrations:sql_files). It is cloned from a template database whose name carries
  // a hash of all migration files, so an edited migration gets a new template; the template
  // is built once per cluster (under an advisory lock, as tests run in parallel processes) by
  // migrating as kOwnerRole, which is created first if missing.
  // Returns what CreateEmpty returns, NOT_FOUND / INVALID_ARGUMENT for a missing directory or
  // malformed migrations, and the migrator's error when a migration fails.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> CreateMigrated(
      absl::string_view migrations_dir = "migrations");

  // EnsureOwnerRole creates kOwnerRole (LOGIN CREATEROLE) in the cluster if it is missing;
  // safe to call from many processes at once. Returns UNAVAILABLE when the cluster cannot be
  // reached.
  static absl::Status EnsureOwnerRole();

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  // Drops the database, ending any connection still open to it.
  ~TestDatabase();

  // The database's name, unique within the cluster.
  const std::string& name() const { return name_; }
  // A libpq URL for the database as the cluster's superuser.
  std::string url() const { return UrlAs("postgres"); }
  // A libpq URL for the database as kOwnerRole, the role migrations run as.
  std::string url_owner() const { return UrlAs(kOwnerRole); }
  // A libpq URL for the database as `role` (the test cluster trusts local connections, so no
  // password is needed).
  std::string UrlAs(absl::string_view role) const;
  // A libpq URL for the cluster's maintenance database, as the superuser.
  static absl::StatusOr<std::string> AdminUrl();

 private:
  TestDatabase(std::string admin_url, std::string name)
      : admin_url_(std::move(admin_url)), name_(std::move(name)) {}

  std::string admin_url_;
  std::string name_;
};

// SqlStateOfRunning runs `sql` in one transaction as `url`'s role and returns "" when it
// commits, else the failure's SQLSTATE ("42501" for a missing privilege, "23514" for a
// check constraint, ...), read through the suite's one exception mapping because libpqxx 6
// leaves sqlstate() empty on some of its exception classes. For tests proving that the
// database itself refuses something.
std::string SqlStateOfRunning(const std::string& url, const std::string& sql);

}  // namespace suite::db::testing

#endif  // SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_

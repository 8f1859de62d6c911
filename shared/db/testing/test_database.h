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
// Not thread-compatible across the same instance; separate instances are independent.
#ifndef SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_
#define SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::db::testing {

class TestDatabase {
 public:
  // CreateEmpty makes a new, empty database. Returns FAILED_PRECONDITION when
  // SUITE_TEST_PG_URL is not set (run the tests through tools/test), UNAVAILABLE when the
  // cluster cannot be reached.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> CreateEmpty();

  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  // Drops the database, ending any connection still open to it.
  ~TestDatabase();

  // The database's name, unique within the cluster.
  const std::string& name() const { return name_; }
  // A libpq URL for the database as the cluster's superuser.
  std::string url() const { return UrlAs("postgres"); }
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

}  // namespace suite::db::testing

#endif  // SUITE_SHARED_DB_TESTING_TEST_DATABASE_H_

#include "shared/db/testing/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"

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

}  // namespace

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

}  // namespace suite::db::testing

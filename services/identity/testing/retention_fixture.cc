#include "services/identity/testing/retention_fixture.h"

#include <pqxx/pqxx>

#include <utility>

#include "absl/strings/str_cat.h"

namespace suite::identity::testing {

std::string Ts(absl::Time t) {
  return absl::StrCat("(timestamptz 'epoch' + ", absl::ToUnixMicros(t),
                      " * interval '1 microsecond')");
}

void RetentionTest::SetUp() {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *std::move(db);
  pool_ = RetentionPool(absl::Seconds(5));
  ASSERT_NE(pool_, nullptr);
}

std::unique_ptr<suite::db::ConnectionPool> RetentionTest::RetentionPool(
    absl::Duration statement_timeout) {
  suite::db::PoolConfig config;
  config.database_url = db_->UrlAs("suite_retention");
  config.pool_size = 1;
  config.statement_timeout = statement_timeout;
  auto pool = suite::db::ConnectionPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

void RetentionTest::Exec(const std::string& sql) {
  pqxx::connection conn(db_->url());
  pqxx::nontransaction(conn).exec0(sql);
}

int64_t RetentionTest::Count(const std::string& sql) {
  pqxx::connection conn(db_->url());
  return pqxx::nontransaction(conn).exec1(sql)[0].as<int64_t>();
}

std::vector<std::string> RetentionTest::Column(const std::string& sql) {
  pqxx::connection conn(db_->url());
  std::vector<std::string> out;
  for (const auto& r : pqxx::nontransaction(conn).exec(sql)) {
    out.push_back(r[0].is_null() ? "NULL" : r[0].as<std::string>());
  }
  return out;
}

}  // namespace suite::identity::testing

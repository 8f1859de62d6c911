// PgIdentityStore edge cases that the RPC tests do not reach: an unreachable database, and
// the throttling window computed from the caller's clock rather than the database's.
#include "services/identity/storage/pg_store.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"

namespace suite::identity {
namespace {

using suite::db::testing::TestDatabase;

std::unique_ptr<suite::db::ConnectionPool> Pool(const std::string& url) {
  suite::db::PoolConfig config;
  config.database_url = url;
  config.connect_timeout = absl::Seconds(2);
  config.checkout_timeout = absl::Seconds(2);
  auto pool = suite::db::ConnectionPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

TEST(PgIdentityStoreTest, AnUnreachableDatabaseIsUnavailable) {
  auto pool = Pool("postgresql://identity_service@127.0.0.1:1/suite");
  auto store = PgIdentityStore::Create(pool.get());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetUser("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21").status().code(),
            absl::StatusCode::kUnavailable);
  LoginAttemptStart start{"a@example.com", "10.0.0.1", "", "", absl::Now()};
  EXPECT_EQ((*store)->BeginLoginAttempt(start, {absl::Minutes(15), 5, 50}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->LookupSession(std::string(64, 'a')).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(PgIdentityStoreTest, TheThrottlingWindowSlidesWithTheCallersClock) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  auto pool = Pool((*db)->UrlAs("identity_service"));
  auto store = PgIdentityStore::Create(pool.get());
  ASSERT_TRUE(store.ok());
  const LoginLimits limits{absl::Minutes(10), 2, 100};
  const absl::Time t0 = absl::FromUnixSeconds(1900000000);
  for (int i = 0; i < 2; ++i) {
    auto admitted = (*store)->BeginLoginAttempt(
        {"a@example.com", "10.0.0.1", "", "", t0 + absl::Minutes(i)}, limits);
    ASSERT_TRUE(admitted.ok() && admitted->admitted);
    ASSERT_TRUE((*store)->FinishLoginAttempt(admitted->attempt_id, "", "invalid_credentials").ok());
  }
  auto refused = (*store)->BeginLoginAttempt(
      {"a@example.com", "10.0.0.1", "", "", t0 + absl::Minutes(2)}, limits);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->admitted);
  // The limit-th newest failure (including this refusal) is the one at t0 + 1 min.
  EXPECT_EQ(refused->retry_after, absl::Minutes(9));
  // Once the window has passed every failure, the door is open again.
  auto later = (*store)->BeginLoginAttempt(
      {"a@example.com", "10.0.0.1", "", "", t0 + absl::Minutes(13)}, limits);
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->admitted);
}

}  // namespace
}  // namespace suite::identity

// Identity's retention rules against a real database, as the role the retention job uses
// (suite_retention): nothing inside its period is removed, at each boundary to the
// microsecond; a run stopped between batches or cancelled inside one leaves whole batches
// only and the next run finishes; rows another transaction holds are skipped, not waited on;
// the role can do nothing else; each batch is an index range.
#include "services/identity/storage/retention.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/identity/testing/retention_fixture.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"

namespace suite::identity {
namespace {

using suite::db::retention::PurgeOptions;
using suite::db::retention::PurgeRunResult;
using suite::db::retention::RunPurge;

using suite::identity::testing::kNow;
using suite::identity::testing::Ts;

class IdentityRetentionTest : public suite::identity::testing::RetentionTest {
 protected:
  void SetUp() override {
    RetentionTest::SetUp();
    Exec("INSERT INTO identity.users (id, email) VALUES "
         "('00000000-0000-0000-0000-0000000000a1', 'a@example.com')");
  }

  std::unique_ptr<suite::db::ConnectionPool> Pool(absl::Duration statement_timeout) {
    return RetentionPool(statement_timeout);
  }

  // The note column of the rows left in `table`, sorted.
  std::vector<std::string> Left(const std::string& table, const std::string& column) {
    return Column("SELECT " + column + " FROM " + table + " ORDER BY 1");
  }

  void AddAttempt(const std::string& note, absl::Time created_at) {
    Exec(absl::StrCat("INSERT INTO identity.login_attempts (email, ip, success, created_at) "
                      "VALUES ('",
                      note, "', '10.0.0.1', true, ", Ts(created_at), ")"));
  }

  PurgeRunResult Purge(PurgeOptions options = PurgeOptions(),
                       suite::db::ConnectionPool* pool = nullptr) {
    options.now = kNow;
    return RunPurge(pool == nullptr ? *pool_ : *pool, IdentityPurgeRules(IdentityRetention()),
                    options);
  }
};

TEST_F(IdentityRetentionTest, LoginAttemptsAreKeptUntilTheirPeriodEndsToTheMicrosecond) {
  const absl::Time cutoff = kNow - IdentityRetention().login_attempts;
  AddAttempt("after_1s", cutoff + absl::Seconds(1));
  AddAttempt("at", cutoff);
  AddAttempt("before_1us", cutoff - absl::Microseconds(1));
  AddAttempt("before_1s", cutoff - absl::Seconds(1));
  AddAttempt("now", kNow);
  PurgeRunResult run = Purge();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.rules[0].table, "identity.login_attempts");
  EXPECT_EQ(run.rules[0].rows, 2);
  EXPECT_TRUE(run.rules[0].complete);
  EXPECT_EQ(Left("identity.login_attempts", "email"),
            (std::vector<std::string>{"after_1s", "at", "now"}));
}

TEST_F(IdentityRetentionTest, SessionsAreKeptUntilTheirPeriodAfterRevocationOrExpiry) {
  const absl::Time cutoff = kNow - IdentityRetention().sessions_after_end;
  const absl::Time far = kNow + absl::Hours(24 * 365);
  int n = 0;
  auto add = [&](const std::string& note, absl::Time expires, absl::optional<absl::Time> revoked) {
    ++n;
    Exec(absl::StrCat(
        "INSERT INTO identity.sessions (user_id, session_token_hash, last_seen_at, expires_at, "
        "absolute_expires_at, revoked_at, user_agent_created) VALUES "
        "('00000000-0000-0000-0000-0000000000a1', lpad('",
        n, "', 64, '0'), ", Ts(expires), ", ", Ts(expires), ", ", Ts(far), ", ",
        revoked ? Ts(*revoked) : "NULL", ", '", note, "')"));
  };
  add("live", far, absl::nullopt);
  add("expired_after_1s", cutoff + absl::Seconds(1), absl::nullopt);
  add("expired_at", cutoff, absl::nullopt);
  add("expired_before_1us", cutoff - absl::Microseconds(1), absl::nullopt);
  add("expired_before_1s", cutoff - absl::Seconds(1), absl::nullopt);
  add("revoked_after_1s", far, cutoff + absl::Seconds(1));
  add("revoked_at", far, cutoff);
  add("revoked_before_1s", far, cutoff - absl::Seconds(1));
  // Revoked late but expired long ago: over since its expiry.
  add("revoked_late_expired_before", cutoff - absl::Seconds(1), kNow);
  PurgeRunResult run = Purge();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.rules[1].rows, 4);
  EXPECT_EQ(Left("identity.sessions", "user_agent_created"),
            (std::vector<std::string>{"expired_after_1s", "expired_at", "live",
                                      "revoked_after_1s", "revoked_at"}));
}

TEST_F(IdentityRetentionTest, EmailVerificationsAreKeptUntilTheirPeriodAfterUseOrExpiry) {
  const absl::Time cutoff = kNow - IdentityRetention().email_verifications_after_end;
  const absl::Time far = kNow + absl::Hours(24);
  int n = 0;
  auto add = [&](const std::string& note, absl::Time expires, absl::optional<absl::Time> used) {
    ++n;
    Exec(absl::StrCat("INSERT INTO identity.email_verifications (user_id, token_hash, email, "
                      "expires_at, consumed_at) VALUES "
                      "('00000000-0000-0000-0000-0000000000a1', lpad('",
                      n, "', 64, '0'), '", note, "', ", Ts(expires), ", ",
                      used ? Ts(*used) : "NULL", ")"));
  };
  add("pending", far, absl::nullopt);
  add("expired_after_1s", cutoff + absl::Seconds(1), absl::nullopt);
  add("expired_at", cutoff, absl::nullopt);
  add("expired_before_1s", cutoff - absl::Seconds(1), absl::nullopt);
  add("used_after_1s", far, cutoff + absl::Seconds(1));
  add("used_at", far, cutoff);
  add("used_before_1us", far, cutoff - absl::Microseconds(1));
  PurgeRunResult run = Purge();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.rules[2].rows, 2);
  EXPECT_EQ(Left("identity.email_verifications", "email"),
            (std::vector<std::string>{"expired_after_1s", "expired_at", "pending",
                                      "used_after_1s", "used_at"}));
}

TEST_F(IdentityRetentionTest, ARunStoppedOrCancelledMidwayLeavesWholeBatchesAndTheNextFinishes) {
  const absl::Time old = kNow - IdentityRetention().login_attempts - absl::Hours(1);
  for (int i = 0; i < 7; ++i) AddAttempt(absl::StrCat("old", i), old + absl::Seconds(i));
  AddAttempt("young", kNow - absl::Hours(1));

  // Killed after its first batch (max_batches stands in for the kill between two batches).
  PurgeOptions one_batch;
  one_batch.batch_size = 3;
  one_batch.max_batches = 1;
  PurgeRunResult first = Purge(one_batch);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.rules[0].rows, 3);
  EXPECT_FALSE(first.rules[0].complete);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.login_attempts"), 5);

  // Cancelled inside its batch: an exclusive lock makes the DELETE wait until the statement
  // timeout cancels it. The batch is rolled back whole.
  {
    pqxx::connection holder(db_->url());
    pqxx::work lock(holder);
    lock.exec0("LOCK TABLE identity.login_attempts IN ACCESS EXCLUSIVE MODE");
    auto impatient = Pool(absl::Milliseconds(300));
    PurgeOptions options;
    options.batch_size = 3;
    PurgeRunResult cancelled = Purge(options, impatient.get());
    EXPECT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.rules[0].status.code(), absl::StatusCode::kDeadlineExceeded)
        << cancelled.rules[0].status;
    EXPECT_EQ(cancelled.rules[0].rows, 0);
    lock.abort();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM identity.login_attempts"), 5);

  PurgeOptions rest;
  rest.batch_size = 3;
  PurgeRunResult last = Purge(rest);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last.rules[0].rows, 4);
  EXPECT_TRUE(last.rules[0].complete);
  EXPECT_EQ(Left("identity.login_attempts", "email"), (std::vector<std::string>{"young"}));
}

TEST_F(IdentityRetentionTest, RowsAnotherTransactionHoldsAreSkippedNotWaitedOn) {
  const absl::Time old = kNow - IdentityRetention().login_attempts - absl::Hours(1);
  AddAttempt("held", old);
  AddAttempt("free", old + absl::Seconds(1));
  {
    pqxx::connection holder(db_->url());
    pqxx::work lock(holder);
    lock.exec1("SELECT 1 FROM identity.login_attempts WHERE email = 'held' FOR UPDATE");
    // A statement that waited on the held row would be cancelled after 2 s and fail the run.
    auto impatient = Pool(absl::Seconds(2));
    PurgeRunResult run = Purge(PurgeOptions(), impatient.get());
    ASSERT_TRUE(run.ok()) << run.rules[0].status;
    EXPECT_EQ(run.rules[0].rows, 1);
    EXPECT_EQ(Left("identity.login_attempts", "email"), (std::vector<std::string>{"held"}));
    lock.abort();
  }
  PurgeRunResult next = Purge();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.rules[0].rows, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.login_attempts"), 0);
}

TEST_F(IdentityRetentionTest, APeriodBelowItsMinimumIsRefusedAndRemovesNothing) {
  AddAttempt("recent", kNow - absl::Minutes(10));
  IdentityRetention retention;
  retention.login_attempts = absl::Minutes(5);
  PurgeOptions options;
  options.now = kNow;
  PurgeRunResult run = RunPurge(*pool_, IdentityPurgeRules(retention), options);
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.rules[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(run.rules[0].status.message().find("identity.login_attempts"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM identity.login_attempts"), 1);

  PurgeOptions bad_batch;
  bad_batch.now = kNow;
  bad_batch.batch_size = 0;
  PurgeRunResult refused = RunPurge(*pool_, IdentityPurgeRules(IdentityRetention()), bad_batch);
  EXPECT_EQ(refused.rules[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.rules[0].status.message().find("batch_size"), std::string::npos);
}

// suite_retention may delete only what retention names: not users, not other columns.
TEST_F(IdentityRetentionTest, TheRetentionRoleCanDoNothingElse) {
  AddAttempt("kept", kNow);
  pqxx::connection conn(db_->UrlAs("suite_retention"));
  for (const std::string sql : {
           "DELETE FROM identity.users",
           "UPDATE identity.login_attempts SET email = 'x'",
           "INSERT INTO identity.login_attempts (email, ip, success) VALUES ('x', 'y', true)",
           "SELECT * FROM identity.role_assignments",
           "TRUNCATE identity.login_attempts",
       }) {
    pqxx::work tx(conn);
    try {
      tx.exec(sql);
      ADD_FAILURE() << "allowed: " << sql;
    } catch (const pqxx::insufficient_privilege&) {
      // refused, as it must be
    }
  }
  EXPECT_EQ(Left("identity.login_attempts", "email"), (std::vector<std::string>{"kept"}));
}

// Each batch is an index range on the rule's key: the planner's own choice for the statement's
// generic plan (what a prepared statement settles on), with enough rows that a scan would be
// costed for what it is.
TEST_F(IdentityRetentionTest, EachBatchIsAnIndexRangeNotAScan) {
  Exec("INSERT INTO identity.login_attempts (email, ip, success, created_at) "
       "SELECT 'u' || i || '@example.com', '10.0.0.1', true, "
       "now() - i * interval '1 minute' FROM generate_series(1, 20000) i");
  Exec("INSERT INTO identity.sessions (user_id, session_token_hash, last_seen_at, expires_at, "
       "absolute_expires_at) SELECT '00000000-0000-0000-0000-0000000000a1', "
       "encode(sha256(i::text::bytea), 'hex'), now(), now() + i * interval '1 minute', "
       "now() + interval '1 year' FROM generate_series(1, 20000) i");
  Exec("INSERT INTO identity.email_verifications (user_id, token_hash, email, expires_at) "
       "SELECT '00000000-0000-0000-0000-0000000000a1', encode(sha256(i::text::bytea), 'hex'), "
       "'e', now() + i * interval '1 minute' FROM generate_series(1, 20000) i");
  Exec("INSERT INTO identity.audit_log (seq, occurred_at, action, target_type, target_id, "
       "outcome, prev_hash, hash) SELECT i, now() - (20001 - i) * interval '1 minute', "
       "'user.set_status', 'user', 'u', 'succeeded', repeat('0', 64), repeat('0', 64) "
       "FROM generate_series(1, 20000) i");
  Exec("ANALYZE identity.login_attempts, identity.sessions, identity.email_verifications, "
       "identity.audit_log");
  for (const auto& rule : IdentityPurgeRules(IdentityRetention())) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
    tx.exec0("PREPARE s AS " + rule.sql);
    std::string plan;
    for (const auto& r : tx.exec("EXPLAIN EXECUTE s(" +
                                 std::to_string(absl::ToUnixMicros(kNow - rule.keep)) +
                                 ", 1000)")) {
      plan += r[0].as<std::string>() + "\n";
    }
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << rule.table << "\n" << plan;
    EXPECT_NE(plan.find("Index Scan"), std::string::npos) << rule.table << "\n" << plan;
    EXPECT_NE(plan.find("Tid Scan"), std::string::npos) << rule.table << "\n" << plan;
  }
}

}  // namespace
}  // namespace suite::identity

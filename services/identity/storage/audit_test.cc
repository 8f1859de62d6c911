// Identity's audit trail against a real database, through the store as identity_service:
// every privileged change appends exactly one row in its own transaction (a refused change
// none, and a change whose row cannot be written does not happen); concurrent changes form
// one unbroken chain; the service role can append and read but never alter or remove a row;
// the verifier names the first row that was altered, removed or replaced; retention removes
// only the oldest rows, and the rest still verifies.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/identity/storage/pg_store.h"
#include "services/identity/storage/retention.h"
#include "shared/base/audit_actor.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/audit/testing/audit_testing.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"
#include "shared/db/testing/test_database.h"

namespace suite::identity {
namespace {

using suite::db::audit::AuditEvent;
using suite::db::audit::AuditFilter;
using suite::db::audit::ChainReport;
using suite::db::audit::testing::AuditStorageTest;
using suite::db::audit::testing::TestPool;

constexpr char kAdmin[] = "00000000-0000-0000-0000-00000000ad01";
constexpr char kRequest[] = "11111111-2222-4333-8444-555555555555";

class AuditTrailTest : public AuditStorageTest {
 protected:
  AuditTrailTest() : AuditStorageTest("identity", "identity_service", 8) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(AuditStorageTest::SetUp());
    auto store = PgIdentityStore::Create(pool_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto user = store_->CreateUser({"target@example.com", "", "", "", "", absl::Now()});
    ASSERT_TRUE(user.ok()) << user.status();
    user_id_ = user->id;
  }

  std::vector<AuditEvent> Events(const AuditFilter& filter = AuditFilter()) {
    auto events = suite::db::audit::ListAuditEvents(*pool_, "identity", filter, 0, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<AuditEvent>{};
  }


  std::string Status() {
    pqxx::connection conn(db_->url());
    return pqxx::nontransaction(conn)
        .exec1("SELECT status FROM identity.users WHERE id = '" + user_id_ + "'")[0]
        .as<std::string>();
  }

  std::unique_ptr<PgIdentityStore> store_;
  std::string user_id_;
};

TEST_F(AuditTrailTest, EachPrivilegedChangeAppendsOneRowWithItsActorAndRequest) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kSuspended, absl::Now()).ok());
    ASSERT_TRUE(store_->AssignRole(user_id_, "author", "", kRequest).ok());
    // Granting again changes nothing, so it records nothing.
    ASSERT_TRUE(store_->AssignRole(user_id_, "author", "", kRequest).ok());
    ASSERT_TRUE(store_->RevokeRole(user_id_, "author", "").ok());
    ASSERT_TRUE(store_->DeleteUser(user_id_, absl::Now()).ok());
  }
  std::vector<AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 4u);
  // Newest first.
  EXPECT_EQ(events[3].action, "user.set_status");
  EXPECT_EQ(events[3].after_json, R"({"status": "suspended"})");
  EXPECT_EQ(events[2].action, "role.assign");
  EXPECT_EQ(events[2].after_json, R"({"role": "author", "account_id": ""})");
  EXPECT_EQ(events[1].action, "role.revoke");
  EXPECT_EQ(events[1].before_json, R"({"role": "author", "account_id": ""})");
  EXPECT_EQ(events[1].after_json, "");
  EXPECT_EQ(events[0].action, "user.delete");
  for (const AuditEvent& e : events) {
    EXPECT_EQ(e.actor_id, kAdmin) << e.action;
    EXPECT_EQ(e.request_id, kRequest) << e.action;
    EXPECT_EQ(e.target_id, user_id_) << e.action;
    EXPECT_EQ(e.outcome, "succeeded") << e.action;
  }
  EXPECT_EQ(events[3].seq, 1);
  EXPECT_EQ(events[0].seq, 4);
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.rows, 4);
}

TEST_F(AuditTrailTest, ARefusedChangeAppendsNothingAndAChangeWhoseRowFailsDoesNotHappen) {
  EXPECT_EQ(store_->SetUserStatus("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21", UserStatus::kSuspended,
                                  absl::Now())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->RevokeRole(user_id_, "author", "").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Events().empty());

  // The row cannot be written: the change is rolled back with it.
  AsSuperuser("REVOKE INSERT ON identity.audit_log FROM identity_service");
  absl::Status refused = store_->SetUserStatus(user_id_, UserStatus::kSuspended, absl::Now()).status();
  AsSuperuser("GRANT INSERT ON identity.audit_log TO identity_service");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(Status(), "active");
  EXPECT_TRUE(Events().empty());
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.rows, 0);
}

TEST_F(AuditTrailTest, ConcurrentChangesFormOneUnbrokenChain) {
  constexpr int kThreads = 8, kEach = 10;
  // Each thread changes its own user (grants of one user racing each other are the store's
  // business, not the trail's); all of them append to the one chain.
  std::vector<std::string> users;
  for (int t = 0; t < kThreads; ++t) {
    auto user = store_->CreateUser({absl::StrCat("u", t, "@example.com"), "", "", "", "",
                                    absl::Now()});
    ASSERT_TRUE(user.ok()) << user.status();
    users.push_back(user->id);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ScopedAuditActor actor(kAdmin, "");
      for (int i = 0; i < kEach; ++i) {
        if (i % 2 == 0) {
          EXPECT_TRUE(store_->SetUserStatus(users[t], UserStatus::kActive, absl::Now()).ok());
        } else {
          EXPECT_TRUE(store_->AssignRole(users[t], "author", "", "").ok());
          EXPECT_TRUE(store_->RevokeRole(users[t], "author", "").ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  // Per thread: 5 status changes, 5 grants, 5 revocations.
  EXPECT_EQ(report.rows, kThreads * kEach / 2 * 3);
  EXPECT_EQ(report.first_seq, 1);
  EXPECT_EQ(report.last_seq, report.rows);
}

TEST_F(AuditTrailTest, TheServiceRoleCanAppendAndReadButNeverAlterOrRemove) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kSuspended, absl::Now()).ok());
  }
  ExpectServiceRoleCannotAlterOrRemove();
  ExpectRetentionRoleCannotAlter();
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(AuditTrailTest, TheVerifierNamesTheFirstAlteredRemovedOrReplacedRow) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(store_
                      ->SetUserStatus(user_id_,
                                      i % 2 ? UserStatus::kActive : UserStatus::kSuspended,
                                      absl::Now())
                      .ok());
    }
  }
  ASSERT_FALSE(Verify().broken_seq);

  ASSERT_NO_FATAL_FAILURE(ExpectVerifierNamesAlteredThenReplacedRow(
      3, "UPDATE identity.audit_log SET actor_id = NULL WHERE seq = 3"));

  // A row removed from the middle: its successor names the gap.
  AsSuperuser("DELETE FROM identity.audit_log WHERE seq IN (2, 3)");
  ChainReport removed = Verify();
  ASSERT_TRUE(removed.broken_seq);
  EXPECT_EQ(*removed.broken_seq, 4);
  EXPECT_NE(removed.problem.find("2..3 are missing"), std::string::npos) << removed.problem;

  // The newest row removed: the head still names it.
  AsSuperuser("DELETE FROM identity.audit_log WHERE seq IN (1, 4, 5)");
  AsSuperuser("DELETE FROM identity.audit_log WHERE seq = 6");
  ChainReport emptied = Verify();
  EXPECT_FALSE(emptied.broken_seq) << emptied.problem;  // nothing left to contradict
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kActive, absl::Now()).ok());
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kSuspended, absl::Now()).ok());
  }
  AsSuperuser("DELETE FROM identity.audit_log WHERE seq = 8");
  ChainReport truncated = Verify();
  ASSERT_TRUE(truncated.broken_seq);
  EXPECT_EQ(*truncated.broken_seq, 8);
  EXPECT_NE(truncated.problem.find("newest rows removed"), std::string::npos)
      << truncated.problem;
}

TEST_F(AuditTrailTest, RetentionRemovesOnlyTheOldestRowsAndTheRestStillVerifies) {
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kActive, absl::Now()).ok());
    }
  }
  // The retention job's clock, two years and a second after rows 1-3 (their times moved back
  // as the superuser: only the times, which the hash covers, so recompute them in order).
  AsSuperuser("UPDATE identity.audit_log SET occurred_at = occurred_at - interval '800 days' "
              "WHERE seq <= 3");
  RehashChain(5);
  ASSERT_FALSE(Verify().broken_seq);

  auto pool = TestPool(db_->UrlAs("suite_retention"), 1);
  suite::db::retention::PurgeOptions options;
  options.now = absl::Now();
  options.batch_size = 2;
  auto run = suite::db::retention::RunPurge(*pool, IdentityPurgeRules(IdentityRetention()),
                                            options);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run.rules.back().table, "identity.audit_log");
  EXPECT_EQ(run.rules.back().rows, 3);
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.first_seq, 4);
  EXPECT_EQ(report.rows, 2);
}

TEST_F(AuditTrailTest, ListingFiltersByActorActionTargetAndTimeAndPagesByKeyset) {
  const std::string other = "00000000-0000-0000-0000-00000000ad02";
  {
    ScopedAuditActor actor(kAdmin, kRequest);
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kSuspended, absl::Now()).ok());
    ASSERT_TRUE(store_->AssignRole(user_id_, "author", "", kRequest).ok());
  }
  const absl::Time middle = absl::Now();
  {
    ScopedAuditActor actor(other, "");
    ASSERT_TRUE(store_->SetUserStatus(user_id_, UserStatus::kActive, absl::Now()).ok());
  }
  AuditFilter by_actor;
  by_actor.actor_id = other;
  ASSERT_EQ(Events(by_actor).size(), 1u);
  EXPECT_EQ(Events(by_actor)[0].seq, 3);
  AuditFilter by_action;
  by_action.action = "user.set_status";
  EXPECT_EQ(Events(by_action).size(), 2u);
  AuditFilter by_target;
  by_target.target_id = "someone-else";
  EXPECT_TRUE(Events(by_target).empty());
  AuditFilter since;
  since.since = middle;
  ASSERT_EQ(Events(since).size(), 1u);
  AuditFilter until;
  until.until = middle;
  EXPECT_EQ(Events(until).size(), 2u);
  auto page = suite::db::audit::ListAuditEvents(*pool_, "identity", AuditFilter(), 3, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].seq, 2);
}

}  // namespace
}  // namespace suite::identity

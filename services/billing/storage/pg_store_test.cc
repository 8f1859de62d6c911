// PgStore against a real, migrated PostgreSQL, connected as billing_service.
#include "services/billing/storage/pg_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/billing/domain/ledger.h"
#include "shared/api/status.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"

namespace suite::billing {
namespace {

using suite::db::testing::TestDatabase;

constexpr char kUser[] = "aaaaaaaa-0000-4000-8000-000000000002";

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    suite::db::PoolConfig config;
    config.database_url = db_->UrlAs("billing_service");
    config.pool_size = 12;
    auto pool = suite::db::ConnectionPool::Create(config);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    auto storage = PgStore::Create(*pool_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(*storage);
  }

  EventEnvelope Envelope(const std::string& id, int64_t created) {
    EventEnvelope e;
    e.stripe_event_id = id;
    e.type = "customer.subscription.updated";
    e.created = absl::FromUnixSeconds(created);
    e.redacted_json = R"({"id":")" + id + R"(","created":)" + std::to_string(created) + "}";
    return e;
  }
  EventChange SubscriptionTo(SubscriptionStatus status) {
    SubscriptionChange s;
    s.stripe_subscription_id = "sub_1";
    s.stripe_customer_id = "cus_1";
    s.user_id = kUser;
    s.state.status = status;
    EventChange change;
    change.subscription = s;
    return change;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgStore> storage_;
};

TEST_F(PgStoreTest, EntitlementReadUsesTheUserIndexForOneUserAndForABatch) {
  const std::string user = "'" + std::string(kUser) + "'";
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::string>>{
           {"billing_subscription_best", user},
           {"billing_subscription_best_x4", absl::StrJoin({user, user, user, user}, ", ")}}) {
    auto statement = pool_->FindStatement(name);
    ASSERT_TRUE(statement.ok()) << name << ": " << statement.status();
    pqxx::connection conn(db_->UrlAs("billing_service"));
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL enable_seqscan = off");  // the table is tiny; ask what it would use
    tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
    tx.exec0("PREPARE best AS " + (*statement)->sql);
    std::string plan;
    for (const auto& row : tx.exec("EXPLAIN EXECUTE best(" + args + ")")) {
      plan += row[0].as<std::string>() + "\n";
    }
    EXPECT_NE(plan.find("stripe_subscriptions_user_id_created_at_idx"), std::string::npos)
        << name << "\n" << plan;
    EXPECT_EQ(plan.find("stripe_customers"), std::string::npos) << name << "\n" << plan;
  }
}

// Every list query must be able to use an index, or it slows down as its table grows. Each
// list statement's generic plan (what a prepared statement settles on after its first
// executions, whatever the filters), with sequential scans discouraged because the test
// tables are tiny.
TEST_F(PgStoreTest, EveryListStatementsGenericPlanCanUseAnIndex) {
  const std::string id = "'0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"billing_event_list", "'', '', -1, -1, -1, " + id + ", 21"},
      {"billing_subscription_list", "'" + std::string(kUser) + "', -1, " + id + ", 21"},
      {"billing_transaction_list", id + ", -1, " + id + ", 21"},
  };
  for (const auto& [name, args] : cases) {
    auto statement = pool_->FindStatement(name);
    ASSERT_TRUE(statement.ok()) << name << ": " << statement.status();
    pqxx::connection conn(db_->UrlAs("billing_service"));
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL plan_cache_mode = force_generic_plan");
    tx.exec0("SET LOCAL enable_seqscan = off");
    tx.exec0("PREPARE s AS " + (*statement)->sql);
    std::string plan;
    for (const auto& row : tx.exec("EXPLAIN EXECUTE s(" + args + ")")) {
      plan += row[0].as<std::string>() + "\n";
    }
    EXPECT_TRUE(plan.find("Index Scan") != std::string::npos ||
                plan.find("Index Only Scan") != std::string::npos ||
                plan.find("Bitmap Index Scan") != std::string::npos)
        << name << "\n" << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << name << "\n" << plan;
    // The page order is the index's: ORDER BY must name the table's uuid id, not the output
    // column id::text (which no index provides).
    EXPECT_EQ(plan.find("::text) DESC"), std::string::npos) << name << "\n" << plan;
  }
}

TEST_F(PgStoreTest, OrderingComparesCreatedThenSameSecondRulesAndRecordsSkips) {
  auto apply = [&](const std::string& id, int64_t created, SubscriptionStatus status) {
    auto outcome = storage_->ApplyEvent(Envelope(id, created), SubscriptionTo(status), false);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->status : EventStatus::kReceived;
  };
  EXPECT_EQ(apply("evt_B", 100, SubscriptionStatus::kActive), EventStatus::kProcessed);
  // Same second, no chain, smaller id ('A' < 'B'): superseded, not applied.
  EXPECT_EQ(apply("evt_A", 100, SubscriptionStatus::kUnpaid), EventStatus::kSuperseded);
  EXPECT_EQ(storage_->GetSubscription("sub_1")->status, SubscriptionStatus::kActive);
  EXPECT_EQ(storage_->GetEvent("evt_A")->status, EventStatus::kSuperseded);
  // Same second, bytewise greater id ('b' > 'B'): applied.
  EXPECT_EQ(apply("evt_b", 100, SubscriptionStatus::kPastDue), EventStatus::kProcessed);
  auto s = storage_->GetSubscription("sub_1");
  EXPECT_EQ(s->status, SubscriptionStatus::kPastDue);
  EXPECT_EQ(s->past_due_since, absl::FromUnixSeconds(100));
  // Still past_due later: past_due_since keeps the start of the arrears.
  EXPECT_EQ(apply("evt_c", 200, SubscriptionStatus::kPastDue), EventStatus::kProcessed);
  EXPECT_EQ(storage_->GetSubscription("sub_1")->past_due_since, absl::FromUnixSeconds(100));
  // Older second: stale, not applied.
  EXPECT_EQ(apply("evt_z", 99, SubscriptionStatus::kActive), EventStatus::kStale);
  EXPECT_EQ(storage_->GetEvent("evt_z")->status, EventStatus::kStale);
  EXPECT_EQ(storage_->GetSubscription("sub_1")->status, SubscriptionStatus::kPastDue);
  EXPECT_EQ(apply("evt_d", 300, SubscriptionStatus::kActive), EventStatus::kProcessed);
  s = storage_->GetSubscription("sub_1");
  EXPECT_EQ(s->status, SubscriptionStatus::kActive);
  EXPECT_FALSE(s->past_due_since.has_value());
  // Same second: canceled wins over active whatever the ids, and is never revived.
  EXPECT_EQ(apply("evt_0", 300, SubscriptionStatus::kCanceled), EventStatus::kProcessed);
  EXPECT_EQ(apply("evt_zz", 300, SubscriptionStatus::kActive), EventStatus::kSuperseded);
  EXPECT_EQ(storage_->GetSubscription("sub_1")->status, SubscriptionStatus::kCanceled);
  // A redelivery of a skipped event is a duplicate.
  auto again =
      storage_->ApplyEvent(Envelope("evt_zz", 300), SubscriptionTo(SubscriptionStatus::kActive),
                           false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->status, EventStatus::kSuperseded);
}

// Customers: a same-second deletion wins whatever the ids, in either order; skipped events say
// why they were not applied.
TEST_F(PgStoreTest, SameSecondCustomerDeletionWinsInEitherOrder) {
  auto customer = [&](const std::string& stripe_id, const std::string& event, int64_t created,
                      bool deleted) {
    CustomerChange c;
    c.stripe_customer_id = stripe_id;
    c.deleted = deleted;
    EventChange change;
    change.customer = c;
    EventEnvelope e = Envelope(event, created);
    e.type = deleted ? "customer.deleted" : "customer.updated";
    auto outcome = storage_->ApplyEvent(e, change, false);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->status : EventStatus::kReceived;
  };
  // Deletion first (smaller id), then an update of the same second: superseded.
  EXPECT_EQ(customer("cus_d1", "evt_a1", 100, true), EventStatus::kProcessed);
  EXPECT_EQ(customer("cus_d1", "evt_z1", 100, false), EventStatus::kSuperseded);
  EXPECT_TRUE(storage_->GetCustomerByStripeId("cus_d1")->deleted);
  // Update first (greater id), then the deletion of the same second: applied.
  EXPECT_EQ(customer("cus_d2", "evt_z2", 100, false), EventStatus::kProcessed);
  EXPECT_EQ(customer("cus_d2", "evt_a2", 100, true), EventStatus::kProcessed);
  EXPECT_TRUE(storage_->GetCustomerByStripeId("cus_d2")->deleted);
  // An earlier second: stale.
  EXPECT_EQ(customer("cus_d2", "evt_old", 99, false), EventStatus::kStale);
  EXPECT_TRUE(storage_->GetCustomerByStripeId("cus_d2")->deleted);
}

TEST_F(PgStoreTest, DuplicateAndFailureBookkeeping) {
  const EventEnvelope e = Envelope("evt_1", 100);
  auto first = storage_->ApplyEvent(e, SubscriptionTo(SubscriptionStatus::kActive), false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate);
  auto again = storage_->ApplyEvent(e, SubscriptionTo(SubscriptionStatus::kActive), false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  // A late failure report never downgrades an applied event.
  ASSERT_TRUE(storage_->RecordEventFailure(e, "boom").ok());
  auto stored = storage_->GetEvent("evt_1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, EventStatus::kProcessed);
  EXPECT_EQ(stored->event_created, absl::FromUnixSeconds(100));
  // Reprocessing an applied event is refused; an unknown one is NOT_FOUND and leaves no row.
  auto re = storage_->ApplyEvent(e, SubscriptionTo(SubscriptionStatus::kActive), true);
  EXPECT_EQ(re.status().code(), absl::StatusCode::kFailedPrecondition);
  re = storage_->ApplyEvent(Envelope("evt_new", 1), EventChange{}, true);
  EXPECT_EQ(re.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(storage_->GetEvent("evt_new").status().code(), absl::StatusCode::kNotFound);
  // A failure is recorded, then a later delivery applies it.
  ASSERT_TRUE(storage_->RecordEventFailure(Envelope("evt_2", 150), "db hiccup").ok());
  EXPECT_EQ(storage_->GetEvent("evt_2")->status, EventStatus::kFailed);
  EXPECT_EQ(storage_->GetEvent("evt_2")->last_error, "db hiccup");
  auto retry = storage_->ApplyEvent(Envelope("evt_2", 150),
                                    SubscriptionTo(SubscriptionStatus::kUnpaid), false);
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->duplicate);
  EXPECT_EQ(storage_->GetEvent("evt_2")->status, EventStatus::kProcessed);
  EXPECT_EQ(storage_->GetEvent("evt_2")->last_error, "");
  EXPECT_EQ(storage_->GetSubscription("sub_1")->status, SubscriptionStatus::kUnpaid);
}

TEST_F(PgStoreTest, ConcurrentSameKeyWritesOneLedgerEntry) {
  NewTransaction tx;
  tx.idempotency_key = "same";
  tx.account_id = "bbbbbbbb-0000-4000-8000-000000000001";
  tx.currency = "EUR";
  tx.amount_cents = 42;
  tx.provider = "manual";
  tx.request_fingerprint = RequestFingerprint(tx);
  std::atomic<int> ok{0}, replayed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      auto r = storage_->RecordTransaction(tx);
      if (r.ok()) {
        ++ok;
        if (r->replayed) ++replayed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(replayed.load(), 9);
  auto page = storage_->ListTransactions(tx.account_id, 10, absl::nullopt);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 1u);
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(PgStoreTest, LinkCustomerRelinksItsSubscriptions) {
  SubscriptionChange s;
  s.stripe_subscription_id = "sub_x";
  s.stripe_customer_id = "cus_x";
  s.state.status = SubscriptionStatus::kActive;
  EventChange change;
  change.subscription = s;
  ASSERT_TRUE(storage_->ApplyEvent(Envelope("evt_x", 1), change, false).ok());
  auto best = storage_->BestSubscription(kUser);
  ASSERT_TRUE(best.ok());
  EXPECT_FALSE(best->has_value());
  ASSERT_TRUE(storage_->LinkCustomer("cus_x", kUser, false, "").ok());
  best = storage_->BestSubscription(kUser);
  ASSERT_TRUE(best.ok() && best->has_value());
  EXPECT_EQ((*best)->stripe_subscription_id, "sub_x");
  EXPECT_EQ(storage_->GetCustomerByUser(kUser)->stripe_customer_id, "cus_x");
}

// Concurrent entitlement reads share statements (ReadBatcher): each must still get its own
// user's subscription, and a user without one must get none.
TEST_F(PgStoreTest, ConcurrentBestSubscriptionReadsEachGetTheirOwnUsers) {
  const std::vector<std::string> users = {"aaaaaaaa-0000-4000-8000-000000000011",
                                          "aaaaaaaa-0000-4000-8000-000000000012",
                                          "aaaaaaaa-0000-4000-8000-000000000013"};
  for (size_t i = 0; i < users.size(); ++i) {
    EventChange change = SubscriptionTo(SubscriptionStatus::kActive);
    change.subscription->stripe_subscription_id = "sub_" + std::to_string(i);
    change.subscription->stripe_customer_id = "cus_" + std::to_string(i);
    change.subscription->user_id = users[i];
    ASSERT_TRUE(
        storage_->ApplyEvent(Envelope("evt_" + std::to_string(i), 1), change, false).ok());
  }
  const std::string no_subscription = "aaaaaaaa-0000-4000-8000-000000000019";
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const size_t pick = (t + i) % (users.size() + 1);
        if (pick == users.size()) {
          auto none = storage_->BestSubscription(no_subscription);
          if (!none.ok() || none->has_value()) ++wrong;
          continue;
        }
        auto best = storage_->BestSubscription(users[pick]);
        if (!best.ok() || !best->has_value() ||
            (*best)->stripe_subscription_id != "sub_" + std::to_string(pick) ||
            (*best)->user_id != users[pick]) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  // The key comes back as it was asked for, so an id in upper case finds its row too.
  auto upper = storage_->BestSubscription(absl::AsciiStrToUpper(users[1]));
  ASSERT_TRUE(upper.ok()) << upper.status();
  ASSERT_TRUE(upper->has_value());
  EXPECT_EQ((*upper)->stripe_subscription_id, "sub_1");
}

}  // namespace
}  // namespace suite::billing

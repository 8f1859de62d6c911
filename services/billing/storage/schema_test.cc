// Proves the billing migrations produce exactly the declared schema, and that the database
// itself enforces what billing relies on: an append-only ledger for billing_service,
// constrained status/currency values and unique claims.
#include "migrations/billing/schema.h"

#include <string>

#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/errors.h"
#include "shared/db/schema/schema_check.h"
#include "shared/db/testing/test_database.h"

namespace {

using suite::db::testing::SqlStateOfRunning;
using suite::db::testing::TestDatabase;

class BillingSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(BillingSchemaTest, LiveSchemaMatchesDeclaration) {
  auto diffs = suite::db::schema::CheckSchema(db_->url(), suite::migrations::BillingSchema());
  ASSERT_TRUE(diffs.ok()) << diffs.status();
  EXPECT_TRUE(diffs->empty()) << suite::db::schema::FormatDifferences(*diffs);
}

TEST_F(BillingSchemaTest, ServiceRoleCanInsertButNotUpdateOrDeleteTransactions) {
  const std::string svc = db_->UrlAs("billing_service");
  EXPECT_EQ(
      SqlStateOfRunning(svc,
                        "INSERT INTO billing.transactions (account_id, kind, status, currency, "
                        "amount_cents, provider) VALUES (gen_random_uuid(), 'payment', "
                        "'succeeded', 'EUR', 100, 'manual')"),
      "");
  EXPECT_EQ(SqlStateOfRunning(svc, "UPDATE billing.transactions SET amount_cents = 1"), "42501");
  EXPECT_EQ(SqlStateOfRunning(svc, "DELETE FROM billing.transactions"), "42501");
  // Even the owner is refused by the trigger.
  EXPECT_EQ(SqlStateOfRunning(db_->url_owner(), "UPDATE billing.transactions SET amount_cents = 1"),
            "42501");
  EXPECT_EQ(SqlStateOfRunning(db_->url_owner(), "DELETE FROM billing.transactions"), "42501");
}

TEST_F(BillingSchemaTest, CurrencyAndStatusAreConstrained) {
  const std::string svc = db_->UrlAs("billing_service");
  EXPECT_EQ(
      SqlStateOfRunning(svc,
                        "INSERT INTO billing.transactions (account_id, kind, status, currency, "
                        "amount_cents, provider) VALUES (gen_random_uuid(), 'payment', "
                        "'succeeded', 'eur', 100, 'manual')"),
      "23514");
  EXPECT_EQ(SqlStateOfRunning(svc,
                              "INSERT INTO billing.stripe_events (stripe_event_id, type, livemode, "
                              "received_at, status) VALUES ('evt_1', 'x', false, now(), 'done')"),
            "23514");
}

TEST_F(BillingSchemaTest, StripeEventIdIsUnique) {
  const std::string svc = db_->UrlAs("billing_service");
  const std::string insert =
      "INSERT INTO billing.stripe_events (stripe_event_id, type, livemode, received_at, "
      "status) VALUES ('evt_1', 'x', false, now(), 'received')";
  EXPECT_EQ(SqlStateOfRunning(svc, insert), "");
  EXPECT_EQ(SqlStateOfRunning(svc, insert), "23505");
}

TEST_F(BillingSchemaTest, ServiceRoleHasNoDdl) {
  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("billing_service"), "CREATE TABLE billing.x (id int)"),
            "42501");
}

}  // namespace

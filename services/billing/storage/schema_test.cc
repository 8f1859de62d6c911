// Proves the billing migrations produce exactly the declared schema, and that the database
// itself enforces what billing relies on: an append-only ledger for billing_service,
// constrained status/currency values, unique claims and one live customer per user.
#include "migrations/billing/schema.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
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

TEST_F(BillingSchemaTest, AUserHasAtMostOneLiveCustomer) {
  const std::string svc = db_->UrlAs("billing_service");
  const std::string user = "aaaaaaaa-0000-4000-8000-000000000001";
  auto link = [&](const std::string& customer, bool deleted) {
    return SqlStateOfRunning(
        svc, absl::StrCat("INSERT INTO billing.stripe_customers (stripe_customer_id, user_id, "
                          "deleted_at) VALUES ('",
                          customer, "', '", user, "', ", deleted ? "now()" : "NULL", ")"));
  };
  EXPECT_EQ(link("cus_1", false), "");
  EXPECT_EQ(link("cus_2", false), "23505");
  // Deleted customers keep their link and do not count; unlinked ones neither.
  EXPECT_EQ(link("cus_3", true), "");
  EXPECT_EQ(SqlStateOfRunning(
                svc, "INSERT INTO billing.stripe_customers (stripe_customer_id) VALUES ('cus_4')"),
            "");
  EXPECT_EQ(SqlStateOfRunning(
                svc, "INSERT INTO billing.stripe_customers (stripe_customer_id) VALUES ('cus_5')"),
            "");
}

// The migration that adds the index first settles users that already had several live
// customers: the most recently updated keeps its link, the others are unlinked, deleted ones
// are left alone and subscriptions keep their user.
TEST_F(BillingSchemaTest, OneLiveCustomerMigrationKeepsEachUsersNewestLink) {
  std::ifstream file("migrations/billing/20261206203000_add_stripe_customers_user_id_live_key.sql");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  const std::string sql = text.str();
  const size_t up = sql.find("-- +migrate Up");
  const size_t down = sql.find("-- +migrate Down");
  ASSERT_NE(up, std::string::npos);
  ASSERT_NE(down, std::string::npos);
  const std::string up_sql = sql.substr(up, down - up);

  pqxx::connection owner(db_->url_owner());
  {
    pqxx::work tx(owner);
    tx.exec0("DROP INDEX billing.stripe_customers_user_id_live_key");
    tx.exec0(
        "INSERT INTO billing.stripe_customers (stripe_customer_id, user_id, deleted_at, "
        "updated_at) VALUES "
        "('cus_old', 'aaaaaaaa-0000-4000-8000-000000000001', NULL, now() - interval '2 days'), "
        "('cus_new', 'aaaaaaaa-0000-4000-8000-000000000001', NULL, now() - interval '1 day'), "
        "('cus_gone', 'aaaaaaaa-0000-4000-8000-000000000001', now(), now()), "
        "('cus_other', 'aaaaaaaa-0000-4000-8000-000000000002', NULL, now())");
    tx.exec0(
        "INSERT INTO billing.stripe_subscriptions (stripe_subscription_id, customer_id, user_id, "
        "status, last_event_created, last_event_id) SELECT 'sub_old', id, user_id, 'active', "
        "now(), 'evt_1' FROM billing.stripe_customers WHERE stripe_customer_id = 'cus_old'");
    tx.exec0(up_sql);
    tx.commit();
  }
  pqxx::work tx(owner);
  auto owner_of = [&](const std::string& customer) {
    return tx
        .exec1(absl::StrCat("SELECT COALESCE(user_id::text, '') FROM billing.stripe_customers "
                            "WHERE stripe_customer_id = '",
                            customer, "'"))[0]
        .as<std::string>();
  };
  EXPECT_EQ(owner_of("cus_old"), "");
  EXPECT_EQ(owner_of("cus_new"), "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(owner_of("cus_gone"), "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(owner_of("cus_other"), "aaaaaaaa-0000-4000-8000-000000000002");
  EXPECT_EQ(tx.exec1("SELECT user_id::text FROM billing.stripe_subscriptions")[0].as<std::string>(),
            "aaaaaaaa-0000-4000-8000-000000000001");
  auto diffs = suite::db::schema::CheckSchema(db_->url(), suite::migrations::BillingSchema());
  ASSERT_TRUE(diffs.ok()) << diffs.status();
  EXPECT_TRUE(diffs->empty()) << suite::db::schema::FormatDifferences(*diffs);
}

TEST_F(BillingSchemaTest, ServiceRoleHasNoDdl) {
  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("billing_service"), "CREATE TABLE billing.x (id int)"),
            "42501");
}

}  // namespace

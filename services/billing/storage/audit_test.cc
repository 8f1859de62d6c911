// Billing's audit trail and retention against a real database, through the storage as
// billing_service: the service role can append and read its audit rows but never alter or
// remove one, while the retention role may delete (and nothing else); the chain verifies and
// names an edited row; retention removes audit rows only past their period (a prefix of the
// chain, which still verifies) and drops the payload of every settled Stripe event status
// (processed, ignored, stale, superseded) only past its period, at the microsecond.
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/billing/storage/pg_store.h"
#include "services/billing/storage/retention.h"
#include "shared/base/audit_actor.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/audit/testing/audit_testing.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"
#include "shared/db/testing/test_database.h"

namespace suite::billing {
namespace {

using suite::db::audit::ChainReport;
using suite::db::audit::testing::AuditStorageTest;
using suite::db::audit::testing::SqlTimestamp;
using suite::db::audit::testing::TestPool;

constexpr char kAdmin[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kRequest[] = "cccccccc-0000-4000-8000-000000000001";
constexpr char kUser[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kAccount[] = "bbbbbbbb-0000-4000-8000-000000000001";
// The retention job's fake clock.
const absl::Time kNow = absl::FromUnixSeconds(1900000000);

class BillingAuditStorageTest : public AuditStorageTest {
 protected:
  BillingAuditStorageTest() : AuditStorageTest("billing", "billing_service", 4) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(AuditStorageTest::SetUp());
    auto storage = PgStore::Create(*pool_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = *std::move(storage);
  }

  void Append(int n) {
    suite::ScopedAuditActor actor(kAdmin, kRequest);
    for (int i = 0; i < n; ++i) {
      NewTransaction tx;
      tx.account_id = kAccount;
      tx.kind = TransactionKind::kPayment;
      tx.status = TransactionStatus::kSucceeded;
      tx.currency = "EUR";
      tx.amount_cents = 100 + i;
      tx.provider = "manual";
      tx.idempotency_key = absl::StrCat("key-", next_key_++);
      tx.request_fingerprint = tx.idempotency_key;
      ASSERT_TRUE(storage_->RecordTransaction(tx).ok());
    }
  }

  std::vector<std::string> Column(const std::string& sql) {
    pqxx::connection conn(db_->url());
    std::vector<std::string> out;
    for (const auto& r : pqxx::nontransaction(conn).exec(sql)) {
      out.push_back(r[0].is_null() ? "NULL" : r[0].as<std::string>());
    }
    return out;
  }

  suite::db::retention::PurgeRunResult Purge() {
    auto pool = TestPool(db_->UrlAs("suite_retention"), 1);
    suite::db::retention::PurgeOptions options;
    options.now = kNow;
    options.batch_size = 2;
    return suite::db::retention::RunPurge(*pool, suite::billing::BillingPurgeRules({}), options);
  }

  std::unique_ptr<PgStore> storage_;
  int next_key_ = 0;
};

TEST_F(BillingAuditStorageTest, TheServiceRoleAppendsAndReadsButNeverAltersOrRemoves) {
  Append(2);
  ExpectServiceRoleCannotAlterOrRemove();
  // The retention role deletes, and does nothing else.
  ExpectRetentionRoleCannotAlter();
  const std::string retention = db_->UrlAs("suite_retention");
  {
    pqxx::connection conn(retention);
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec("DELETE FROM billing.audit_log WHERE seq = 1").affected_rows(), 1u);
    tx.commit();
  }
  EXPECT_EQ(Column("SELECT seq FROM billing.audit_log"), (std::vector<std::string>{"2"}));
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;  // a removed oldest row is a purge
  EXPECT_EQ(report.first_seq, 2);
}

TEST_F(BillingAuditStorageTest, AChangeWhoseRowCannotBeWrittenDoesNotHappen) {
  AsSuperuser("REVOKE INSERT ON billing.audit_log FROM billing_service");
  {
    suite::ScopedAuditActor actor(kAdmin, kRequest);
    NewTransaction tx;
    tx.account_id = kAccount;
    tx.kind = TransactionKind::kPayment;
    tx.status = TransactionStatus::kSucceeded;
    tx.currency = "EUR";
    tx.amount_cents = 100;
    tx.provider = "manual";
    tx.idempotency_key = "refused";
    tx.request_fingerprint = "f";
    EXPECT_FALSE(storage_->RecordTransaction(tx).ok());
    EXPECT_FALSE(storage_->LinkCustomer("cus_1", kUser, false, kRequest).ok());
  }
  AsSuperuser("GRANT INSERT ON billing.audit_log TO billing_service");
  EXPECT_EQ(Column("SELECT count(*) FROM billing.transactions"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT count(*) FROM billing.stripe_customers"),
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT seq::text || hash FROM billing.audit_chain_head"),
            (std::vector<std::string>{"0" + std::string(64, '0')}));
}

TEST_F(BillingAuditStorageTest, TheChainVerifiesAndNamesAnEditedRow) {
  Append(4);
  ChainReport intact = Verify();
  EXPECT_FALSE(intact.broken_seq) << intact.problem;
  EXPECT_EQ(intact.rows, 4);
  // An edited amount; then re-hashed to hide the edit.
  ExpectVerifierNamesAlteredThenReplacedRow(
      2,
      "UPDATE billing.audit_log SET after = jsonb_set(after, '{amount_cents}', '1') WHERE seq = 2");
}

TEST_F(BillingAuditStorageTest, AuditRowsGoOnlyPastTheirPeriodAndTheRestStillVerifies) {
  Append(4);
  // Times around the cutoff, ascending with seq as appends make them; the chain is re-hashed
  // in order, as the superuser, so that only the times differ from a real trail.
  const absl::Time cutoff = kNow - suite::billing::BillingRetention().audit_log;
  const std::vector<absl::Time> times = {cutoff - absl::Seconds(1), cutoff - absl::Microseconds(1),
                                         cutoff, cutoff + absl::Seconds(1)};
  for (int seq = 1; seq <= 4; ++seq) {
    AsSuperuser(absl::StrCat("UPDATE billing.audit_log SET occurred_at = ",
                             SqlTimestamp(times[seq - 1]), " WHERE seq = ", seq));
  }
  RehashChain(4);
  ASSERT_FALSE(Verify().broken_seq);

  suite::db::retention::PurgeRunResult run = Purge();
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run.rules.size(), 2u);
  EXPECT_EQ(run.rules[1].table, "billing.audit_log");
  EXPECT_EQ(run.rules[1].rows, 2);
  EXPECT_EQ(Column("SELECT seq FROM billing.audit_log ORDER BY seq"),
            (std::vector<std::string>{"3", "4"}));
  ChainReport report = Verify();
  EXPECT_FALSE(report.broken_seq) << report.problem;
  EXPECT_EQ(report.first_seq, 3);
  // Again: nothing more to do.
  EXPECT_EQ(Purge().rules[1].rows, 0);
}

TEST_F(BillingAuditStorageTest, EverySettledEventLosesItsPayloadOnlyPastItsPeriod) {
  const absl::Time cutoff = kNow - suite::billing::BillingRetention().stripe_event_payloads;
  int n = 0;
  auto add = [&](const std::string& status, absl::Time received) {
    const std::string id = absl::StrCat("evt_", status, "_", n++);
    AsSuperuser(
        absl::StrCat("INSERT INTO billing.stripe_events (stripe_event_id, type, "
                     "livemode, received_at, status, raw_event_redacted) VALUES ('",
                     id, "', 'customer.subscription.updated', false, ", SqlTimestamp(received), ", '", status,
                     "', '{\"id\": \"", id, "\"}')"));
  };
  for (const std::string status : {"processed", "ignored", "stale", "superseded"}) {
    add(status, cutoff + absl::Seconds(1));       // 0: kept
    add(status, cutoff);                          // 1: kept (the cutoff itself)
    add(status, cutoff - absl::Microseconds(1));  // 2: dropped
    add(status, cutoff - absl::Seconds(1));       // 3: dropped
    n = 0;
  }
  // Not settled: may still be reprocessed, so the payload stays however old.
  add("failed", cutoff - absl::Hours(24 * 365));
  add("received", cutoff - absl::Hours(24 * 365));
  suite::db::retention::PurgeRunResult run = Purge();
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.rules[0].table, "billing.stripe_events");
  EXPECT_EQ(run.rules[0].rows, 8);
  EXPECT_EQ(Column("SELECT stripe_event_id FROM billing.stripe_events "
                   "WHERE raw_event_redacted IS NULL ORDER BY 1"),
            (std::vector<std::string>{"evt_ignored_2", "evt_ignored_3", "evt_processed_2",
                                      "evt_processed_3", "evt_stale_2", "evt_stale_3",
                                      "evt_superseded_2", "evt_superseded_3"}));
  EXPECT_EQ(Column("SELECT count(*) FROM billing.stripe_events WHERE raw_event_redacted ->> 'id' "
                   "= stripe_event_id"),
            (std::vector<std::string>{"10"}));
}

}  // namespace
}  // namespace suite::billing

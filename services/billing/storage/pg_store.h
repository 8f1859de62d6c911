// Store over PostgreSQL (schema billing, migrations/billing): the only code of the billing
// service that runs SQL. Every statement (statements.h) is registered with the pool by Create
// and runs parameterized through shared/db's transaction runner; no exception leaves this
// unit.
//
//   SUITE_ASSIGN_OR_RETURN(std::unique_ptr<PgStore> storage,
//                          PgStore::Create(*pool));
//   suite::billing::Billing domain(*storage, options);
//
// Exactly-once webhooks: ApplyEvent inserts the event row with ON CONFLICT DO NOTHING (the
// claim: a concurrent delivery of the same event waits on the unique index until the winner
// commits), locks a previously stored row FOR UPDATE, applies the change and marks the
// event processed, all in one transaction. Order safety: customer and subscription rows
// keep (last_event_created, last_event_id); a customer upsert applies only a later second or,
// in the same second, a deletion of a live customer or else a bytewise greater id (COLLATE
// "C"); a subscription is locked and the domain's event order (event_order.h) decides.
//
// Customer links: a user has at most one live customer (unique index
// stripe_customers_user_id_live_key); every change of a user's links takes a per-user
// transaction-level advisory lock first, so concurrent links of one user are decided in turn.
//
// Thread-safe; the pool must outlive the storage.
#ifndef SUITE_SERVICES_BILLING_STORAGE_PG_STORE_H_
#define SUITE_SERVICES_BILLING_STORAGE_PG_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/billing/domain/store.h"
#include "shared/db/pool.h"
#include "shared/db/read_batcher.h"

namespace suite::billing {

class PgStore : public Store {
 public:
  // Create registers the statements with `pool`. Returns the pool's registration errors.
  static absl::StatusOr<std::unique_ptr<PgStore>> Create(suite::db::ConnectionPool& pool);

  absl::StatusOr<IngestOutcome> ApplyEvent(const EventEnvelope& envelope, const EventChange& change,
                                           bool reprocess) override;
  absl::Status RecordEventFailure(const EventEnvelope& envelope, absl::string_view error) override;
  absl::StatusOr<StoredEvent> GetEvent(absl::string_view stripe_event_id) override;
  absl::StatusOr<Page<StoredEvent>> ListEvents(const EventFilter& filter, int limit,
                                               const absl::optional<Cursor>& after) override;
  absl::StatusOr<Customer> GetCustomerByStripeId(absl::string_view stripe_id) override;
  absl::StatusOr<Customer> GetCustomerByUser(absl::string_view user_id) override;
  absl::StatusOr<Customer> LinkCustomer(absl::string_view stripe_id, absl::string_view user_id,
                                        bool allow_relink, absl::string_view request_id) override;
  absl::StatusOr<Subscription> GetSubscription(absl::string_view stripe_id) override;
  absl::StatusOr<Page<Subscription>> ListSubscriptions(
      absl::string_view user_id, int limit, const absl::optional<Cursor>& after) override;
  absl::StatusOr<absl::optional<Subscription>> BestSubscription(absl::string_view user_id) override;
  void BestSubscriptionAsync(absl::string_view user_id, const suite::AsyncCaller& caller,
                             BestSubscriptionDone done) override;
  absl::StatusOr<RecordedTransaction> RecordTransaction(const NewTransaction& tx) override;
  absl::StatusOr<Page<Transaction>> ListTransactions(absl::string_view account_id, int limit,
                                                     const absl::optional<Cursor>& after) override;
  absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_sequence, int limit) override;

  // How GetEntitlement's reads were batched so far (for /metrics).
  suite::db::ReadBatcherStats BestSubscriptionStats() const { return best_subscriptions_.Stats(); }

 private:
  using SubscriptionBatcher = suite::db::ReadBatcher<Subscription>;

  explicit PgStore(suite::db::ConnectionPool& pool);
  absl::StatusOr<IngestOutcome> ApplyEventOnce(const EventEnvelope& envelope,
                                               const EventChange& change, bool reprocess);
  // One statement for the user ids of concurrent GetEntitlement calls (ReadBatcher).
  absl::StatusOr<SubscriptionBatcher::ValueMap> ReadBestSubscriptions(
      const std::vector<std::string>& user_ids);

  suite::db::ConnectionPool& pool_;
  SubscriptionBatcher best_subscriptions_;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_STORAGE_PG_STORE_H_

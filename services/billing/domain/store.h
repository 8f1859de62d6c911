// The storage billing's domain needs, declared by the domain: implemented over PostgreSQL by
// services/billing/storage/pg_store.h. Each method states the codes it returns; every
// method may also return UNAVAILABLE (database unreachable), RESOURCE_EXHAUSTED (pool
// exhausted), DEADLINE_EXCEEDED and INTERNAL. Implementations must be thread-safe.
//
// The admin-only writes (LinkCustomer when it changes a link, RecordTransaction when it
// appends, ApplyEvent with `reprocess`) append one row to billing's audit trail in their own
// transaction, with the thread's suite::ScopedAuditActor as actor and request id; a write that
// is refused or changes nothing records nothing.
//
//   std::unique_ptr<Store> storage = ...;
//   absl::StatusOr<IngestOutcome> outcome = storage->ApplyEvent(envelope, change, false);
#ifndef SUITE_SERVICES_BILLING_DOMAIN_STORE_H_
#define SUITE_SERVICES_BILLING_DOMAIN_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/billing/domain/model.h"
#include "shared/base/async_caller.h"
#include "shared/db/audit/audit_event.h"

namespace suite::billing {

struct IngestOutcome {
  // kProcessed, kIgnored, or kStale / kSuperseded (recorded, not applied: see ApplyEvent).
  EventStatus status = EventStatus::kProcessed;
  bool duplicate = false;  // the event had already been applied; nothing changed now
};

struct RecordedTransaction {
  Transaction transaction;
  bool replayed = false;
};

struct EventFilter {
  absl::optional<EventStatus> status;
  std::string type;  // empty: any
  absl::optional<absl::Time> start_time;
  absl::optional<absl::Time> end_time;
};

class Store {
 public:
  virtual ~Store() = default;

  // ApplyEvent claims the event and applies `change` in ONE transaction, then marks the event
  // processed (or ignored when change.ignored). When the event is already stored settled it
  // returns that status with duplicate = true (also when a concurrent delivery wins the claim). A stored received/failed event is applied now.
  // A customer change applies only when envelope.created is later than the row's last applied
  // event or, in the same second, when it deletes a live customer or, deleting neither or both,
  // has the bytewise greater event id; a subscription change only when event_order.h orders it after
  // the row's last event. An event not applied is stored as kStale (the row holds a later
  // second) or kSuperseded (a later event of the same second). When the event is already
  // stored with a settled status (IsEventSettled) it changes nothing. With `reprocess`, FAILED_PRECONDITION
  // (EVENT_ALREADY_APPLIED) instead of the duplicate answer, NOT_FOUND when not stored.
  virtual absl::StatusOr<IngestOutcome> ApplyEvent(const EventEnvelope& envelope,
                                                   const EventChange& change, bool reprocess) = 0;

  // RecordEventFailure stores the event (or updates the stored one) as failed with `error`,
  // unless it is already processed or ignored.
  virtual absl::Status RecordEventFailure(const EventEnvelope& envelope,
                                          absl::string_view error) = 0;

  // GetEvent returns a stored event. NOT_FOUND when there is none.
  virtual absl::StatusOr<StoredEvent> GetEvent(absl::string_view stripe_event_id) = 0;

  // ListEvents returns up to `limit` events matching `filter`, newest received first, after
  // `after` when given.
  virtual absl::StatusOr<Page<StoredEvent>> ListEvents(const EventFilter& filter, int limit,
                                                       const absl::optional<Cursor>& after) = 0;

  // GetCustomerByStripeId / GetCustomerByUser: NOT_FOUND when there is none (by user: the
  // most recently updated customer linked to the user).
  virtual absl::StatusOr<Customer> GetCustomerByStripeId(absl::string_view stripe_id) = 0;
  virtual absl::StatusOr<Customer> GetCustomerByUser(absl::string_view user_id) = 0;

  // LinkCustomer links the customer (created when unknown) and its subscriptions to
  // `user_id`, and returns it; a customer already linked to `user_id` is returned unchanged.
  // A user has at most one live (not deleted) customer. Without `allow_relink`:
  // FAILED_PRECONDITION (CUSTOMER_LINKED_TO_OTHER_USER) when the customer is linked to another
  // user, (USER_HAS_OTHER_CUSTOMER) when the customer is live and the user has another live
  // one; nothing is written then. With it, the customer moves, and the user's other live
  // customer and its subscriptions are unlinked.
  virtual absl::StatusOr<Customer> LinkCustomer(absl::string_view stripe_id,
                                                absl::string_view user_id, bool allow_relink,
                                                absl::string_view request_id) = 0;

  // GetSubscription: NOT_FOUND when there is none.
  virtual absl::StatusOr<Subscription> GetSubscription(absl::string_view stripe_id) = 0;

  // ListSubscriptions returns up to `limit` of the user's subscriptions, newest first.
  virtual absl::StatusOr<Page<Subscription>> ListSubscriptions(
      absl::string_view user_id, int limit, const absl::optional<Cursor>& after) = 0;

  // BestSubscription returns the user's most relevant subscription (active, then trialing,
  // then past_due, then anything; latest period end first), nullopt when there is none.
  // One indexed read of one table; stripe_customer_id is left empty.
  virtual absl::StatusOr<absl::optional<Subscription>> BestSubscription(
      absl::string_view user_id) = 0;
  // BestSubscriptionAsync is BestSubscription without blocking the calling thread: it returns
  // at once and `done` gets the result later on `caller.run_blocking`, under the caller's
  // request scope (//shared/db:read_batcher's ReadAsync). `done` must not throw.
  using BestSubscriptionDone = std::function<void(absl::StatusOr<absl::optional<Subscription>>)>;
  virtual void BestSubscriptionAsync(absl::string_view user_id, const suite::AsyncCaller& caller,
                                     BestSubscriptionDone done) = 0;

  // RecordTransaction appends `tx` (validated, fingerprinted). When its idempotency key is
  // taken: the stored entry with replayed = true if the fingerprints match, else
  // FAILED_PRECONDITION (IDEMPOTENCY_KEY_REUSED).
  virtual absl::StatusOr<RecordedTransaction> RecordTransaction(const NewTransaction& tx) = 0;

  // ListTransactions returns up to `limit` of the account's entries, newest first.
  virtual absl::StatusOr<Page<Transaction>> ListTransactions(
      absl::string_view account_id, int limit, const absl::optional<Cursor>& after) = 0;

  // ListAuditEvents returns up to `limit` audit rows matching `filter`, newest first, with a
  // sequence below `before_sequence` (0: from the newest).
  virtual absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_sequence, int limit) = 0;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_STORE_H_

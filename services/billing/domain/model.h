// Billing's domain values: customers, subscriptions, entitlements, ledger entries and stored
// webhook events, plus the changes a Stripe event asks for. Plain structs (thread-compatible).
//
//   Subscription s;
//   s.status = SubscriptionStatus::kActive;
//   absl::string_view db_value = SubscriptionStatusName(s.status);   // "active"
#ifndef SUITE_SERVICES_BILLING_DOMAIN_MODEL_H_
#define SUITE_SERVICES_BILLING_DOMAIN_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::billing {

// The eight values of the database enum billing.stripe_subscription_status, plus "none".
enum class SubscriptionStatus {
  kUnspecified,
  kIncomplete,
  kIncompleteExpired,
  kTrialing,
  kActive,
  kPastDue,
  kCanceled,
  kUnpaid,
  kPaused,
};
// SubscriptionStatusName returns Stripe's / the enum's spelling ("past_due"); "" for
// kUnspecified.
absl::string_view SubscriptionStatusName(SubscriptionStatus status);
// ParseSubscriptionStatus is the reverse; nullopt for anything else.
absl::optional<SubscriptionStatus> ParseSubscriptionStatus(absl::string_view name);

// kStale: the object already held the state of a later second when the event came, so it was
// recorded and not applied. kSuperseded: a same-second event that comes after it (by the
// order of services/billing/domain/event_order.h) was already applied. Both are final, like
// kProcessed and kIgnored.
enum class EventStatus { kReceived, kProcessed, kIgnored, kFailed, kStale, kSuperseded };
// IsEventSettled: a final status (processed, ignored, stale, superseded): a redelivery is a
// duplicate and ReprocessStripeEvent refuses it.
bool IsEventSettled(EventStatus status);
absl::string_view EventStatusName(EventStatus status);  // "received", ...
absl::optional<EventStatus> ParseEventStatus(absl::string_view name);

enum class TransactionKind { kPayment, kRefund, kAdjustment };
absl::string_view TransactionKindName(TransactionKind kind);
absl::optional<TransactionKind> ParseTransactionKind(absl::string_view name);
enum class TransactionStatus { kPending, kSucceeded, kFailed };
absl::string_view TransactionStatusName(TransactionStatus status);
absl::optional<TransactionStatus> ParseTransactionStatus(absl::string_view name);

// Who is calling, as billing's rules need it; the adapter fills it from the validated caller.
// A member sees only what is linked to their own user; an admin sees everything.
struct Actor {
  std::string user_id;     // lower-case UUID
  bool admin = false;      // holds the global admin role
  std::string request_id;  // the call's x-request-id, written to request_id columns
};

struct Customer {
  std::string id;
  std::string stripe_customer_id;
  std::string user_id;  // empty while unlinked
  bool deleted = false;
  absl::Time create_time;
  absl::Time update_time;
};

struct Subscription {
  std::string id;
  std::string stripe_subscription_id;
  std::string stripe_customer_id;
  std::string user_id;  // empty while unlinked
  SubscriptionStatus status = SubscriptionStatus::kUnspecified;
  std::string price_id;
  absl::optional<absl::Time> current_period_end;
  bool cancel_at_period_end = false;
  absl::optional<absl::Time> trial_end;
  absl::optional<absl::Time> past_due_since;
  absl::Time create_time;
  absl::Time update_time;
};

struct Entitlement {
  std::string user_id;
  bool entitled = false;
  SubscriptionStatus status = SubscriptionStatus::kUnspecified;
  std::string price_id;
  absl::optional<absl::Time> current_period_end;
};

// A ledger entry to append (what RecordTransaction and payment events write).
struct NewTransaction {
  std::string account_id;
  std::string user_id;  // may be empty
  TransactionKind kind = TransactionKind::kPayment;
  TransactionStatus status = TransactionStatus::kSucceeded;
  std::string currency;  // upper-case ISO 4217
  int64_t amount_cents = 0;
  std::string provider;
  std::string provider_payment_intent_id;
  std::string provider_charge_id;
  std::string provider_invoice_id;
  std::string provider_checkout_session_id;
  std::map<std::string, std::string> metadata;
  std::string idempotency_key;
  std::string request_fingerprint;  // see RequestFingerprint (ledger.h)
  std::string request_id;           // may be empty
};

struct Transaction {
  std::string id;
  NewTransaction fields;
  absl::Time create_time;
};

// A stored webhook event.
struct StoredEvent {
  std::string id;
  std::string stripe_event_id;
  std::string type;
  std::string api_version;
  bool livemode = false;
  absl::Time received_at;
  absl::optional<absl::Time> processed_at;
  EventStatus status = EventStatus::kReceived;
  std::string last_error;
  std::string raw_event_redacted_json;
  absl::optional<absl::Time> event_created;
};

// Where a keyset page starts: after the row (time, id) in (time DESC, id DESC) order.
struct Cursor {
  int64_t unix_micros = 0;
  std::string id;
};

template <typename T>
struct Page {
  std::vector<T> items;
  absl::optional<Cursor> next;  // set when more rows may follow
};

// What an event says about a customer. `link_only` (checkout.session.completed) only offers
// a user link and is not subject to event ordering.
//
// An event's user (metadata.user_id, client_reference_id) only fills a missing link: it links
// the customer when the customer is linked to nobody and the user has no other live (not
// deleted) customer; otherwise the link stays as it is and the event is still applied. So an
// explicit LinkCustomer is never overridden by an event, and no event gives a user a second
// customer. Such a link is order-independent: whichever event carrying it comes first links.
struct CustomerChange {
  std::string stripe_customer_id;
  std::string user_id;  // empty: offers no link
  bool deleted = false;
  bool link_only = false;
};

// The fields of a subscription billing keeps, as one comparable value: what the event chain
// (data.previous_attributes) is compared on.
struct SubscriptionState {
  SubscriptionStatus status = SubscriptionStatus::kUnspecified;
  std::string price_id;
  absl::optional<absl::Time> current_period_end;
  bool cancel_at_period_end = false;
  absl::optional<absl::Time> trial_end;
  bool operator==(const SubscriptionState& o) const {
    return status == o.status && price_id == o.price_id &&
           current_period_end == o.current_period_end &&
           cancel_at_period_end == o.cancel_at_period_end && trial_end == o.trial_end;
  }
  bool operator!=(const SubscriptionState& o) const { return !(*this == o); }
};

// What an event says about a subscription (the whole object, as Stripe sends it).
struct SubscriptionChange {
  std::string stripe_subscription_id;
  std::string stripe_customer_id;
  // From metadata.user_id: offered to the customer as in CustomerChange. The subscription
  // belongs to its customer's user, whatever this says.
  std::string user_id;
  SubscriptionState state;
  // The state just before this event, when Stripe says (data.previous_attributes laid over
  // the object); nullopt without previous_attributes or when they cannot be read.
  absl::optional<SubscriptionState> previous;
  bool creation = false;  // customer.subscription.created: first in any chain
};

// The identity and bookkeeping of one Stripe event.
struct EventEnvelope {
  std::string stripe_event_id;
  std::string type;
  std::string api_version;
  bool livemode = false;
  absl::Time created;  // Stripe's `created`, whole seconds
  std::string redacted_json;
  std::string request_id;          // may be empty
  std::string related_account_id;  // may be empty
};

// Everything applying one event does, decided by the domain; storage executes it in the
// transaction that claims the event.
struct EventChange {
  bool ignored = false;  // a type billing does not act on
  absl::optional<CustomerChange> customer;
  absl::optional<SubscriptionChange> subscription;
  absl::optional<NewTransaction> transaction;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_MODEL_H_

// Billing's rules: webhook ingestion through one code path for both doors (HTTP and RPC),
// entitlements, the ledger, paged reads, and who may see and do what. Every call but the
// webhook's takes the Actor the adapter authenticated:
//   - admin-only calls (LinkCustomer, RecordTransaction, ListTransactions, ListStripeEvents,
//     ReprocessStripeEvent) answer PERMISSION_DENIED (MISSING_ROLE) to anyone else, before any
//     id of the request is looked at;
//   - reads of a member's things answer what is not the caller's exactly as what does not
//     exist: NOT_FOUND with the same reason, message and details (CUSTOMER_NOT_FOUND,
//     SUBSCRIPTION_NOT_FOUND, USER_NOT_FOUND), so no answer tells whether another member's
//     customer, subscription or user exists.
// Inputs are validated here, before storage.
//
//   BillingOptions options;
//   options.webhook_secrets = {"whsec_..."};
//   options.page_token_secret = "...";
//   Billing billing(storage, options);
//   absl::StatusOr<IngestResult> r = billing.IngestStripeEvent(body, signature_header, rid);
//
// Thread-safe (as long as the storage is).
#ifndef SUITE_SERVICES_BILLING_DOMAIN_BILLING_H_
#define SUITE_SERVICES_BILLING_DOMAIN_BILLING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/billing/domain/model.h"
#include "services/billing/domain/store.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/api/page_token.h"
#include "shared/audit_api/audit_query.h"

namespace suite::billing {

inline constexpr size_t kMaxWebhookPayloadBytes = 1024 * 1024;

struct BillingOptions {
  std::vector<std::string> webhook_secrets;                 // BILLING_STRIPE_WEBHOOK_SECRETS
  absl::Duration signature_tolerance = absl::Seconds(300);  // BILLING_STRIPE_TOLERANCE
  absl::Duration past_due_grace = absl::Hours(72);          // BILLING_PAST_DUE_GRACE
  std::string page_token_secret;                            // BILLING_PAGE_TOKEN_SECRET
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// UserExists asks identity whether `user_id` (a lower-case UUID) names a user that is not
// deleted: true or false, or why it cannot tell (UNAVAILABLE, PERMISSION_DENIED, ...). The
// adapter binds it to the caller's own credentials, so identity decides what the caller may
// look up.
using UserExists = std::function<absl::StatusOr<bool>(const std::string& user_id)>;

struct LinkRequest {
  std::string stripe_customer_id;
  std::string user_id;
  // Allows changing existing links: the customer leaves the user it is linked to, and the
  // user's other live customer is unlinked. Without it such a link is refused.
  bool allow_relink = false;
};

struct IngestResult {
  std::string stripe_event_id;
  std::string type;
  // kProcessed, kIgnored, kStale, kSuperseded, or kFailed for a parked poison event.
  EventStatus status = EventStatus::kProcessed;
  bool duplicate = false;
  std::string last_error;  // why a parked event cannot apply
};

// What a delivery was, for the door's log line, also when it was refused: the event's id and
// type once its envelope was read (empty before), and the outcome label of
// billing_webhook_events_total ("processed", "parked", "rejected_signature", ...).
struct IngestTrace {
  std::string stripe_event_id;
  std::string type;
  std::string outcome;
};

class Billing {
 public:
  Billing(Store& storage, BillingOptions options);

  // IngestStripeEvent verifies and applies one webhook delivery, exactly once.
  // RESOURCE_EXHAUSTED (PAYLOAD_TOO_LARGE) over 1 MiB; UNAUTHENTICATED (SIGNATURE_*) for a
  // missing, malformed, wrong or stale signature; INVALID_ARGUMENT (MALFORMED_EVENT) for a
  // payload that is not a Stripe event (not JSON, no valid envelope) — in all these cases
  // nothing is stored, as there is no event id to store it under.
  // A poison event — signed, with an envelope, but unable to apply on any delivery (a broken
  // object, an unknown status, JSON nested deeper than kMaxJsonDepth, a value the database
  // refuses) — is parked: stored as failed with last_error, counted in
  // billing_stripe_events_parked_total, and returned OK with status kFailed.
  // Failures that may pass (UNAVAILABLE, ...) are returned after an attempt to record them;
  // UNKNOWN, unchanged, when the commit's outcome is unknown (the event may have been applied).
  // `trace`, when given, is filled for the caller's log line.
  absl::StatusOr<IngestResult> IngestStripeEvent(absl::string_view payload,
                                                 absl::string_view signature_header,
                                                 absl::string_view request_id,
                                                 IngestTrace* trace = nullptr);

  // ReprocessStripeEvent applies a stored received/failed event again from its stored
  // (redacted) body. INVALID_ARGUMENT for an empty id, NOT_FOUND, FAILED_PRECONDITION
  // (EVENT_ALREADY_APPLIED) for a settled event, FAILED_PRECONDITION (EVENT_PROCESSING_FAILED)
  // when it still cannot apply (it stays failed, with the new last_error). Admin only.
  absl::StatusOr<StoredEvent> ReprocessStripeEvent(const Actor& actor,
                                                   absl::string_view stripe_event_id);

  // ListStripeEvents (admin only): INVALID_ARGUMENT for page_size outside 0..100, a type over
  // 255 characters or not printable ASCII, start after end, or a bad page_token.
  absl::StatusOr<std::pair<std::vector<StoredEvent>, std::string>> ListStripeEvents(
      const Actor& actor, const EventFilter& filter, int page_size, absl::string_view page_token);

  // GetCustomer: the customer of a user or of a Stripe customer id, exactly one of them set;
  // the caller's own, or anyone's for an admin. INVALID_ARGUMENT naming user_id when both or
  // neither is set, or the field that is malformed; NOT_FOUND (CUSTOMER_NOT_FOUND) when there
  // is none or it is another member's.
  absl::StatusOr<Customer> GetCustomer(const Actor& actor, absl::string_view user_id,
                                       absl::string_view stripe_customer_id);
  // LinkCustomer (admin only) links a customer (created when billing has not seen it) and its
  // subscriptions to a user: INVALID_ARGUMENT naming the field; NOT_FOUND (USER_NOT_FOUND,
  // field user_id) when `user_exists` says no; FAILED_PRECONDITION
  // (CUSTOMER_LINKED_TO_OTHER_USER, USER_HAS_OTHER_CUSTOMER) when it would change an existing
  // link without allow_relink; what `user_exists` answered when it cannot tell. A user has at
  // most one live (not deleted) customer. Linking a customer to the user it already belongs
  // to changes nothing and answers it again.
  absl::StatusOr<Customer> LinkCustomer(const Actor& actor, const LinkRequest& request,
                                        const UserExists& user_exists);

  // GetSubscription: INVALID_ARGUMENT; NOT_FOUND (SUBSCRIPTION_NOT_FOUND) when there is none
  // or it is not the caller's (admins see every subscription).
  absl::StatusOr<Subscription> GetSubscription(const Actor& actor,
                                               absl::string_view stripe_subscription_id);
  // ListSubscriptions: `user_id` empty = the caller. INVALID_ARGUMENT (user_id, page_size,
  // page_token); NOT_FOUND (USER_NOT_FOUND) when a member names another user.
  absl::StatusOr<std::pair<std::vector<Subscription>, std::string>> ListSubscriptions(
      const Actor& actor, absl::string_view user_id, int page_size, absl::string_view page_token);

  // GetEntitlement: active and trialing are entitled; past_due while less than
  // past_due_grace has passed since it became past_due; nothing else. INVALID_ARGUMENT for a
  // user_id that is not a UUID; NOT_FOUND (USER_NOT_FOUND) when a member names another user.
  // No subscription → not entitled, status kUnspecified, no period end.
  absl::StatusOr<Entitlement> GetEntitlement(const Actor& actor, absl::string_view user_id);
  // GetEntitlementAsync is GetEntitlement without blocking the calling thread (for gRPC's own
  // thread): `done` gets the same result, at once for a refused call, otherwise on
  // `caller.run_blocking` after the batched read (Store::BestSubscriptionAsync).
  using EntitlementDone = std::function<void(absl::StatusOr<Entitlement>)>;
  void GetEntitlementAsync(const Actor& actor, absl::string_view user_id,
                           const suite::AsyncCaller& caller, EntitlementDone done);

  // RecordTransaction (admin only) validates (ValidateNewTransaction), fingerprints and
  // appends `tx`. INVALID_ARGUMENT naming the field; FAILED_PRECONDITION
  // (IDEMPOTENCY_KEY_REUSED).
  absl::StatusOr<RecordedTransaction> RecordTransaction(const Actor& actor, NewTransaction tx);

  // ListTransactions (admin only): INVALID_ARGUMENT (account_id, page_size, page_token).
  absl::StatusOr<std::pair<std::vector<Transaction>, std::string>> ListTransactions(
      const Actor& actor, absl::string_view account_id, int page_size,
      absl::string_view page_token);

  // AuthorizeListAuditEvents: PERMISSION_DENIED (MISSING_ROLE) unless `actor` is an admin. The
  // gRPC adapter asks it before it reads the request, so a member learns nothing about the
  // request's validation; ListAuditEvents asks it again.
  absl::Status AuthorizeListAuditEvents(const Actor& actor) const;
  // ListAuditEvents (admin only) pages billing's audit trail, newest first, by the shared rules
  // of shared/audit_api/audit_query.h: INVALID_ARGUMENT naming page_size, actor_user_id,
  // action, target_id, end_time or page_token (forged, or made for other filters).
  absl::StatusOr<suite::audit_api::AuditPage> ListAuditEvents(
      const Actor& actor, const suite::audit_api::AuditQuery& query);

 private:
  absl::StatusOr<Customer> GetCustomerByUser(const Actor& actor, absl::string_view user_id);
  absl::StatusOr<Customer> GetCustomerByStripeId(const Actor& actor,
                                                 absl::string_view stripe_customer_id);
  absl::StatusOr<IngestResult> Apply(absl::string_view payload, absl::string_view request_id,
                                     bool reprocess, IngestTrace* trace);
  absl::StatusOr<absl::optional<Cursor>> DecodeToken(absl::string_view scope,
                                                     absl::string_view token) const;
  // The entitlement of `user_id` (lower case, valid) given its best subscription.
  absl::StatusOr<Entitlement> EntitlementFrom(
      const std::string& user_id, absl::StatusOr<absl::optional<Subscription>> found) const;

  Store& storage_;
  const BillingOptions options_;
  const StripeSignatureVerifier verifier_;
  const suite::api::PageTokenCodec tokens_;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_BILLING_H_

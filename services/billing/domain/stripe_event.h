// Turns the raw body of a Stripe webhook into what billing does with it: the event's
// envelope (id, type, created, ...), its redacted copy for storage, and the change it asks
// for (EventChange). Pure: no I/O; thread-safe.
//
//   absl::StatusOr<ParsedStripeEvent> parsed = ParseStripeEvent(raw_body);
//   if (!parsed.ok()) -> 400, nothing stored (malformed envelope)
//   if (!parsed->change.ok()) -> parked: stored as failed with the reason, answered 200
//                                (a handled type that can never apply, or JSON too deep)
//
// Handled types: customer.created/updated/deleted; customer.subscription.created/updated/
// deleted/paused/resumed/trial_will_end (the subscription object is applied whole);
// checkout.session.completed (links the customer to client_reference_id or
// metadata.user_id); invoice.paid, invoice.payment_failed, charge.refunded,
// payment_intent.succeeded (a ledger entry when the object's metadata.account_id names an
// account; a PaymentIntent that belongs to an invoice is left to invoice.paid so that money
// is not counted twice). Every other type is ignored (stored, acknowledged).
//
// Redaction (RedactStripeJson): these keys are removed wherever they occur, because they
// hold personal data: email, name, phone, address, shipping, billing_details,
// payment_method_details, card, source, sources, customer_email, customer_name,
// customer_phone, customer_address, customer_shipping, customer_details, customer_tax_ids,
// tax_ids, receipt_email, ip_address, description; and every `metadata` object keeps only
// user_id and account_id. Card details are removed entirely (no brand/last4).
#ifndef SUITE_SERVICES_BILLING_DOMAIN_STRIPE_EVENT_H_
#define SUITE_SERVICES_BILLING_DOMAIN_STRIPE_EVENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/billing/domain/model.h"

namespace suite::billing {

struct ParsedStripeEvent {
  EventEnvelope envelope;
  // The change to apply, or why the event cannot be applied (recorded as failed).
  absl::StatusOr<EventChange> change = EventChange{};
};

// The bounds of every JSON document billing reads, checked before any parse. Stripe's events
// nest about ten levels; 64 leaves room and keeps every recursive walk (redaction, dump,
// PostgreSQL's jsonb input) shallow.
inline constexpr int kMaxJsonDepth = 64;
// The size bound is above the webhook doors' 1 MiB because ReprocessStripeEvent reads the
// stored copy, which PostgreSQL prints with a space after every ':' and ','.
inline constexpr size_t kMaxStripeJsonBytes = 4 * 1024 * 1024;

// JsonNestingDepth returns how deeply `text` nests arrays and objects, counting only brackets
// outside strings (a string full of '[' is depth 0). Iterative, one pass; for any bytes,
// JSON or not (unclosed brackets count).
int JsonNestingDepth(absl::string_view text);

// ParseStripeEvent parses `payload` (JSON). Returns INVALID_ARGUMENT (MALFORMED_EVENT, field
// "payload.<name>") when it is not JSON, not an object with object == "event", or lacks a
// string id (1..255), a string type (1..255), an integer created or a boolean livemode, or is
// over kMaxStripeJsonBytes. A payload nested deeper than kMaxJsonDepth is read for its
// envelope only (its top-level scalars): a valid envelope gives a parsed event whose change
// is EVENT_PROCESSING_FAILED (the event is parked) and whose redacted_json is the envelope.
absl::StatusOr<ParsedStripeEvent> ParseStripeEvent(absl::string_view payload);

// RedactStripeJson returns `json` (a Stripe event) with the personal data listed above
// removed; INVALID_ARGUMENT when it is not JSON or is over the size or depth bound.
absl::StatusOr<std::string> RedactStripeJson(absl::string_view json);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_STRIPE_EVENT_H_

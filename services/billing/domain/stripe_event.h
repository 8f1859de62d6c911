// Turns the raw body of a Stripe webhook into what billing does with it: the event's
// envelope (id, type, created, ...), its redacted copy for storage, and the change it asks
// for (EventChange). Pure: no I/O; thread-safe.
//
//   absl::StatusOr<ParsedStripeEvent> parsed = ParseStripeEvent(raw_body);
//   if (!parsed.ok()) -> 400, nothing stored (malformed envelope)
//   if (!parsed->change.ok()) -> stored as failed, 500 (a handled type with a broken object)
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

namespace billing {

struct ParsedStripeEvent {
  EventEnvelope envelope;
  // The change to apply, or why the event cannot be applied (recorded as failed).
  absl::StatusOr<EventChange> change = EventChange{};
};

// ParseStripeEvent parses `payload` (JSON). Returns INVALID_ARGUMENT (MALFORMED_EVENT, field
// "payload.<name>") when it is not JSON, not an object with object == "event", or lacks a
// string id (1..255), a string type (1..255), an integer created or a boolean livemode.
absl::StatusOr<ParsedStripeEvent> ParseStripeEvent(absl::string_view payload);

// RedactStripeJson returns `json` (a Stripe event) with the personal data listed above
// removed; INVALID_ARGUMENT when it is not JSON.
absl::StatusOr<std::string> RedactStripeJson(absl::string_view json);

}  // namespace billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_STRIPE_EVENT_H_

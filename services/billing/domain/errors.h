// The billing error catalog: every status billing returns on purpose is made
// here, so codes and ErrorInfo reasons (domain "billing.suite") are chosen once.
//
//   return suite::billing::errors::SubscriptionNotFound(id);   // NOT_FOUND, SUBSCRIPTION_NOT_FOUND
#ifndef SUITE_SERVICES_BILLING_DOMAIN_ERRORS_H_
#define SUITE_SERVICES_BILLING_DOMAIN_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shared/api/status.h"

namespace suite::billing::errors {

inline constexpr absl::string_view kDomain = "billing.suite";

inline absl::Status Make(absl::StatusCode code, absl::string_view reason,
                         absl::string_view message) {
  return suite::api::WithErrorInfo(absl::Status(code, message), reason, kDomain);
}

// Webhook signature problems: UNAUTHENTICATED, nothing is stored.
inline absl::Status SignatureMissing() {
  return Make(absl::StatusCode::kUnauthenticated, "SIGNATURE_MISSING",
              "the Stripe-Signature header is missing");
}
inline absl::Status SignatureMalformed(absl::string_view why) {
  return Make(absl::StatusCode::kUnauthenticated, "SIGNATURE_MALFORMED",
              absl::StrCat("the Stripe-Signature header is malformed: ", why));
}
inline absl::Status SignatureMismatch() {
  return Make(absl::StatusCode::kUnauthenticated, "SIGNATURE_MISMATCH",
              "no v1 signature matches any configured secret");
}
inline absl::Status SignatureTimestampOutOfTolerance() {
  return Make(absl::StatusCode::kUnauthenticated, "SIGNATURE_TIMESTAMP_OUT_OF_TOLERANCE",
              "the signature timestamp is outside the tolerance");
}

// PayloadTooLarge: RESOURCE_EXHAUSTED (HTTP 413).
inline absl::Status PayloadTooLarge(size_t limit) {
  return Make(absl::StatusCode::kResourceExhausted, "PAYLOAD_TOO_LARGE",
              absl::StrCat("the payload exceeds ", limit, " bytes"));
}
// MalformedEvent: INVALID_ARGUMENT naming the payload field (HTTP 400); nothing stored.
inline absl::Status MalformedEvent(absl::string_view field, absl::string_view why) {
  return suite::api::WithErrorInfo(
      suite::api::InvalidArgument(field.empty() ? std::string("payload")
                                                : absl::StrCat("payload.", field),
                                  why),
      "MALFORMED_EVENT",
      kDomain);
}
// EventStillFailing: a reprocessed event that still cannot apply (FAILED_PRECONDITION: the
// event, not the server, is at fault; it stays failed).
inline absl::Status EventStillFailing(absl::string_view why) {
  return Make(absl::StatusCode::kFailedPrecondition, "EVENT_PROCESSING_FAILED", why);
}
// EventProcessingFailed: why an event cannot apply (INTERNAL when it ever reaches a client:
// a poison event is parked, not answered with it).
inline absl::Status EventProcessingFailed(absl::string_view why) {
  return Make(absl::StatusCode::kInternal, "EVENT_PROCESSING_FAILED", why);
}
inline absl::Status EventNotFound(absl::string_view id) {
  return Make(absl::StatusCode::kNotFound, "EVENT_NOT_FOUND", absl::StrCat("no Stripe event ", id));
}
inline absl::Status EventAlreadyApplied(absl::string_view id) {
  return Make(absl::StatusCode::kFailedPrecondition, "EVENT_ALREADY_APPLIED",
              absl::StrCat("Stripe event ", id, " was already processed or ignored"));
}
// The NOT_FOUND answers below are also what a caller gets for something that exists but is
// not theirs to see: the same code, message and details, so that no answer tells a member
// whether another member's customer, subscription or user exists.
inline absl::Status CustomerNotFound() {
  return Make(absl::StatusCode::kNotFound, "CUSTOMER_NOT_FOUND", "no such customer");
}
inline absl::Status SubscriptionNotFound() {
  return Make(absl::StatusCode::kNotFound, "SUBSCRIPTION_NOT_FOUND", "no such subscription");
}
// UserNotFound names the request field that held the user id (e.g. "user_id").
inline absl::Status UserNotFound(absl::string_view field) {
  return suite::api::WithErrorInfo(absl::NotFoundError(absl::StrCat(field, ": no such user")),
                                   "USER_NOT_FOUND", kDomain, {{"field", std::string(field)}});
}
inline absl::Status IdempotencyKeyReused() {
  return Make(absl::StatusCode::kFailedPrecondition, "IDEMPOTENCY_KEY_REUSED",
              "the idempotency key was used with a different request");
}
// AdminRequired: PERMISSION_DENIED for a call only admins may make, decided before any id in
// the request is looked at (so it says nothing about what exists). Reason and metadata are
// those of suite::rpc::RequireRole, which every service answers with.
inline absl::Status AdminRequired() {
  return suite::api::WithErrorInfo(absl::PermissionDeniedError("requires role admin"),
                                   "MISSING_ROLE", "rpc.suite", {{"role", "admin"}});
}
// LinkCustomer's refusals to change an existing link without allow_relink.
inline absl::Status CustomerLinkedToOtherUser(absl::string_view stripe_customer_id,
                                              absl::string_view linked_user_id) {
  return suite::api::WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("customer ", stripe_customer_id,
                                                 " is linked to another user; set allow_relink "
                                                 "to move it")),
      "CUSTOMER_LINKED_TO_OTHER_USER", kDomain,
      {{"stripe_customer_id", std::string(stripe_customer_id)},
       {"linked_user_id", std::string(linked_user_id)}});
}
inline absl::Status UserHasOtherCustomer(absl::string_view user_id,
                                         absl::string_view other_stripe_customer_id) {
  return suite::api::WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat("user ", user_id, " already has customer ",
                                                 other_stripe_customer_id,
                                                 "; set allow_relink to replace it")),
      "USER_HAS_OTHER_CUSTOMER", kDomain,
      {{"user_id", std::string(user_id)},
       {"other_stripe_customer_id", std::string(other_stripe_customer_id)}});
}

}  // namespace suite::billing::errors

#endif  // SUITE_SERVICES_BILLING_DOMAIN_ERRORS_H_

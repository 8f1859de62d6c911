// Rules of the append-only ledger: ISO 4217 currencies, integer amounts, bounded fields, and
// the request fingerprint that tells an idempotent retry from a conflicting reuse of a key
// (Stripe's idempotency rules: same key + same request → the stored result; same key +
// different request → FAILED_PRECONDITION).
//
//   if (!IsIsoCurrency("EUR")) ...
//   tx.request_fingerprint = RequestFingerprint(tx);
//   SUITE_RETURN_IF_ERROR(ValidateNewTransaction(tx));
//
// Pure; thread-safe.
#ifndef SUITE_SERVICES_BILLING_DOMAIN_LEDGER_H_
#define SUITE_SERVICES_BILLING_DOMAIN_LEDGER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/billing/domain/model.h"

namespace suite::billing {

// IsIsoCurrency is true for an active ISO 4217 alphabetic code, upper case ("EUR").
bool IsIsoCurrency(absl::string_view code);

// RequestFingerprint returns a hex SHA-256 over every client-supplied field of `tx` except
// idempotency_key, request_fingerprint and request_id, in a fixed unambiguous encoding.
std::string RequestFingerprint(const NewTransaction& tx);

// ValidateNewTransaction checks a ledger entry before any SQL: INVALID_ARGUMENT naming the
// field (prefixed "transaction.", except idempotency_key) for a bad account_id/user_id uuid,
// a currency not in ISO 4217, an amount outside the integer column's range (±2^31-1 cents)
// or negative for a payment or refund (only adjustments may be negative),
// an empty or over-long provider or provider id, metadata over 50 entries or with an entry
// breaking the suite's text rule (shared/base/text.h: key one line of 1..40 characters, value
// at most 500 characters, tab and line breaks allowed; named transaction.metadata["<key>"]),
// and an idempotency key that is empty, over 255 characters or not printable ASCII.
absl::Status ValidateNewTransaction(const NewTransaction& tx);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_LEDGER_H_

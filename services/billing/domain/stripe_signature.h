// Verification of Stripe webhook signatures, exactly as Stripe specifies them: the header
// `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...][,v0=...]` signs
// `t + "." + raw payload` with the endpoint's secret. Any v1 value may match any configured
// secret (secrets rotate: during a rotation Stripe signs with both and the service knows
// both); other schemes (v0, ...) are ignored; the timestamp must lie within `tolerance` of
// now, in either direction; comparisons are constant-time.
//
//   StripeSignatureVerifier verifier({"whsec_old", "whsec_new"}, absl::Seconds(300));
//   absl::Status ok = verifier.Verify(raw_body, header_value);
//
// Pure (no I/O); thread-safe once constructed.
#ifndef SUITE_SERVICES_BILLING_DOMAIN_STRIPE_SIGNATURE_H_
#define SUITE_SERVICES_BILLING_DOMAIN_STRIPE_SIGNATURE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace suite::billing {

// The parts of a Stripe-Signature header that matter.
struct ParsedStripeSignature {
  int64_t timestamp = 0;        // t
  std::vector<std::string> v1;  // lower-case hex, 64 characters each
};

// ParseStripeSignatureHeader splits `header` into its t and v1 values. Items are
// `key=value` separated by commas (spaces around them allowed); unknown keys are ignored.
// Returns UNAUTHENTICATED (SIGNATURE_MISSING) for an empty header, UNAUTHENTICATED
// (SIGNATURE_MALFORMED) when t is missing, repeated or not a non-negative integer, when there
// is no v1 or a v1 is not 64 hex digits, or an item has no '='.
absl::StatusOr<ParsedStripeSignature> ParseStripeSignatureHeader(absl::string_view header);

// ComputeStripeSignature returns the lower-case hex HMAC-SHA256 of `timestamp + "." +
// payload` under `secret` (what Stripe puts in v1). Used by tests and tools that sign.
std::string ComputeStripeSignature(absl::string_view secret, int64_t timestamp,
                                   absl::string_view payload);

class StripeSignatureVerifier {
 public:
  // `secrets`: every webhook secret currently accepted (non-empty ones are kept).
  // `now`: the clock (tests inject one).
  StripeSignatureVerifier(
      std::vector<std::string> secrets, absl::Duration tolerance,
      std::function<absl::Time()> now = [] { return absl::Now(); });

  // Verify returns OK when some v1 of `header` is the signature of `payload` under some
  // secret and the header's t is within the tolerance of now. Returns the parse errors above,
  // UNAUTHENTICATED SIGNATURE_TIMESTAMP_OUT_OF_TOLERANCE for a stale or future t, and
  // UNAUTHENTICATED SIGNATURE_MISMATCH when no signature matches (also with no secrets).
  absl::Status Verify(absl::string_view payload, absl::string_view header) const;

 private:
  std::vector<std::string> secrets_;
  absl::Duration tolerance_;
  std::function<absl::Time()> now_;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_STRIPE_SIGNATURE_H_

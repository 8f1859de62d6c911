// libFuzzer target: the Stripe webhook event parser and the redactor (services/billing/domain).
// Any bytes must give a status or a parsed event, never a crash, a leak or an exception; a
// redacted document must itself redact to the same text (redaction is idempotent); and what
// billing stores never nests deeper than kMaxJsonDepth (a deeper event keeps its envelope
// only and cannot apply). Run with inputs up to 1 MiB (the webhook doors' bound) and the
// deep-nesting seeds of fuzz/corpus/stripe_event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "services/billing/domain/stripe_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string payload(reinterpret_cast<const char*>(data), size);
  const bool too_deep = suite::billing::JsonNestingDepth(payload) > suite::billing::kMaxJsonDepth;
  auto event = suite::billing::ParseStripeEvent(payload);
  if (event.ok()) {
    if (suite::billing::JsonNestingDepth(event->envelope.redacted_json) >
        suite::billing::kMaxJsonDepth) {
      std::abort();
    }
    if (too_deep && event->change.ok()) std::abort();
  }
  auto redacted = suite::billing::RedactStripeJson(payload);
  if (redacted.ok()) {
    if (too_deep) std::abort();
    auto again = suite::billing::RedactStripeJson(*redacted);
    if (!again.ok() || *again != *redacted) std::abort();
  }
  return 0;
}

// libFuzzer target: the Stripe webhook event parser and the redactor (services/billing/domain).
// Any bytes must give a status or a parsed event, never a crash, a leak or an exception; a
// redacted document must itself redact to the same text (redaction is idempotent).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "services/billing/domain/stripe_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string payload(reinterpret_cast<const char*>(data), size);
  auto event = billing::ParseStripeEvent(payload);
  (void)event;
  auto redacted = billing::RedactStripeJson(payload);
  if (redacted.ok()) {
    auto again = billing::RedactStripeJson(*redacted);
    if (!again.ok() || *again != *redacted) std::abort();
  }
  return 0;
}

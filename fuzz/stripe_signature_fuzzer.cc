// libFuzzer target: the Stripe-Signature header parser and verifier (services/billing/domain).
// Input: header, a NUL byte, then the payload. Properties beyond "no crash": a header the
// parser accepts has a non-negative t and only 64-hex v1 values; the verifier accepts the
// header it computed itself for the payload and refuses every other header unless it is
// exactly a correct signature.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/billing/domain/stripe_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string header = input.substr(0, nul);
  std::string payload = nul == std::string::npos ? "" : input.substr(nul + 1);

  auto parsed = suite::billing::ParseStripeSignatureHeader(header);
  if (parsed.ok()) {
    if (parsed->timestamp < 0 || parsed->v1.empty()) std::abort();
    for (const std::string& v : parsed->v1) {
      if (v.size() != 64) std::abort();
      for (char c : v) {
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) std::abort();
      }
    }
  }

  const int64_t now = 1800000000;
  suite::billing::StripeSignatureVerifier verifier({"whsec_fuzz"}, absl::Seconds(300),
                                            [] { return absl::FromUnixSeconds(now); });
  absl::Status fuzzed = verifier.Verify(payload, header);
  if (fuzzed.ok()) {
    // Accepting a header the fuzzer invented means it forged an HMAC: impossible unless the
    // header carries the true signature.
    std::string good =
        suite::billing::ComputeStripeSignature("whsec_fuzz", parsed->timestamp, payload);
    bool carries = false;
    for (const std::string& v : parsed->v1) carries |= absl::AsciiStrToLower(v) == good;
    if (!carries) std::abort();
  }
  const std::string signed_header = absl::StrCat(
      "t=", now, ",v1=", suite::billing::ComputeStripeSignature("whsec_fuzz", now, payload));
  if (!verifier.Verify(payload, signed_header).ok()) std::abort();
  return 0;
}

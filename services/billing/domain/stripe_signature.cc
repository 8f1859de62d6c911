#include "services/billing/domain/stripe_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/billing/domain/errors.h"

namespace suite::billing {
namespace {

constexpr size_t kSignatureHexLength = 64;  // SHA-256 is 32 bytes
// Bounds what an attacker can make us do per request.
constexpr size_t kMaxHeaderLength = 4096;

bool IsLowerOrUpperHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ParsedStripeSignature> ParseStripeSignatureHeader(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  if (header.empty()) return errors::SignatureMissing();
  if (header.size() > kMaxHeaderLength) return errors::SignatureMalformed("too long");
  ParsedStripeSignature parsed;
  bool have_t = false;
  for (absl::string_view item : absl::StrSplit(header, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) return errors::SignatureMalformed("item without '='");
    const absl::string_view key = item.substr(0, eq);
    const absl::string_view value = item.substr(eq + 1);
    if (key == "t") {
      if (have_t) return errors::SignatureMalformed("t given twice");
      if (value.empty() || value.size() > 18 || !absl::SimpleAtoi(value, &parsed.timestamp) ||
          value.find_first_not_of("0123456789") != absl::string_view::npos) {
        return errors::SignatureMalformed("t is not a unix time");
      }
      have_t = true;
    } else if (key == "v1") {
      if (value.size() != kSignatureHexLength || !IsLowerOrUpperHex(value)) {
        return errors::SignatureMalformed("v1 is not a hex SHA-256 signature");
      }
      parsed.v1.push_back(absl::AsciiStrToLower(value));
    }
    // Other schemes (v0 is Stripe's test scheme) are ignored, as Stripe specifies.
  }
  if (!have_t) return errors::SignatureMalformed("no t");
  if (parsed.v1.empty()) return errors::SignatureMalformed("no v1 signature");
  return parsed;
}

std::string ComputeStripeSignature(absl::string_view secret, int64_t timestamp,
                                   absl::string_view payload) {
  const std::string signed_payload = absl::StrCat(timestamp, ".", payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), mac,
       &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac_len * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

StripeSignatureVerifier::StripeSignatureVerifier(std::vector<std::string> secrets,
                                                 absl::Duration tolerance,
                                                 std::function<absl::Time()> now)
    : tolerance_(tolerance), now_(std::move(now)) {
  for (std::string& secret : secrets) {
    if (!secret.empty()) secrets_.push_back(std::move(secret));
  }
}

absl::Status StripeSignatureVerifier::Verify(absl::string_view payload,
                                             absl::string_view header) const {
  absl::StatusOr<ParsedStripeSignature> parsed = ParseStripeSignatureHeader(header);
  if (!parsed.ok()) return parsed.status();
  const absl::Time signed_at = absl::FromUnixSeconds(parsed->timestamp);
  if (absl::AbsDuration(now_() - signed_at) > tolerance_) {
    return errors::SignatureTimestampOutOfTolerance();
  }
  bool matched = false;
  // Every combination is compared (no early exit) so timing says nothing about which
  // secret or which signature came close.
  for (const std::string& secret : secrets_) {
    const std::string expected = ComputeStripeSignature(secret, parsed->timestamp, payload);
    for (const std::string& candidate : parsed->v1) {
      if (CRYPTO_memcmp(expected.data(), candidate.data(), kSignatureHexLength) == 0) {
        matched = true;
      }
    }
  }
  if (!matched) return errors::SignatureMismatch();
  return absl::OkStatus();
}

}  // namespace suite::billing

#include "services/questions/grpc/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/rpc/status.h"

namespace suite::questions {
namespace {

// Fields are separated by a unit separator, which cannot occur in any of them (lists and
// fingerprints are ours, cursors are timestamps, UUIDs, enum labels and slugs).
constexpr char kSep = '\x1f';

absl::Status Bad() { return suite::rpc::InvalidArgument("page_token", "is not a valid page token"); }

}  // namespace

std::string PageTokenCodec::Mac(absl::string_view payload) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string PageTokenCodec::Encode(absl::string_view list, absl::string_view fingerprint,
                                   const Cursor& cursor) const {
  const std::string payload =
      absl::StrCat("v1", std::string(1, kSep), list, std::string(1, kSep), fingerprint,
                   std::string(1, kSep), cursor.first, std::string(1, kSep), cursor.second);
  return absl::StrCat(absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(payload)));
}

absl::StatusOr<absl::optional<Cursor>> PageTokenCodec::Decode(absl::string_view token,
                                                              absl::string_view list,
                                                              absl::string_view fingerprint) const {
  if (token.empty()) return absl::optional<Cursor>();
  if (token.size() > 1024) return Bad();
  std::vector<absl::string_view> halves = absl::StrSplit(token, '.');
  if (halves.size() != 2) return Bad();
  std::string payload, mac;
  if (!absl::WebSafeBase64Unescape(halves[0], &payload) ||
      !absl::WebSafeBase64Unescape(halves[1], &mac)) {
    return Bad();
  }
  const std::string expected = Mac(payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return Bad();
  }
  std::vector<std::string> parts = absl::StrSplit(payload, kSep);
  if (parts.size() != 5 || parts[0] != "v1" || parts[1] != list || parts[2] != fingerprint) {
    return suite::rpc::InvalidArgument("page_token",
                                       "was issued for another list or other filters");
  }
  return absl::optional<Cursor>(Cursor{parts[3], parts[4]});
}

}  // namespace suite::questions

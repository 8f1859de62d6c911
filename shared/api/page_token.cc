#include "shared/api/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/api/status.h"

namespace suite::api {
namespace {

// Bumped if the layout changes, so old tokens fail cleanly instead of decoding wrongly.
constexpr absl::string_view kVersion = "p1";

}  // namespace

absl::Status InvalidPageToken(absl::string_view why) {
  return WithErrorInfo(InvalidArgument("page_token", why), "INVALID_PAGE_TOKEN", "rpc.suite");
}

PageTokenCodec::PageTokenCodec(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) {
    secret_.resize(32);
    RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), static_cast<int>(secret_.size()));
  }
}

std::string PageTokenCodec::Mac(absl::string_view scope, absl::string_view payload) const {
  // The scope's length is part of the signed text so that scope and payload cannot trade
  // characters across their boundary.
  const std::string signed_text = absl::StrCat(scope.size(), ":", scope, "|", payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string PageTokenCodec::Encode(absl::string_view scope, const PageCursor& cursor) const {
  const std::string payload = absl::StrCat(kVersion, ".", absl::WebSafeBase64Escape(cursor.key),
                                           ".", absl::WebSafeBase64Escape(cursor.id));
  return absl::StrCat(payload, ".", absl::WebSafeBase64Escape(Mac(scope, payload)));
}

absl::StatusOr<PageCursor> PageTokenCodec::Decode(absl::string_view scope,
                                                  absl::string_view token) const {
  if (token.empty()) return InvalidPageToken("must not be empty");
  if (token.size() > kMaxPageTokenLength) return InvalidPageToken("is too long");
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 4 || parts[0] != kVersion) return InvalidPageToken("is malformed");
  std::string mac;
  if (!absl::WebSafeBase64Unescape(parts[3], &mac)) return InvalidPageToken("is malformed");
  const absl::string_view payload = token.substr(0, token.size() - parts[3].size() - 1);
  const std::string expected = Mac(scope, payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return InvalidPageToken("was not issued for this listing");
  }
  PageCursor cursor;
  if (!absl::WebSafeBase64Unescape(parts[1], &cursor.key) ||
      !absl::WebSafeBase64Unescape(parts[2], &cursor.id)) {
    return InvalidPageToken("is malformed");
  }
  return cursor;
}

}  // namespace suite::api

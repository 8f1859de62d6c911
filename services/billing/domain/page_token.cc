#include "services/billing/domain/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/billing/domain/ledger.h"
#include "services/billing/errors.h"

namespace billing {

std::string PageTokenCodec::Mac(absl::string_view scope, absl::string_view payload) const {
  const std::string message = absl::StrCat(scope.size(), ":", scope, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string PageTokenCodec::Encode(absl::string_view scope, const Cursor& cursor) const {
  const std::string payload = absl::StrCat(cursor.unix_micros, ":", cursor.id);
  return absl::StrCat(absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(scope, payload)));
}

absl::StatusOr<Cursor> PageTokenCodec::Decode(absl::string_view scope,
                                              absl::string_view token) const {
  if (token.size() > 512) return errors::InvalidPageToken();
  const size_t dot = token.find('.');
  if (dot == absl::string_view::npos) return errors::InvalidPageToken();
  std::string payload;
  std::string mac;
  if (!absl::WebSafeBase64Unescape(token.substr(0, dot), &payload) ||
      !absl::WebSafeBase64Unescape(token.substr(dot + 1), &mac)) {
    return errors::InvalidPageToken();
  }
  const std::string expected = Mac(scope, payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return errors::InvalidPageToken();
  }
  const size_t colon = payload.find(':');
  Cursor cursor;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(payload).substr(0, colon), &cursor.unix_micros)) {
    return errors::InvalidPageToken();
  }
  cursor.id = payload.substr(colon + 1);
  if (!IsUuid(cursor.id)) return errors::InvalidPageToken();
  return cursor;
}

}  // namespace billing

#include "services/identity/domain/tokens.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/identity/errors.h"

namespace suite::identity {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kTokenChars = 43;  // base64url of 32 bytes, no padding

std::string Base64Url(const unsigned char* data, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool FromBase64Url(absl::string_view text, std::string* out) {
  std::vector<unsigned char> buf(text.size());
  size_t len = 0;
  if (sodium_base642bin(buf.data(), buf.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return false;
  }
  out->assign(reinterpret_cast<const char*>(buf.data()), len);
  return true;
}

std::string Hex(const unsigned char* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.resize(size * 2);
  return out;
}

}  // namespace

std::string NewSecretToken() {
  unsigned char bytes[kTokenBytes];
  randombytes_buf(bytes, sizeof(bytes));
  std::string token = Base64Url(bytes, sizeof(bytes));
  sodium_memzero(bytes, sizeof(bytes));
  return token;
}

bool LooksLikeSecretToken(absl::string_view token) {
  if (token.size() != kTokenChars) return false;
  for (char c : token) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string TokenDigest(absl::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return Hex(digest, sizeof(digest));
}

PageTokenCodec::PageTokenCodec(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) {
    unsigned char random[32];
    randombytes_buf(random, sizeof(random));
    secret_.assign(reinterpret_cast<const char*>(random), sizeof(random));
  }
}

std::string PageTokenCodec::Mac(absl::string_view payload) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret_.data()),
                              secret_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(payload.data()),
                                payload.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof(mac));
}

std::string PageTokenCodec::Encode(absl::string_view kind, absl::string_view fingerprint,
                                   const Cursor& cursor) const {
  // The kind and filter are signed but not sent: a token only verifies for the same listing.
  const std::string position =
      absl::StrCat(absl::ToUnixMicros(cursor.created_at), ",", cursor.id);
  const std::string mac = Mac(absl::StrCat(kind, "\n", fingerprint, "\n", position));
  const std::string raw = absl::StrCat(position, "\n", mac);
  return Base64Url(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

absl::StatusOr<Cursor> PageTokenCodec::Decode(absl::string_view kind,
                                              absl::string_view fingerprint,
                                              absl::string_view token) const {
  if (token.size() > 512) return errors::InvalidPageToken();
  std::string raw;
  if (!FromBase64Url(token, &raw)) return errors::InvalidPageToken();
  const size_t nl = raw.find('\n');
  if (nl == std::string::npos) return errors::InvalidPageToken();
  const std::string position = raw.substr(0, nl);
  const std::string mac = raw.substr(nl + 1);
  const std::string expected = Mac(absl::StrCat(kind, "\n", fingerprint, "\n", position));
  if (mac.size() != expected.size() ||
      sodium_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return errors::InvalidPageToken();
  }
  std::vector<std::string> parts = absl::StrSplit(position, absl::MaxSplits(',', 1));
  int64_t micros = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros)) return errors::InvalidPageToken();
  return Cursor{absl::FromUnixMicros(micros), parts[1]};
}

}  // namespace suite::identity

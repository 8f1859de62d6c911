#include "services/identity/domain/tokens.h"

#include <sodium.h>

#include "shared/base/sha256.h"

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
  return suite::Sha256Hex(token);
}

}  // namespace suite::identity

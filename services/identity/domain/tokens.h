// Secrets the identity service hands out once and stores only as digests: session tokens and
// e-mail verification tokens. (Page tokens are //shared/api:page_token's.)
//
//   std::string token = NewSecretToken();      // 43 chars of base64url, 256 random bits
//   std::string stored = TokenDigest(token);   // SHA-256 hex: what the database keeps
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace suite::identity {

// NewSecretToken returns base64url (no padding) of 32 bytes from libsodium's CSPRNG.
// Thread-safe.
std::string NewSecretToken();

// LooksLikeSecretToken is true for exactly what NewSecretToken produces (43 base64url
// characters); anything else can be refused before touching the database.
bool LooksLikeSecretToken(absl::string_view token);

// TokenDigest returns the lower-case hex SHA-256 of `token`. Thread-safe.
std::string TokenDigest(absl::string_view token);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_

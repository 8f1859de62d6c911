// Secrets the identity service hands out once and stores only as digests: session tokens,
// e-mail verification tokens; and the HMAC-signed page tokens of its listings.
//
//   std::string token = NewSecretToken();      // 43 chars of base64url, 256 random bits
//   std::string stored = TokenDigest(token);   // SHA-256 hex: what the database keeps
//
//   PageTokenCodec codec(secret);
//   std::string t = codec.Encode("users", filter_fingerprint, cursor);
//   absl::StatusOr<Cursor> c = codec.Decode("users", filter_fingerprint, t);
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/identity/domain/model.h"

namespace suite::identity {

// NewSecretToken returns base64url (no padding) of 32 bytes from libsodium's CSPRNG.
// Thread-safe.
std::string NewSecretToken();

// LooksLikeSecretToken is true for exactly what NewSecretToken produces (43 base64url
// characters); anything else can be refused before touching the database.
bool LooksLikeSecretToken(absl::string_view token);

// TokenDigest returns the lower-case hex SHA-256 of `token`. Thread-safe.
std::string TokenDigest(absl::string_view token);

// Signs and checks keyset-pagination tokens: opaque to clients, bound to one listing and one
// filter, and tamper-proof (HMAC-SHA-256 with a per-service secret). Thread-safe.
class PageTokenCodec {
 public:
  // `secret` should be at least 32 bytes; an empty one is replaced by a random one (tokens
  // then only work within this process).
  explicit PageTokenCodec(std::string secret);

  // Encode returns a token naming the position after `cursor` in listing `kind` with filter
  // `fingerprint`.
  std::string Encode(absl::string_view kind, absl::string_view fingerprint,
                     const Cursor& cursor) const;
  // Decode returns the cursor of `token`. INVALID_ARGUMENT (field page_token) when it is
  // malformed, forged, or from another listing or filter.
  absl::StatusOr<Cursor> Decode(absl::string_view kind, absl::string_view fingerprint,
                                absl::string_view token) const;

 private:
  std::string Mac(absl::string_view payload) const;
  std::string secret_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_TOKENS_H_

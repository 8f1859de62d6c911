// Opaque, tamper-proof keyset page tokens (AIP-158), shared by every List RPC of the suite.
//
// A token carries the keyset position after the last row served — that row's sort key and
// id, as text — signed with HMAC-SHA256 under a per-service secret together with a `scope`.
// The scope names the listing and everything that must not change between pages (filters,
// the caller for "own" listings), so a token can be neither forged nor replayed against
// another listing, filter or user:
//
//   PageTokenCodec codec(secret_from_env);
//   std::string scope = absl::StrCat("users|", filter_fingerprint);
//   std::string token = codec.Encode(scope, {absl::StrCat(last.created_unix_micros), last.id});
//   absl::StatusOr<PageCursor> cursor = codec.Decode(scope, request.page_token());
//
// Thread-safe: immutable after construction.
#ifndef SUITE_SHARED_API_PAGE_TOKEN_H_
#define SUITE_SHARED_API_PAGE_TOKEN_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::api {

// The keyset position a page token carries.
struct PageCursor {
  std::string key;  // the sort key of the last row served, e.g. its created_at in micros
  std::string id;   // that row's id, the tie-breaker

  friend bool operator==(const PageCursor& a, const PageCursor& b) {
    return a.key == b.key && a.id == b.id;
  }
};

// Tokens longer than this are refused before any decoding.
inline constexpr size_t kMaxPageTokenLength = 1024;

// InvalidPageToken is the status Decode returns for a bad token: INVALID_ARGUMENT naming the
// field `page_token`, with ErrorInfo reason INVALID_PAGE_TOKEN. A service returns it too when
// a verified cursor does not parse as its keyset (e.g. a key that is not a number), so that
// every refused token looks the same to clients.
absl::Status InvalidPageToken(absl::string_view why);

class PageTokenCodec {
 public:
  // `secret` keys the HMAC; an empty secret is replaced by a random one, so that tokens then
  // only work within this process (services refuse to start without one in production).
  explicit PageTokenCodec(std::string secret);

  // Encode returns the token for `cursor` within `scope`.
  std::string Encode(absl::string_view scope, const PageCursor& cursor) const;

  // Decode returns the cursor of `token`. INVALID_ARGUMENT naming the field `page_token`, with
  // ErrorInfo reason INVALID_PAGE_TOKEN, when the token is too long, malformed, forged, or
  // made for another scope. An empty token is also INVALID_ARGUMENT: callers treat "" as
  // "first page" before calling Decode.
  absl::StatusOr<PageCursor> Decode(absl::string_view scope, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view scope, absl::string_view payload) const;

  std::string secret_;
};

}  // namespace suite::api

#endif  // SUITE_SHARED_API_PAGE_TOKEN_H_

// Opaque, tamper-proof keyset page tokens (AIP-158): the cursor (time, id) of the last row
// served, HMAC-SHA256-signed with a per-service secret together with a scope that binds the
// token to one listing and its filters, so a token can neither be forged nor reused with
// other filters.
//
//   PageTokenCodec codec(secret);
//   std::string token = codec.Encode("subscriptions|" + user_id, cursor);
//   absl::StatusOr<Cursor> back = codec.Decode("subscriptions|" + user_id, token);
//
// Thread-safe.
#ifndef SUITE_SERVICES_BILLING_DOMAIN_PAGE_TOKEN_H_
#define SUITE_SERVICES_BILLING_DOMAIN_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/billing/domain/model.h"

namespace billing {

class PageTokenCodec {
 public:
  explicit PageTokenCodec(std::string secret) : secret_(std::move(secret)) {}

  // Encode returns the token for `cursor` within `scope`.
  std::string Encode(absl::string_view scope, const Cursor& cursor) const;

  // Decode returns the cursor of `token`. INVALID_ARGUMENT (INVALID_PAGE_TOKEN, field
  // page_token) when it is malformed, forged, or was made for another scope.
  absl::StatusOr<Cursor> Decode(absl::string_view scope, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view scope, absl::string_view payload) const;
  std::string secret_;
};

}  // namespace billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_PAGE_TOKEN_H_

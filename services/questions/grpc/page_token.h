// Opaque, tamper-proof page tokens for the question bank's list RPCs (AIP-158, services.md).
//
// A token carries a keyset cursor (domain Cursor) bound to the list it came from and a
// fingerprint of that list's filters, signed with HMAC-SHA256 under a per-service secret
// (QUESTIONS_PAGE_TOKEN_SECRET). A token that was altered, signed with another secret, or
// presented to another list or with other filters is rejected.
//
//   PageTokenCodec codec("secret from env");
//   std::string token = codec.Encode("questions", filter_fingerprint, cursor);
//   absl::StatusOr<absl::optional<Cursor>> c = codec.Decode(token, "questions", fingerprint);
//
// Thread-safe (immutable after construction).
#ifndef SUITE_SERVICES_QUESTIONS_GRPC_PAGE_TOKEN_H_
#define SUITE_SERVICES_QUESTIONS_GRPC_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/questions/domain/model.h"

namespace suite::questions {

class PageTokenCodec {
 public:
  // `secret` must be non-empty; main() refuses to start without one.
  explicit PageTokenCodec(std::string secret) : secret_(std::move(secret)) {}

  // Encode returns the token for `cursor` of list `list` under filter `fingerprint`.
  std::string Encode(absl::string_view list, absl::string_view fingerprint,
                     const Cursor& cursor) const;

  // Decode returns nullopt for an empty token (first page), the cursor for a valid one, and
  // INVALID_ARGUMENT (field page_token) for anything else.
  absl::StatusOr<absl::optional<Cursor>> Decode(absl::string_view token, absl::string_view list,
                                                absl::string_view fingerprint) const;

 private:
  std::string Mac(absl::string_view payload) const;

  std::string secret_;
};

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_GRPC_PAGE_TOKEN_H_

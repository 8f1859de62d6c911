// UserDirectory: whether identity knows a user, for services that keep user ids of their own
// (billing links Stripe customers to users) and must not accept one identity does not know.
// It asks with the CALLER's credentials, so identity decides what the caller may look up;
// nothing is cached (the answer matters on rare writes, and a deleted user must count at once).
//
//   absl::StatusOr<bool> exists = directory.UserExists(user_id, request_context);
//   if (exists.ok() && !*exists) -> answer NOT_FOUND
#ifndef SUITE_SHARED_CLIENTS_IDENTITY_USER_DIRECTORY_H_
#define SUITE_SHARED_CLIENTS_IDENTITY_USER_DIRECTORY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity_client {

class UserDirectory {
 public:
  virtual ~UserDirectory() = default;
  // UserExists is true when identity returns the user `user_id` to the caller of `context`,
  // false when it answers NOT_FOUND (no such user, or a deleted one). Otherwise the reason it
  // cannot tell: UNAUTHENTICATED or PERMISSION_DENIED (identity's verdict on the caller),
  // INVALID_ARGUMENT (not a user id), UNAVAILABLE (identity down, slow or broken).
  // Thread-safe.
  virtual absl::StatusOr<bool> UserExists(absl::string_view user_id,
                                          const suite::rpc::RequestContext& context) = 0;
};

}  // namespace suite::identity_client

#endif  // SUITE_SHARED_CLIENTS_IDENTITY_USER_DIRECTORY_H_

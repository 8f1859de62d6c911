// Judging a UUID field of a request the same way in every service: a proto3 string field
// cannot say whether it was set, so empty is "is required", and anything else that is not a
// UUID (any case, 36 characters with dashes) is "must be a UUID".
//
//   SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", request.user_id));
//   // "" → INVALID_ARGUMENT "user_id: is required", BadRequest {user_id, is required}
#ifndef SUITE_SHARED_API_UUID_FIELD_H_
#define SUITE_SHARED_API_UUID_FIELD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace suite::api {

// RequireUuid: OK for a UUID (suite::IsUuid); otherwise INVALID_ARGUMENT "<field>: is
// required" (empty) or "<field>: must be a UUID", with one BadRequest field violation naming
// `field` (suite::api::InvalidArgument). Thread-safe.
absl::Status RequireUuid(absl::string_view field, absl::string_view value);

}  // namespace suite::api

#endif  // SUITE_SHARED_API_UUID_FIELD_H_

// The one check for "is this a canonical UUID" that every service's validation uses before an
// id reaches SQL (a malformed id is INVALID_ARGUMENT naming the field, never a database error).
//
//   if (!suite::IsUuid(request.user_id())) return InvalidArgument("user_id", "must be a UUID");
//
// Thread-safe: a pure function.
#ifndef SUITE_SHARED_BASE_UUID_H_
#define SUITE_SHARED_BASE_UUID_H_

#include "absl/strings/string_view.h"

namespace suite {

// IsUuid is true for exactly the canonical 8-4-4-4-12 form: 36 characters, hyphens at
// positions 8, 13, 18 and 23, hex digits (either case) everywhere else. Any version.
bool IsUuid(absl::string_view s);

}  // namespace suite

#endif  // SUITE_SHARED_BASE_UUID_H_

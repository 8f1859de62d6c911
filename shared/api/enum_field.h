// Judging an enum field of a request the same way in every service. proto3 hands a handler any
// number a client sends (a newer client's value, a wrong one), so the adapter must tell three
// cases apart, and say which one it saw:
//   0 (UNSPECIFIED)          "not set": fine for an optional field or filter, "is required"
//                            for one the call cannot do without;
//   a number it knows        fine;
//   any other number         "unknown value 7": it was set, to something this server does not
//                            know, so neither "is required" nor "not set" would be true.
//
//   absl::optional<TagKind> kind = FromProto(request->kind());
//   SUITE_RETURN_IF_ERROR(suite::api::CheckEnumField("kind", request->kind(), kind.has_value(),
//                                                    /*required=*/true));
//   // kind = 7 → INVALID_ARGUMENT "kind: unknown value 7", BadRequest {kind, unknown value 7}
#ifndef SUITE_SHARED_API_ENUM_FIELD_H_
#define SUITE_SHARED_API_ENUM_FIELD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace suite::api {

// CheckEnumField: OK for a known number, and for 0 unless `required`; otherwise
// INVALID_ARGUMENT "<field>: is required" (0) or "<field>: unknown value <number>", with one
// BadRequest field violation naming `field` (suite::api::InvalidArgument). `known` is whether
// the service maps `number` to a value of its own. Thread-safe.
absl::Status CheckEnumField(absl::string_view field, int number, bool known, bool required);

}  // namespace suite::api

#endif  // SUITE_SHARED_API_ENUM_FIELD_H_

// Errors with rich details, made in plain C++: the builders every domain uses to say what is
// wrong with a request (google.rpc.BadRequest field violations, ErrorInfo, RetryInfo), and the
// readers a caller uses to branch on them. Abseil and the google.rpc messages only: no gRPC,
// so a domain library can depend on it without reaching the RPC runtime.
//
//   // domain/
//   if (email.empty()) return suite::api::InvalidArgument("email", "must not be empty");
//   return suite::api::WithErrorInfo(absl::FailedPreconditionError("subscription is not active"),
//                                    "SUBSCRIPTION_INACTIVE", "billing.suite");
//
//   // a client of another service, after suite::rpc::FromGrpcStatus (shared/rpc/grpc_status.h)
//   if (auto info = suite::api::ErrorInfoOf(s); info && info->reason == "USER_NOT_FOUND") ...
//
// The details ride along as absl::Status payloads, stored under their Any type URLs
// ("type.googleapis.com/google.rpc.BadRequest") holding the serialized message; the gRPC edge
// (shared/rpc/grpc_status.h) packs them into the grpc-status-details-bin trailer. Payloads
// under other URLs (e.g. shared/db's SQLSTATE) are never sent to clients.
#ifndef SUITE_SHARED_API_STATUS_H_
#define SUITE_SHARED_API_STATUS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::api {

inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr absl::string_view kErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kRetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

// One google.rpc.BadRequest.FieldViolation.
struct FieldViolation {
  std::string field;        // path of the offending field, e.g. "user.email"
  std::string description;  // why it is wrong, e.g. "must not be empty"
  bool operator==(const FieldViolation& o) const {
    return field == o.field && description == o.description;
  }
};

// A google.rpc.ErrorInfo (AIP-193).
struct ErrorInfo {
  std::string reason;  // UPPER_SNAKE_CASE, stable: clients branch on it
  std::string domain;  // who chose the reason, e.g. "identity.suite"
  std::map<std::string, std::string> metadata;
};

// InvalidArgument returns INVALID_ARGUMENT with message "<field>: <description>" and one
// BadRequest field violation. Thread-safe.
absl::Status InvalidArgument(absl::string_view field, absl::string_view description);

// WithFieldViolation returns `status` with one more BadRequest field violation (earlier ones
// are kept, so several bad fields can be reported at once). An OK status is returned unchanged.
absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description);

// WithErrorInfo returns `status` with its ErrorInfo set (replacing an earlier one). `reason` is
// normalised to UPPER_SNAKE_CASE ("user not found" → "USER_NOT_FOUND"). An OK status is
// returned unchanged.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           absl::string_view domain,
                           std::map<std::string, std::string> metadata = {});

// WithRetryInfo returns `status` with a google.rpc.RetryInfo whose retry_delay is `delay`
// (replacing an earlier one): when the client may try again. An OK status is returned
// unchanged.
absl::Status WithRetryInfo(absl::Status status, absl::Duration delay);

// RetryDelayOf returns the RetryInfo retry_delay of `status`, if it has one.
absl::optional<absl::Duration> RetryDelayOf(const absl::Status& status);

// FieldViolationsOf returns the BadRequest field violations of `status`, in order; empty if
// none.
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);

// FirstViolatedField is the field of the first BadRequest violation of `status`; empty if none.
std::string FirstViolatedField(const absl::Status& status);

// ErrorInfoOf returns the ErrorInfo of `status`, if it has one.
absl::optional<ErrorInfo> ErrorInfoOf(const absl::Status& status);

}  // namespace suite::api

#endif  // SUITE_SHARED_API_STATUS_H_

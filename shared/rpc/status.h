// The one conversion between absl::Status and grpc::Status, made at the edge of every RPC.
//
// Domain code builds statuses with rich details without seeing protobuf types; the details ride
// along as absl::Status payloads and become google.rpc details (BadRequest, ErrorInfo) in the
// grpc-status-details-bin trailer at the edge:
//
//   // domain/
//   if (email.empty()) return suite::rpc::InvalidArgument("email", "must not be empty");
//   return suite::rpc::WithErrorInfo(absl::FailedPreconditionError("subscription is not active"),
//                                    "SUBSCRIPTION_INACTIVE", "billing.suite");
//
//   // grpc/ adapter: every RPC method ends like this
//   return suite::rpc::ToGrpcStatus(result.status(), request_context.request_id());
//
//   // a client of another service
//   absl::Status s = suite::rpc::FromGrpcStatus(stub->GetUser(&ctx, req, &resp));
//   if (auto info = suite::rpc::ErrorInfoOf(s); info && info->reason == "USER_NOT_FOUND") ...
//
// Payloads are stored under their Any type URLs ("type.googleapis.com/google.rpc.BadRequest"),
// holding the serialized message; payloads under other URLs (e.g. shared/db's SQLSTATE) are
// never sent to clients.
#ifndef SUITE_SHARED_RPC_STATUS_H_
#define SUITE_SHARED_RPC_STATUS_H_

#include <map>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::rpc {

inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr absl::string_view kErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kRetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

// Messages longer than this are cut (at a UTF-8 boundary) before they reach a client.
inline constexpr size_t kMaxClientMessageBytes = 256;

// What a client sees instead of the message of an INTERNAL, UNKNOWN or DATA_LOSS status.
inline constexpr absl::string_view kInternalErrorMessage = "internal error";

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

// ErrorInfoOf returns the ErrorInfo of `status`, if it has one.
absl::optional<ErrorInfo> ErrorInfoOf(const absl::Status& status);

// ToGrpcStatus converts at the RPC edge: the same code; the message cut to
// kMaxClientMessageBytes; google.rpc payloads packed as details into a serialized
// google.rpc.Status (grpc::Status::error_details()). INTERNAL, UNKNOWN and DATA_LOSS statuses
// lose their message and all details: the client gets kInternalErrorMessage (with the request
// id, when given, so support can find the log line) and the original is logged as a JSON line
// with event "rpc.internal_error". Thread-safe.
grpc::Status ToGrpcStatus(const absl::Status& status);
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view request_id);

// FromGrpcStatus is the reverse, for clients of other services: code, message and every
// google.rpc detail (as payloads, readable with FieldViolationsOf / ErrorInfoOf). Details that
// do not parse are dropped. Thread-safe.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_STATUS_H_

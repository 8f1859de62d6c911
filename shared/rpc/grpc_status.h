// The one conversion between absl::Status and grpc::Status, made at the edge of every RPC.
//
// Inside a service, errors are absl::Status values with google.rpc details attached as
// payloads (shared/api/status.h); only the adapter and the clients of other services see a
// grpc::Status:
//
//   // grpc/ adapter: every RPC method ends like this
//   return suite::rpc::ToGrpcStatus(result.status(), request_context.request_id());
//
//   // a client of another service
//   absl::Status s = suite::rpc::FromGrpcStatus(stub->GetUser(&ctx, req, &resp));
//   if (auto info = suite::api::ErrorInfoOf(s); info && info->reason == "USER_NOT_FOUND") ...
#ifndef SUITE_SHARED_RPC_GRPC_STATUS_H_
#define SUITE_SHARED_RPC_GRPC_STATUS_H_

#include <cstddef>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "shared/api/status.h"

namespace suite::rpc {

// Messages longer than this are cut (at a UTF-8 boundary) before they reach a client.
inline constexpr size_t kMaxClientMessageBytes = 256;

// What a client sees instead of the message of an INTERNAL, UNKNOWN or DATA_LOSS status.
inline constexpr absl::string_view kInternalErrorMessage = "internal error";

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

// FirstViolatedField is suite::api::FirstViolatedField of FromGrpcStatus(status): the field a
// refusal names, for the tests and clients that read it.
std::string FirstViolatedField(const grpc::Status& status);
}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_GRPC_STATUS_H_

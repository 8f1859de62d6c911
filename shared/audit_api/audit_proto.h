// ListAuditEvents between its proto messages (protos/audit/v1/audit.proto) and the shared
// rules of audit_query.h, for the gRPC adapter of each service (protobuf and Abseil; no gRPC,
// no libpqxx):
//
//   return ServeListAuditEvents(
//       *request, [&] { return domain_->AuthorizeListAuditEvents(caller); },
//       [&](const AuditQuery& query) { return domain_->ListAuditEvents(caller, query); },
//       response);
//
// Thread-safe: pure functions.
#ifndef SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_
#define SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/v1/audit.pb.h"
#include "shared/audit_api/audit_query.h"

namespace suite::audit_api {

// ParseListAuditEventsRequest turns a request into an AuditQuery and validates it as
// ListAuditPage will (INVALID_ARGUMENT naming the field), so a bad request is refused before
// any other work. A start_time or end_time that is not a valid Timestamp (seconds outside
// years 1..9999, nanos outside 0..999999999) is INVALID_ARGUMENT naming it.
absl::StatusOr<AuditQuery> ParseListAuditEventsRequest(
    const ::audit::v1::ListAuditEventsRequest& request);

// ToProto fills `out` with `event`. The stored outcome "succeeded" is the contract's "ok".
void ToProto(const AuditEvent& event, ::audit::v1::AuditEvent* out);
// ToProto fills `out` with the page's events, in order, and its next-page token.
void ToProto(const AuditPage& page, ::audit::v1::ListAuditEventsResponse* out);

// ServeListAuditEvents answers one ListAuditEvents call in the order every service follows:
// `authorize` first, before the request is read, so a caller without the role gets its
// refusal (PERMISSION_DENIED) whatever the request holds and learns nothing about the
// validation of an admin-only call; then the request is parsed and validated
// (INVALID_ARGUMENT naming the field); then `list` reads the page, which fills `response`.
absl::Status ServeListAuditEvents(
    const ::audit::v1::ListAuditEventsRequest& request,
    const std::function<absl::Status()>& authorize,
    const std::function<absl::StatusOr<AuditPage>(const AuditQuery&)>& list,
    ::audit::v1::ListAuditEventsResponse* response);

}  // namespace suite::audit_api

#endif  // SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_

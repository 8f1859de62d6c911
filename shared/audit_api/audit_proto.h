// ListAuditEvents between its proto messages (protos/audit/v1/audit.proto) and the shared
// rules of audit_query.h, for the gRPC adapter of each service (protobuf and Abseil; no gRPC,
// no libpqxx):
//
//   SUITE_ASSIGN_OR_RETURN(AuditQuery query, ParseListAuditEventsRequest(*request));
//   SUITE_ASSIGN_OR_RETURN(AuditPage page, domain_->ListAuditEvents(caller, query));
//   ToProto(page, response);
//
// Thread-safe: pure functions.
#ifndef SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_
#define SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_

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

}  // namespace suite::audit_api

#endif  // SUITE_SHARED_AUDIT_API_AUDIT_PROTO_H_

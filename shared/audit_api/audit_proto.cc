#include "shared/audit_api/audit_proto.h"

#include "absl/strings/str_cat.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/status_macros.h"

namespace suite::audit_api {
namespace {

// The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800LL;
constexpr int64_t kMaxTimestampSeconds = 253402300799LL;

absl::StatusOr<absl::Time> TimeOf(absl::string_view field,
                                  const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds) {
    return suite::api::InvalidArgument(
        field, absl::StrCat("seconds must be within years 1 to 9999, got ", ts.seconds()));
  }
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return suite::api::InvalidArgument(
        field, absl::StrCat("nanos must be within 0 to 999999999, got ", ts.nanos()));
  }
  return suite::api::TimeFromTimestamp(ts);
}

}  // namespace

absl::StatusOr<AuditQuery> ParseListAuditEventsRequest(
    const ::audit::v1::ListAuditEventsRequest& request) {
  AuditQuery query;
  query.page_size = request.page_size();
  query.page_token = request.page_token();
  query.filter.actor_id = request.actor_user_id();
  query.filter.action = request.action();
  query.filter.target_id = request.target_id();
  if (request.has_start_time()) {
    SUITE_ASSIGN_OR_RETURN(query.filter.since, TimeOf("start_time", request.start_time()));
  }
  if (request.has_end_time()) {
    SUITE_ASSIGN_OR_RETURN(query.filter.until, TimeOf("end_time", request.end_time()));
  }
  SUITE_RETURN_IF_ERROR(AuditPageLimit(query.page_size).status());
  SUITE_RETURN_IF_ERROR(ValidateAuditFilter(query.filter));
  return query;
}

void ToProto(const AuditEvent& event, ::audit::v1::AuditEvent* out) {
  out->set_sequence(event.seq);
  suite::api::SetTimestamp(event.occurred_at, out->mutable_occur_time());
  out->set_actor_user_id(event.actor_id);
  out->set_action(event.action);
  out->set_target_type(event.target_type);
  out->set_target_id(event.target_id);
  out->set_request_id(event.request_id);
  out->set_outcome(event.outcome == "succeeded" ? "ok" : event.outcome);
  out->set_before_json(event.before_json);
  out->set_after_json(event.after_json);
  out->set_hash(event.hash);
}

void ToProto(const AuditPage& page, ::audit::v1::ListAuditEventsResponse* out) {
  for (const AuditEvent& e : page.events) ToProto(e, out->add_events());
  out->set_next_page_token(page.next_page_token);
}

absl::Status ServeListAuditEvents(
    const ::audit::v1::ListAuditEventsRequest& request,
    const std::function<absl::Status()>& authorize,
    const std::function<absl::StatusOr<AuditPage>(const AuditQuery&)>& list,
    ::audit::v1::ListAuditEventsResponse* response) {
  SUITE_RETURN_IF_ERROR(authorize());
  SUITE_ASSIGN_OR_RETURN(AuditQuery query, ParseListAuditEventsRequest(request));
  SUITE_ASSIGN_OR_RETURN(AuditPage page, list(query));
  ToProto(page, response);
  return absl::OkStatus();
}

}  // namespace suite::audit_api

// ListAuditEvents' proto side: a request becomes the query it says (or is refused naming the
// field), and an event is returned field for field.
#include "shared/audit_api/audit_proto.h"

#include <gtest/gtest.h>

#include <string>

#include "shared/api/status.h"
#include "shared/api/timestamp.h"

namespace suite::audit_api {
namespace {

using suite::api::FirstViolatedField;

TEST(ParseListAuditEventsRequestTest, CarriesEveryFieldAndLeavesAbsentTimesOpen) {
  ::audit::v1::ListAuditEventsRequest request;
  request.set_page_size(7);
  request.set_page_token("tok");
  request.set_actor_user_id("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21");
  request.set_action("role.assign");
  request.set_target_id("t");
  suite::api::SetTimestamp(absl::FromUnixSeconds(100), request.mutable_start_time());
  absl::StatusOr<AuditQuery> query = ParseListAuditEventsRequest(request);
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->page_size, 7);
  EXPECT_EQ(query->page_token, "tok");
  EXPECT_EQ(query->filter.actor_id, request.actor_user_id());
  EXPECT_EQ(query->filter.action, "role.assign");
  EXPECT_EQ(query->filter.target_id, "t");
  EXPECT_EQ(query->filter.since, absl::FromUnixSeconds(100));
  EXPECT_EQ(query->filter.until, absl::InfiniteFuture());
}

TEST(ParseListAuditEventsRequestTest, EachBadFieldIsInvalidArgumentNamingIt) {
  auto expect_field = [](const ::audit::v1::ListAuditEventsRequest& r, const std::string& f) {
    absl::StatusOr<AuditQuery> q = ParseListAuditEventsRequest(r);
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument) << f;
    EXPECT_EQ(FirstViolatedField(q.status()), f) << q.status();
  };
  ::audit::v1::ListAuditEventsRequest r;
  r.set_page_size(-1);
  expect_field(r, "page_size");
  r.set_page_size(101);
  expect_field(r, "page_size");
  r = {};
  r.set_actor_user_id("admin");
  expect_field(r, "actor_user_id");
  r = {};
  r.set_action(std::string("a\0", 2));
  expect_field(r, "action");
  r = {};
  r.set_target_id("a\r\n");
  expect_field(r, "target_id");
  r = {};
  r.mutable_start_time()->set_seconds(10);
  r.mutable_end_time()->set_seconds(10);
  expect_field(r, "end_time");
  r.mutable_end_time()->set_seconds(9);
  expect_field(r, "end_time");
  r = {};
  r.mutable_start_time()->set_nanos(-1);
  expect_field(r, "start_time");
  r = {};
  r.mutable_start_time()->set_seconds(253402300800LL);
  expect_field(r, "start_time");
  r = {};
  r.mutable_end_time()->set_nanos(1000000000);
  expect_field(r, "end_time");
  r = {};
  r.mutable_end_time()->set_seconds(-62135596801LL);
  expect_field(r, "end_time");
}

TEST(AuditEventToProtoTest, CopiesEveryFieldAndSpellsACommittedChangeOk) {
  AuditEvent e;
  e.seq = 42;
  e.occurred_at = absl::FromUnixMicros(1700000000123456);
  e.actor_id = "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  e.action = "user.set_status";
  e.target_type = "user";
  e.target_id = "t";
  e.request_id = "r";
  e.outcome = "succeeded";
  e.before_json = R"({"status":"active"})";
  e.after_json = R"({"status":"suspended"})";
  e.hash = "ab";
  AuditPage page;
  page.events = {e};
  page.next_page_token = "next";
  ::audit::v1::ListAuditEventsResponse out;
  ToProto(page, &out);
  ASSERT_EQ(out.events_size(), 1);
  const ::audit::v1::AuditEvent& p = out.events(0);
  EXPECT_EQ(p.sequence(), 42);
  EXPECT_EQ(suite::api::TimeFromTimestamp(p.occur_time()), e.occurred_at);
  EXPECT_EQ(p.actor_user_id(), e.actor_id);
  EXPECT_EQ(p.action(), e.action);
  EXPECT_EQ(p.target_type(), "user");
  EXPECT_EQ(p.target_id(), "t");
  EXPECT_EQ(p.request_id(), "r");
  EXPECT_EQ(p.outcome(), "ok");
  EXPECT_EQ(p.before_json(), e.before_json);
  EXPECT_EQ(p.after_json(), e.after_json);
  EXPECT_EQ(p.hash(), "ab");
  EXPECT_EQ(out.next_page_token(), "next");
}

TEST(ServeListAuditEventsTest, AuthorizationComesBeforeTheRequestIsReadAndARefusalListsNothing) {
  ::audit::v1::ListAuditEventsRequest invalid;
  invalid.set_page_size(-1);
  invalid.set_action(std::string(kMaxAuditActionLength + 1, 'a'));
  invalid.mutable_start_time()->set_nanos(-1);
  invalid.set_page_token("not a token");
  int listed = 0;
  const auto list = [&](const AuditQuery&) -> absl::StatusOr<AuditPage> {
    ++listed;
    return AuditPage();
  };
  const auto deny = [] { return absl::PermissionDeniedError("admin role required"); };
  ::audit::v1::ListAuditEventsResponse response;
  // A caller without the role: refused the same for an invalid request as for a valid one.
  EXPECT_EQ(ServeListAuditEvents(invalid, deny, list, &response).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ServeListAuditEvents({}, deny, list, &response).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(listed, 0);
  // An admin: the invalid request is refused naming its first bad field, still listing nothing.
  const auto allow = [] { return absl::OkStatus(); };
  absl::Status status = ServeListAuditEvents(invalid, allow, list, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FirstViolatedField(status), "start_time");
  EXPECT_EQ(listed, 0);
  EXPECT_EQ(response.events_size(), 0);
}

TEST(ServeListAuditEventsTest, AnAuthorizedValidRequestListsWithItsQueryAndFillsTheResponse) {
  ::audit::v1::ListAuditEventsRequest request;
  request.set_page_size(2);
  request.set_action("role.assign");
  AuditQuery seen;
  const auto list = [&](const AuditQuery& query) -> absl::StatusOr<AuditPage> {
    seen = query;
    AuditPage page;
    page.events.resize(2);
    page.events[0].seq = 9;
    page.events[1].seq = 8;
    page.next_page_token = "next";
    return page;
  };
  ::audit::v1::ListAuditEventsResponse response;
  ASSERT_TRUE(
      ServeListAuditEvents(request, [] { return absl::OkStatus(); }, list, &response).ok());
  EXPECT_EQ(seen.page_size, 2);
  EXPECT_EQ(seen.filter.action, "role.assign");
  ASSERT_EQ(response.events_size(), 2);
  EXPECT_EQ(response.events(0).sequence(), 9);
  EXPECT_EQ(response.events(1).sequence(), 8);
  EXPECT_EQ(response.next_page_token(), "next");
  // A failure of the listing itself is passed on as it is.
  EXPECT_EQ(ServeListAuditEvents(
                request, [] { return absl::OkStatus(); },
                [](const AuditQuery&) -> absl::StatusOr<AuditPage> {
                  return absl::UnavailableError("database down");
                },
                &response)
                .code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace suite::audit_api

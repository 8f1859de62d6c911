#include "shared/rpc/handler/request_context.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"
#include "shared/base/uuid.h"

namespace suite::rpc {
namespace {

using ::suite::api::ErrorInfoOf;

TEST(NewRequestIdTest, IsAValidDistinctUuidV4) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = NewRequestId();
    ASSERT_TRUE(suite::IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;                                  // version
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(ParseBearerTokenTest, AcceptsAnySchemeCaseAndExtraSpaces) {
  EXPECT_EQ(ParseBearerToken("Bearer abc.DEF-123_~+/=").value(), "abc.DEF-123_~+/=");
  EXPECT_EQ(ParseBearerToken("bearer tok").value(), "tok");
  EXPECT_EQ(ParseBearerToken("BEARER   tok==").value(), "tok==");
}

TEST(ParseBearerTokenTest, RejectsMalformedValuesAsUnauthenticated) {
  for (const char* value :
       {"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwYXNz", "Bearertok", "tok",
        "Bearer tok extra", "Bearer to\tk", "Bearer ==", "Bearer tok=x", "Bearer t\xc3\xa9"}) {
    absl::StatusOr<std::string> token = ParseBearerToken(value);
    ASSERT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated) << value;
    EXPECT_EQ(ErrorInfoOf(token.status())->reason, "MALFORMED_CREDENTIALS") << value;
  }
}

TEST(ParseBearerTokenTest, ErrorNeverEchoesTheValue) {
  absl::StatusOr<std::string> token = ParseBearerToken("Bearer secret token");
  EXPECT_THAT(std::string(token.status().message()), ::testing::Not(::testing::HasSubstr("secret")));
}

TEST(RequestContextTest, BackgroundWorkWithoutTokenIsMissingCredentials) {
  RequestContext context = RequestContext::ForBackgroundWork();
  EXPECT_TRUE(suite::IsUuid(context.request_id()));
  absl::StatusOr<std::string> token = context.BearerToken();
  ASSERT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorInfoOf(token.status())->reason, "MISSING_CREDENTIALS");
}

class FixedAuthenticator : public CallerAuthenticator {
 public:
  absl::StatusOr<Caller> Authenticate(absl::string_view token,
                                      const RequestContext& context) override {
    last_request_id = context.request_id();
    if (token == "good") return Caller{"user-1", {"member"}, "session-1"};
    if (token == "nameless") return Caller{};
    if (token == "down") return absl::UnavailableError("identity unreachable");
    return absl::UnauthenticatedError("unknown session");
  }
  std::string last_request_id;
};

TEST(RequireCallerTest, GoodTokenGivesTheCallerAndRecordsIt) {
  FixedAuthenticator authenticator;
  RequestContext context = RequestContext::ForBackgroundWork("req", std::string("good"));
  absl::StatusOr<Caller> caller = RequireCaller(context, authenticator);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->user_id, "user-1");
  EXPECT_EQ(authenticator.last_request_id, "req");
  EXPECT_EQ(context.CallerId(), absl::optional<std::string>("user-1"));
  RequestContext copy = context;
  EXPECT_EQ(copy.CallerId(), absl::optional<std::string>("user-1"));
}

TEST(RequireCallerTest, AuthenticatorErrorsPassThroughAndRecordNothing) {
  FixedAuthenticator authenticator;
  RequestContext bad = RequestContext::ForBackgroundWork("r", std::string("bad"));
  EXPECT_EQ(RequireCaller(bad, authenticator).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(bad.CallerId().has_value());
  RequestContext down = RequestContext::ForBackgroundWork("r", std::string("down"));
  EXPECT_EQ(RequireCaller(down, authenticator).status().code(), absl::StatusCode::kUnavailable);
  RequestContext nameless = RequestContext::ForBackgroundWork("r", std::string("nameless"));
  EXPECT_EQ(RequireCaller(nameless, authenticator).status().code(), absl::StatusCode::kInternal);
}

TEST(RequireCallerTest, NoTokenNeverReachesTheAuthenticator) {
  FixedAuthenticator authenticator;
  EXPECT_EQ(RequireCaller(RequestContext::ForBackgroundWork(), authenticator).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(authenticator.last_request_id.empty());
}

TEST(RequireRoleTest, MissingRoleIsPermissionDenied) {
  Caller caller{"u", {"member", "author"}, ""};
  EXPECT_TRUE(RequireRole(caller, "author").ok());
  absl::Status denied = RequireRole(caller, "admin");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorInfoOf(denied)->reason, "MISSING_ROLE");
  EXPECT_EQ(ErrorInfoOf(denied)->metadata.at("role"), "admin");
}

}  // namespace
}  // namespace suite::rpc

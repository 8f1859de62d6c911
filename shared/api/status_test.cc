// The error builders and readers on their own, linked without gRPC: what a domain's tests see.
#include "shared/api/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace suite::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ApiStatusTest, InvalidArgumentNamesTheFieldInMessageAndBadRequest) {
  absl::Status status = InvalidArgument("user.email", "must not be empty");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "user.email: must not be empty");
  EXPECT_THAT(FieldViolationsOf(status),
              ElementsAre(FieldViolation{"user.email", "must not be empty"}));
  // The payload is a real google.rpc.BadRequest under its Any type URL.
  absl::optional<absl::Cord> payload = status.GetPayload(kBadRequestTypeUrl);
  ASSERT_TRUE(payload.has_value());
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(bad_request.ParseFromString(std::string(*payload)));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "user.email");
}

TEST(ApiStatusTest, ViolationsAccumulateInOrder) {
  absl::Status status = WithFieldViolation(InvalidArgument("a", "bad a"), "b", "bad b");
  EXPECT_THAT(FieldViolationsOf(status),
              ElementsAre(FieldViolation{"a", "bad a"}, FieldViolation{"b", "bad b"}));
}

TEST(ApiStatusTest, ErrorInfoReasonIsUpperSnakeAndTheLastOneWins) {
  absl::Status status = WithErrorInfo(absl::NotFoundError("x"), "first", "a.suite");
  status = WithErrorInfo(status, "user not-found!", "identity.suite", {{"field", "user_id"}});
  absl::optional<ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "USER_NOT_FOUND");
  EXPECT_EQ(info->domain, "identity.suite");
  EXPECT_EQ(info->metadata.at("field"), "user_id");
}

TEST(ApiStatusTest, RetryDelayKeepsNanoseconds) {
  absl::Status status =
      WithRetryInfo(absl::ResourceExhaustedError("slow down"), absl::Milliseconds(1500) +
                                                                   absl::Nanoseconds(7));
  EXPECT_EQ(RetryDelayOf(status), absl::Milliseconds(1500) + absl::Nanoseconds(7));
}

TEST(ApiStatusTest, OkStaysOkAndPlainErrorsHaveNoDetails) {
  EXPECT_TRUE(WithErrorInfo(absl::OkStatus(), "X", "d").ok());
  EXPECT_TRUE(WithFieldViolation(absl::OkStatus(), "f", "d").ok());
  EXPECT_TRUE(WithRetryInfo(absl::OkStatus(), absl::Seconds(1)).ok());
  const absl::Status plain = absl::InternalError("boom");
  EXPECT_THAT(FieldViolationsOf(plain), IsEmpty());
  EXPECT_FALSE(ErrorInfoOf(plain).has_value());
  EXPECT_FALSE(RetryDelayOf(plain).has_value());
}

TEST(ApiStatusTest, GarbagePayloadsReadAsAbsent) {
  absl::Status status = absl::NotFoundError("x");
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord("\xff\xff not a proto"));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord("\xff\xff"));
  EXPECT_FALSE(ErrorInfoOf(status).has_value());
  EXPECT_FALSE(RetryDelayOf(status).has_value());
}

}  // namespace
}  // namespace suite::api

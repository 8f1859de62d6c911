#include "shared/api/status.h"

#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "shared/base/json_log.h"
#include "shared/rpc/grpc_status.h"

namespace suite::rpc {
namespace {

using ::suite::api::ErrorInfo;
using ::suite::api::ErrorInfoOf;
using ::suite::api::FieldViolation;
using ::suite::api::FieldViolationsOf;
using ::suite::api::InvalidArgument;
using ::suite::api::RetryDelayOf;
using ::suite::api::WithErrorInfo;
using ::suite::api::WithFieldViolation;
using ::suite::api::WithRetryInfo;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSinkForTesting([this](const std::string& line) { logs_.push_back(line); });
  }
  void TearDown() override { SetLogSinkForTesting(nullptr); }
  std::vector<std::string> logs_;
};

TEST_F(StatusTest, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST_F(StatusTest, EveryCanonicalCodeIsCopied) {
  for (int raw = 1; raw <= 16; ++raw) {
    auto code = static_cast<absl::StatusCode>(raw);
    grpc::Status converted = ToGrpcStatus(absl::Status(code, "x"));
    EXPECT_EQ(static_cast<int>(converted.error_code()), raw);
    EXPECT_EQ(FromGrpcStatus(converted).code(), code);
  }
}

TEST_F(StatusTest, InvalidArgumentNamesTheFieldInMessageAndDetails) {
  absl::Status status = InvalidArgument("user.email", "must not be empty");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "user.email: must not be empty");
  EXPECT_THAT(FieldViolationsOf(status),
              ElementsAre(FieldViolation{"user.email", "must not be empty"}));
}

TEST_F(StatusTest, FieldViolationsAccumulateAndSurviveTheWireFormat) {
  absl::Status status = WithFieldViolation(InvalidArgument("a", "bad a"), "b", "bad b");
  grpc::Status converted = ToGrpcStatus(status);
  ASSERT_FALSE(converted.error_details().empty());

  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(converted.error_details()));
  EXPECT_EQ(details.code(), 3);
  EXPECT_EQ(details.message(), "a: bad a");
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(1).field(), "b");

  EXPECT_THAT(FieldViolationsOf(FromGrpcStatus(converted)),
              ElementsAre(FieldViolation{"a", "bad a"}, FieldViolation{"b", "bad b"}));
}

TEST_F(StatusTest, ErrorInfoReasonIsUpperSnakeAndRoundTrips) {
  absl::Status status = WithErrorInfo(absl::NotFoundError("no such user"), "user not-found",
                                      "identity.suite", {{"user_id", "42"}});
  absl::Status back = FromGrpcStatus(ToGrpcStatus(status));
  EXPECT_EQ(back.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(back.message(), "no such user");
  absl::optional<ErrorInfo> info = ErrorInfoOf(back);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "USER_NOT_FOUND");
  EXPECT_EQ(info->domain, "identity.suite");
  EXPECT_EQ(info->metadata.at("user_id"), "42");
}

TEST_F(StatusTest, RetryInfoIsAStandardDetailThatRoundTripsToTheNanosecond) {
  absl::Status status = WithRetryInfo(
      WithErrorInfo(absl::ResourceExhaustedError("slow down"), "THROTTLED", "identity.suite"),
      absl::Seconds(901) + absl::Nanoseconds(5));
  grpc::Status converted = ToGrpcStatus(status);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(converted.error_details()));
  google::rpc::RetryInfo retry;
  bool found = false;
  for (const auto& any : details.details()) {
    if (any.type_url() == "type.googleapis.com/google.rpc.RetryInfo") {
      found = retry.ParseFromString(any.value());
    }
  }
  ASSERT_TRUE(found);
  EXPECT_EQ(retry.retry_delay().seconds(), 901);
  EXPECT_EQ(retry.retry_delay().nanos(), 5);
  absl::Status back = FromGrpcStatus(converted);
  EXPECT_EQ(RetryDelayOf(back), absl::Seconds(901) + absl::Nanoseconds(5));
  EXPECT_EQ(ErrorInfoOf(back)->reason, "THROTTLED");
  EXPECT_FALSE(RetryDelayOf(absl::ResourceExhaustedError("no detail")).has_value());
}

TEST_F(StatusTest, HelpersLeaveOkUntouched) {
  EXPECT_TRUE(WithRetryInfo(absl::OkStatus(), absl::Seconds(1)).ok());
  EXPECT_TRUE(WithErrorInfo(absl::OkStatus(), "X", "d").ok());
  EXPECT_TRUE(WithFieldViolation(absl::OkStatus(), "f", "d").ok());
}

TEST_F(StatusTest, NonGoogleRpcPayloadsStayOnTheServer) {
  absl::Status status = absl::AlreadyExistsError("duplicate");
  status.SetPayload("suite.db.sqlstate", absl::Cord("23505"));
  grpc::Status converted = ToGrpcStatus(status);
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(converted.error_details().empty());
}

TEST_F(StatusTest, LongMessagesAreCutAtACharacterBoundary) {
  std::string message(kMaxClientMessageBytes - 1, 'a');
  message += "\xC3\xA9\xC3\xA9";  // "éé": the cut would fall inside the first one
  grpc::Status converted = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_EQ(converted.error_message(), std::string(kMaxClientMessageBytes - 1, 'a'));
}

TEST_F(StatusTest, InternalMessageAndDetailsAreScrubbedAndLogged) {
  absl::Status status = WithErrorInfo(
      absl::InternalError("relation \"identity.users\" does not exist"), "DB", "db");
  status.SetPayload("suite.db.sqlstate", absl::Cord("42P01"));
  grpc::Status converted = ToGrpcStatus(status, "0b7c3a8e-61a4-4b35-8f61-0c6a4c1d1b2e");
  EXPECT_EQ(converted.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(converted.error_message(),
            "internal error (request id 0b7c3a8e-61a4-4b35-8f61-0c6a4c1d1b2e)");
  EXPECT_THAT(converted.error_message(), Not(HasSubstr("identity.users")));
  EXPECT_TRUE(converted.error_details().empty());

  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_THAT(logs_[0], HasSubstr("\"event\":\"rpc.internal_error\""));
  EXPECT_THAT(logs_[0], HasSubstr("identity.users"));
  EXPECT_THAT(logs_[0], HasSubstr("42P01"));
  EXPECT_THAT(logs_[0], HasSubstr("0b7c3a8e-61a4-4b35-8f61-0c6a4c1d1b2e"));
}

TEST_F(StatusTest, UnknownAndDataLossAreScrubbedToo) {
  EXPECT_EQ(ToGrpcStatus(absl::UnknownError("commit in doubt on 10.0.0.3")).error_message(),
            kInternalErrorMessage);
  EXPECT_EQ(ToGrpcStatus(absl::DataLossError("page checksum")).error_message(),
            kInternalErrorMessage);
  EXPECT_EQ(logs_.size(), 2u);
}

TEST_F(StatusTest, NonInternalErrorsAreNotLogged) {
  ToGrpcStatus(absl::NotFoundError("x"));
  EXPECT_THAT(logs_, IsEmpty());
}

TEST_F(StatusTest, FromGrpcStatusToleratesGarbageDetails) {
  absl::Status back =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down", "\xff\xff not proto"));
  EXPECT_EQ(back.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(back.message(), "down");
  EXPECT_FALSE(ErrorInfoOf(back).has_value());
}

}  // namespace
}  // namespace suite::rpc

// The log calls of protobuf, gRPC and abseil, made the way those libraries make them, arrive in
// the suite's log as JSON lines naming the library, severity, source and message.
#include "shared/rpc/server/library_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/grpc.h>
#include <grpc/support/log.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/base/internal/raw_logging.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "shared/base/json_log.h"

namespace suite::rpc {
namespace {

using ::testing::HasSubstr;

class LibraryLogTest : public ::testing::Test {
 protected:
  // gRPC reads GRPC_VERBOSITY when it is initialised, as it is in every server.
  static void SetUpTestSuite() { grpc_init(); }
  static void TearDownTestSuite() { grpc_shutdown(); }

  void SetUp() override {
    RouteLibraryLogsToJsonLog();
    SetLogSinkForTesting([this](const std::string& line) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(line);
    });
  }
  void TearDown() override { SetLogSinkForTesting(nullptr); }

  // Every line written so far, each parsed (a line that is not JSON fails the test).
  std::vector<nlohmann::json> Lines() {
    absl::MutexLock lock(&mu_);
    std::vector<nlohmann::json> parsed;
    for (const std::string& line : lines_) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(j.is_object()) << "not one JSON object: " << line;
      parsed.push_back(std::move(j));
    }
    return parsed;
  }

  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST_F(LibraryLogTest, ProtobufParseErrorOnInvalidUtf8IsAJsonLine) {
  // ErrorInfo.reason (field 1, proto3 string) holding bytes that are not UTF-8: the parse fails
  // and protobuf logs why, as it does for a request of any service.
  for (const std::string& bad : {std::string("\xff"), std::string("ok\xc3"),
                                 std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
    google::rpc::ErrorInfo info;
    const std::string wire = std::string("\x0a", 1) + static_cast<char>(bad.size()) + bad;
    EXPECT_FALSE(info.ParseFromString(wire));
  }
  std::vector<nlohmann::json> lines = Lines();
  ASSERT_EQ(lines.size(), 4u);
  for (const nlohmann::json& line : lines) {
    EXPECT_EQ(line["event"], "library_log");
    EXPECT_EQ(line["library"], "protobuf");
    EXPECT_EQ(line["severity"], "ERROR");
    EXPECT_THAT(line["message"].get<std::string>(), HasSubstr("invalid UTF-8"));
    EXPECT_THAT(line["message"].get<std::string>(), HasSubstr("google.rpc.ErrorInfo.reason"));
    EXPECT_TRUE(line.contains("file") && line.contains("line") && line.contains("time"));
  }
}

TEST_F(LibraryLogTest, ProtobufWarningsAndGrpcErrorsAreJsonLines) {
  GOOGLE_LOG(WARNING) << "a \"quoted\" warning\nover two lines \x01";
  gpr_log(GPR_ERROR, "grpc says %s with \xff byte", "no");
  std::vector<nlohmann::json> lines = Lines();
  ASSERT_EQ(lines.size(), 2u) << nlohmann::json(lines).dump();
  EXPECT_EQ(lines[0]["library"], "protobuf");
  EXPECT_EQ(lines[0]["severity"], "WARNING");
  EXPECT_THAT(lines[0]["message"].get<std::string>(), HasSubstr("over two lines"));
  EXPECT_EQ(lines[1]["library"], "grpc");
  EXPECT_EQ(lines[1]["severity"], "ERROR");
  EXPECT_THAT(lines[1]["message"].get<std::string>(), HasSubstr("grpc says no"));
  EXPECT_THAT(lines[1]["file"].get<std::string>(), HasSubstr("library_log_test.cc"));
}

TEST_F(LibraryLogTest, GrpcBelowItsVerbosityIsNotLogged) {
  // GRPC_VERBOSITY defaults to ERROR: routing does not make gRPC chattier.
  gpr_log(GPR_INFO, "routine detail");
  gpr_log(GPR_DEBUG, "more detail");
  EXPECT_TRUE(Lines().empty());
}

TEST_F(LibraryLogTest, AbslInternalLogIsAJsonLine) {
  ABSL_INTERNAL_LOG(WARNING, "abseil internal warning");
  std::vector<nlohmann::json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["library"], "absl");
  EXPECT_EQ(lines[0]["severity"], "WARNING");
  EXPECT_EQ(lines[0]["message"], "abseil internal warning");
}

}  // namespace
}  // namespace suite::rpc

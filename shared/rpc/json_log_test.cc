#include "shared/rpc/json_log.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace suite::rpc {
namespace {

class JsonLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSinkForTesting([this](const std::string& line) { lines_.push_back(line); });
  }
  void TearDown() override { SetLogSinkForTesting(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(JsonLogTest, StartupFailureIsOneErrorLineAndReturnsTheExitCode) {
  EXPECT_EQ(LogStartupFailure("billing", 2, "server config",
                              absl::InvalidArgumentError("BILLING_GRPC_PORT is not a port")),
            2);
  ASSERT_EQ(lines_.size(), 1u);
  const nlohmann::json line = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(line["severity"], "ERROR");
  EXPECT_EQ(line["event"], "billing.start_failed");
  EXPECT_EQ(line["what"], "server config");
  EXPECT_EQ(line["status"], "INVALID_ARGUMENT: BILLING_GRPC_PORT is not a port");
  EXPECT_TRUE(line.contains("time"));
}

TEST_F(JsonLogTest, InvalidUtf8IsReplacedNotThrown) {
  WriteLogLine({{"event", std::string("bad \xff byte")}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NO_THROW(nlohmann::json::parse(lines_[0]));
}

}  // namespace
}  // namespace suite::rpc

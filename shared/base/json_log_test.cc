#include "shared/base/json_log.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace suite {
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

TEST_F(JsonLogTest, DurationsPrintAsMillisecondsWithAtMostThreeDecimals) {
  WriteLogLine({{"latency_ms", LogMilliseconds(absl::Nanoseconds(6885602))},
                {"drain_ms", LogMilliseconds(absl::Microseconds(-1500))},
                {"whole_ms", LogMilliseconds(absl::Milliseconds(12))}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"latency_ms\":6.885,"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[0].find("\"drain_ms\":-1.5,"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[0].find("\"whole_ms\":12.0"), std::string::npos) << lines_[0];
}

TEST_F(JsonLogTest, NoDurationPrintsALongRunOfDigits) {
  // Every microsecond count up to 10 s: none may print more than three decimals, the property
  // that keeps card-number scanners quiet (tests/logs).
  for (int64_t us = 0; us <= 10'000'000; us += 7) {
    std::string text = nlohmann::json(LogMilliseconds(absl::Microseconds(us))).dump();
    size_t dot = text.find('.');
    ASSERT_TRUE(dot == std::string::npos || text.size() - dot - 1 <= 3) << us << " -> " << text;
  }
}

}  // namespace
}  // namespace suite

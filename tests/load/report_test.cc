#include "tests/load/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace loadgen {
namespace {

using ::testing::HasSubstr;

RunResult Sample() {
  RunResult r;
  r.rpc = "ValidateSession";
  r.mode = "concurrency";
  r.concurrency = 32;
  r.seconds = 2.0;
  r.ok = 4000;
  r.errors["UNAVAILABLE"] = 3;
  r.errors["DEADLINE_EXCEEDED"] = 1;
  for (int i = 1; i <= 100; ++i) r.latency.Record(i * 10000);  // 0.01 .. 1 ms
  return r;
}

TEST(ReportTest, ThroughputCountsOnlySuccessfulCalls) {
  RunResult r = Sample();
  EXPECT_DOUBLE_EQ(r.throughput(), 2000.0);
  EXPECT_EQ(r.error_count(), 4);
  RunResult empty;
  EXPECT_EQ(empty.throughput(), 0.0);
}

TEST(ReportTest, CodeNamesMatchGrpc) {
  EXPECT_EQ(CodeName(0), "OK");
  EXPECT_EQ(CodeName(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(CodeName(14), "UNAVAILABLE");
  EXPECT_EQ(CodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(CodeName(42), "CODE_42");
}

TEST(ReportTest, TableHasHeaderAndOneRowPerResultWithCodes) {
  RunResult a = Sample();
  RunResult b = Sample();
  b.rpc = "Login";
  b.mode = "rate";
  b.target_rate = 150;
  b.errors.clear();
  const std::string table = FormatTable({a, b});
  EXPECT_THAT(table, HasSubstr("p99 ms"));
  EXPECT_THAT(table, HasSubstr("ValidateSession"));
  EXPECT_THAT(table, HasSubstr("2000.0"));
  EXPECT_THAT(table, HasSubstr("DEADLINE_EXCEEDED=1 UNAVAILABLE=3"));
  EXPECT_THAT(table, HasSubstr("Login"));
  EXPECT_THAT(table, HasSubstr("150"));
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 3);
}

TEST(ReportTest, JsonCarriesLatenciesInMillisecondsAndErrorsByCode) {
  const nlohmann::json j = ToJson(Sample());
  EXPECT_EQ(j["rpc"], "ValidateSession");
  EXPECT_EQ(j["ok"], 4000);
  EXPECT_EQ(j["error_count"], 4);
  EXPECT_EQ(j["errors"]["UNAVAILABLE"], 3);
  EXPECT_DOUBLE_EQ(j["throughput"].get<double>(), 2000.0);
  EXPECT_NEAR(j["latency_ms"]["p50"].get<double>(), 0.5, 0.5 * 0.016);
  EXPECT_NEAR(j["latency_ms"]["p99"].get<double>(), 0.99, 0.99 * 0.016);
  EXPECT_DOUBLE_EQ(j["latency_ms"]["max"].get<double>(), 1.0);
}

}  // namespace
}  // namespace loadgen

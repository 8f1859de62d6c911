// The registry's text exposition (format 0.0.4), compared as exact text, and its rules.
#include "shared/metrics/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace suite::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersGaugesAndHistogramsExactly) {
  Registry registry;
  auto requests = registry.AddCounter("app_requests_total", "Requests served.", {"method", "code"});
  ASSERT_TRUE(requests.ok()) << requests.status();
  (*requests)->WithLabels({"Get", "OK"}).Increment();
  (*requests)->WithLabels({"Get", "OK"}).Increment(2);
  (*requests)->WithLabels({"Create", "NOT_FOUND"}).Increment();
  auto in_use = registry.AddGauge("app_in_use", "Things in use.");
  ASSERT_TRUE(in_use.ok());
  (*in_use)->WithLabels({}).Set(3);
  (*in_use)->WithLabels({}).Add(-0.5);
  auto latency = registry.AddHistogram("app_latency_seconds", "Latency.", {"method"}, {0.1, 1});
  ASSERT_TRUE(latency.ok());
  Histogram& get = (*latency)->WithLabels({"Get"});
  get.Observe(0.05);
  get.Observe(0.1);  // a bound is inclusive: counted in le="0.1"
  get.Observe(0.5);
  get.Observe(7);

  EXPECT_EQ(registry.Render(),
            "# HELP app_in_use Things in use.\n"
            "# TYPE app_in_use gauge\n"
            "app_in_use 2.5\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{method=\"Get\",le=\"0.1\"} 2\n"
            "app_latency_seconds_bucket{method=\"Get\",le=\"1\"} 3\n"
            "app_latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{method=\"Get\"} 7.65\n"
            "app_latency_seconds_count{method=\"Get\"} 4\n"
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"Create\",code=\"NOT_FOUND\"} 1\n"
            "app_requests_total{method=\"Get\",code=\"OK\"} 3\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto family = registry.AddCounter("x_total", "Line one\nback\\slash \"quoted\"", {"path"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"a\"b\\c\nd"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, FamiliesWithoutSeriesAreNotRendered) {
  Registry registry;
  ASSERT_TRUE(registry.AddCounter("unused_total", "Never incremented.", {"a"}).ok());
  EXPECT_EQ(registry.Render(), "");
}

TEST(MetricsTest, CounterIgnoresNegativeAndNanIncrements) {
  Counter counter;
  counter.Increment(5);
  counter.Increment(-2);
  counter.Increment(std::nan(""));
  EXPECT_EQ(counter.Value(), 5);
}

TEST(MetricsTest, FormatValueIsShortestRoundTripAndSpellsInfinities) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, SameDeclarationReturnsTheSameFamily) {
  Registry registry;
  auto first = registry.AddCounter("a_total", "A.", {"x"});
  auto second = registry.AddCounter("a_total", "A.", {"x"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(MetricsTest, ConflictingDeclarationIsAlreadyExists) {
  Registry registry;
  ASSERT_TRUE(registry.AddCounter("a_total", "A.", {"x"}).ok());
  EXPECT_EQ(registry.AddGauge("a_total", "A.", {"x"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddCounter("a_total", "A.", {"y"}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MetricsTest, BadNamesLabelsAndBucketsAreInvalidArgument) {
  Registry registry;
  EXPECT_EQ(registry.AddCounter("1abc", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("a-b", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "", {"__reserved"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "", {"a", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {"le"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "", {}, {1, std::numeric_limits<double>::infinity()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetricsTest, WrongNumberOfLabelValuesIsPaddedNotFatal) {
  Registry registry;
  auto family = registry.AddCounter("p_total", "P.", {"a", "b"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"only"}).Increment();
  (*family)->WithLabels({"x", "y", "z"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP p_total P.\n# TYPE p_total counter\n"
            "p_total{a=\"only\",b=\"\"} 1\n"
            "p_total{a=\"x\",b=\"y\"} 1\n");
}

TEST(MetricsTest, CollectorsRunBeforeEachRenderUntilRemoved) {
  Registry registry;
  auto gauge = registry.AddGauge("g", "G.");
  ASSERT_TRUE(gauge.ok());
  int runs = 0;
  int id = registry.AddCollector([&] { (*gauge)->WithLabels({}).Set(++runs); });
  EXPECT_THAT(registry.Render(), HasSubstr("\ng 1\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("\ng 2\n"));
  registry.RemoveCollector(id);
  EXPECT_THAT(registry.Render(), HasSubstr("\ng 2\n"));
  EXPECT_EQ(runs, 2);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  auto family = registry.AddCounter("c_total", "C.", {"t"});
  auto histogram = registry.AddHistogram("h_seconds", "H.");
  ASSERT_TRUE(family.ok() && histogram.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        (*family)->WithLabels({"same"}).Increment();
        (*histogram)->WithLabels({}).Observe(0.001);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ((*family)->WithLabels({"same"}).Value(), 40000);
  EXPECT_EQ((*histogram)->WithLabels({}).Read().count, 40000u);
}

}  // namespace
}  // namespace suite::metrics

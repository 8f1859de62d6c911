#include "tests/load/histogram.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace loadgen {
namespace {

TEST(HistogramTest, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(0.5), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.min(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.50), 50);
  EXPECT_EQ(h.Percentile(0.90), 90);
  EXPECT_EQ(h.Percentile(0.99), 99);
  EXPECT_EQ(h.Percentile(1.0), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 100);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(HistogramTest, LargeValuesAreWithinOnePointSixPercent) {
  Histogram h;
  // 1..10000 microseconds in nanoseconds: p50 = 5 ms, p99 = 9.9 ms.
  for (int64_t us = 1; us <= 10000; ++us) h.Record(us * 1000);
  const double p50 = static_cast<double>(h.Percentile(0.50));
  const double p99 = static_cast<double>(h.Percentile(0.99));
  EXPECT_NEAR(p50, 5e6, 5e6 * 0.016);
  EXPECT_NEAR(p99, 9.9e6, 9.9e6 * 0.016);
  // Never above the true maximum.
  EXPECT_EQ(h.Percentile(1.0), 10000 * 1000);
}

TEST(HistogramTest, BucketsAreContiguousAndBoundValues) {
  int previous = -1;
  for (int64_t v = 0; v < 1 << 20; v += 1 + v / 97) {
    const int b = Histogram::BucketOf(v);
    EXPECT_GE(b, previous) << v;
    EXPECT_LE(v, Histogram::BucketUpper(b)) << v;
    if (b > 0) {
      EXPECT_GT(v, Histogram::BucketUpper(b - 1)) << v;
    }
    previous = b;
  }
  EXPECT_LT(Histogram::BucketOf(INT64_MAX), 64 * 64 + 128);
}

TEST(HistogramTest, OutlierShowsInMaxAndTopPercentileOnly) {
  Histogram h;
  for (int i = 0; i < 999; ++i) h.Record(1000000);  // 1 ms
  h.Record(500000000);                               // one 500 ms call
  EXPECT_NEAR(h.Percentile(0.99), 1e6, 1e6 * 0.016);
  EXPECT_EQ(h.max(), 500000000);
  EXPECT_EQ(h.Percentile(1.0), 500000000);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = (i * 7919) % 100000;
    (i % 2 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.Percentile(q), all.Percentile(q)) << q;
}

TEST(HistogramTest, NegativeValuesCountAsZero) {
  Histogram h;
  h.Record(-5);
  EXPECT_EQ(h.count(), 1);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Percentile(0.5), 0);
}

}  // namespace
}  // namespace loadgen

#include "tests/load/pacer.h"

#include <gtest/gtest.h>

namespace loadgen {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(PacerTest, CallsAreEvenlySpacedAtTheRate) {
  Pacer pacer(kStart, 400.0);  // one call every 2.5 ms
  EXPECT_EQ(pacer.Due(0), kStart);
  EXPECT_EQ(pacer.Due(1), kStart + absl::Microseconds(2500));
  EXPECT_EQ(pacer.Due(400), kStart + absl::Seconds(1));
}

TEST(PacerTest, DueByCountsCallsThatShouldHaveStarted) {
  Pacer pacer(kStart, 100.0);
  EXPECT_EQ(pacer.DueBy(kStart - absl::Milliseconds(1)), 0);
  EXPECT_EQ(pacer.DueBy(kStart), 1);  // call 0 is due at once
  EXPECT_EQ(pacer.DueBy(kStart + absl::Milliseconds(9)), 1);
  EXPECT_EQ(pacer.DueBy(kStart + absl::Milliseconds(10)), 2);
  EXPECT_EQ(pacer.DueBy(kStart + absl::Seconds(10)), 1001);
}

TEST(PacerTest, ScheduleDoesNotDriftOverManyCalls) {
  // 3 calls/s cannot be represented exactly in nanoseconds per call; the schedule is computed
  // from the start each time, so call 3000 is still at exactly 1000 s.
  Pacer pacer(kStart, 3.0);
  EXPECT_EQ(pacer.Due(3000), kStart + absl::Seconds(1000));
  EXPECT_EQ(pacer.DueBy(pacer.Due(2999)), 3000);
}

TEST(PacerTest, FractionalRatesWork) {
  Pacer pacer(kStart, 0.5);  // one call every 2 s
  EXPECT_EQ(pacer.Due(1), kStart + absl::Seconds(2));
  EXPECT_EQ(pacer.DueBy(kStart + absl::Seconds(3)), 2);
}

}  // namespace
}  // namespace loadgen

#include "shared/api/timestamp.h"

#include "gtest/gtest.h"

namespace suite::api {
namespace {

TEST(TimestampTest, KeepsMicrosecondsAndRoundTrips) {
  const absl::Time t = absl::FromUnixMicros(1800000000123456);
  google::protobuf::Timestamp ts;
  SetTimestamp(t + absl::Nanoseconds(789), &ts);
  EXPECT_EQ(ts.seconds(), 1800000000);
  EXPECT_EQ(ts.nanos(), 123456000);
  EXPECT_EQ(TimeFromTimestamp(ts), t);
}

TEST(TimestampTest, TimesBefore1970HaveNonNegativeNanos) {
  const absl::Time t = absl::FromUnixMicros(-1500000);  // 1.5 s before the epoch
  google::protobuf::Timestamp ts;
  SetTimestamp(t, &ts);
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 500000000);
  EXPECT_EQ(TimeFromTimestamp(ts), t);
}

TEST(TimestampTest, ReadsNanoseconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(10);
  ts.set_nanos(7);
  EXPECT_EQ(TimeFromTimestamp(ts), absl::FromUnixSeconds(10) + absl::Nanoseconds(7));
}

}  // namespace
}  // namespace suite::api

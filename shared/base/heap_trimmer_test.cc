#include "shared/base/heap_trimmer.h"

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shared/base/testing/fragmented_heap.h"

namespace suite {
namespace {

using ::suite::testing::FragmentedHeap;
using ::suite::testing::ResidentBytes;
using ::suite::testing::WaitForResidentAtMost;

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kBurst = 32 * kMiB;

TEST(HeapTrimmerTest, TrimNowGivesTheFreedMiddleOfTheHeapBack) {
  const int64_t before = ResidentBytes();
  FragmentedHeap heap(kBurst);
  const int64_t after_burst = ResidentBytes();
  // The premise: malloc kept the freed blocks resident.
  ASSERT_GE(after_burst - before, kBurst / 2);

  EXPECT_TRUE(HeapTrimmer::TrimNow());

  EXPECT_LE(ResidentBytes(), after_burst - kBurst / 2);
}

TEST(HeapTrimmerTest, TrimsOnItsOwnEveryInterval) {
  const int64_t before = ResidentBytes();
  FragmentedHeap heap(kBurst);
  const int64_t after_burst = ResidentBytes();
  ASSERT_GE(after_burst - before, kBurst / 2);

  HeapTrimmer trimmer(absl::Milliseconds(20));

  EXPECT_LE(WaitForResidentAtMost(after_burst - kBurst / 2, absl::Seconds(10)),
            after_burst - kBurst / 2);
}

TEST(HeapTrimmerTest, StopsWithoutWaitingForItsInterval) {
  const absl::Time start = absl::Now();
  { HeapTrimmer trimmer(absl::Hours(1)); }
  // A generous bound: the alternative is an hour.
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

}  // namespace
}  // namespace suite

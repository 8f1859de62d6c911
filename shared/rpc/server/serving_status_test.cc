#include "shared/rpc/server/serving_status.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace suite::rpc {
namespace {

// Collects on_change calls and lets a test wait for a given number of them.
class Changes {
 public:
  void Add(bool serving) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(serving);
  }
  std::vector<bool> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return seen_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
    return seen_;
  }

 private:
  absl::Mutex mu_;
  std::vector<bool> seen_;
};

TEST(ServingStatusFollowerTest, ReportsFirstResultThenOnlyChanges) {
  std::atomic<bool> healthy{true};
  std::atomic<int> probes{0};
  Changes changes;
  ServingStatusFollower follower(
      [&] {
        ++probes;
        return healthy.load();
      },
      absl::Milliseconds(10), [&](bool serving) { changes.Add(serving); });

  EXPECT_EQ(changes.WaitFor(1), std::vector<bool>({true}));
  healthy = false;
  EXPECT_EQ(changes.WaitFor(2), std::vector<bool>({true, false}));
  healthy = true;
  EXPECT_EQ(changes.WaitFor(3), std::vector<bool>({true, false, true}));
  int before = probes.load();
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_GT(probes.load(), before);  // still probing
  EXPECT_EQ(changes.WaitFor(3).size(), 3u);  // but no repeated reports
  EXPECT_EQ(follower.Last(), absl::optional<bool>(true));
}

TEST(ServingStatusFollowerTest, StopEndsProbingPromptlyDespiteLongInterval) {
  std::atomic<int> probes{0};
  Changes changes;
  ServingStatusFollower follower([&] { return ++probes > 0; }, absl::Hours(1),
                                 [&](bool serving) { changes.Add(serving); });
  changes.WaitFor(1);
  absl::Time start = absl::Now();
  follower.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(probes.load(), 1);
  follower.Stop();  // idempotent
}

}  // namespace
}  // namespace suite::rpc

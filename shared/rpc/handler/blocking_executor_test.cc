// The executor on its own: FIFO order, real parallelism up to its size, and nothing queued is
// dropped by the destructor. Its use under the callback API is in server_test.cc.
#include "shared/rpc/handler/blocking_executor.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace suite::rpc {
namespace {

TEST(BlockingExecutorTest, OneThreadRunsWorkInSubmissionOrder) {
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification started, gate;
  {
    BlockingExecutor executor("fifo", 1);
    executor.Submit([&] {
      started.Notify();
      gate.WaitForNotification();
    });
    started.WaitForNotification();
    for (int i = 0; i < 100; ++i) {
      executor.Submit([&, i] {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      });
    }
    EXPECT_EQ(executor.queued(), 100u);
    gate.Notify();
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(BlockingExecutorTest, RunsAsManyItemsAtOnceAsItHasThreads) {
  BlockingExecutor executor("parallel", 4);
  EXPECT_EQ(executor.max_threads(), 4);
  absl::BlockingCounter all_four_running(4);
  absl::Notification release;
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    executor.Submit([&] {
      all_four_running.DecrementCount();
      release.WaitForNotification();
      done.fetch_add(1);
    });
  }
  // Returns only if the four items run at the same time.
  all_four_running.Wait();
  release.Notify();
  while (done.load() < 4) absl::SleepFor(absl::Milliseconds(1));
}

TEST(BlockingExecutorTest, ASubmittedItemWaitsWhileEveryThreadIsBusy) {
  BlockingExecutor executor("busy", 2);
  absl::Notification release;
  absl::BlockingCounter both_busy(2);
  for (int i = 0; i < 2; ++i) {
    executor.Submit([&] {
      both_busy.DecrementCount();
      release.WaitForNotification();
    });
  }
  both_busy.Wait();
  absl::Notification third_ran;
  executor.Submit([&] { third_ran.Notify(); });
  EXPECT_FALSE(third_ran.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  EXPECT_EQ(executor.queued(), 1u);
  release.Notify();
  EXPECT_TRUE(third_ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST(BlockingExecutorTest, StartsThreadsOnlyAsQueuedWorkNeedsThemAndNeverBeyondTheBound) {
  BlockingExecutor executor("lazy", 3);
  EXPECT_EQ(executor.started_threads(), 0);

  absl::Notification first_done;
  executor.Submit([&] { first_done.Notify(); });
  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(executor.started_threads(), 1);

  absl::Notification release;
  absl::BlockingCounter running(3);
  for (int i = 0; i < 5; ++i) {
    executor.Submit([&, i] {
      if (i < 3) running.DecrementCount();
      release.WaitForNotification();
    });
  }
  running.Wait();
  EXPECT_EQ(executor.started_threads(), 3);
  release.Notify();
}

TEST(BlockingExecutorTest, DestructorRunsEverythingQueuedBeforeReturning) {
  std::atomic<int> ran{0};
  {
    BlockingExecutor executor("drain", 2);
    for (int i = 0; i < 1000; ++i) executor.Submit([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(BlockingExecutorTest, ZeroOrNegativeSizeStillGetsOneThread) {
  BlockingExecutor zero("zero", 0);
  BlockingExecutor negative("negative", -3);
  EXPECT_EQ(zero.max_threads(), 1);
  EXPECT_EQ(negative.max_threads(), 1);
  absl::Notification ran;
  zero.Submit([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

}  // namespace
}  // namespace suite::rpc

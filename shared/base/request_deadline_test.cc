// A scope sets the calling thread's request deadline and abandonment probe, nests, restores
// the previous one, and is invisible to other threads.
#include "shared/base/request_deadline.h"

#include <gtest/gtest.h>

#include <thread>

namespace suite {
namespace {

TEST(RequestDeadlineTest, NoScopeMeansNoDeadline) {
  EXPECT_EQ(CurrentRequestDeadline(), absl::InfiniteFuture());
}

TEST(RequestDeadlineTest, ScopesNestAndRestoreThePreviousDeadline) {
  const absl::Time outer = absl::FromUnixSeconds(2000000000);
  const absl::Time inner = absl::FromUnixSeconds(2000000001);
  {
    ScopedRequestDeadline a(outer);
    EXPECT_EQ(CurrentRequestDeadline(), outer);
    {
      ScopedRequestDeadline b(inner);
      EXPECT_EQ(CurrentRequestDeadline(), inner);
    }
    EXPECT_EQ(CurrentRequestDeadline(), outer);
  }
  EXPECT_EQ(CurrentRequestDeadline(), absl::InfiniteFuture());
}

TEST(RequestDeadlineTest, TheInnermostScopesProbeSaysWhetherTheCallerIsGone) {
  EXPECT_FALSE(CurrentRequestAbandoned());
  bool gone = false;
  {
    ScopedRequestDeadline outer(absl::InfiniteFuture(), [&] { return gone; });
    EXPECT_FALSE(CurrentRequestAbandoned());
    gone = true;
    EXPECT_TRUE(CurrentRequestAbandoned());
    {
      ScopedRequestDeadline inner(absl::InfiniteFuture());  // no probe: never abandoned
      EXPECT_FALSE(CurrentRequestAbandoned());
    }
    EXPECT_TRUE(CurrentRequestAbandoned());
  }
  EXPECT_FALSE(CurrentRequestAbandoned());
}

TEST(RequestDeadlineTest, AScopeAppliesOnlyToItsOwnThread) {
  ScopedRequestDeadline scope(absl::FromUnixSeconds(2000000000));
  absl::Time seen_elsewhere;
  std::thread other([&] { seen_elsewhere = CurrentRequestDeadline(); });
  other.join();
  EXPECT_EQ(seen_elsewhere, absl::InfiniteFuture());
}

}  // namespace
}  // namespace suite

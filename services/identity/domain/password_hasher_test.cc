// argon2id hashing: round trip, parameter upgrades, and the bounded pool refusing a flood.
#include "services/identity/domain/password_hasher.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "shared/base/request_deadline.h"

namespace suite::identity {
namespace {

PasswordHasherOptions Fast() { return PasswordHasherOptions{1, 8192, 2, 16}; }

TEST(PasswordHasherTest, HashIsArgon2idAndVerifiesOnlyTheRightPassword) {
  auto hasher = PasswordHasher::Create(Fast());
  ASSERT_TRUE(hasher.ok()) << hasher.status();
  auto hash = (*hasher)->Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(*(*hasher)->Verify(*hash, "correct horse battery staple"));
  EXPECT_FALSE(*(*hasher)->Verify(*hash, "correct horse battery stapler"));
  EXPECT_FALSE(*(*hasher)->Verify("not a hash", "x"));
  // Two hashes of one password differ (random salt).
  EXPECT_NE(*hash, *(*hasher)->Hash("correct horse battery staple"));
}

TEST(PasswordHasherTest, DummyHashMatchesNothingButUsesTheConfiguredParameters) {
  auto hasher = PasswordHasher::Create(Fast());
  ASSERT_TRUE(hasher.ok());
  EXPECT_FALSE(*(*hasher)->Verify((*hasher)->DummyHash(), ""));
  EXPECT_FALSE((*hasher)->NeedsRehash((*hasher)->DummyHash()));
}

TEST(PasswordHasherTest, HashesWithOtherParametersNeedRehash) {
  auto weak = PasswordHasher::Create(Fast());
  PasswordHasherOptions strong_options = Fast();
  strong_options.opslimit = 2;
  auto strong = PasswordHasher::Create(strong_options);
  ASSERT_TRUE(weak.ok() && strong.ok());
  auto hash = (*weak)->Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE((*strong)->NeedsRehash(*hash));
  EXPECT_FALSE((*weak)->NeedsRehash(*hash));
  EXPECT_TRUE((*strong)->NeedsRehash("$2b$10$bcrypt-style"));
}

TEST(PasswordHasherTest, DefaultsHashWithOwaspsTwelveMebibyteSetting) {
  auto hasher = PasswordHasher::Create(PasswordHasherOptions{});
  ASSERT_TRUE(hasher.ok()) << hasher.status();
  absl::StatusOr<std::string> hash = (*hasher)->Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_NE(hash->find("$m=12288,t=3,p=1$"), std::string::npos) << *hash;
}

TEST(PasswordHasherTest, RejectsParametersLibsodiumRefuses) {
  EXPECT_EQ(PasswordHasher::Create({0, 8192, 1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PasswordHasher::Create({1, 100, 1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PasswordHasher::Create({1, 8192, 0, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PasswordHasherTest, AFloodBeyondTheQueueIsRefusedWithResourceExhausted) {
  // One worker, one waiting slot, and hashes slow enough (16 MiB, t = 3) to pile up.
  auto hasher = PasswordHasher::Create({3, 16u * 1024 * 1024, 1, 1});
  ASSERT_TRUE(hasher.ok());
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto hash = (*hasher)->Hash("correct horse battery staple");
      if (hash.ok()) {
        ++ok;
      } else if (absl::IsResourceExhausted(hash.status())) {
        ++exhausted;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_GE(exhausted.load(), 1);
  EXPECT_EQ(other.load(), 0);
}

// The worker asks the waiting call's request scope before it starts: a call whose client left
// (or that a drain cancelled), or whose deadline passed in the queue, costs no hash.
TEST(PasswordHasherTest, ACallAbandonedOrPastItsDeadlineBeforeAWorkerTakesItIsNotHashed) {
  auto hasher = PasswordHasher::Create(Fast());
  ASSERT_TRUE(hasher.ok());
  auto hash = (*hasher)->Hash("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  {
    suite::ScopedRequestDeadline gone(absl::Now() + absl::Seconds(10), [] { return true; });
    EXPECT_EQ((*hasher)->Hash("x").status().code(), absl::StatusCode::kCancelled);
    EXPECT_EQ((*hasher)->Verify(*hash, "correct horse battery staple").status().code(),
              absl::StatusCode::kCancelled);
  }
  {
    suite::ScopedRequestDeadline late(absl::Now() - absl::Milliseconds(1));
    EXPECT_EQ((*hasher)->Hash("x").status().code(), absl::StatusCode::kDeadlineExceeded);
    EXPECT_EQ((*hasher)->Verify(*hash, "correct horse battery staple").status().code(),
              absl::StatusCode::kDeadlineExceeded);
  }
  {
    suite::ScopedRequestDeadline live(absl::Now() + absl::Seconds(10), [] { return false; });
    auto verified = (*hasher)->Verify(*hash, "correct horse battery staple");
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_TRUE(*verified);
  }
}

}  // namespace
}  // namespace suite::identity

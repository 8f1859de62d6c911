// The identity service's environment settings: defaults meet OWASP, weaker hashing and
// half-configured bootstrap are refused with the variable named.
#include "services/identity/config.h"

#include <map>

#include <gtest/gtest.h>

namespace suite::identity {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(IdentityConfigTest, DefaultsMeetOwaspArgon2idMinimum) {
  auto c = LoadIdentityConfig(Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hasher.opslimit, 3u);
  EXPECT_EQ(c->hasher.memlimit, 12u * 1024 * 1024);
  EXPECT_TRUE(c->bootstrap_admin_email.empty());
}

TEST(IdentityConfigTest, ReadsEverySetting) {
  auto c = LoadIdentityConfig(Env({{"IDENTITY_ARGON2_OPSLIMIT", "3"},
                                   {"IDENTITY_ARGON2_MEMLIMIT_KIB", "65536"},
                                   {"IDENTITY_SESSION_IDLE_TIMEOUT", "30m"},
                                   {"IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL", "7"},
                                   {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"},
                                   {"IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "a long password!"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hasher.opslimit, 3u);
  EXPECT_EQ(c->hasher.memlimit, 64u * 1024 * 1024);
  EXPECT_EQ(c->identity.session_idle_timeout, absl::Minutes(30));
  EXPECT_EQ(c->identity.login_limits.max_failures_per_email, 7);
  EXPECT_EQ(c->bootstrap_admin_email, "root@example.com");
}

TEST(IdentityConfigTest, TrustedPeersAreAListOfAddressesAndBlocks) {
  auto c = LoadIdentityConfig(
      Env({{"IDENTITY_TRUSTED_PEERS", "10.0.0.7, 10.244.0.0/16, ::1,fd00::/8"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->trusted_peers,
            (std::set<std::string>{"10.0.0.7", "10.244.0.0/16", "::1", "fd00::/8"}));
  EXPECT_TRUE(LoadIdentityConfig(Env({}))->trusted_peers.empty());
  for (const std::string bad : {"localhost", "10.0.0.0/33", "10.0.0.7,frontend"}) {
    c = LoadIdentityConfig(Env({{"IDENTITY_TRUSTED_PEERS", bad}}));
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(c.status().message().find("IDENTITY_TRUSTED_PEERS"), absl::string_view::npos);
  }
}

TEST(IdentityConfigTest, LoginDelaysDefaultToBackoffNotLockOut) {
  auto c = LoadIdentityConfig(Env({}));
  ASSERT_TRUE(c.ok()) << c.status();
  const LoginLimits& l = c->identity.login_limits;
  EXPECT_EQ(l.free_failures, 5);
  EXPECT_EQ(l.base_delay, absl::Seconds(1));
  EXPECT_EQ(l.max_delay, absl::Minutes(15));
  EXPECT_EQ(l.pair_window, absl::Hours(24));
  EXPECT_EQ(l.max_failures_per_email, 100);
  EXPECT_EQ(l.max_failures_per_ip, 50);
  // 5 free, then 1, 2, 4, ... 512 s, then 15 minutes for good.
  EXPECT_EQ(l.PairDelay(4, false), absl::ZeroDuration());
  EXPECT_EQ(l.PairDelay(5, false), absl::Seconds(1));
  EXPECT_EQ(l.PairDelay(14, false), absl::Seconds(512));
  EXPECT_EQ(l.PairDelay(15, false), absl::Minutes(15));
  EXPECT_EQ(l.PairDelay(1000, false), absl::Minutes(15));
  EXPECT_EQ(l.PairDelay(1, true), absl::Minutes(15));
  EXPECT_EQ(l.PairDelay(0, true), absl::ZeroDuration());
  EXPECT_EQ(l.FailuresToReachMaxDelay(), 15);
}

TEST(IdentityConfigTest, ReadsLoginDelaysAndRefusesAPairWindowThatForgetsTooSoon) {
  auto c = LoadIdentityConfig(Env({{"IDENTITY_LOGIN_FREE_FAILURES", "0"},
                                   {"IDENTITY_LOGIN_BASE_DELAY", "2s"},
                                   {"IDENTITY_LOGIN_MAX_DELAY", "16s"},
                                   {"IDENTITY_LOGIN_PAIR_WINDOW", "1h"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  // base × 2^(failures − free failures), at most the maximum.
  EXPECT_EQ(c->identity.login_limits.PairDelay(1, false), absl::Seconds(4));
  EXPECT_EQ(c->identity.login_limits.PairDelay(2, false), absl::Seconds(8));
  EXPECT_EQ(c->identity.login_limits.PairDelay(5, false), absl::Seconds(16));
  // At 15 minutes a pair needs 15 failures to reach it: a pair window under 16 × 15 minutes
  // would let a patient guesser's failures age out and the delay fall back.
  c = LoadIdentityConfig(Env({{"IDENTITY_LOGIN_PAIR_WINDOW", "3h"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("IDENTITY_LOGIN_PAIR_WINDOW"), absl::string_view::npos);
  EXPECT_TRUE(LoadIdentityConfig(Env({{"IDENTITY_LOGIN_PAIR_WINDOW", "4h"}})).ok());
  c = LoadIdentityConfig(
      Env({{"IDENTITY_LOGIN_BASE_DELAY", "1h"}, {"IDENTITY_LOGIN_MAX_DELAY", "1m"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("IDENTITY_LOGIN_BASE_DELAY"), absl::string_view::npos);
  c = LoadIdentityConfig(Env({{"IDENTITY_LOGIN_FREE_FAILURES", "-1"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdentityConfigTest, AcceptsEachOfOwaspsEqualArgon2idSettings) {
  for (const auto& [mem_kib, passes] : std::map<std::string, std::string>{
           {"48128", "1"}, {"19456", "2"}, {"12288", "3"}, {"9216", "4"}, {"7168", "5"}}) {
    auto c = LoadIdentityConfig(Env({{"IDENTITY_ARGON2_MEMLIMIT_KIB", mem_kib},
                                     {"IDENTITY_ARGON2_OPSLIMIT", passes}}));
    EXPECT_TRUE(c.ok()) << mem_kib << " KiB, t = " << passes << ": " << c.status();
  }
}

TEST(IdentityConfigTest, RefusesHashingWeakerThanOwasp) {
  // One pass short of each OWASP setting names the passes.
  for (const auto& [mem_kib, passes] : std::map<std::string, std::string>{
           {"48128", "0"}, {"48127", "1"}, {"19456", "1"}, {"12288", "2"}, {"9216", "3"},
           {"7168", "4"}}) {
    auto c = LoadIdentityConfig(Env({{"IDENTITY_ARGON2_MEMLIMIT_KIB", mem_kib},
                                     {"IDENTITY_ARGON2_OPSLIMIT", passes}}));
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << mem_kib << "/" << passes;
    EXPECT_NE(c.status().message().find("IDENTITY_ARGON2_OPSLIMIT"), absl::string_view::npos)
        << c.status();
  }
  // Less memory than OWASP's smallest setting names the memory, whatever the passes.
  auto c = LoadIdentityConfig(Env({{"IDENTITY_ARGON2_MEMLIMIT_KIB", "7167"},
                                   {"IDENTITY_ARGON2_OPSLIMIT", "10"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("IDENTITY_ARGON2_MEMLIMIT_KIB"), absl::string_view::npos);
  // The default memory (12 MiB) needs three passes.
  c = LoadIdentityConfig(Env({{"IDENTITY_ARGON2_OPSLIMIT", "2"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdentityConfigTest, RefusesHalfABootstrapPairAndBadDurations) {
  auto c = LoadIdentityConfig(Env({{"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  c = LoadIdentityConfig(Env({{"IDENTITY_LOGIN_WINDOW", "soon"}}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("IDENTITY_LOGIN_WINDOW"), absl::string_view::npos);
}

}  // namespace
}  // namespace suite::identity

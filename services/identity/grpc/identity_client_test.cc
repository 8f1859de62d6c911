// //shared/clients/identity:identity_authenticator against the real identity service: callers, global roles, the TTL
// cache (ended by revocation events, not the TTL), answers from the cache alone for gRPC's threads,
// request-id propagation, and UNAVAILABLE without a hang when identity is down.
#include "shared/clients/identity/identity_authenticator.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/identity/grpc/test_helpers.h"
#include "shared/base/json_log.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;
using suite::identity_client::IdentityAuthenticator;
using suite::identity_client::IdentityAuthenticatorOptions;
using suite::rpc::RequestContext;

class IdentityClientTest : public IdentityServiceTest {
 protected:
  IdentityAuthenticatorOptions Options() {
    IdentityAuthenticatorOptions o;
    o.now = [this] {
      absl::MutexLock lock(&mu_);
      return now_;
    };
    return o;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1800000000);
};

TEST_F(IdentityClientTest, AuthenticateReturnsTheCallerWithGlobalRolesOnly) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  pb::CreateAccountRequest account;
  account.set_name("Acme");
  pb::CreateAccountResponse created;
  ASSERT_TRUE(client_->stub().CreateAccount(Client::Bearer(ada).get(), account, &created).ok());

  IdentityAuthenticator auth(server_->channel(), Options());
  auto caller = auth.Authenticate(ada, RequestContext::ForBackgroundWork());
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->user_id, ada_id);
  EXPECT_FALSE(caller->session_id.empty());
  EXPECT_EQ(caller->roles, std::vector<std::string>{"member"});  // not the account-scoped one
  auto scoped = auth.ValidateScoped(ada, RequestContext::ForBackgroundWork());
  ASSERT_TRUE(scoped.ok());
  EXPECT_EQ(scoped->role_grants.size(), 2u);
}

TEST_F(IdentityClientTest, ACachedSessionIsRefusedOnceLoggedOutNotAfterTheTtl) {
  const std::string ada = client_->MemberToken("ada@example.com");
  IdentityAuthenticator auth(server_->channel(), Options());
  ASSERT_TRUE(auth.WaitSubscribed(absl::Seconds(5)));
  ASSERT_TRUE(auth.Authenticate(ada, RequestContext::ForBackgroundWork()).ok());
  EXPECT_EQ(auth.CachedEntries(), 1u);
  pb::LogoutResponse out;
  ASSERT_TRUE(client_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());
  // The clock stands still: only the revocation event can end the cached answer.
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  absl::StatusCode code = absl::StatusCode::kOk;
  while (absl::Now() < deadline) {
    code = auth.Authenticate(ada, RequestContext::ForBackgroundWork()).status().code();
    if (code != absl::StatusCode::kOk) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(code, absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.CachedEntries(), 0u);
}

TEST_F(IdentityClientTest, UnknownTokensAreUnauthenticatedAndNotCached) {
  IdentityAuthenticator auth(server_->channel(), Options());
  EXPECT_EQ(auth.Authenticate(std::string(43, 'A'), RequestContext::ForBackgroundWork())
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("", RequestContext::ForBackgroundWork()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.CachedEntries(), 0u);
}

TEST_F(IdentityClientTest, AuthenticateIfCachedAnswersFromTheCacheOnlyAndNeverCallsIdentity) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  IdentityAuthenticator auth(server_->channel(), Options());
  ASSERT_TRUE(auth.WaitSubscribed(absl::Seconds(5)));
  const RequestContext rc = RequestContext::ForBackgroundWork();
  EXPECT_FALSE(auth.AuthenticateIfCached(ada, rc).has_value());  // not asked yet: no answer
  EXPECT_EQ(auth.CachedEntries(), 0u);                             // and nothing asked of identity
  absl::optional<absl::StatusOr<suite::rpc::Caller>> empty = auth.AuthenticateIfCached("", rc);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->status().code(), absl::StatusCode::kUnauthenticated);

  ASSERT_TRUE(auth.Authenticate(ada, rc).ok());
  absl::optional<absl::StatusOr<suite::rpc::Caller>> cached = auth.AuthenticateIfCached(ada, rc);
  ASSERT_TRUE(cached.has_value());
  ASSERT_TRUE(cached->ok()) << cached->status();
  EXPECT_EQ((*cached)->user_id, ada_id);
  EXPECT_EQ((*cached)->roles, std::vector<std::string>{"member"});

  Advance(absl::Seconds(6));  // past the 5 s TTL: the entry is dropped, not served
  ASSERT_TRUE(auth.WaitSubscribed(absl::Seconds(5)));  // heard from since the jump
  EXPECT_FALSE(auth.AuthenticateIfCached(ada, rc).has_value());
  EXPECT_EQ(auth.CachedEntries(), 0u);
}

TEST_F(IdentityClientTest, TheCacheIsBounded) {
  IdentityAuthenticatorOptions options = Options();
  options.max_entries = 2;
  IdentityAuthenticator auth(server_->channel(), options);
  ASSERT_TRUE(auth.WaitSubscribed(absl::Seconds(5)));
  for (int i = 0; i < 3; ++i) {
    const std::string token = client_->MemberToken("u" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(auth.Authenticate(token, RequestContext::ForBackgroundWork()).ok());
  }
  EXPECT_EQ(auth.CachedEntries(), 2u);
}

TEST_F(IdentityClientTest, TheCallersRequestIdReachesIdentity) {
  const std::string ada = client_->MemberToken("ada@example.com");
  std::vector<std::string> lines;
  absl::Mutex lines_mu;
  suite::SetLogSinkForTesting([&](const std::string& line) {
    absl::MutexLock lock(&lines_mu);
    lines.push_back(line);
  });
  IdentityAuthenticator auth(server_->channel(), Options());
  const std::string request_id = "5f0c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21";
  ASSERT_TRUE(auth.Authenticate(ada, RequestContext::ForBackgroundWork(request_id)).ok());
  // The server writes its per-RPC line as the call completes, possibly just after the client
  // got its answer: wait for it a little.
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    {
      absl::MutexLock lock(&lines_mu);
      for (const std::string& line : lines) {
        seen |= line.find(request_id) != std::string::npos &&
                line.find("ValidateSession") != std::string::npos;
      }
    }
    if (!seen) absl::SleepFor(absl::Milliseconds(10));
  }
  suite::SetLogSinkForTesting({});
  absl::MutexLock lock(&lines_mu);
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(ada), std::string::npos) << "the token must never be logged";
  }
  EXPECT_TRUE(seen);
}

TEST_F(IdentityClientTest, IdentityDownIsUnavailableWithinTheDeadline) {
  const std::string ada = client_->MemberToken("ada@example.com");
  IdentityAuthenticatorOptions options = Options();
  options.call_timeout = absl::Milliseconds(500);
  IdentityAuthenticator auth(server_->channel(), options);
  server_->Shutdown();
  const absl::Time start = absl::Now();
  EXPECT_EQ(auth.Authenticate(ada, RequestContext::ForBackgroundWork()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

}  // namespace
}  // namespace suite::identity::testing

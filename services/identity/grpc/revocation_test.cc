// Revocation reaches a caching caller at once: each revoking RPC, done on one identity replica,
// makes an IdentityAuthenticator subscribed (WatchRevocations) to the OTHER replica refuse the
// cached token well within the suite's bound, without waiting for its 5 s TTL; role changes
// refresh cached roles; an unsubscribed authenticator trusts no cached answer (and says so in
// its metrics); a replica restart resumes from the cursor without losing a revocation made
// meanwhile; a drain ends the streams at once; and the log is read by a transaction-id fence,
// so a revocation committed after a later-numbered one is still delivered. Real PostgreSQL,
// real gRPC servers (two replicas of identity on one database).
#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/identity/grpc/test_helpers.h"
#include "services/identity/storage/revocation_feed.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;
using suite::identity_client::IdentityAuthenticator;
using suite::identity_client::IdentityAuthenticatorOptions;
using suite::rpc::RequestContext;

// Well within: the suite's p99 bound is 100 ms; a loaded test machine gets this much slack.
constexpr absl::Duration kWithin = absl::Milliseconds(500);

class RevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = IdentityTestServer::Start();
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = *std::move(a);
    IdentityTestServerOptions replica;
    replica.shared_database = &a_->database();
    auto b = IdentityTestServer::Start(replica);
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = *std::move(b);
    on_a_ = std::make_unique<Client>(*a_);
    IdentityAuthenticatorOptions options;
    options.metrics = &registry_;
    auth_ = std::make_unique<IdentityAuthenticator>(b_->channel(), options);
    ASSERT_TRUE(auth_->WaitSubscribed(absl::Seconds(10)));
  }

  void TearDown() override {
    auth_.reset();
    b_.reset();
    a_.reset();
  }

  // Authenticates `token` through the authenticator until the answer is cached (an answer
  // whose call crossed any revocation event, e.g. the role grant of a sign-up, is not kept).
  void Warm(const std::string& token) {
    const absl::Time end = absl::Now() + absl::Seconds(2);
    while (absl::Now() < end) {
      ASSERT_TRUE(auth_->Authenticate(token, RequestContext::ForBackgroundWork()).ok());
      if (StillCachedAndValid(token)) return;
      absl::SleepFor(absl::Milliseconds(5));
    }
    FAIL() << "never cached";
  }

  // How long after now `token` is first refused UNAUTHENTICATED (InfiniteDuration if not
  // within 3 s), asking as a service does (cache first).
  absl::Duration TimeToRefusal(const std::string& token, absl::Time since) {
    while (absl::Now() - since < absl::Seconds(3)) {
      auto caller = auth_->Authenticate(token, RequestContext::ForBackgroundWork());
      if (caller.status().code() == absl::StatusCode::kUnauthenticated) return absl::Now() - since;
      EXPECT_TRUE(caller.ok()) << caller.status();
      absl::SleepFor(absl::Microseconds(500));
    }
    return absl::InfiniteDuration();
  }

  // Whether `token`'s answer is still in the cache: polled for up to 2 s, because a loaded
  // machine may delay a heartbeat past the silence limit, and while the stream is taken for
  // lost the cache is not trusted (AuthenticateIfCached answers nullopt). An evicted entry never
  // comes back without a call, so a false here is an eviction, not a slow stream.
  bool KeptInCache(const std::string& token) {
    const absl::Time end = absl::Now() + absl::Seconds(2);
    while (!StillCachedAndValid(token)) {
      if (absl::Now() >= end) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  bool StillCachedAndValid(const std::string& token) {
    auto cached = auth_->AuthenticateIfCached(token, RequestContext::ForBackgroundWork());
    return cached.has_value() && cached->ok();
  }

  double Metric(const std::string& name) {
    const std::string text = registry_.Render();
    const std::string prefix = name + " ";
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(pos, end - pos);
      if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(prefix.size()));
      pos = end + 1;
    }
    return -1;
  }

  suite::metrics::Registry registry_;
  std::unique_ptr<IdentityTestServer> a_, b_;
  std::unique_ptr<Client> on_a_;
  std::unique_ptr<IdentityAuthenticator> auth_;
};

TEST_F(RevocationTest, LogoutOnOneReplicaIsRefusedByACacheFollowingTheOther) {
  const std::string ada = on_a_->MemberToken("ada@example.com");
  const std::string bob = on_a_->MemberToken("bob@example.com");
  Warm(ada);
  Warm(bob);
  pb::LogoutResponse out;
  ASSERT_TRUE(on_a_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());
  EXPECT_LT(TimeToRefusal(ada, absl::Now()), kWithin);
  EXPECT_TRUE(KeptInCache(bob)) << "only the revoked session is dropped";
  EXPECT_GE(Metric("identity_client_revocations_total"), 1);
}

TEST_F(RevocationTest, RevokeSessionEndsTheCachedSession) {
  const std::string ada = on_a_->MemberToken("ada@example.com");
  Warm(ada);
  auto caller = auth_->Authenticate(ada, RequestContext::ForBackgroundWork());
  ASSERT_TRUE(caller.ok());
  pb::RevokeSessionRequest req;
  req.set_session_id(caller->session_id);
  pb::RevokeSessionResponse out;
  ASSERT_TRUE(on_a_->stub().RevokeSession(Client::Bearer(ada).get(), req, &out).ok());
  EXPECT_LT(TimeToRefusal(ada, absl::Now()), kWithin);
}

TEST_F(RevocationTest, RevokeAllSessionsEndsEveryCachedSessionOfTheUser) {
  std::string ada_id;
  const std::string first = on_a_->MemberToken("ada@example.com", &ada_id);
  const std::string second = on_a_->LoginToken("ada@example.com");
  const std::string bob = on_a_->MemberToken("bob@example.com");
  Warm(first);
  Warm(second);
  Warm(bob);
  pb::RevokeAllSessionsResponse out;
  ASSERT_TRUE(on_a_->stub().RevokeAllSessions(Client::Bearer(first).get(), {}, &out).ok());
  EXPECT_EQ(out.revoked_session_count(), 2);
  const absl::Time ok_at = absl::Now();
  EXPECT_LT(TimeToRefusal(first, ok_at), kWithin);
  EXPECT_LT(TimeToRefusal(second, ok_at), kWithin);
  EXPECT_TRUE(KeptInCache(bob));
}

TEST_F(RevocationTest, RotateSessionEndsTheOldTokenAtOnceAndTheNewOneWorks) {
  const std::string old_token = on_a_->MemberToken("ada@example.com");
  Warm(old_token);
  pb::RotateSessionResponse rotated;
  ASSERT_TRUE(
      on_a_->stub().RotateSession(Client::Bearer(old_token).get(), {}, &rotated).ok());
  EXPECT_LT(TimeToRefusal(old_token, absl::Now()), kWithin);
  EXPECT_TRUE(auth_->Authenticate(rotated.session_token(), RequestContext::ForBackgroundWork())
                  .ok());
}

TEST_F(RevocationTest, ChangePasswordEndsTheOtherSessionsButNotTheCurrentOne) {
  std::string ada_id;
  const std::string current = on_a_->MemberToken("ada@example.com", &ada_id);
  const std::string other = on_a_->LoginToken("ada@example.com");
  Warm(current);
  Warm(other);
  pb::ChangePasswordRequest req;
  req.set_user_id(ada_id);
  req.set_current_password(kPassword);
  req.set_new_password("an entirely new passphrase");
  pb::ChangePasswordResponse out;
  ASSERT_TRUE(on_a_->stub().ChangePassword(Client::Bearer(current).get(), req, &out).ok());
  EXPECT_LT(TimeToRefusal(other, absl::Now()), kWithin);
  EXPECT_TRUE(KeptInCache(current));
}

TEST_F(RevocationTest, SuspendingAUserEndsTheirCachedSessions) {
  const std::string admin = on_a_->AdminToken();
  std::string ada_id;
  const std::string ada = on_a_->MemberToken("ada@example.com", &ada_id);
  const std::string bob = on_a_->MemberToken("bob@example.com");
  Warm(ada);
  Warm(bob);
  pb::SetUserStatusRequest req;
  req.set_user_id(ada_id);
  req.set_status(pb::USER_STATUS_SUSPENDED);
  pb::SetUserStatusResponse out;
  ASSERT_TRUE(on_a_->stub().SetUserStatus(Client::Bearer(admin).get(), req, &out).ok());
  EXPECT_LT(TimeToRefusal(ada, absl::Now()), kWithin);
  EXPECT_TRUE(KeptInCache(bob));
}

TEST_F(RevocationTest, DeleteUserEndsTheirCachedSessions) {
  const std::string admin = on_a_->AdminToken();
  std::string ada_id;
  const std::string ada = on_a_->MemberToken("ada@example.com", &ada_id);
  Warm(ada);
  pb::DeleteUserRequest req;
  req.set_user_id(ada_id);
  pb::DeleteUserResponse out;
  ASSERT_TRUE(on_a_->stub().DeleteUser(Client::Bearer(admin).get(), req, &out).ok());
  EXPECT_LT(TimeToRefusal(ada, absl::Now()), kWithin);
}

TEST_F(RevocationTest, AssignRoleAndRevokeRoleReachTheCachedRolesAtOnce) {
  const std::string admin = on_a_->AdminToken();
  std::string ada_id;
  const std::string ada = on_a_->MemberToken("ada@example.com", &ada_id);
  Warm(ada);
  const auto has_author = [&] {
    auto caller = auth_->Authenticate(ada, RequestContext::ForBackgroundWork());
    EXPECT_TRUE(caller.ok()) << caller.status();
    if (!caller.ok()) return false;
    for (const std::string& role : caller->roles) {
      if (role == "author") return true;
    }
    return false;
  };
  const auto within = [&](bool want) {
    const absl::Time end = absl::Now() + kWithin;
    while (absl::Now() < end) {
      if (has_author() == want) return true;
      absl::SleepFor(absl::Microseconds(500));
    }
    return false;
  };
  ASSERT_FALSE(has_author());
  pb::AssignRoleRequest assign;
  assign.set_user_id(ada_id);
  assign.set_role("author");
  pb::AssignRoleResponse assigned;
  ASSERT_TRUE(on_a_->stub().AssignRole(Client::Bearer(admin).get(), assign, &assigned).ok());
  EXPECT_TRUE(within(true)) << "the cached roles were not dropped after AssignRole";
  pb::RevokeRoleRequest revoke;
  revoke.set_user_id(ada_id);
  revoke.set_role("author");
  pb::RevokeRoleResponse revoked;
  ASSERT_TRUE(on_a_->stub().RevokeRole(Client::Bearer(admin).get(), revoke, &revoked).ok());
  EXPECT_TRUE(within(false)) << "the cached roles were not dropped after RevokeRole";
}

TEST_F(RevocationTest, NoAnswerIsServedAfterTheFirstRefusalWhileCallsRaceTheLogout) {
  // Four callers hammer one token while it is logged out: once any of them has been refused,
  // a call that starts later must never be let in (no answer read before the revocation may
  // be cached after its event).
  const std::string ada = on_a_->MemberToken("ada@example.com");
  Warm(ada);
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  absl::Time first_refusal = absl::InfiniteFuture();
  std::vector<absl::Time> accepted_starts;
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        const absl::Time start = absl::Now();
        auto caller = auth_->Authenticate(ada, RequestContext::ForBackgroundWork());
        absl::MutexLock lock(&mu);
        if (caller.ok()) {
          accepted_starts.push_back(start);
        } else if (caller.status().code() == absl::StatusCode::kUnauthenticated) {
          first_refusal = std::min(first_refusal, absl::Now());
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(50));
  pb::LogoutResponse out;
  ASSERT_TRUE(on_a_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (std::thread& t : callers) t.join();
  ASSERT_NE(first_refusal, absl::InfiniteFuture());
  for (absl::Time start : accepted_starts) EXPECT_LT(start, first_refusal);
}

TEST_F(RevocationTest, WhileUnsubscribedNothingCachedIsTrustedAndARestartResumesTheLog) {
  const std::string ada = on_a_->MemberToken("ada@example.com");
  const std::string bob = on_a_->MemberToken("bob@example.com");
  Warm(ada);
  Warm(bob);
  EXPECT_EQ(Metric("identity_client_revocation_stream_up"), 1);

  // Replica B stops: the stream ends with the drain, and the cache is no longer trusted.
  b_->Shutdown();
  const absl::Time end = absl::Now() + absl::Seconds(2);
  while (auth_->Subscribed() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_FALSE(auth_->Subscribed());
  EXPECT_EQ(Metric("identity_client_revocation_stream_up"), 0);
  const double bypassed = Metric("identity_client_cache_bypass_total");
  EXPECT_FALSE(auth_->AuthenticateIfCached(bob, RequestContext::ForBackgroundWork()).has_value());
  EXPECT_EQ(auth_->Authenticate(bob, RequestContext::ForBackgroundWork()).status().code(),
            absl::StatusCode::kUnavailable)
      << "not answered from the cache while identity cannot vouch for it";
  EXPECT_GT(Metric("identity_client_cache_bypass_total"), bypassed);

  // Ada logs out on A while B is down; B comes back; the authenticator resumes from its cursor
  // and drops her entry. (Whether Bob's survives depends on the cluster's oldest running
  // transaction, which may hold the fence back past his sign-up's role grant: a replay may
  // repeat events. Resume versus reset is proven on the feed in AResumeCursor...)
  pb::LogoutResponse out;
  ASSERT_TRUE(on_a_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());
  ASSERT_TRUE(b_->Restart().ok());
  ASSERT_TRUE(auth_->WaitSubscribed(absl::Seconds(10)));
  EXPECT_FALSE(auth_->AuthenticateIfCached(ada, RequestContext::ForBackgroundWork()).has_value());
  EXPECT_EQ(auth_->Authenticate(ada, RequestContext::ForBackgroundWork()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(auth_->Authenticate(bob, RequestContext::ForBackgroundWork()).ok());
  EXPECT_EQ(Metric("identity_client_revocation_stream_up"), 1);
  EXPECT_GE(Metric("identity_client_revocation_stream_restarts_total"), 1);
}

TEST_F(RevocationTest, ADrainEndsTheRevocationStreamsAtOnce) {
  // drain_timeout is 1 s: a stream left open would hold the drain that long.
  const absl::Time start = absl::Now();
  b_->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(700));
  EXPECT_FALSE(auth_->WaitSubscribed(absl::Milliseconds(200)));
}

// Collects what a feed sends one subscriber.
class Collector : public RevocationSink {
 public:
  void Deliver(const RevocationBatch& batch) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(batch);
  }
  void End(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    ended_ = status;
  }
  // Waits up to 2 s for a batch naming `session_id`.
  bool WaitForSession(const std::string& session_id) {
    const absl::Time end = absl::Now() + absl::Seconds(2);
    while (absl::Now() < end) {
      {
        absl::MutexLock lock(&mu_);
        for (const RevocationBatch& b : batches_) {
          for (const RevocationEvent& e : b.events) {
            if (e.session_id == session_id) return true;
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    return false;
  }
  std::vector<RevocationBatch> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  absl::optional<absl::Status> ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }

 private:
  absl::Mutex mu_;
  std::vector<RevocationBatch> batches_;
  absl::optional<absl::Status> ended_;
};

TEST_F(RevocationTest, ARevocationCommittedAfterALaterNumberedOneIsStillDelivered) {
  PgRevocationFeed* feed = a_->revocation_feed();
  ASSERT_NE(feed, nullptr);
  Collector sink;
  feed->Subscribe(&sink, "");
  const std::string user = on_a_->SignUp("ada@example.com");
  const std::string early = "11111111-1111-4111-8111-111111111111";
  const std::string late = "22222222-2222-4222-8222-222222222222";
  // The first transaction takes the smaller id and commits last.
  pqxx::connection first_conn(a_->database().UrlAs("identity_service"));
  pqxx::work first(first_conn);
  first.exec_params("INSERT INTO identity.revocations (kind, session_id, user_id) "
                    "VALUES ('session', $1, $2)",
                    early, user);
  first.exec("SELECT pg_notify('identity_revocations', '')");
  {
    pqxx::connection second_conn(a_->database().UrlAs("identity_service"));
    pqxx::work second(second_conn);
    second.exec_params("INSERT INTO identity.revocations (kind, session_id, user_id) "
                       "VALUES ('session', $1, $2)",
                       late, user);
    second.exec("SELECT pg_notify('identity_revocations', '')");
    second.commit();
  }
  ASSERT_TRUE(sink.WaitForSession(late));
  first.commit();
  EXPECT_TRUE(sink.WaitForSession(early)) << "read past by id, lost";
  feed->Unsubscribe(&sink);
  // Each was sent once, after the synced first batch.
  const std::vector<RevocationBatch> batches = sink.batches();
  ASSERT_FALSE(batches.empty());
  EXPECT_TRUE(batches.front().synced);
  EXPECT_TRUE(batches.front().reset);
  int early_count = 0, late_count = 0;
  for (const RevocationBatch& b : batches) {
    for (const RevocationEvent& e : b.events) {
      early_count += e.session_id == early;
      late_count += e.session_id == late;
    }
  }
  EXPECT_EQ(early_count, 1);
  EXPECT_EQ(late_count, 1);
}

TEST_F(RevocationTest, ARolledBackRevocationIsNeverSentAndACommittedOneIsLoggedWithIt) {
  PgRevocationFeed* feed = a_->revocation_feed();
  Collector sink;
  feed->Subscribe(&sink, "");
  std::string ada_id;
  const std::string ada = on_a_->MemberToken("ada@example.com", &ada_id);
  pqxx::connection conn(a_->database().UrlAs("identity_service"));
  {
    pqxx::work tx(conn);
    tx.exec_params("UPDATE identity.sessions SET revoked_at = now() WHERE user_id = $1", ada_id);
    tx.abort();
  }
  absl::SleepFor(absl::Milliseconds(600));  // more than a heartbeat: a read has happened
  for (const RevocationBatch& b : sink.batches()) {
    for (const RevocationEvent& e : b.events) {
      EXPECT_NE(e.kind, RevocationEvent::Kind::kSession);  // sign-up's role grant is one
    }
  }
  {
    pqxx::nontransaction read(conn);
    EXPECT_EQ(
        read.exec1("SELECT count(*) FROM identity.revocations WHERE kind = 'session'")[0]
            .as<int>(),
        0);
  }
  pb::LogoutResponse out;
  ASSERT_TRUE(on_a_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());
  pqxx::nontransaction read(conn);
  EXPECT_EQ(read.exec1("SELECT count(*) FROM identity.revocations WHERE kind = 'session'")[0]
                .as<int>(),
            1);
  feed->Unsubscribe(&sink);
}

TEST_F(RevocationTest, AResumeCursorFromTheOtherReplicaReplaysWhatCameSince) {
  Collector first;
  a_->revocation_feed()->Subscribe(&first, "");
  absl::SleepFor(absl::Milliseconds(50));
  std::vector<RevocationBatch> got = first.batches();
  ASSERT_FALSE(got.empty());
  const std::string cursor = got.back().cursor;
  a_->revocation_feed()->Unsubscribe(&first);

  const std::string ada = on_a_->MemberToken("ada@example.com");
  auto caller = auth_->Authenticate(ada, RequestContext::ForBackgroundWork());
  ASSERT_TRUE(caller.ok());
  pb::LogoutResponse out;
  ASSERT_TRUE(on_a_->stub().Logout(Client::Bearer(ada).get(), {}, &out).ok());

  Collector resumed;
  b_->revocation_feed()->Subscribe(&resumed, cursor);
  EXPECT_TRUE(resumed.WaitForSession(caller->session_id));
  got = resumed.batches();
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got.front().synced);
  EXPECT_FALSE(got.front().reset);
  b_->revocation_feed()->Unsubscribe(&resumed);

  // Cursors no read gave (garbled, empty, zero, from the future, another database's, huge)
  // reset the subscriber instead of letting it skip what it never saw.
  const std::string ahead = absl::StrCat(std::numeric_limits<uint64_t>::max(), ":1");
  const std::string future =
      absl::StrCat("3:", absl::ToUnixMicros(absl::Now() + absl::Hours(1)));
  const std::string stale =
      absl::StrCat("3:", absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
  for (const std::string& bad :
       {std::string("not a cursor"), std::string(""), std::string("0:0"), std::string("-1:5"),
        std::string("1:2:3"), std::string(":"), std::string("3:\x01"), ahead, future, stale,
        std::string(100000, '7') + ":1"}) {
    Collector garbage;
    b_->revocation_feed()->Subscribe(&garbage, bad);
    const absl::Time end = absl::Now() + absl::Seconds(2);
    while (garbage.batches().empty() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(2));
    got = garbage.batches();
    ASSERT_FALSE(got.empty()) << bad.substr(0, 40);
    EXPECT_TRUE(got.front().synced);
    EXPECT_TRUE(got.front().reset) << "cursor '" << bad.substr(0, 40) << "' must reset";
    b_->revocation_feed()->Unsubscribe(&garbage);
  }
}

TEST_F(RevocationTest, AStoppedFeedEndsItsSubscribersUnavailableAndRefusesNewOnes) {
  Collector before;
  b_->revocation_feed()->Subscribe(&before, "");
  b_->revocation_feed()->Stop();
  ASSERT_TRUE(before.ended().has_value());
  EXPECT_EQ(before.ended()->code(), absl::StatusCode::kUnavailable);
  Collector after;
  b_->revocation_feed()->Subscribe(&after, "");
  ASSERT_TRUE(after.ended().has_value());
  EXPECT_EQ(after.ended()->code(), absl::StatusCode::kUnavailable);
  // Its subscriber on B is cut off too, and B refuses to subscribe it again.
  const absl::Time end = absl::Now() + absl::Seconds(2);
  while (auth_->Subscribed() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_FALSE(auth_->Subscribed());
}

}  // namespace
}  // namespace suite::identity::testing

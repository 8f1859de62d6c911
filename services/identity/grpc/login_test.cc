// Login, abuse control and sessions over a real gRPC server and a real PostgreSQL database.
#include <algorithm>
#include <atomic>
#include <utility>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/password_hasher.h"
#include "services/identity/domain/tokens.h"
#include "services/identity/grpc/test_helpers.h"
#include "services/identity/storage/pg_store.h"
#include "shared/api/status.h"
#include "shared/db/pool.h"
#include "shared/rpc/grpc_status.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith({}); }
  void StartWith(IdentityTestServerOptions options) {
    client_.reset();
    server_.reset();
    auto server = IdentityTestServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<Client>(*server_);
  }
  pqxx::result Query(const std::string& sql) {
    pqxx::connection conn(server_->database().url());
    pqxx::work tx(conn);
    return tx.exec(sql);
  }
  grpc::Status Validate(const std::string& token, pb::ValidateSessionResponse* resp) {
    pb::ValidateSessionRequest req;
    req.set_session_token(token);
    auto ctx = Client::Bearer("");
    return client_->stub().ValidateSession(ctx.get(), req, resp);
  }

  std::unique_ptr<IdentityTestServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(LoginTest, LoginReturnsA256BitTokenThatValidatesAndIsStoredOnlyAsItsHash) {
  std::string id = client_->SignUp("ada@example.com");
  pb::LoginResponse resp;
  ASSERT_TRUE(client_->Login("ADA@example.com ", kPassword, &resp).ok());
  EXPECT_EQ(resp.session_token().size(), 43u);  // base64url of 32 bytes
  EXPECT_EQ(resp.user_id(), id);
  EXPECT_FALSE(resp.session_id().empty());
  EXPECT_TRUE(resp.has_expire_time());

  pb::ValidateSessionResponse v;
  ASSERT_TRUE(Validate(resp.session_token(), &v).ok());
  EXPECT_EQ(v.user_id(), id);
  EXPECT_EQ(v.session_id(), resp.session_id());
  ASSERT_EQ(v.role_grants_size(), 1);
  EXPECT_EQ(v.role_grants(0).role(), "member");
  EXPECT_EQ(v.role_grants(0).account_id(), "");

  // The raw token appears nowhere in the database; its SHA-256 hex does.
  pqxx::result dump = Query(
      "SELECT s::text FROM identity.sessions s UNION ALL SELECT l::text FROM "
      "identity.login_attempts l UNION ALL SELECT u::text FROM identity.users u");
  for (const auto& row : dump) {
    EXPECT_EQ(row[0].as<std::string>().find(resp.session_token()), std::string::npos);
  }
  pqxx::result hashes = Query("SELECT session_token_hash FROM identity.sessions");
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_EQ(hashes[0][0].as<std::string>(), TokenDigest(resp.session_token()));
}

TEST_F(LoginTest, UnknownEmailAndWrongPasswordGiveTheSameError) {
  client_->SignUp("ada@example.com");
  pb::LoginResponse resp;
  grpc::Status wrong = client_->Login("ada@example.com", "not the password at all", &resp);
  grpc::Status unknown = client_->Login("nobody@example.com", kPassword, &resp, "10.0.0.2");
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), unknown.error_message());
  EXPECT_EQ(ErrorReason(wrong), ErrorReason(unknown));
  EXPECT_TRUE(resp.session_token().empty());
}

TEST_F(LoginTest, EveryAttemptIsRecordedWithReasonAndRequestId) {
  client_->SignUp("ada@example.com");
  pb::LoginRequest req;
  req.set_email("ada@example.com");
  req.set_password("wrong password here");
  req.set_client_ip("10.1.2.3");
  pb::LoginResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21");
  EXPECT_EQ(client_->stub().Login(&ctx, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  client_->LoginToken("ada@example.com");
  client_->Login("ghost@example.com", kPassword, &resp);

  pqxx::result rows = Query(
      "SELECT email, ip, success, coalesce(failure_reason, ''), coalesce(request_id::text, ''),"
      " user_id IS NOT NULL FROM identity.login_attempts ORDER BY created_at, failure_reason");
  ASSERT_EQ(rows.size(), 3u);
  int failures = 0;
  for (const auto& r : rows) {
    if (r[2].as<bool>()) continue;
    ++failures;
    EXPECT_EQ(r[3].as<std::string>(), "invalid_credentials");
  }
  EXPECT_EQ(failures, 2);
  pqxx::result tagged = Query(
      "SELECT ip, failure_reason, user_id IS NOT NULL FROM identity.login_attempts "
      "WHERE request_id = '0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21'");
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0][0].as<std::string>(), "10.1.2.3");
  EXPECT_EQ(tagged[0][1].as<std::string>(), "invalid_credentials");
  EXPECT_TRUE(tagged[0][2].as<bool>());
}

TEST_F(LoginTest, LoginValidatesItsInputBeforeRecordingAnything) {
  pb::LoginResponse resp;
  grpc::Status s = client_->Login("not-an-email", kPassword, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "email");
  s = client_->Login("a@example.com", "", &resp);
  EXPECT_EQ(BadField(s), "password");
  s = client_->Login("a@example.com", kPassword, &resp, "not an ip");
  EXPECT_EQ(BadField(s), "client_ip");
  EXPECT_EQ(Query("SELECT count(*) FROM identity.login_attempts")[0][0].as<int>(), 0);
}

// The delay a throttled answer names, checked to be the same in RetryInfo, in ErrorInfo
// metadata and in the message; -1 when the answer is not LOGIN_THROTTLED.
int ThrottledSeconds(const grpc::Status& s) {
  if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
      ErrorReason(s) != "LOGIN_THROTTLED") {
    return -1;
  }
  int seconds = 0;
  EXPECT_TRUE(absl::SimpleAtoi(ErrorMetadata(s)["retry_after_seconds"], &seconds));
  absl::optional<absl::Duration> delay =
      suite::api::RetryDelayOf(suite::rpc::FromGrpcStatus(s));
  EXPECT_TRUE(delay.has_value()) << "no RetryInfo";
  if (delay) {
    EXPECT_EQ(absl::ToInt64Seconds(absl::Ceil(*delay, absl::Seconds(1))), seconds);
  }
  EXPECT_TRUE(absl::StrContains(s.error_message(), absl::StrCat("retry in ", seconds, " s")))
      << s.error_message();
  return seconds;
}

TEST_F(LoginTest, WrongGuessesFromOneAddressWaitLongerEachTimeWhileTheOwnerLogsInElsewhere) {
  client_->SignUp("ada@example.com");
  pb::LoginResponse resp;
  // The five free failures of the (e-mail, address) pair.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client_->Login("ada@example.com", "wrong password xx", &resp, "10.66.0.1")
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Then 1 s after the newest failure. Asking early is refused, whatever the password, and
  // doubles the wait: 2 s, 4 s, 8 s.
  server_->clock().Advance(absl::Milliseconds(999));
  EXPECT_EQ(ThrottledSeconds(client_->Login("ada@example.com", kPassword, &resp, "10.66.0.1")),
            2);
  EXPECT_EQ(ThrottledSeconds(client_->Login("ada@example.com", "wrong password xx", &resp,
                                            "10.66.0.1")),
            4);
  EXPECT_EQ(ThrottledSeconds(client_->Login("ada@example.com", kPassword, &resp, "10.66.0.1")),
            8);
  // Meanwhile the owner logs in from another address, at once, as often as they like.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(client_->Login("ada@example.com", kPassword, &resp, "192.0.2.10").ok()) << i;
  }
  // After the announced wait the right password works from the guessing address too; 1 ms
  // earlier it did not.
  server_->clock().Advance(absl::Seconds(8) - absl::Milliseconds(1));
  EXPECT_EQ(ThrottledSeconds(client_->Login("ada@example.com", kPassword, &resp, "10.66.0.1")),
            16);
  server_->clock().Advance(absl::Seconds(16));
  EXPECT_TRUE(client_->Login("ada@example.com", kPassword, &resp, "10.66.0.1").ok());
  EXPECT_EQ(Query("SELECT count(*) FROM identity.login_attempts WHERE failure_reason = "
                  "'throttled'")[0][0]
                .as<int>(),
            4);
}

TEST_F(LoginTest, AThrottledAnswerIsTheSameForTheRightAndAWrongPassword) {
  client_->SignUp("ada@example.com");
  client_->SignUp("bob@example.com");
  pb::LoginResponse resp;
  for (int i = 0; i < 5; ++i) {
    client_->Login("ada@example.com", "wrong password xx", &resp, "10.66.0.1");
    client_->Login("bob@example.com", "wrong password xx", &resp, "10.66.0.2");
  }
  grpc::Status right = client_->Login("ada@example.com", kPassword, &resp, "10.66.0.1");
  grpc::Status wrong = client_->Login("bob@example.com", "wrong password yy", &resp, "10.66.0.2");
  EXPECT_EQ(right.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(right.error_code(), wrong.error_code());
  EXPECT_EQ(right.error_message(), wrong.error_message());
  EXPECT_EQ(ErrorReason(right), ErrorReason(wrong));
  EXPECT_EQ(ErrorMetadata(right), ErrorMetadata(wrong));
  EXPECT_EQ(suite::api::RetryDelayOf(suite::rpc::FromGrpcStatus(right)),
            suite::api::RetryDelayOf(suite::rpc::FromGrpcStatus(wrong)));
}

// The rule behind a shared address (a NAT): it is "busy" at IDENTITY_LOGIN_MAX_FAILURES_PER_IP
// failures within IDENTITY_LOGIN_WINDOW, and then only a user who has failed from it waits
// (the longest delay, after their newest failure); a user with no failure from it in the pair
// window gets in at once.
TEST_F(LoginTest, ANatAddressWithManyFailingUsersDoesNotStopAUserWhoseOwnRecordIsClean) {
  IdentityTestServerOptions options;
  options.identity.login_limits.max_failures_per_ip = 3;
  StartWith(options);
  client_->SignUp("ada@example.com");
  client_->SignUp("bob@example.com");
  pb::LoginResponse resp;
  const std::string nat = "10.7.7.7";
  // Two failures from the address: not busy yet, so a user who failed still has free ones.
  EXPECT_EQ(client_->Login("bob@example.com", "wrong password xx", &resp, nat).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(client_->Login("user0@example.com", kPassword, &resp, nat).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(client_->Login("user0@example.com", kPassword, &resp, nat).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(client_->Login("user1@example.com", kPassword, &resp, nat).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Four: busy. Bob, who failed from it, waits 15 minutes after his failure, even with the
  // right password...
  server_->clock().Advance(absl::Seconds(1));
  EXPECT_EQ(ThrottledSeconds(client_->Login("bob@example.com", kPassword, &resp, nat)), 900);
  // ...while Ada, whose record from it is clean, gets in, again and again.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(client_->Login("ada@example.com", kPassword, &resp, nat).ok()) << i;
  }
  // So does Bob from elsewhere.
  EXPECT_TRUE(client_->Login("bob@example.com", kPassword, &resp, "10.8.8.8").ok());
  // 899 s after their failures, user0 still waits; at 900 s user1 is let in.
  server_->clock().Advance(absl::Seconds(898));
  EXPECT_EQ(ThrottledSeconds(client_->Login("user0@example.com", kPassword, &resp, nat)), 900);
  server_->clock().Advance(absl::Seconds(1));
  EXPECT_EQ(client_->Login("user1@example.com", kPassword, &resp, nat).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, AnUntrustedCallerCannotDodgeThePairDelaysByInventingClientIps) {
  IdentityTestServerOptions options;
  options.trusted_peers = {};  // nobody relays end users here
  StartWith(options);
  client_->SignUp("ada@example.com");
  pb::LoginResponse resp;
  for (int i = 0; i < 6; ++i) {
    pb::LoginRequest req;
    req.set_email("ada@example.com");
    req.set_password("wrong password xx");
    req.set_client_ip("10.6.6." + std::to_string(i));
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-forwarded-for", "10.6.7." + std::to_string(i));
    grpc::Status s = client_->stub().Login(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), i < 5 ? grpc::StatusCode::UNAUTHENTICATED
                                    : grpc::StatusCode::RESOURCE_EXHAUSTED)
        << i;
  }
  pqxx::result ips = Query("SELECT DISTINCT ip FROM identity.login_attempts");
  ASSERT_EQ(ips.size(), 1u);
  EXPECT_EQ(ips[0][0].as<std::string>(), "127.0.0.1");
}

TEST_F(LoginTest, ATrustedPeerIsBelievedThroughClientIpOrElseXForwardedFor) {
  client_->SignUp("ada@example.com");  // the test server trusts 127.0.0.1
  pb::LoginResponse resp;
  auto login = [&](const std::string& client_ip, const std::string& forwarded_for) {
    pb::LoginRequest req;
    req.set_email("ada@example.com");
    req.set_password("wrong password xx");
    req.set_client_ip(client_ip);
    grpc::ClientContext ctx;
    if (!forwarded_for.empty()) ctx.AddMetadata("x-forwarded-for", forwarded_for);
    EXPECT_EQ(client_->stub().Login(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    pqxx::result newest = Query(
        "SELECT ip FROM identity.login_attempts ORDER BY created_at DESC, id LIMIT 1");
    server_->clock().Advance(absl::Seconds(1));
    return newest[0][0].as<std::string>();
  };
  EXPECT_EQ(login("203.0.113.5", "198.51.100.9"), "203.0.113.5");
  EXPECT_EQ(login("", "198.51.100.9"), "198.51.100.9");
  // Read from the right: the hop a trusted proxy appended, not what the client wrote.
  EXPECT_EQ(login("", "1.2.3.4, 198.51.100.10, 127.0.0.1"), "198.51.100.10");
  EXPECT_EQ(login("", ""), "127.0.0.1");
}

TEST_F(LoginTest, TheDelaysHoldAcrossReplicasWhileTheOwnerLogsInOnEither) {
  client_->SignUp("ada@example.com");
  // A second replica: its own pool, store, hasher and domain on the same database.
  suite::db::PoolConfig pool_config;
  pool_config.database_url = server_->database().UrlAs("identity_service");
  auto pool = suite::db::ConnectionPool::Create(pool_config);
  ASSERT_TRUE(pool.ok());
  auto store = PgIdentityStore::Create(pool->get());
  ASSERT_TRUE(store.ok());
  auto hasher = PasswordHasher::Create(IdentityTestServerOptions().hasher);
  ASSERT_TRUE(hasher.ok());
  Identity replica(store->get(), hasher->get(), &server_->clock(), IdentityOptions{});

  // Twenty guesses at once from one address over both replicas, and the owner logging in
  // from another address on both replicas at the same time.
  std::atomic<int> evaluated{0}, throttled{0}, owner_ok{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 26; ++i) {
    threads.emplace_back([&, i] {
      const bool owner = i >= 20;
      const std::string password = owner ? kPassword : "wrong guess " + std::to_string(i);
      const std::string ip = owner ? "192.0.2.10" : "10.4.0.1";
      absl::StatusCode code;
      if (i % 2 == 0) {
        code = replica.Login({"ada@example.com", password, ip, "", ""}).status().code();
      } else {
        Client c(*server_);
        pb::LoginResponse resp;
        code = static_cast<absl::StatusCode>(
            c.Login("ada@example.com", password, &resp, ip).error_code());
      }
      if (owner && code == absl::StatusCode::kOk) {
        ++owner_ok;
      } else if (!owner && code == absl::StatusCode::kUnauthenticated) {
        ++evaluated;
      } else if (!owner && code == absl::StatusCode::kResourceExhausted) {
        ++throttled;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(evaluated.load(), 5);
  EXPECT_EQ(throttled.load(), 15);
  EXPECT_EQ(owner_ok.load(), 6);
  EXPECT_EQ(other.load(), 0);
}

// The rule for an account guessed at from many addresses: under attack at
// IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL failures within IDENTITY_LOGIN_WINDOW; then each
// address that failed on it waits the longest delay after its newest failure, a new address
// gets in (one guess for an attacker, a login for the owner), on either replica.
TEST_F(LoginTest, AnAccountUnderAttackSlowsEveryGuessingAddressButNotTheOwnersOnEitherReplica) {
  IdentityTestServerOptions options;
  options.identity.login_limits.max_failures_per_email = 10;
  StartWith(options);
  client_->SignUp("ada@example.com");
  suite::db::PoolConfig pool_config;
  pool_config.database_url = server_->database().UrlAs("identity_service");
  auto pool = suite::db::ConnectionPool::Create(pool_config);
  ASSERT_TRUE(pool.ok());
  auto store = PgIdentityStore::Create(pool->get());
  ASSERT_TRUE(store.ok());
  auto hasher = PasswordHasher::Create(IdentityTestServerOptions().hasher);
  ASSERT_TRUE(hasher.ok());
  Identity replica(store->get(), hasher->get(), &server_->clock(), options.identity);
  // Login on replica `r` (0: the gRPC server, 1: the second replica): the status code and,
  // when throttled, the delay in whole seconds.
  auto login = [&](int r, const std::string& password, const std::string& ip) {
    if (r == 0) {
      pb::LoginResponse resp;
      grpc::Status s = client_->Login("ada@example.com", password, &resp, ip);
      return std::make_pair(static_cast<absl::StatusCode>(s.error_code()),
                            std::max(0, ThrottledSeconds(s)));
    }
    absl::Status s = replica.Login({"ada@example.com", password, ip, "", ""}).status();
    const absl::optional<absl::Duration> delay = suite::api::RetryDelayOf(s);
    return std::make_pair(s.code(),
                          delay ? static_cast<int>(absl::ToInt64Seconds(*delay)) : 0);
  };
  const auto unauthenticated = std::make_pair(absl::StatusCode::kUnauthenticated, 0);
  // Nine failures from nine addresses: not under attack, each keeps its free failures.
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(login(i % 2, "wrong guess", "10.5.0." + std::to_string(i)), unauthenticated);
  }
  EXPECT_EQ(login(1, "wrong guess", "10.5.0.0"), unauthenticated);  // the tenth
  // Under attack: every address that failed waits 15 minutes after its newest failure.
  server_->clock().Advance(absl::Seconds(1));
  for (int i = 1; i < 9; ++i) {
    EXPECT_EQ(login(i % 2, kPassword, "10.5.0." + std::to_string(i)),
              std::make_pair(absl::StatusCode::kResourceExhausted, 900))
        << i;
  }
  // A new address gets one guess, then waits too.
  EXPECT_EQ(login(0, "wrong guess", "10.5.1.1"), unauthenticated);
  EXPECT_EQ(login(1, "wrong guess", "10.5.1.1"),
            std::make_pair(absl::StatusCode::kResourceExhausted, 900));
  // The owner, from an address with no failure on the account, on both replicas.
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(login(r, kPassword, "192.0.2.10").first, absl::StatusCode::kOk) << r;
  }
  // The addresses refused at +1 s may try again at +901 s; 10.5.0.0, whose newest failure
  // was at +0 s, at +900 s. Each on the replica it did not use before.
  server_->clock().Advance(absl::Seconds(899));
  EXPECT_EQ(login(0, kPassword, "10.5.0.3"),
            std::make_pair(absl::StatusCode::kResourceExhausted, 900));
  EXPECT_EQ(login(1, kPassword, "10.5.0.0").first, absl::StatusCode::kOk);
  server_->clock().Advance(absl::Seconds(1));
  EXPECT_EQ(login(1, kPassword, "10.5.0.4").first, absl::StatusCode::kOk);
}

TEST_F(LoginTest, SaturatedHashingAnswersResourceExhaustedAndRecordsIt) {
  IdentityTestServerOptions options;
  options.hasher = PasswordHasherOptions{3, 16u * 1024 * 1024, 1, 1};  // slow, one slot
  options.identity.login_limits.max_failures_per_email = 100;
  options.identity.login_limits.max_failures_per_ip = 100;
  StartWith(options);
  std::atomic<int> overloaded{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      Client c(*server_);
      pb::LoginResponse resp;
      grpc::Status s = c.Login("ghost" + std::to_string(i) + "@example.com", kPassword, &resp,
                               "10.5.0." + std::to_string(i));
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
          ErrorReason(s) == "HASHING_OVERLOADED") {
        ++overloaded;
      } else if (s.error_code() != grpc::StatusCode::UNAUTHENTICATED) {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(overloaded.load(), 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM identity.login_attempts WHERE failure_reason = "
                  "'overloaded'")[0][0]
                .as<int>(),
            overloaded.load());
}

TEST_F(LoginTest, TwentyParallelWrongGuessesFromOneAddressEvaluateOnlyTheFreeOnes) {
  client_->SignUp("ada@example.com");
  std::atomic<int> unauthenticated{0}, throttled{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      Client c(*server_);
      pb::LoginResponse resp;
      grpc::Status s = c.Login("ada@example.com", "wrong guess " + std::to_string(i), &resp,
                               "10.0.3.1");
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        ++unauthenticated;
      } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++throttled;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unauthenticated.load(), 5);
  EXPECT_EQ(throttled.load(), 15);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM identity.login_attempts WHERE failure_reason = "
                  "'invalid_credentials'")[0][0]
                .as<int>(),
            5);
}

TEST_F(LoginTest, InactiveOrDeletedUsersCannotLogInAndGetTheSameError) {
  std::string admin = client_->AdminToken();
  std::string id = client_->SignUp("ada@example.com");
  pb::SetUserStatusRequest req;
  req.set_user_id(id);
  req.set_status(pb::USER_STATUS_SUSPENDED);
  pb::SetUserStatusResponse resp;
  ASSERT_TRUE(client_->stub().SetUserStatus(Client::Bearer(admin).get(), req, &resp).ok());
  pb::LoginResponse login;
  grpc::Status s = client_->Login("ada@example.com", kPassword, &login);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorReason(s), "INVALID_CREDENTIALS");
}

TEST_F(LoginTest, SessionsExpireAfterIdleTimeoutSlideWithUseAndStopAtTheAbsoluteCap) {
  IdentityTestServerOptions options;
  options.identity.session_idle_timeout = absl::Minutes(30);
  options.identity.session_absolute_timeout = absl::Hours(2);
  options.identity.last_seen_interval = absl::Minutes(1);
  StartWith(options);
  client_->SignUp("ada@example.com");
  const std::string token = client_->LoginToken("ada@example.com");
  pb::ValidateSessionResponse v;

  // Used every 20 minutes, it outlives the 30-minute idle timeout...
  for (int i = 0; i < 5; ++i) {
    server_->clock().Advance(absl::Minutes(20));
    ASSERT_TRUE(Validate(token, &v).ok()) << "use " << i;
  }
  // ...but not the absolute cap of 2 hours (now at 100 min; 2 more uses cross 120 min).
  server_->clock().Advance(absl::Minutes(19));
  EXPECT_TRUE(Validate(token, &v).ok());
  server_->clock().Advance(absl::Minutes(2));
  EXPECT_EQ(Validate(token, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // A fresh session left idle past 30 minutes dies.
  const std::string idle = client_->LoginToken("ada@example.com");
  server_->clock().Advance(absl::Minutes(31));
  EXPECT_EQ(Validate(idle, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, LastSeenIsWrittenOnlyWhenStaleByMoreThanTheInterval) {
  client_->SignUp("ada@example.com");
  const std::string token = client_->LoginToken("ada@example.com");
  auto last_seen = [&] {
    return Query("SELECT (extract(epoch from last_seen_at))::bigint FROM identity.sessions")[0][0]
        .as<int64_t>();
  };
  const int64_t at_login = last_seen();
  pb::ValidateSessionResponse v;
  server_->clock().Advance(absl::Seconds(30));  // interval is 1 minute
  ASSERT_TRUE(Validate(token, &v).ok());
  EXPECT_EQ(last_seen(), at_login);
  server_->clock().Advance(absl::Seconds(31));
  ASSERT_TRUE(Validate(token, &v).ok());
  EXPECT_EQ(last_seen(), at_login + 61);
}

TEST_F(LoginTest, ValidateSessionRejectsUnknownMalformedAndRevokedTokens) {
  pb::ValidateSessionResponse v;
  EXPECT_EQ(Validate("", &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Validate("short", &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Validate(NewSecretToken(), &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  client_->SignUp("ada@example.com");
  const std::string token = client_->LoginToken("ada@example.com");
  pb::LogoutResponse out;
  ASSERT_TRUE(client_->stub().Logout(Client::Bearer(token).get(), {}, &out).ok());
  EXPECT_EQ(Validate(token, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Logging out twice: the token is dead.
  EXPECT_EQ(client_->stub().Logout(Client::Bearer(token).get(), {}, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Concurrent calls share session lookups (ReadBatcher): each must still get its own
// session's user, and a dead or unknown token in the same batch must stay refused.
TEST_F(LoginTest, ConcurrentValidationsEachGetTheirOwnSessionsUser) {
  std::vector<std::pair<std::string, std::string>> live;  // token, user id
  for (const char* email : {"a@example.com", "b@example.com", "c@example.com", "d@example.com"}) {
    const std::string id = client_->SignUp(email);
    live.emplace_back(client_->LoginToken(email), id);
  }
  client_->SignUp("gone@example.com");
  const std::string revoked = client_->LoginToken("gone@example.com");
  pb::LogoutResponse out;
  ASSERT_TRUE(client_->stub().Logout(Client::Bearer(revoked).get(), {}, &out).ok());
  const std::string unknown = NewSecretToken();

  std::atomic<int> wrong{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const int pick = (t + i) % 6;
        pb::ValidateSessionResponse v;
        if (pick < 4) {
          grpc::Status status = Validate(live[pick].first, &v);
          if (!status.ok() || v.user_id() != live[pick].second) ++wrong;
        } else {
          grpc::Status status = Validate(pick == 4 ? revoked : unknown, &v);
          if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED) ++wrong;
        }
        ++calls;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls.load(), 24 * 40);
  EXPECT_EQ(wrong.load(), 0);
}

// ValidateSession reads asynchronously while every other authenticated RPC looks the same
// session up blocking on a handler thread (Identity::Authenticate); with two handler threads,
// the blocked lookups must never wait for a batch task that cannot get a thread.
TEST_F(LoginTest, AsyncValidationsAndBlockingAuthenticationsShareTwoHandlerThreads) {
  IdentityTestServerOptions options;
  options.handler_threads = 2;
  StartWith(options);
  std::vector<std::pair<std::string, std::string>> users;  // token, user id
  for (const char* email : {"a@example.com", "b@example.com", "c@example.com"}) {
    const std::string id = client_->SignUp(email);
    users.emplace_back(client_->LoginToken(email), id);
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const auto& [token, user_id] = users[(t + i) % users.size()];
        grpc::Status status;
        std::string got;
        if (t % 2 == 0) {
          pb::ValidateSessionResponse v;
          status = Validate(token, &v);
          got = v.user_id();
        } else {
          pb::GetUserRequest req;
          req.set_user_id(user_id);
          pb::GetUserResponse resp;
          auto ctx = Client::Bearer(token);
          ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          status = client_->stub().GetUser(ctx.get(), req, &resp);
          got = resp.user().user_id();
        }
        if (!status.ok() || got != user_id) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(LoginTest, RotateSessionKillsTheOldTokenAndKeepsTheAbsoluteCap) {
  IdentityTestServerOptions options;
  options.identity.session_absolute_timeout = absl::Hours(1);
  options.identity.session_idle_timeout = absl::Minutes(50);
  StartWith(options);
  client_->SignUp("ada@example.com");
  const std::string old_token = client_->LoginToken("ada@example.com");
  server_->clock().Advance(absl::Minutes(40));
  pb::RotateSessionResponse rotated;
  ASSERT_TRUE(
      client_->stub().RotateSession(Client::Bearer(old_token).get(), {}, &rotated).ok());
  EXPECT_NE(rotated.session_token(), old_token);
  pb::ValidateSessionResponse v;
  EXPECT_EQ(Validate(old_token, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Validate(rotated.session_token(), &v).ok());
  EXPECT_EQ(v.session_id(), rotated.session_id());
  // Still capped one hour after the original login.
  server_->clock().Advance(absl::Minutes(21));
  EXPECT_EQ(Validate(rotated.session_token(), &v).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Sessions made in the same instant (the test clock stands still) still page without a gap or
// a repeat: the cursor is (created_at, id). A token names its user's listing only.
TEST_F(LoginTest, ListSessionsPagesNewestFirstAndATokenServesOnlyItsUsersListing) {
  std::string ada_id;
  const std::string ada = client_->MemberToken("ada@example.com", &ada_id);
  client_->LoginToken("ada@example.com");
  client_->LoginToken("ada@example.com");
  std::string bob_id;
  client_->MemberToken("bob@example.com", &bob_id);
  const std::string admin = client_->AdminToken();

  pb::ListSessionsResponse all;
  ASSERT_TRUE(client_->stub().ListSessions(Client::Bearer(ada).get(), {}, &all).ok());
  ASSERT_EQ(all.sessions_size(), 3);
  EXPECT_TRUE(all.next_page_token().empty());

  pb::ListSessionsRequest req;
  req.set_page_size(2);
  std::vector<std::string> paged;
  pb::ListSessionsResponse page;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client_->stub().ListSessions(Client::Bearer(ada).get(), req, &page).ok());
    EXPECT_LE(page.sessions_size(), 2);
    for (const auto& s : page.sessions()) paged.push_back(s.session_id());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  std::vector<std::string> unpaged;
  for (const auto& s : all.sessions()) unpaged.push_back(s.session_id());
  EXPECT_EQ(paged, unpaged);

  // A token of ada's listing is refused for bob's, even to an admin, and changes nothing.
  req.clear_page_token();
  req.set_page_size(1);
  ASSERT_TRUE(client_->stub().ListSessions(Client::Bearer(ada).get(), req, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  pb::ListSessionsRequest bobs;
  bobs.set_user_id(bob_id);
  bobs.set_page_token(page.next_page_token());
  grpc::Status refused = client_->stub().ListSessions(Client::Bearer(admin).get(), bobs, &page);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("page_token"), std::string::npos)
      << refused.error_message();
  pb::ListSessionsRequest negative;
  negative.set_page_size(-1);
  refused = client_->stub().ListSessions(Client::Bearer(ada).get(), negative, &page);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("page_size"), std::string::npos)
      << refused.error_message();
}

TEST_F(LoginTest, ListAndRevokeOwnSessionsButNotOthers) {
  std::string ada_id;
  const std::string ada1 = client_->MemberToken("ada@example.com", &ada_id);
  const std::string ada2 = client_->LoginToken("ada@example.com");
  const std::string bob = client_->MemberToken("bob@example.com");

  pb::ListSessionsResponse list;
  ASSERT_TRUE(client_->stub().ListSessions(Client::Bearer(ada1).get(), {}, &list).ok());
  ASSERT_EQ(list.sessions_size(), 2);
  for (const auto& s : list.sessions()) EXPECT_EQ(s.user_id(), ada_id);

  pb::ListSessionsRequest others;
  others.set_user_id(ada_id);
  EXPECT_EQ(client_->stub().ListSessions(Client::Bearer(bob).get(), others, &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Revoke ada's second session (not the one ada1 stands for).
  pb::ValidateSessionResponse own;
  ASSERT_TRUE(Validate(ada1, &own).ok());
  pb::RevokeSessionRequest revoke;
  for (const auto& s : list.sessions()) {
    if (s.session_id() != own.session_id()) revoke.set_session_id(s.session_id());
  }
  pb::RevokeSessionResponse revoked;
  // Another member's live session is answered exactly as an unknown one (no existence oracle).
  grpc::Status others_session =
      client_->stub().RevokeSession(Client::Bearer(bob).get(), revoke, &revoked);
  EXPECT_EQ(others_session.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(client_->stub().RevokeSession(Client::Bearer(ada1).get(), revoke, &revoked).ok());
  // Revoked already: nothing live to revoke.
  EXPECT_EQ(client_->stub().RevokeSession(Client::Bearer(ada1).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::ValidateSessionResponse dead;
  EXPECT_EQ(Validate(ada2, &dead).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  pb::RevokeSessionRequest unknown;
  unknown.set_session_id("00000000-0000-4000-8000-000000000000");
  grpc::Status unknown_session =
      client_->stub().RevokeSession(Client::Bearer(bob).get(), unknown, &revoked);
  EXPECT_EQ(unknown_session.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown_session.error_message(), others_session.error_message());
  EXPECT_EQ(suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(unknown_session))->reason,
            suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(others_session))->reason);
  pb::RevokeSessionRequest bad;
  bad.set_session_id("nope");
  grpc::Status s = client_->stub().RevokeSession(Client::Bearer(bob).get(), bad, &revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadField(s), "session_id");
}

TEST_F(LoginTest, RevokeAllSessionsCanKeepTheCurrentOne) {
  client_->SignUp("ada@example.com");
  const std::string a = client_->LoginToken("ada@example.com");
  const std::string b = client_->LoginToken("ada@example.com");
  const std::string c = client_->LoginToken("ada@example.com");
  pb::RevokeAllSessionsRequest req;
  req.set_keep_current(true);
  pb::RevokeAllSessionsResponse resp;
  ASSERT_TRUE(client_->stub().RevokeAllSessions(Client::Bearer(a).get(), req, &resp).ok());
  EXPECT_EQ(resp.revoked_session_count(), 2);
  pb::ValidateSessionResponse v;
  EXPECT_TRUE(Validate(a, &v).ok());
  EXPECT_EQ(Validate(b, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Validate(c, &v).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, AWeakerHashIsUpgradedOnTheNextSuccessfulLogin) {
  client_->SignUp("ada@example.com");
  const std::string before =
      Query("SELECT password_hash FROM identity.users")[0][0].as<std::string>();
  // Same database, stronger parameters (as after a configuration change).
  IdentityTestServerOptions stronger;
  stronger.hasher.opslimit = 2;
  auto hasher = PasswordHasher::Create(stronger.hasher);
  ASSERT_TRUE(hasher.ok());
  EXPECT_TRUE((*hasher)->NeedsRehash(before));
  // Swap the hashing parameters by running the domain on the same store with a new hasher.
  suite::db::PoolConfig pool_config;
  pool_config.database_url = server_->database().UrlAs("identity_service");
  auto pool = suite::db::ConnectionPool::Create(pool_config);
  ASSERT_TRUE(pool.ok());
  auto store = PgIdentityStore::Create(pool->get());
  ASSERT_TRUE(store.ok());
  Identity upgraded(store->get(), hasher->get(), &server_->clock(), IdentityOptions{});
  auto login = upgraded.Login({"ada@example.com", kPassword, "10.0.0.1", "", ""});
  ASSERT_TRUE(login.ok()) << login.status();
  const std::string after =
      Query("SELECT password_hash FROM identity.users")[0][0].as<std::string>();
  EXPECT_NE(after, before);
  EXPECT_FALSE((*hasher)->NeedsRehash(after));
  EXPECT_NE(after.find("$argon2id$"), std::string::npos);
}

}  // namespace
}  // namespace suite::identity::testing

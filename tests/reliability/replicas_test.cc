// Two replicas of each service (the real binaries) on one database: the same e-mail signed
// up on both, the same attempt submitted on both, the same webhook delivered to both: each
// ends exactly once and consistent. And a distributed brute force (one account, a different
// client IP per guess, guesses spread over both replicas) while the account's owner logs in on
// both: the guesses are slowed, the owner never refused. `migrate up` run twice at once is
// proven by //shared/db/migrate:migrator_test (TwoConcurrentRunnersApplyEachFileOnce).
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/api/status.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/harness/suite.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {
namespace {

constexpr char kAdminEmail[] = "root@example.com";
constexpr char kAdminPassword[] = "the operator's long secret";
constexpr char kSecret[] = "whsec_replicas";
constexpr char kPassword[] = "correct horse battery staple";

struct Replica {
  rpc::testing::ServerProcess* process;
  std::string addr;
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = suite::db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    harness::SuiteOptions o = harness::TestOptions(
        [this](const std::string& role) { return db_->UrlAs(role); }, kAdminEmail,
        kAdminPassword, kSecret);
    // Replica i of billing and questions calls replica i of what it calls.
    o.replicas = {{"identity", 2}, {"billing", 2}, {"questions", 2}};
    o.env["{SVC}_GRPC_DRAIN_TIMEOUT"] = "1s";
    // An account is under attack from 10 failures on (default 100), so the distributed brute
    // force below reaches it with 40 guesses.
    o.service_env["identity"] = {{"IDENTITY_LOGIN_MAX_FAILURES_PER_EMAIL", "10"}};
    o.service_env["questions"] = {{"QUESTIONS_FREE_QUOTA", "100000"}};
    suite_ = std::make_unique<harness::Suite>(o);
    const absl::Status started = suite_->Start();
    ASSERT_TRUE(started.ok()) << started;
    for (int i = 0; i < 2; ++i) {
      identity_[i] = {&suite_->process("identity", i), suite_->addr("identity", i)};
      billing_[i] = {&suite_->process("billing", i), suite_->addr("billing", i)};
      questions_[i] = {&suite_->process("questions", i), suite_->addr("questions", i)};
    }
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }

  // Runs fn(0) and fn(1) in two threads released at the same moment.
  static void Race(const std::function<void(int)>& fn) {
    absl::Notification go;
    std::thread a([&] { go.WaitForNotification(); fn(0); });
    std::thread b([&] { go.WaitForNotification(); fn(1); });
    go.Notify();
    a.join();
    b.join();
  }

  std::string Login(const std::string& addr, const std::string& email,
                    const std::string& password) {
    auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(addr));
    ::identity::v1::LoginRequest req;
    req.set_email(email);
    req.set_password(password);
    ::identity::v1::LoginResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub->Login(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.session_token();
  }

  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::unique_ptr<harness::Suite> suite_;
  std::array<Replica, 2> identity_, billing_, questions_;
};

TEST_F(ReplicasTest, TheSameEmailSignedUpOnBothReplicasAtOnceExistsOnce) {
  std::array<std::unique_ptr<::identity::v1::IdentityService::Stub>, 2> stubs = {
      ::identity::v1::IdentityService::NewStub(NewChannel(identity_[0].addr)),
      ::identity::v1::IdentityService::NewStub(NewChannel(identity_[1].addr))};
  for (int round = 0; round < 10; ++round) {
    const std::string email = absl::StrCat("twin-", round, "@example.com");
    std::array<grpc::StatusCode, 2> codes;
    Race([&](int i) {
      ::identity::v1::CreateUserRequest req;
      // The second replica gets another case: the address is unique case-insensitively.
      req.set_email(i == 0 ? email : absl::AsciiStrToUpper(email));
      req.set_password(kPassword);
      ::identity::v1::CreateUserResponse resp;
      grpc::ClientContext ctx;
      codes[i] = stubs[i]->CreateUser(&ctx, req, &resp).error_code();
    });
    EXPECT_EQ((codes[0] == grpc::StatusCode::OK) + (codes[1] == grpc::StatusCode::OK), 1)
        << "round " << round << ": " << codes[0] << " " << codes[1];
    EXPECT_TRUE(codes[0] == grpc::StatusCode::ALREADY_EXISTS ||
                codes[1] == grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(Count("SELECT count(*) FROM identity.users WHERE lower(email) = '" + email + "'"),
              1);
  }
}

TEST_F(ReplicasTest, TheSameAttemptSubmittedOnBothReplicasIsStoredOnce) {
  const std::string admin = Login(identity_[0].addr, kAdminEmail, kAdminPassword);
  auto q0 = ::questions::v1::QuestionBankService::NewStub(NewChannel(questions_[0].addr));
  auto q1 = ::questions::v1::QuestionBankService::NewStub(NewChannel(questions_[1].addr));
  auto ctx_for = [&](grpc::ClientContext& c) { c.AddMetadata("authorization", "Bearer " + admin); };
  ::questions::v1::CreateQuestionRequest create;
  create.set_stem("Which replica wins?");
  create.set_difficulty(::questions::v1::QUESTION_DIFFICULTY_EASY);
  create.add_choices()->set_text("exactly one");
  create.mutable_choices(0)->set_is_correct(true);
  create.add_choices()->set_text("both");
  ::questions::v1::CreateQuestionResponse created;
  {
    grpc::ClientContext c;
    ctx_for(c);
    ASSERT_TRUE(q0->CreateQuestion(&c, create, &created).ok());
    ::questions::v1::PublishQuestionRequest pub;
    pub.set_question_id(created.question().id());
    ::questions::v1::PublishQuestionResponse published;
    grpc::ClientContext c2;
    ctx_for(c2);
    ASSERT_TRUE(q1->PublishQuestion(&c2, pub, &published).ok());
  }
  std::array<::questions::v1::QuestionBankService::Stub*, 2> stubs = {q0.get(), q1.get()};
  for (int round = 0; round < 10; ++round) {
    ::questions::v1::StartPracticeSessionRequest start;
    start.set_mode(::questions::v1::PRACTICE_MODE_TUTOR);
    start.set_question_count(1);
    ::questions::v1::StartPracticeSessionResponse session;
    grpc::ClientContext c;
    ctx_for(c);
    grpc::Status s = q0->StartPracticeSession(&c, start, &session);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::array<grpc::StatusCode, 2> codes;
    Race([&](int i) {
      ::questions::v1::SubmitAttemptRequest req;
      req.set_session_id(session.session().id());
      req.set_question_id(created.question().id());
      req.set_choice_id(created.question().choices(i).id());  // even different answers
      req.set_time_spent_ms(1000);
      ::questions::v1::SubmitAttemptResponse resp;
      grpc::ClientContext cc;
      ctx_for(cc);
      codes[i] = stubs[i]->SubmitAttempt(&cc, req, &resp).error_code();
    });
    EXPECT_EQ((codes[0] == grpc::StatusCode::OK) + (codes[1] == grpc::StatusCode::OK), 1)
        << "round " << round << ": " << codes[0] << " " << codes[1];
    EXPECT_TRUE(codes[0] == grpc::StatusCode::ALREADY_EXISTS ||
                codes[1] == grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(Count("SELECT count(*) FROM questions.attempts WHERE session_id = '" +
                    session.session().id() + "'"),
              1);
  }
}

TEST_F(ReplicasTest, TheSameWebhookDeliveredToBothReplicasAppliesOnce) {
  std::array<std::unique_ptr<::billing::v1::BillingService::Stub>, 2> stubs = {
      ::billing::v1::BillingService::NewStub(NewChannel(billing_[0].addr)),
      ::billing::v1::BillingService::NewStub(NewChannel(billing_[1].addr))};
  for (int round = 0; round < 10; ++round) {
    const std::string id = absl::StrCat("evt_twin_", round);
    const std::string payload = absl::StrCat(
        R"({"id":")", id, R"(","object":"event","type":"customer.created","created":1700000000,)",
        R"("livemode":false,"api_version":"2024-06-20","data":{"object":{"id":"cus_twin_)", round,
        R"(","object":"customer"}}})");
    const int64_t t = absl::ToUnixSeconds(absl::Now());
    std::array<grpc::Status, 2> status;
    std::array<bool, 2> duplicate{};
    Race([&](int i) {
      ::billing::v1::IngestStripeEventRequest req;
      req.set_payload(payload);
      req.set_stripe_signature(absl::StrCat(
          "t=", t, ",v1=", suite::billing::ComputeStripeSignature(kSecret, t, payload)));
      ::billing::v1::IngestStripeEventResponse resp;
      grpc::ClientContext c;
      status[i] = stubs[i]->IngestStripeEvent(&c, req, &resp);
      duplicate[i] = resp.duplicate();
    });
    // Both succeed (a redelivery is acknowledged), exactly one applied it.
    EXPECT_TRUE(status[0].ok()) << status[0].error_message();
    EXPECT_TRUE(status[1].ok()) << status[1].error_message();
    EXPECT_EQ(duplicate[0] + duplicate[1], 1) << "round " << round;
    EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE stripe_event_id = '" + id +
                    "' AND status = 'processed'"),
              1);
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM billing.stripe_customers WHERE "
                                 "stripe_customer_id = 'cus_twin_",
                                 round, "'")),
              1);
  }
}

// What a Login from `ip` on replica `i` answered: its code and, when throttled, the
// retry_after_seconds it named.
struct LoginOutcome {
  grpc::StatusCode code;
  int retry_after_seconds = 0;
};

LoginOutcome LoginFrom(const std::string& addr, const std::string& email,
                       const std::string& password, const std::string& ip) {
  auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(addr));
  ::identity::v1::LoginRequest req;
  req.set_email(email);
  req.set_password(password);
  req.set_client_ip(ip);
  ::identity::v1::LoginResponse resp;
  grpc::ClientContext c;
  c.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  grpc::Status s = stub->Login(&c, req, &resp);
  LoginOutcome out{s.error_code()};
  if (auto info = suite::api::ErrorInfoOf(rpc::FromGrpcStatus(s))) {
    absl::SimpleAtoi(info->metadata["retry_after_seconds"], &out.retry_after_seconds);
  }
  return out;
}

// A distributed brute force (40 addresses, guesses spread over both replicas) and the owner
// logging in from their own address on both replicas at the same time. The attack puts the
// account under attack: every address that has failed on it then waits 15 minutes, each new
// address gets one guess; the owner, whose address has no failure on it, is never refused,
// and an attacking address can still log in to another account.
TEST_F(ReplicasTest, DistributedBruteForceIsSlowedWhileTheOwnerLogsInOnEitherReplica) {
  const std::string email = "victim@example.com";
  for (const std::string& who : {email, std::string("neighbour@example.com")}) {
    auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(identity_[0].addr));
    ::identity::v1::CreateUserRequest req;
    req.set_email(who);
    req.set_password(kPassword);
    ::identity::v1::CreateUserResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub->CreateUser(&c, req, &resp).ok());
  }
  std::atomic<int> owner_ok{0}, owner_other{0};
  std::atomic<bool> attack_over{false};
  std::thread owner([&] {
    for (int i = 0; !attack_over.load() || i < 4; ++i) {
      const LoginOutcome o = LoginFrom(identity_[i % 2].addr, email, kPassword, "203.0.113.7");
      if (o.code == grpc::StatusCode::OK) {
        ++owner_ok;
      } else {
        ++owner_other;
        std::printf("owner refused: code %d, retry after %d s\n", o.code, o.retry_after_seconds);
      }
    }
  });
  for (int round = 0; round < 2; ++round) {
    std::atomic<int> evaluated{0}, refused{0}, other{0}, shortest_wait{1 << 30};
    std::vector<std::thread> threads;
    absl::Notification go;
    for (int i = 0; i < 40; ++i) {
      threads.emplace_back([&, i] {
        go.WaitForNotification();
        const LoginOutcome o =
            LoginFrom(identity_[(i + round) % 2].addr, email,
                      absl::StrCat("wrong guess ", round, "/", i), absl::StrCat("198.51.100.", i + 1));
        if (o.code == grpc::StatusCode::UNAUTHENTICATED) {
          ++evaluated;
        } else if (o.code == grpc::StatusCode::RESOURCE_EXHAUSTED && o.retry_after_seconds > 0) {
          ++refused;
          int seen = shortest_wait.load();
          while (o.retry_after_seconds < seen &&
                 !shortest_wait.compare_exchange_weak(seen, o.retry_after_seconds)) {
          }
        } else {
          ++other;
        }
      });
    }
    go.Notify();
    for (auto& t : threads) t.join();
    std::printf("round %d: 40 guesses from 40 IPs over 2 replicas: %d evaluated, %d refused "
                "(shortest wait %d s), %d other\n",
                round, evaluated.load(), refused.load(), shortest_wait.load(), other.load());
    EXPECT_EQ(other.load(), 0);
    if (round == 0) {
      // Every address is new to the account: one guess each.
      EXPECT_EQ(evaluated.load(), 40);
    } else {
      // Every address has failed on an account under attack: 15 minutes after its failure.
      EXPECT_EQ(refused.load(), 40);
      EXPECT_GT(shortest_wait.load(), 800);
    }
  }
  attack_over = true;
  owner.join();
  EXPECT_GE(owner_ok.load(), 4);
  EXPECT_EQ(owner_other.load(), 0);
  // The owner from a fresh address on either replica, and another user from an attacking
  // address: in at once.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(LoginFrom(identity_[i].addr, email, kPassword, absl::StrCat("192.0.2.", i + 1)).code,
              grpc::StatusCode::OK);
    EXPECT_EQ(LoginFrom(identity_[i].addr, "neighbour@example.com", kPassword, "198.51.100.1")
                  .code,
              grpc::StatusCode::OK);
  }
  // And the attacking addresses still cannot guess.
  const LoginOutcome again = LoginFrom(identity_[1].addr, email, kPassword, "198.51.100.7");
  EXPECT_EQ(again.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace suite::reliability

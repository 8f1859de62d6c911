// Two replicas of each service (the real binaries) on one database: the same e-mail signed
// up on both, the same attempt submitted on both, the same webhook delivered to both, and a
// distributed brute force (one account, a different client IP per guess, guesses spread over
// both replicas). Each ends exactly once and consistent. `migrate up` run twice at once is
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
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/reliability/cluster.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {
namespace {

constexpr char kAdminEmail[] = "root@example.com";
constexpr char kAdminPassword[] = "the operator's long secret";
constexpr char kSecret[] = "whsec_replicas";
constexpr char kPassword[] = "correct horse battery staple";

struct Replica {
  std::unique_ptr<ServiceProcess> process;
  std::string addr;
};

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = suite::db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    for (int i = 0; i < 2; ++i) {
      identity_[i] = Start("services/identity/identity_server", "IDENTITY",
                           {{"DATABASE_URL", db_->UrlAs("identity_service")},
                            {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", kAdminEmail},
                            {"IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", kAdminPassword},
                            {"IDENTITY_PAGE_TOKEN_SECRET", "shared-identity-page-secret"},
                            {"IDENTITY_TRUSTED_PEERS", "127.0.0.1"}});
    }
    for (int i = 0; i < 2; ++i) {
      billing_[i] = Start("services/billing/billing_server", "BILLING",
                          {{"DATABASE_URL", db_->UrlAs("billing_service")},
                           {"BILLING_WEBHOOK_PORT", "0"},
                           {"BILLING_STRIPE_WEBHOOK_SECRETS", kSecret},
                           {"BILLING_PAGE_TOKEN_SECRET", "shared-billing-page-secret"},
                           {"IDENTITY_ADDR", identity_[i].addr}});
      questions_[i] = Start("services/questions/questions_server", "QUESTIONS",
                            {{"DATABASE_URL", db_->UrlAs("questions_service")},
                             {"QUESTIONS_PAGE_TOKEN_SECRET", "shared-questions-page-secret"},
                             {"QUESTIONS_FREE_QUOTA", "100000"},
                             {"IDENTITY_ADDR", identity_[i].addr},
                             {"BILLING_ADDR", billing_[i].addr}});
    }
    for (auto* group : {&identity_, &billing_, &questions_}) {
      for (Replica& r : *group) {
        absl::Time end = absl::Now() + absl::Seconds(20);
        while (HealthOf(NewChannel(r.addr)) != HealthStatus::kServing) {
          ASSERT_LT(absl::Now(), end) << r.addr << " never SERVING";
          absl::SleepFor(absl::Milliseconds(50));
        }
      }
    }
  }

  Replica Start(const std::string& binary, const std::string& prefix,
                std::map<std::string, std::string> env) {
    const int port = rpc::testing::FreeLoopbackPort();
    env[prefix + "_GRPC_ADDR"] = absl::StrCat("127.0.0.1:", port);
    env[prefix + "_GRPC_HEALTH_INTERVAL"] = "100ms";
    env[prefix + "_GRPC_DRAIN_TIMEOUT"] = "1s";
    return {std::make_unique<ServiceProcess>(binary, env), absl::StrCat("127.0.0.1:", port)};
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
      req.set_stripe_signature(
          absl::StrCat("t=", t, ",v1=", billing::ComputeStripeSignature(kSecret, t, payload)));
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

TEST_F(ReplicasTest, DistributedBruteForceOverBothReplicasHoldsThePerAccountLimit) {
  const std::string email = "victim@example.com";
  {
    auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(identity_[0].addr));
    ::identity::v1::CreateUserRequest req;
    req.set_email(email);
    req.set_password(kPassword);
    ::identity::v1::CreateUserResponse resp;
    grpc::ClientContext c;
    ASSERT_TRUE(stub->CreateUser(&c, req, &resp).ok());
  }
  // 40 wrong guesses at once, each from its own client IP (believed: the test's peer is
  // trusted), alternating between the replicas. The default limit is 5 failures per e-mail.
  std::atomic<int> evaluated{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  absl::Notification go;
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(identity_[i % 2].addr));
      go.WaitForNotification();
      ::identity::v1::LoginRequest req;
      req.set_email(email);
      req.set_password(absl::StrCat("wrong guess number ", i));
      req.set_client_ip(absl::StrCat("198.51.100.", i + 1));
      ::identity::v1::LoginResponse resp;
      grpc::ClientContext c;
      c.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      grpc::StatusCode code = stub->Login(&c, req, &resp).error_code();
      if (code == grpc::StatusCode::UNAUTHENTICATED) {
        ++evaluated;
      } else if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  go.Notify();
  for (auto& t : threads) t.join();
  std::printf("40 guesses from 40 IPs over 2 replicas: %d evaluated, %d refused, %d other\n",
              evaluated.load(), refused.load(), other.load());
  EXPECT_LE(evaluated.load(), 5);
  EXPECT_EQ(other.load(), 0);
  // Even the right password is refused now, from yet another address, on either replica.
  for (int i = 0; i < 2; ++i) {
    auto stub = ::identity::v1::IdentityService::NewStub(NewChannel(identity_[i].addr));
    ::identity::v1::LoginRequest req;
    req.set_email(email);
    req.set_password(kPassword);
    req.set_client_ip("203.0.113.7");
    ::identity::v1::LoginResponse resp;
    grpc::ClientContext c;
    EXPECT_EQ(stub->Login(&c, req, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
}

}  // namespace
}  // namespace suite::reliability

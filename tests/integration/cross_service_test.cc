// The three services together, in-process, each on its own fresh database and
// connected as its own role: questions authenticates callers through the REAL
// identity (IdentityAuthenticator → ValidateSession) and asks the REAL billing
// for entitlements, which exist only because a signed Stripe webhook said so.
// Billing sits behind a TcpProxy so that it can be stopped and brought back at
// the address questions was given.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/testing/billing_test_server.h"
#include "services/identity/testing/identity_test_server.h"
#include "services/questions/testing/questions_test_server.h"
#include "shared/api/status.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/grpc_status.h"
#include "tests/integration/tcp_proxy.h"

namespace suite {
namespace {

using ::suite::billing::testing::BillingTestServer;
using ::suite::db::testing::TestDatabase;
using ::suite::identity::testing::IdentityTestServer;
using ::suite::identity_client::IdentityAuthenticator;
using ::suite::questions::testing::QuestionsTestServer;
namespace qv1 = ::questions::v1;
namespace iv1 = ::identity::v1;
namespace bv1 = ::billing::v1;

constexpr char kWebhookSecret[] = "whsec_integration_secret";
constexpr char kAdminEmail[] = "admin@integration.example";
constexpr char kAdminPassword[] = "admin-password-integration";

std::string ReasonOf(const grpc::Status& status) {
  auto info = suite::api::ErrorInfoOf(rpc::FromGrpcStatus(status));
  return info ? info->reason : "";
}

// Stripe's scheme, written from its documentation: v1 = hex(HMAC-SHA256(secret,
// "t.payload")).
std::string StripeSignature(const std::string& payload, int64_t t) {
  const std::string signed_payload = absl::StrCat(t, ".", payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kWebhookSecret, static_cast<int>(sizeof(kWebhookSecret) - 1),
       reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), mac,
       &len);
  return absl::StrCat("t=", t, ",v1=",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), len)));
}

std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                        absl::Duration deadline = absl::Seconds(10)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return ctx;
}

struct Member {
  std::string user_id;
  std::string token;
};

class CrossServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto identity = IdentityTestServer::Start();
    ASSERT_TRUE(identity.ok()) << identity.status();
    identity_ = std::move(*identity);
    auto bootstrapped = identity_->identity().BootstrapAdmin(kAdminEmail, kAdminPassword);
    ASSERT_TRUE(bootstrapped.ok()) << bootstrapped.status();
    identity_stub_ = identity_->NewStub();
    admin_token_ = Login(kAdminEmail, kAdminPassword);
    ASSERT_FALSE(admin_token_.empty());

    // Each service keeps its own authenticator and channel, as the binaries do.
    billing_auth_ = std::make_unique<IdentityAuthenticator>(
        grpc::CreateChannel(identity_->address(), grpc::InsecureChannelCredentials()));
    questions_auth_ = std::make_unique<IdentityAuthenticator>(
        grpc::CreateChannel(identity_->address(), grpc::InsecureChannelCredentials()));

    auto billing_db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(billing_db.ok()) << billing_db.status();
    billing_db_ = std::move(*billing_db);
    StartBilling();
    ASSERT_NE(billing_, nullptr);
    ASSERT_FALSE(proxy_.address().empty());

    questions::testing::QuestionsServerOptions options;
    options.authenticator = questions_auth_.get();
    options.billing_addr = proxy_.address();
    options.free_sessions_per_day = 1;
    auto questions = QuestionsTestServer::Start(options);
    ASSERT_TRUE(questions.ok()) << questions.status();
    questions_ = std::move(*questions);
    stub_ = questions_->NewStub();

    for (int i = 0; i < 3; ++i) question_ids_.push_back(CreatePublishedQuestion(i));
  }

  void StartBilling() {
    ::suite::billing::BillingOptions options;
    options.webhook_secrets = {kWebhookSecret};
    options.page_token_secret = "integration-page-token-secret";
    auto billing =
        BillingTestServer::Start(billing_db_->UrlAs("billing_service"), options, *billing_auth_);
    ASSERT_TRUE(billing.ok()) << billing.status();
    billing_ = std::move(*billing);
    proxy_.SetTarget(billing_->grpc_port());
  }

  std::string Login(const std::string& email, const std::string& password) {
    iv1::LoginRequest req;
    req.set_email(email);
    req.set_password(password);
    iv1::LoginResponse resp;
    grpc::Status s = identity_stub_->Login(As("").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.session_token();
  }

  Member SignUp(const std::string& name) {
    iv1::CreateUserRequest req;
    req.set_email(name + "@integration.example");
    req.set_password("password-of-" + name);
    iv1::CreateUserResponse resp;
    grpc::Status s = identity_stub_->CreateUser(As("").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.user().user_id(), Login(req.email(), req.password())};
  }

  std::string CreatePublishedQuestion(int i) {
    qv1::CreateQuestionRequest req;
    req.set_stem(absl::StrCat("Integration question ", i, ": which is right?"));
    req.set_explanation("The first choice.");
    req.set_difficulty(qv1::QUESTION_DIFFICULTY_EASY);
    auto* right = req.add_choices();
    right->set_text("right");
    right->set_is_correct(true);
    req.add_choices()->set_text("wrong");
    qv1::CreateQuestionResponse created;
    grpc::Status s = stub_->CreateQuestion(As(admin_token_).get(), req, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    qv1::PublishQuestionRequest publish;
    publish.set_question_id(created.question().id());
    qv1::PublishQuestionResponse published;
    s = stub_->PublishQuestion(As(admin_token_).get(), publish, &published);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return created.question().id();
  }

  // Posts a signed customer.subscription.* event for `user_id` to billing's
  // HTTP door.
  void SubscriptionEvent(const std::string& type, const std::string& user_id,
                         const std::string& status, int64_t created) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    const std::string payload = absl::Substitute(
        R"({"id":"evt_$0_$1","object":"event","type":"$2","created":$3,"livemode":false,)"
        R"("api_version":"2024-06-20","data":{"object":{"id":"sub_$0","object":"subscription",)"
        R"("customer":"cus_$0","status":"$4","cancel_at_period_end":false,)"
        R"("current_period_end":$5,"trial_end":null,)"
        R"("items":{"data":[{"price":{"id":"price_monthly"}}]},"metadata":{"user_id":"$6"}}}})",
        user_id.substr(0, 8), created, type, created, status, now + 30 * 86400, user_id);
    httplib::Client http("127.0.0.1", billing_->http_port());
    httplib::Headers headers = {{"Stripe-Signature", StripeSignature(payload, now)}};
    auto res = http.Post("/webhooks/stripe", headers, payload, "application/json");
    ASSERT_TRUE(res) << "webhook POST failed";
    ASSERT_EQ(res->status, 200) << res->body;
  }

  grpc::Status StartSession(const std::string& token, qv1::PracticeMode mode,
                            qv1::StartPracticeSessionResponse* out,
                            absl::Duration deadline = absl::Seconds(10)) {
    qv1::StartPracticeSessionRequest req;
    req.set_mode(mode);
    req.set_question_count(3);
    return stub_->StartPracticeSession(As(token, deadline).get(), req, out);
  }

  std::unique_ptr<IdentityTestServer> identity_;
  std::unique_ptr<iv1::IdentityService::Stub> identity_stub_;
  std::string admin_token_;
  std::unique_ptr<IdentityAuthenticator> billing_auth_;
  std::unique_ptr<IdentityAuthenticator> questions_auth_;
  std::unique_ptr<TestDatabase> billing_db_;
  testing::TcpProxy proxy_;
  std::unique_ptr<BillingTestServer> billing_;
  std::unique_ptr<QuestionsTestServer> questions_;
  std::unique_ptr<qv1::QuestionBankService::Stub> stub_;
  std::vector<std::string> question_ids_;
};

TEST_F(CrossServiceTest, RolesComeFromIdentity) {
  Member alice = SignUp("alice-roles");
  qv1::CreateQuestionRequest req;
  req.set_stem("A member tries to author");
  req.set_difficulty(qv1::QUESTION_DIFFICULTY_EASY);
  req.add_choices()->set_text("a");
  req.mutable_choices(0)->set_is_correct(true);
  req.add_choices()->set_text("b");
  qv1::CreateQuestionResponse resp;
  EXPECT_EQ(stub_->CreateQuestion(As(alice.token).get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->CreateQuestion(As("not-a-session-token").get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The admin's role grant, read from identity, lets the same request through.
  EXPECT_TRUE(stub_->CreateQuestion(As(admin_token_).get(), req, &resp).ok());
}

TEST_F(CrossServiceTest, TutorRevealsAtOnceAndQuotaNeedsASubscription) {
  Member alice = SignUp("alice-tutor");
  qv1::StartPracticeSessionResponse first;
  ASSERT_TRUE(StartSession(alice.token, qv1::PRACTICE_MODE_TUTOR, &first).ok());
  ASSERT_EQ(first.session().question_ids_size(), 3);

  const std::string qid = first.session().question_ids(0);
  std::string right_choice;
  for (const auto& q : first.questions()) {
    if (q.id() != qid) continue;
    for (const auto& c : q.choices()) {
      EXPECT_FALSE(c.has_is_correct()) << "answer shown before answering";
      if (c.text() == "right") right_choice = c.id();
    }
  }
  qv1::SubmitAttemptRequest attempt;
  attempt.set_session_id(first.session().id());
  attempt.set_question_id(qid);
  attempt.set_choice_id(right_choice);
  qv1::SubmitAttemptResponse answered;
  ASSERT_TRUE(stub_->SubmitAttempt(As(alice.token).get(), attempt, &answered).ok());
  EXPECT_TRUE(answered.revealed());
  EXPECT_EQ(answered.correct_choice_id(), right_choice);
  EXPECT_TRUE(answered.attempt().is_correct());
  EXPECT_EQ(answered.explanation(), "The first choice.");

  // The free quota (1 a day here) is spent: billing decides, and says no.
  qv1::StartPracticeSessionResponse second;
  grpc::Status denied = StartSession(alice.token, qv1::PRACTICE_MODE_TUTOR, &second);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(denied), "ENTITLEMENT_REQUIRED");

  SubscriptionEvent("customer.subscription.created", alice.user_id, "active", 1800000000);
  EXPECT_TRUE(StartSession(alice.token, qv1::PRACTICE_MODE_TUTOR, &second).ok());
}

TEST_F(CrossServiceTest, ExamFollowsTheEntitlementOnAndOff) {
  Member alice = SignUp("alice-exam");
  Member bob = SignUp("bob-exam");
  qv1::StartPracticeSessionResponse exam;
  EXPECT_EQ(StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  SubscriptionEvent("customer.subscription.created", alice.user_id, "active", 1800000000);
  ASSERT_TRUE(StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam).ok());
  // Bob has no subscription of his own.
  qv1::StartPracticeSessionResponse bobs;
  EXPECT_EQ(StartSession(bob.token, qv1::PRACTICE_MODE_EXAM, &bobs).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Exam: nothing revealed until the end, then the score.
  for (const auto& q : exam.questions()) {
    qv1::SubmitAttemptRequest attempt;
    attempt.set_session_id(exam.session().id());
    attempt.set_question_id(q.id());
    attempt.set_choice_id(q.choices(0).text() == "right" ? q.choices(0).id() : q.choices(1).id());
    qv1::SubmitAttemptResponse out;
    ASSERT_TRUE(stub_->SubmitAttempt(As(alice.token).get(), attempt, &out).ok());
    EXPECT_FALSE(out.revealed());
    EXPECT_FALSE(out.attempt().has_is_correct());
  }
  qv1::EndPracticeSessionRequest end;
  end.set_session_id(exam.session().id());
  qv1::EndPracticeSessionResponse ended;
  ASSERT_TRUE(stub_->EndPracticeSession(As(alice.token).get(), end, &ended).ok());
  EXPECT_EQ(ended.session().score(), 3);

  // Stripe cancels the subscription (a later event): the exam door closes
  // again.
  SubscriptionEvent("customer.subscription.updated", alice.user_id, "canceled", 1800000100);
  EXPECT_EQ(StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CrossServiceTest, BillingStoppedIsUnavailableWithinTheDeadlineAndRecovers) {
  Member alice = SignUp("alice-outage");
  SubscriptionEvent("customer.subscription.created", alice.user_id, "active", 1800000000);
  qv1::StartPracticeSessionResponse exam;
  ASSERT_TRUE(StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam).ok());

  billing_.reset();  // billing stops; its address now refuses connections
  proxy_.SetTarget(0);
  const absl::Time start = absl::Now();
  grpc::Status down = StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam, absl::Seconds(3));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  EXPECT_EQ(ReasonOf(down), "BILLING_UNAVAILABLE");
  EXPECT_LT(took, absl::Seconds(3)) << "the answer must come before the caller's deadline";
  // Billing comes back (same database, new process, same address for
  // questions).
  StartBilling();
  ASSERT_NE(billing_, nullptr);
  grpc::Status back;
  const absl::Time until = absl::Now() + absl::Seconds(15);
  do {
    back = StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam, absl::Seconds(3));
    if (!back.ok()) absl::SleepFor(absl::Milliseconds(200));
  } while (!back.ok() && absl::Now() < until);
  EXPECT_TRUE(back.ok()) << "no recovery within 15 s: " << back.error_message();
}

TEST_F(CrossServiceTest, BillingHangingIsUnavailableBeforeTheCallersDeadline) {
  Member alice = SignUp("alice-hang");
  SubscriptionEvent("customer.subscription.created", alice.user_id, "active", 1800000000);
  proxy_.SetTarget(testing::TcpProxy::kBlackHole);  // billing accepts and never answers

  const absl::Time start = absl::Now();
  qv1::StartPracticeSessionResponse exam;
  grpc::Status s = StartSession(alice.token, qv1::PRACTICE_MODE_EXAM, &exam, absl::Seconds(2));
  const absl::Duration took = absl::Now() - start;
  // questions' own answer (fail closed), not the client's DEADLINE_EXCEEDED,
  // and no later.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(ReasonOf(s), "BILLING_UNAVAILABLE");
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_F(CrossServiceTest, IdentityStoppedIsUnavailableNotAHang) {
  Member alice = SignUp("alice-identity-down");  // never seen by questions or billing yet
  identity_->Shutdown();

  qv1::ListQuestionsRequest list;
  qv1::ListQuestionsResponse listed;
  absl::Time start = absl::Now();
  grpc::Status s = stub_->ListQuestions(As(alice.token, absl::Seconds(10)).get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "questions waited on identity too long";

  auto billing_stub = billing_->NewStub();
  bv1::GetEntitlementRequest req;
  req.set_user_id(alice.user_id);
  bv1::GetEntitlementResponse resp;
  start = absl::Now();
  s = billing_stub->GetEntitlement(As(alice.token, absl::Seconds(10)).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "billing waited on identity too long";
}

}  // namespace
}  // namespace suite

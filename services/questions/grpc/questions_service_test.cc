// questions.v1.QuestionBankService end to end: a real server on loopback over a real migrated
// PostgreSQL (as questions_service), driven through the generated stubs. Callers are
// authenticated by the real IdentityAuthenticator against a loopback identity server that
// implements ValidateSession from a token table; billing is a loopback gRPC server whose
// GetEntitlement answers the test controls (or a closed port for "billing down"). The real
// identity and billing fixtures are visible to //tests/... only, so the cross-service test
// with them belongs there.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "pqxx/pqxx"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/testing/questions_test_server.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::questions {
namespace {

namespace pb = ::questions::v1;
using ::testing::HasSubstr;
using testing::QuestionsTestServer;

constexpr char kAuthorId[] = "00000000-0000-4000-8000-00000000000a";
constexpr char kAdminId[] = "00000000-0000-4000-8000-00000000000b";
constexpr char kMemberId[] = "00000000-0000-4000-8000-00000000000c";
constexpr char kOtherId[] = "00000000-0000-4000-8000-00000000000d";
constexpr char kPayingId[] = "00000000-0000-4000-8000-00000000000e";

// identity.v1.IdentityService with only ValidateSession (the services.md contract): tokens
// "author", "admin", "member", "other", "paying" stand for the users above; others are
// UNAUTHENTICATED. Callers reach it through the real IdentityAuthenticator.
class FakeIdentity final : public ::identity::v1::IdentityService::Service {
 public:
  grpc::Status ValidateSession(grpc::ServerContext*,
                               const ::identity::v1::ValidateSessionRequest* request,
                               ::identity::v1::ValidateSessionResponse* response) override {
    static const auto* users = new std::map<std::string, std::pair<std::string, std::vector<std::string>>>{
        {"author", {kAuthorId, {"author", "member"}}},
        {"admin", {kAdminId, {"admin"}}},
        {"member", {kMemberId, {"member"}}},
        {"other", {kOtherId, {"member"}}},
        {"paying", {kPayingId, {"member"}}},
    };
    auto it = users->find(request->session_token());
    if (it == users->end()) return grpc::Status(grpc::UNAUTHENTICATED, "unknown session");
    response->set_user_id(it->second.first);
    response->set_session_id("00000000-0000-4000-8000-0000000000ff");
    for (const std::string& role : it->second.second) {
      response->add_role_grants()->set_role(role);
    }
    // An account-scoped admin grant must not make anyone a global admin.
    auto* scoped = response->add_role_grants();
    scoped->set_role("admin");
    scoped->set_account_id("00000000-0000-4000-8000-0000000000ee");
    response->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
    return grpc::Status::OK;
  }
};

// billing.v1.BillingService with only GetEntitlement: kPayingId is entitled; it records what
// it was called with and can be made slow.
class FakeBilling final : public billing::v1::BillingService::Service {
 public:
  grpc::Status GetEntitlement(grpc::ServerContext* context,
                              const billing::v1::GetEntitlementRequest* request,
                              billing::v1::GetEntitlementResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      auto auth = context->client_metadata().find("authorization");
      last_authorization_ = auth == context->client_metadata().end()
                                ? ""
                                : std::string(auth->second.data(), auth->second.size());
      auto rid = context->client_metadata().find("x-request-id");
      last_request_id_ = rid == context->client_metadata().end()
                             ? ""
                             : std::string(rid->second.data(), rid->second.size());
    }
    if (delay_ms_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    response->mutable_entitlement()->set_user_id(request->user_id());
    response->mutable_entitlement()->set_entitled(request->user_id() == kPayingId);
    return grpc::Status::OK;
  }

  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::string last_authorization() {
    absl::MutexLock lock(&mu_);
    return last_authorization_;
  }
  std::string last_request_id() {
    absl::MutexLock lock(&mu_);
    return last_request_id_;
  }
  std::atomic<int> delay_ms_{0};

 private:
  absl::Mutex mu_;
  int calls_ = 0;
  std::string last_authorization_;
  std::string last_request_id_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(3, 500); }

  void StartWithBillingAt(const std::string& addr) { StartWith(3, 500, addr); }

  void StartWith(int free_quota, size_t chunk, const std::string& billing_override = "") {
    server_.reset();
    if (!billing_server_ && billing_override.empty()) {
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(&billing_);
      billing_server_ = builder.BuildAndStart();
      ASSERT_NE(billing_server_, nullptr);
      billing_addr_ = absl::StrCat("127.0.0.1:", port);
    }
    if (!identity_server_) {
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(&identity_);
      identity_server_ = builder.BuildAndStart();
      ASSERT_NE(identity_server_, nullptr);
      auth_ = std::make_unique<suite::identity_client::IdentityAuthenticator>(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    }
    testing::QuestionsServerOptions options;
    options.authenticator = auth_.get();
    options.billing_addr = billing_override.empty() ? billing_addr_ : billing_override;
    options.free_sessions_per_day = free_quota;
    options.import_chunk_size = chunk;
    auto server = QuestionsTestServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = server_->NewStub();
  }

  void TearDown() override {
    server_.reset();
    if (billing_server_) billing_server_->Shutdown();
    if (identity_server_) identity_server_->Shutdown();
  }

  // A client context carrying `token` (none when empty) and a generous deadline.
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                                 absl::Duration timeout = absl::Seconds(20)) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return context;
  }

  pb::CreateQuestionRequest Valid(const std::string& stem = "Which drug reverses opioid overdose?") {
    pb::CreateQuestionRequest r;
    r.set_stem(stem);
    r.set_explanation("Naloxone is an opioid antagonist.");
    r.set_difficulty(pb::QUESTION_DIFFICULTY_EASY);
    auto* a = r.add_choices();
    a->set_text("Naloxone");
    a->set_is_correct(true);
    r.add_choices()->set_text("Flumazenil");
    r.add_choices()->set_text("Atropine");
    return r;
  }

  pb::Question Create(const pb::CreateQuestionRequest& request, bool publish = true) {
    pb::CreateQuestionResponse response;
    grpc::Status s = stub_->CreateQuestion(As("author").get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (publish) {
      pb::PublishQuestionRequest p;
      p.set_question_id(response.question().id());
      pb::PublishQuestionResponse published;
      EXPECT_TRUE(stub_->PublishQuestion(As("author").get(), p, &published).ok());
      return published.question();
    }
    return response.question();
  }

  std::string CorrectChoice(const pb::Question& q) {
    for (const auto& c : q.choices()) {
      if (c.is_correct()) return c.id();
    }
    return "";
  }
  std::string WrongChoice(const pb::Question& q) {
    for (const auto& c : q.choices()) {
      if (c.has_is_correct() && !c.is_correct()) return c.id();
    }
    return "";
  }

  int64_t Count(const std::string& table) {
    pqxx::connection conn(server_->database().url());
    pqxx::work tx(conn);
    return tx.exec1("SELECT count(*) FROM questions." + table)[0].as<int64_t>();
  }

  // Imports `n` published questions of 4 choices each, the correct one written first (as the
  // demo bank's author did), and returns them as their author sees them, by id.
  std::map<std::string, pb::Question> CorrectFirstBank(int n) {
    pb::ImportQuestionsResponse imported;
    auto context = As("author", absl::Seconds(60));
    auto writer = stub_->ImportQuestions(context.get(), &imported);
    pb::ImportQuestionsRequest batch;
    for (int i = 0; i < n; ++i) {
      pb::ImportQuestionItem* item = batch.add_items();
      item->set_external_key(absl::StrCat("first-", i));
      item->set_stem(absl::StrCat("Question ", i));
      item->set_explanation(absl::StrCat("Because of ", i));
      item->set_difficulty(pb::QUESTION_DIFFICULTY_MEDIUM);
      item->set_publish(true);
      for (int c = 0; c < 4; ++c) {
        auto* choice = item->add_choices();
        choice->set_text(absl::StrCat("choice ", c));
        choice->set_is_correct(c == 0);
      }
    }
    EXPECT_TRUE(writer->Write(batch));
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(imported.created_count(), n);
    std::map<std::string, pb::Question> bank;
    pb::ListQuestionsRequest list;
    list.set_page_size(100);
    for (;;) {
      pb::ListQuestionsResponse page;
      s = stub_->ListQuestions(As("author").get(), list, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const auto& q : page.questions()) bank[q.id()] = q;
      if (!s.ok() || page.next_page_token().empty()) break;
      list.set_page_token(page.next_page_token());
    }
    EXPECT_EQ(static_cast<int>(bank.size()), n);
    return bank;
  }

  // The ids of q's choices in the order shown, after checking that their positions are that
  // order (a client sorting by position sees the same).
  static std::vector<std::string> ShownOrder(const pb::Question& q) {
    std::vector<std::string> ids;
    for (int i = 0; i < q.choices_size(); ++i) {
      EXPECT_EQ(q.choices(i).position(), i) << q.id();
      ids.push_back(q.choices(i).id());
    }
    return ids;
  }

  pb::Tag MakeTag(pb::TagKind kind, const std::string& slug) {
    pb::CreateTagRequest r;
    r.set_kind(kind);
    r.set_slug(slug);
    r.set_label(slug);
    pb::CreateTagResponse response;
    grpc::Status s = stub_->CreateTag(As("author").get(), r, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.tag();
  }

  FakeIdentity identity_;
  std::unique_ptr<grpc::Server> identity_server_;
  std::unique_ptr<suite::identity_client::IdentityAuthenticator> auth_;
  FakeBilling billing_;
  std::unique_ptr<grpc::Server> billing_server_;
  std::string billing_addr_;
  std::unique_ptr<QuestionsTestServer> server_;
  std::unique_ptr<pb::QuestionBankService::Stub> stub_;
};

using suite::rpc::FirstViolatedField;

// --- authoring ---

TEST_F(ServiceTest, AuthorCreatesAndPublishesAndMembersSeeOnlyPublishedWithoutAnswers) {
  pb::Question draft = Create(Valid("draft stem"), /*publish=*/false);
  EXPECT_EQ(draft.status(), pb::QUESTION_STATUS_DRAFT);
  EXPECT_EQ(draft.author_id(), kAuthorId);
  ASSERT_EQ(draft.choices_size(), 3);
  EXPECT_TRUE(draft.choices(0).has_is_correct());
  pb::Question published = Create(Valid("published stem"));
  EXPECT_EQ(published.status(), pb::QUESTION_STATUS_PUBLISHED);
  EXPECT_TRUE(published.has_publish_time());

  pb::GetQuestionRequest get;
  pb::GetQuestionResponse got;
  get.set_question_id(draft.id());
  EXPECT_EQ(stub_->GetQuestion(As("member").get(), get, &got).error_code(), grpc::NOT_FOUND);
  get.set_question_id(published.id());
  ASSERT_TRUE(stub_->GetQuestion(As("member").get(), get, &got).ok());
  for (const auto& c : got.question().choices()) EXPECT_FALSE(c.has_is_correct());
  EXPECT_EQ(got.question().explanation(), "");
  ASSERT_TRUE(stub_->GetQuestion(As("admin").get(), get, &got).ok());
  EXPECT_FALSE(CorrectChoice(got.question()).empty());

  pb::ListQuestionsRequest list;
  pb::ListQuestionsResponse listed;
  ASSERT_TRUE(stub_->ListQuestions(As("member").get(), list, &listed).ok());
  ASSERT_EQ(listed.questions_size(), 1);
  EXPECT_EQ(listed.questions(0).id(), published.id());
  EXPECT_FALSE(listed.questions(0).choices(0).has_is_correct());
  list.mutable_filter()->set_status(pb::QUESTION_STATUS_DRAFT);
  EXPECT_EQ(stub_->ListQuestions(As("member").get(), list, &listed).error_code(),
            grpc::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->ListQuestions(As("author").get(), list, &listed).ok());
  ASSERT_EQ(listed.questions_size(), 1);
  EXPECT_EQ(listed.questions(0).id(), draft.id());
}

TEST_F(ServiceTest, UpdateChangesDraftsOnlyAndPublishAndArchiveFollowTheLifecycle) {
  pb::Question draft = Create(Valid(), /*publish=*/false);
  pb::UpdateQuestionRequest update;
  update.set_question_id(draft.id());
  update.set_stem("new stem");
  update.set_difficulty(pb::QUESTION_DIFFICULTY_HARD);
  update.mutable_update_mask()->add_paths("stem");
  update.mutable_update_mask()->add_paths("difficulty");
  pb::UpdateQuestionResponse updated;
  ASSERT_TRUE(stub_->UpdateQuestion(As("author").get(), update, &updated).ok());
  EXPECT_EQ(updated.question().stem(), "new stem");
  EXPECT_EQ(updated.question().difficulty(), pb::QUESTION_DIFFICULTY_HARD);
  EXPECT_EQ(updated.question().explanation(), draft.explanation());

  pb::PublishQuestionRequest publish;
  publish.set_question_id(draft.id());
  pb::PublishQuestionResponse published;
  ASSERT_TRUE(stub_->PublishQuestion(As("admin").get(), publish, &published).ok());
  EXPECT_EQ(stub_->PublishQuestion(As("admin").get(), publish, &published).error_code(),
            grpc::FAILED_PRECONDITION);
  grpc::Status s = stub_->UpdateQuestion(As("author").get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION);

  pb::ArchiveQuestionRequest archive;
  archive.set_question_id(draft.id());
  pb::ArchiveQuestionResponse archived;
  ASSERT_TRUE(stub_->ArchiveQuestion(As("author").get(), archive, &archived).ok());
  EXPECT_EQ(archived.question().status(), pb::QUESTION_STATUS_ARCHIVED);
  EXPECT_EQ(stub_->ArchiveQuestion(As("author").get(), archive, &archived).error_code(),
            grpc::FAILED_PRECONDITION);
  pb::GetQuestionRequest get;
  get.set_question_id(draft.id());
  pb::GetQuestionResponse got;
  EXPECT_EQ(stub_->GetQuestion(As("member").get(), get, &got).error_code(), grpc::NOT_FOUND);

  archive.set_question_id("00000000-0000-4000-8000-000000000999");
  EXPECT_EQ(stub_->ArchiveQuestion(As("author").get(), archive, &archived).error_code(),
            grpc::NOT_FOUND);
}

TEST_F(ServiceTest, EveryBadInputIsInvalidArgumentNamingTheFieldAndWritesNothing) {
  struct Case {
    std::string field;
    std::function<void(pb::CreateQuestionRequest&)> mutate;
  };
  const std::vector<Case> cases = {
      {"stem", [](auto& r) { r.set_stem("   "); }},
      {"stem", [](auto& r) { r.set_stem(std::string(4001, 'x')); }},
      {"explanation", [](auto& r) { r.set_explanation(std::string(8001, 'x')); }},
      {"difficulty", [](auto& r) { r.set_difficulty(pb::QUESTION_DIFFICULTY_UNSPECIFIED); }},
      {"difficulty", [](auto& r) { r.set_difficulty(static_cast<pb::QuestionDifficulty>(42)); }},
      {"choices", [](auto& r) { r.mutable_choices()->DeleteSubrange(1, 2); }},
      {"choices", [](auto& r) {
         for (int i = 0; i < 8; ++i) r.add_choices()->set_text("more");
       }},
      {"choices", [](auto& r) { r.mutable_choices(1)->set_is_correct(true); }},
      {"choices", [](auto& r) { r.mutable_choices(0)->set_is_correct(false); }},
      {"choices[2].text", [](auto& r) { r.mutable_choices(2)->set_text(""); }},
      {"choices[1].text", [](auto& r) { r.mutable_choices(1)->set_text(std::string(1001, 'y')); }},
      {"tag_ids[0]", [](auto& r) { r.add_tag_ids("not-a-uuid"); }},
      {"external_key", [](auto& r) { r.set_external_key(std::string(201, 'k')); }},
  };
  for (const Case& c : cases) {
    pb::CreateQuestionRequest request = Valid();
    c.mutate(request);
    pb::CreateQuestionResponse response;
    grpc::Status s = stub_->CreateQuestion(As("author").get(), request, &response);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(FirstViolatedField(s), c.field) << s.error_message();
  }
  EXPECT_EQ(Count("questions"), 0);
  EXPECT_EQ(Count("choices"), 0);

  // The other RPCs' inputs.
  pb::GetQuestionRequest get;
  pb::GetQuestionResponse got;
  get.set_question_id("nope");
  grpc::Status s = stub_->GetQuestion(As("member").get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(FirstViolatedField(s), "question_id");
  pb::CreateTagRequest tag;
  tag.set_kind(pb::TAG_KIND_TOPIC);
  tag.set_slug("Bad Slug");
  tag.set_label("x");
  pb::CreateTagResponse tag_response;
  s = stub_->CreateTag(As("author").get(), tag, &tag_response);
  EXPECT_EQ(FirstViolatedField(s), "slug");
  tag.set_slug("ok");
  tag.set_kind(pb::TAG_KIND_UNSPECIFIED);
  EXPECT_EQ(FirstViolatedField(stub_->CreateTag(As("author").get(), tag, &tag_response)), "kind");
  tag.set_kind(pb::TAG_KIND_TOPIC);
  tag.set_label("");
  EXPECT_EQ(FirstViolatedField(stub_->CreateTag(As("author").get(), tag, &tag_response)), "label");
  EXPECT_EQ(Count("tags"), 0);
  pb::StartPracticeSessionRequest start;
  pb::StartPracticeSessionResponse started;
  start.set_question_count(5);
  EXPECT_EQ(FirstViolatedField(stub_->StartPracticeSession(As("member").get(), start, &started)), "mode");
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.set_question_count(0);
  EXPECT_EQ(FirstViolatedField(stub_->StartPracticeSession(As("member").get(), start, &started)),
            "question_count");
  start.set_question_count(101);
  EXPECT_EQ(FirstViolatedField(stub_->StartPracticeSession(As("member").get(), start, &started)),
            "question_count");
  start.set_question_count(5);
  start.mutable_filter()->add_tag_ids("x");
  EXPECT_EQ(FirstViolatedField(stub_->StartPracticeSession(As("member").get(), start, &started)),
            "filter.tag_ids[0]");
  EXPECT_EQ(Count("practice_sessions"), 0);
  pb::SubmitAttemptRequest submit;
  pb::SubmitAttemptResponse submitted;
  submit.set_session_id("00000000-0000-4000-8000-000000000001");
  submit.set_question_id("00000000-0000-4000-8000-000000000001");
  submit.set_choice_id("00000000-0000-4000-8000-000000000001");
  submit.set_time_spent_ms(-1);
  EXPECT_EQ(FirstViolatedField(stub_->SubmitAttempt(As("member").get(), submit, &submitted)),
            "time_spent_ms");
  submit.set_time_spent_ms(1);
  submit.set_choice_id("");
  EXPECT_EQ(FirstViolatedField(stub_->SubmitAttempt(As("member").get(), submit, &submitted)), "choice_id");
  pb::ListQuestionsRequest list;
  pb::ListQuestionsResponse listed;
  list.set_page_size(-1);
  EXPECT_EQ(FirstViolatedField(stub_->ListQuestions(As("member").get(), list, &listed)), "page_size");
  list.set_page_size(10);
  list.set_page_token("garbage");
  EXPECT_EQ(FirstViolatedField(stub_->ListQuestions(As("member").get(), list, &listed)), "page_token");
  list.set_page_token("");
  list.mutable_filter()->add_all_tag_ids("zzz");
  EXPECT_EQ(FirstViolatedField(stub_->ListQuestions(As("member").get(), list, &listed)),
            "filter.all_tag_ids[0]");
  pb::UpdateQuestionRequest update;
  pb::UpdateQuestionResponse updated;
  update.set_question_id("00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(FirstViolatedField(stub_->UpdateQuestion(As("author").get(), update, &updated)), "update_mask");
  update.mutable_update_mask()->add_paths("author_id");
  EXPECT_EQ(FirstViolatedField(stub_->UpdateQuestion(As("author").get(), update, &updated)), "update_mask");
}

// proto3 hands a handler any enum number a client sends: one this server does not know is
// refused as "<field>: unknown value N", never as "is required" (it was set) and never read
// as "not set" (which would widen a filter or pick a default).
TEST_F(ServiceTest, UnknownEnumNumberIsUnknownValueNamingTheFieldInEveryRpc) {
  // Beyond the largest value of every enum here (TagKind's is 5), negative, the extremes.
  for (int n : {7, 6, -1, 2147483647, -2147483647 - 1}) {
    const std::string want = absl::StrCat("unknown value ", n);
    auto expect = [&](const grpc::Status& s, const std::string& field) {
      EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT) << field << " " << n;
      EXPECT_EQ(s.error_message(), absl::StrCat(field, ": ", want));
      auto v = suite::api::FieldViolationsOf(suite::rpc::FromGrpcStatus(s));
      ASSERT_EQ(v.size(), 1u) << field;
      EXPECT_EQ(v[0].field, field);
      EXPECT_EQ(v[0].description, want);
    };
    pb::CreateQuestionRequest create = Valid();
    create.set_difficulty(static_cast<pb::QuestionDifficulty>(n));
    pb::CreateQuestionResponse created;
    expect(stub_->CreateQuestion(As("author").get(), create, &created), "difficulty");

    pb::UpdateQuestionRequest update;
    update.set_question_id("00000000-0000-4000-8000-000000000001");
    update.set_difficulty(static_cast<pb::QuestionDifficulty>(n));
    update.mutable_update_mask()->add_paths("difficulty");
    pb::UpdateQuestionResponse updated;
    expect(stub_->UpdateQuestion(As("author").get(), update, &updated), "difficulty");

    pb::CreateTagRequest tag;
    tag.set_kind(static_cast<pb::TagKind>(n));
    tag.set_slug("ok");
    tag.set_label("ok");
    pb::CreateTagResponse tagged;
    expect(stub_->CreateTag(As("author").get(), tag, &tagged), "kind");

    pb::ListTagsRequest tags;
    tags.set_kind(static_cast<pb::TagKind>(n));
    pb::ListTagsResponse listed_tags;
    expect(stub_->ListTags(As("member").get(), tags, &listed_tags), "kind");

    pb::ListQuestionsRequest list;
    pb::ListQuestionsResponse listed;
    list.mutable_filter()->set_status(static_cast<pb::QuestionStatus>(n));
    expect(stub_->ListQuestions(As("author").get(), list, &listed), "filter.status");
    list.mutable_filter()->set_status(pb::QUESTION_STATUS_UNSPECIFIED);
    list.mutable_filter()->set_difficulty(static_cast<pb::QuestionDifficulty>(n));
    expect(stub_->ListQuestions(As("author").get(), list, &listed), "filter.difficulty");

    pb::StartPracticeSessionRequest start;
    start.set_question_count(5);
    start.set_mode(static_cast<pb::PracticeMode>(n));
    pb::StartPracticeSessionResponse started;
    expect(stub_->StartPracticeSession(As("member").get(), start, &started), "mode");
    start.set_mode(pb::PRACTICE_MODE_TUTOR);
    start.mutable_filter()->set_difficulty(static_cast<pb::QuestionDifficulty>(n));
    expect(stub_->StartPracticeSession(As("member").get(), start, &started), "filter.difficulty");

    // An import reports the item and goes on with the others.
    pb::ImportQuestionsResponse imported;
    auto context = As("author");
    auto writer = stub_->ImportQuestions(context.get(), &imported);
    pb::ImportQuestionsRequest batch;
    for (int i = 0; i < 2; ++i) {
      pb::ImportQuestionItem* item = batch.add_items();
      item->set_external_key(absl::StrCat("enum-", n, "-", i));
      item->set_stem("A stem");
      item->set_difficulty(i == 0 ? static_cast<pb::QuestionDifficulty>(n)
                                  : pb::QUESTION_DIFFICULTY_EASY);
      auto* c = item->add_choices();
      c->set_text("yes");
      c->set_is_correct(true);
      item->add_choices()->set_text("no");
    }
    EXPECT_TRUE(writer->Write(batch));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_EQ(imported.created_count(), 1);
    EXPECT_EQ(imported.failed_count(), 1);
    ASSERT_EQ(imported.errors_size(), 1);
    EXPECT_EQ(imported.errors(0).index(), 0);
    EXPECT_EQ(imported.errors(0).field(), "difficulty");
    EXPECT_EQ(imported.errors(0).message(), want);
  }
  EXPECT_EQ(Count("tags"), 0);
  EXPECT_EQ(Count("practice_sessions"), 0);
  EXPECT_EQ(Count("questions"), 5);  // one good item per import
}

TEST_F(ServiceTest, TagSlugsAreUniquePerKindAndTaggingIsIdempotent) {
  pb::Tag topic = MakeTag(pb::TAG_KIND_TOPIC, "opioids");
  pb::Tag substance = MakeTag(pb::TAG_KIND_SUBSTANCE, "opioids");
  EXPECT_NE(topic.id(), substance.id());
  pb::CreateTagRequest again;
  again.set_kind(pb::TAG_KIND_TOPIC);
  again.set_slug("opioids");
  again.set_label("dup");
  pb::CreateTagResponse response;
  EXPECT_EQ(stub_->CreateTag(As("admin").get(), again, &response).error_code(),
            grpc::ALREADY_EXISTS);

  pb::Question q = Create(Valid(), false);
  pb::TagQuestionRequest tag;
  tag.set_question_id(q.id());
  tag.set_tag_id(topic.id());
  pb::TagQuestionResponse tagged;
  ASSERT_TRUE(stub_->TagQuestion(As("author").get(), tag, &tagged).ok());
  ASSERT_TRUE(stub_->TagQuestion(As("author").get(), tag, &tagged).ok());
  ASSERT_EQ(tagged.question().tags_size(), 1);
  EXPECT_EQ(tagged.question().tags(0).slug(), "opioids");
  tag.set_tag_id("00000000-0000-4000-8000-000000000999");
  EXPECT_EQ(stub_->TagQuestion(As("author").get(), tag, &tagged).error_code(), grpc::NOT_FOUND);
  pb::UntagQuestionRequest untag;
  untag.set_question_id(q.id());
  untag.set_tag_id(topic.id());
  pb::UntagQuestionResponse untagged;
  ASSERT_TRUE(stub_->UntagQuestion(As("author").get(), untag, &untagged).ok());
  EXPECT_EQ(untagged.question().tags_size(), 0);

  // ListTags pages through kind then slug.
  for (int i = 0; i < 5; ++i) MakeTag(pb::TAG_KIND_DIAGNOSIS, absl::StrCat("d", i));
  pb::ListTagsRequest list;
  list.set_page_size(3);
  std::vector<std::string> slugs;
  for (;;) {
    pb::ListTagsResponse page;
    ASSERT_TRUE(stub_->ListTags(As("member").get(), list, &page).ok());
    for (const auto& t : page.tags()) slugs.push_back(absl::StrCat(t.kind(), "/", t.slug()));
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(slugs, ::testing::ElementsAre("2/opioids", "3/opioids", "5/d0", "5/d1", "5/d2",
                                            "5/d3", "5/d4"));
  // A token only works with the filter it was issued for.
  pb::ListTagsRequest first;
  first.set_page_size(1);
  pb::ListTagsResponse page;
  ASSERT_TRUE(stub_->ListTags(As("member").get(), first, &page).ok());
  first.set_page_token(page.next_page_token());
  first.set_kind(pb::TAG_KIND_TOPIC);
  EXPECT_EQ(stub_->ListTags(As("member").get(), first, &page).error_code(),
            grpc::INVALID_ARGUMENT);
  // ...and only with the list it was issued for.
  pb::ListQuestionsRequest questions;
  questions.set_page_token(first.page_token());
  pb::ListQuestionsResponse listed;
  EXPECT_EQ(FirstViolatedField(stub_->ListQuestions(As("member").get(), questions, &listed)), "page_token");
}

// Of several ids, the one that does not exist is named: its field path (also as the BadRequest
// field violation) and the id itself, in every RPC taking several; nothing is written.
TEST_F(ServiceTest, EveryUnknownIdIsNamedByItsFieldPathAndId) {
  const pb::Tag known = MakeTag(pb::TAG_KIND_TOPIC, "known");
  const std::string unknown = "1f0e0000-0000-4000-8000-000000000999";
  auto expect_unknown_tag = [&](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::FAILED_PRECONDITION) << field;
    EXPECT_EQ(s.error_message(), absl::StrCat(field, ": tag ", unknown, " not found"));
    EXPECT_EQ(FirstViolatedField(s), field);
    auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(s));
    ASSERT_TRUE(info.has_value()) << field;
    EXPECT_EQ(info->reason, "UNKNOWN_TAG");
    EXPECT_EQ(info->metadata["tag_id"], unknown);
  };

  pb::CreateQuestionRequest create = Valid();
  create.add_tag_ids(known.id());
  create.add_tag_ids(known.id());
  create.add_tag_ids(unknown);
  pb::CreateQuestionResponse created;
  expect_unknown_tag(stub_->CreateQuestion(As("author").get(), create, &created), "tag_ids[2]");
  EXPECT_EQ(Count("questions"), 0);

  pb::ImportQuestionsResponse imported;
  {
    auto context = As("author");
    auto writer = stub_->ImportQuestions(context.get(), &imported);
    pb::ImportQuestionsRequest batch;
    pb::ImportQuestionItem* item = batch.add_items();
    item->set_external_key("tagged");
    item->set_stem(create.stem());
    item->set_difficulty(create.difficulty());
    *item->mutable_choices() = create.choices();
    item->add_tag_ids(known.id());
    item->add_tag_ids(unknown);
    EXPECT_TRUE(writer->Write(batch));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  EXPECT_EQ(imported.failed_count(), 1);
  ASSERT_EQ(imported.errors_size(), 1);
  EXPECT_EQ(imported.errors(0).field(), "tag_ids[1]");
  EXPECT_EQ(imported.errors(0).message(), absl::StrCat("tag ", unknown, " not found"));
  EXPECT_EQ(Count("questions"), 0);

  // Filters: an unknown tag would silently match nothing; also for members.
  Create(Valid());
  pb::ListQuestionsRequest list;
  pb::ListQuestionsResponse listed;
  list.mutable_filter()->add_any_tag_ids(known.id());
  list.mutable_filter()->add_any_tag_ids(unknown);
  expect_unknown_tag(stub_->ListQuestions(As("member").get(), list, &listed),
                     "filter.any_tag_ids[1]");
  list.mutable_filter()->clear_any_tag_ids();
  list.mutable_filter()->add_all_tag_ids(unknown);
  expect_unknown_tag(stub_->ListQuestions(As("author").get(), list, &listed),
                     "filter.all_tag_ids[0]");
  list.mutable_filter()->clear_all_tag_ids();
  list.mutable_filter()->add_all_tag_ids(known.id());
  EXPECT_TRUE(stub_->ListQuestions(As("member").get(), list, &listed).ok());
  EXPECT_EQ(listed.questions_size(), 0);

  // Named before billing is asked (exam mode always asks), and no session is stored.
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_EXAM);
  start.set_question_count(1);
  start.mutable_filter()->add_tag_ids(known.id());
  start.mutable_filter()->add_tag_ids(unknown);
  pb::StartPracticeSessionResponse started;
  expect_unknown_tag(stub_->StartPracticeSession(As("paying").get(), start, &started),
                     "filter.tag_ids[1]");
  EXPECT_EQ(billing_.calls(), 0);
  EXPECT_EQ(Count("practice_sessions"), 0);

  // TagQuestion: which of the two ids is missing.
  pb::Question q = Create(Valid("to tag"), false);
  pb::TagQuestionRequest tag;
  tag.set_question_id(q.id());
  tag.set_tag_id(unknown);
  pb::TagQuestionResponse tagged;
  grpc::Status s = stub_->TagQuestion(As("author").get(), tag, &tagged);
  EXPECT_EQ(s.error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(s.error_message(), absl::StrCat("tag_id: tag ", unknown, " not found"));
  EXPECT_EQ(FirstViolatedField(s), "tag_id");
  tag.set_question_id(unknown);
  tag.set_tag_id(known.id());
  s = stub_->TagQuestion(As("author").get(), tag, &tagged);
  EXPECT_EQ(s.error_code(), grpc::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("question ", unknown, " not found")));

  // SubmitAttempt: the question not in the session, the choice not of the question.
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.mutable_filter()->Clear();
  ASSERT_TRUE(stub_->StartPracticeSession(As("member").get(), start, &started).ok());
  const pb::Question drawn = started.questions(0);
  pb::SubmitAttemptRequest submit;
  submit.set_session_id(started.session().id());
  submit.set_question_id(q.id());
  submit.set_choice_id(q.choices(0).id());
  pb::SubmitAttemptResponse submitted;
  s = stub_->SubmitAttempt(As("member").get(), submit, &submitted);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(FirstViolatedField(s), "question_id");
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("question ", q.id(), " is not in")));
  submit.set_question_id(drawn.id());
  s = stub_->SubmitAttempt(As("member").get(), submit, &submitted);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(FirstViolatedField(s), "choice_id");
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("choice ", q.choices(0).id(),
                                                        " is not a choice of question ",
                                                        drawn.id())));
  EXPECT_EQ(Count("attempts"), 0);

  // Bookmarks: which question has none.
  pb::DeleteBookmarkRequest remove;
  remove.set_question_id(drawn.id());
  pb::DeleteBookmarkResponse removed;
  s = stub_->DeleteBookmark(As("member").get(), remove, &removed);
  EXPECT_EQ(s.error_code(), grpc::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr(drawn.id()));
}

TEST_F(ServiceTest, ListQuestionsFiltersByStatusDifficultyTagsAndStemWords) {
  pb::Tag a = MakeTag(pb::TAG_KIND_TOPIC, "a");
  pb::Tag b = MakeTag(pb::TAG_KIND_TOPIC, "b");
  auto with = [&](const std::string& stem, std::vector<std::string> tags, pb::QuestionDifficulty d) {
    pb::CreateQuestionRequest r = Valid(stem);
    r.set_difficulty(d);
    for (auto& t : tags) r.add_tag_ids(t);
    return Create(r).id();
  };
  std::string qa = with("heart failure drugs", {a.id()}, pb::QUESTION_DIFFICULTY_EASY);
  std::string qab = with("kidney failure", {a.id(), b.id()}, pb::QUESTION_DIFFICULTY_HARD);
  std::string qb = with("liver disease", {b.id()}, pb::QUESTION_DIFFICULTY_HARD);
  auto ids = [&](const pb::QuestionFilter& filter) {
    pb::ListQuestionsRequest r;
    *r.mutable_filter() = filter;
    pb::ListQuestionsResponse response;
    grpc::Status s = stub_->ListQuestions(As("author").get(), r, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> out;
    for (const auto& q : response.questions()) out.insert(q.id());
    return out;
  };
  pb::QuestionFilter f;
  f.add_any_tag_ids(a.id());
  f.add_any_tag_ids(b.id());
  EXPECT_EQ(ids(f), std::set<std::string>({qa, qab, qb}));
  f.Clear();
  f.add_all_tag_ids(a.id());
  f.add_all_tag_ids(b.id());
  EXPECT_EQ(ids(f), std::set<std::string>({qab}));
  f.Clear();
  f.set_difficulty(pb::QUESTION_DIFFICULTY_HARD);
  EXPECT_EQ(ids(f), std::set<std::string>({qab, qb}));
  f.Clear();
  f.set_stem_query("Failure");
  EXPECT_EQ(ids(f), std::set<std::string>({qa, qab}));
  f.set_stem_query("kidney failure");
  EXPECT_EQ(ids(f), std::set<std::string>({qab}));
  f.Clear();
  f.set_status(pb::QUESTION_STATUS_ARCHIVED);
  EXPECT_TRUE(ids(f).empty());
}

TEST_F(ServiceTest, PagesStayStableWhileQuestionsAreInsertedConcurrently) {
  for (int i = 0; i < 30; ++i) Create(Valid(absl::StrCat("q", i)), false);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto stub = server_->NewStub();
    int n = 0;
    while (!stop.load()) {
      pb::CreateQuestionRequest r = Valid(absl::StrCat("concurrent ", n++));
      pb::CreateQuestionResponse response;
      stub->CreateQuestion(As("author").get(), r, &response);
    }
  });
  std::vector<std::string> seen;
  pb::ListQuestionsRequest list;
  list.set_page_size(4);
  for (;;) {
    pb::ListQuestionsResponse page;
    ASSERT_TRUE(stub_->ListQuestions(As("author").get(), list, &page).ok());
    for (const auto& q : page.questions()) seen.push_back(q.stem());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  stop = true;
  writer.join();
  // Every original question exactly once, newest first; nothing skipped or repeated.
  std::vector<std::string> originals;
  for (const std::string& stem : seen) {
    if (stem.rfind("concurrent", 0) != 0) originals.push_back(stem);
  }
  std::vector<std::string> expected;
  for (int i = 29; i >= 0; --i) expected.push_back(absl::StrCat("q", i));
  EXPECT_EQ(originals, expected);
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size());
}

// --- authorization ---

TEST_F(ServiceTest, AuthorizationMatrixOfEveryRpc) {
  pb::Question q = Create(Valid());
  const std::string bogus = "00000000-0000-4000-8000-000000000999";
  using Call = std::function<grpc::StatusCode(const std::string& token)>;
  auto code = [](grpc::Status s) { return s.error_code(); };
  struct Row {
    std::string rpc;
    Call call;
    grpc::StatusCode member;  // what a plain member gets
  };
  auto& stub = stub_;
  std::vector<Row> rows = {
      {"CreateQuestion", [&](auto t) { pb::CreateQuestionResponse r; return code(stub->CreateQuestion(As(t).get(), Valid(), &r)); }, grpc::PERMISSION_DENIED},
      {"UpdateQuestion", [&](auto t) { pb::UpdateQuestionRequest req; req.set_question_id(bogus); req.set_stem("x"); req.mutable_update_mask()->add_paths("stem"); pb::UpdateQuestionResponse r; return code(stub->UpdateQuestion(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"PublishQuestion", [&](auto t) { pb::PublishQuestionRequest req; req.set_question_id(bogus); pb::PublishQuestionResponse r; return code(stub->PublishQuestion(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"ArchiveQuestion", [&](auto t) { pb::ArchiveQuestionRequest req; req.set_question_id(bogus); pb::ArchiveQuestionResponse r; return code(stub->ArchiveQuestion(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"CreateTag", [&](auto t) { pb::CreateTagRequest req; req.set_kind(pb::TAG_KIND_TOPIC); req.set_slug("s"); req.set_label("l"); pb::CreateTagResponse r; return code(stub->CreateTag(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"TagQuestion", [&](auto t) { pb::TagQuestionRequest req; req.set_question_id(bogus); req.set_tag_id(bogus); pb::TagQuestionResponse r; return code(stub->TagQuestion(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"UntagQuestion", [&](auto t) { pb::UntagQuestionRequest req; req.set_question_id(bogus); req.set_tag_id(bogus); pb::UntagQuestionResponse r; return code(stub->UntagQuestion(As(t).get(), req, &r)); }, grpc::PERMISSION_DENIED},
      {"ImportQuestions", [&](auto t) { pb::ImportQuestionsResponse r; auto ctx = As(t); auto w = stub->ImportQuestions(ctx.get(), &r); w->WritesDone(); return code(w->Finish()); }, grpc::PERMISSION_DENIED},
      {"GetQuestion", [&](auto t) { pb::GetQuestionRequest req; req.set_question_id(q.id()); pb::GetQuestionResponse r; return code(stub->GetQuestion(As(t).get(), req, &r)); }, grpc::OK},
      {"ListQuestions", [&](auto t) { pb::ListQuestionsResponse r; return code(stub->ListQuestions(As(t).get(), {}, &r)); }, grpc::OK},
      {"ListTags", [&](auto t) { pb::ListTagsResponse r; return code(stub->ListTags(As(t).get(), {}, &r)); }, grpc::OK},
      {"GetPracticeSession", [&](auto t) { pb::GetPracticeSessionRequest req; req.set_session_id(bogus); pb::GetPracticeSessionResponse r; return code(stub->GetPracticeSession(As(t).get(), req, &r)); }, grpc::NOT_FOUND},
      {"SubmitAttempt", [&](auto t) { pb::SubmitAttemptRequest req; req.set_session_id(bogus); req.set_question_id(bogus); req.set_choice_id(bogus); pb::SubmitAttemptResponse r; return code(stub->SubmitAttempt(As(t).get(), req, &r)); }, grpc::NOT_FOUND},
      {"EndPracticeSession", [&](auto t) { pb::EndPracticeSessionRequest req; req.set_session_id(bogus); pb::EndPracticeSessionResponse r; return code(stub->EndPracticeSession(As(t).get(), req, &r)); }, grpc::NOT_FOUND},
      {"ListAttempts", [&](auto t) { pb::ListAttemptsResponse r; return code(stub->ListAttempts(As(t).get(), {}, &r)); }, grpc::OK},
      {"GetUserStats", [&](auto t) { pb::GetUserStatsResponse r; return code(stub->GetUserStats(As(t).get(), {}, &r)); }, grpc::OK},
      {"ListBookmarks", [&](auto t) { pb::ListBookmarksResponse r; return code(stub->ListBookmarks(As(t).get(), {}, &r)); }, grpc::OK},
      {"DeleteBookmark", [&](auto t) { pb::DeleteBookmarkRequest req; req.set_question_id(q.id()); pb::DeleteBookmarkResponse r; return code(stub->DeleteBookmark(As(t).get(), req, &r)); }, grpc::NOT_FOUND},
      {"StartPracticeSession", [&](auto t) { pb::StartPracticeSessionRequest req; req.set_mode(pb::PRACTICE_MODE_TUTOR); req.set_question_count(1); pb::StartPracticeSessionResponse r; return code(stub->StartPracticeSession(As(t).get(), req, &r)); }, grpc::OK},
      {"CreateBookmark", [&](auto t) { pb::CreateBookmarkRequest req; req.set_question_id(q.id()); pb::CreateBookmarkResponse r; return code(stub->CreateBookmark(As(t).get(), req, &r)); }, grpc::OK},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(row.call(""), grpc::UNAUTHENTICATED) << row.rpc << " anonymous";
    EXPECT_EQ(row.call("forged"), grpc::UNAUTHENTICATED) << row.rpc << " unknown token";
    EXPECT_EQ(row.call("member"), row.member) << row.rpc << " member";
    grpc::StatusCode admin = row.call("admin");
    EXPECT_NE(admin, grpc::PERMISSION_DENIED) << row.rpc << " admin";
    EXPECT_NE(admin, grpc::UNAUTHENTICATED) << row.rpc << " admin";
  }
  // Another member cannot see, answer or end a member's session.
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.set_question_count(1);
  pb::StartPracticeSessionResponse started;
  ASSERT_TRUE(stub_->StartPracticeSession(As("paying").get(), start, &started).ok());
  pb::GetPracticeSessionRequest get;
  get.set_session_id(started.session().id());
  pb::GetPracticeSessionResponse got;
  EXPECT_EQ(stub_->GetPracticeSession(As("other").get(), get, &got).error_code(), grpc::NOT_FOUND);
  pb::SubmitAttemptRequest submit;
  submit.set_session_id(started.session().id());
  submit.set_question_id(q.id());
  submit.set_choice_id(q.choices(0).id());
  pb::SubmitAttemptResponse submitted;
  EXPECT_EQ(stub_->SubmitAttempt(As("other").get(), submit, &submitted).error_code(),
            grpc::NOT_FOUND);
  pb::EndPracticeSessionRequest end;
  end.set_session_id(started.session().id());
  pb::EndPracticeSessionResponse ended;
  EXPECT_EQ(stub_->EndPracticeSession(As("other").get(), end, &ended).error_code(),
            grpc::NOT_FOUND);
  pb::ListAttemptsRequest list;
  list.set_session_id(started.session().id());
  pb::ListAttemptsResponse attempts;
  ASSERT_TRUE(stub_->ListAttempts(As("other").get(), list, &attempts).ok());
  EXPECT_EQ(attempts.attempts_size(), 0);
}

TEST_F(ServiceTest, IdentityDownIsUnavailableNotAHang) {
  identity_server_->Shutdown();
  pb::ListTagsResponse response;
  absl::Time begin = absl::Now();
  // "admin" was never validated in this test, so nothing is cached.
  grpc::Status s = stub_->ListTags(As("admin", absl::Seconds(10)).get(), {}, &response);
  EXPECT_EQ(s.error_code(), grpc::UNAVAILABLE) << s.error_message();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5));
}

// --- practice ---

TEST_F(ServiceTest, TutorFlowRevealsEachAnswerAtOnceAndScoresTheSession) {
  pb::Tag tag = MakeTag(pb::TAG_KIND_TOPIC, "tox");
  pb::CreateQuestionRequest r1 = Valid("one");
  r1.add_tag_ids(tag.id());
  pb::Question q1 = Create(r1);
  pb::CreateQuestionRequest r2 = Valid("two");
  r2.set_difficulty(pb::QUESTION_DIFFICULTY_HARD);
  pb::Question q2 = Create(r2);
  Create(Valid("draft never drawn"), false);

  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.set_question_count(10);
  pb::StartPracticeSessionResponse started;
  ASSERT_TRUE(stub_->StartPracticeSession(As("member").get(), start, &started).ok());
  EXPECT_EQ(billing_.calls(), 0) << "free tutor sessions need no billing call";
  ASSERT_EQ(started.session().question_ids_size(), 2);
  for (const auto& q : started.questions()) {
    EXPECT_EQ(q.explanation(), "");
    for (const auto& c : q.choices()) EXPECT_FALSE(c.has_is_correct());
  }
  const std::string session = started.session().id();

  pb::SubmitAttemptRequest submit;
  submit.set_session_id(session);
  submit.set_question_id(q1.id());
  submit.set_choice_id(CorrectChoice(q1));
  submit.set_time_spent_ms(1200);
  pb::SubmitAttemptResponse submitted;
  ASSERT_TRUE(stub_->SubmitAttempt(As("member").get(), submit, &submitted).ok());
  EXPECT_TRUE(submitted.revealed());
  EXPECT_TRUE(submitted.attempt().is_correct());
  EXPECT_EQ(submitted.correct_choice_id(), CorrectChoice(q1));
  EXPECT_EQ(submitted.explanation(), q1.explanation());
  // The same question again: ALREADY_EXISTS, even with another choice.
  submit.set_choice_id(WrongChoice(q1));
  EXPECT_EQ(stub_->SubmitAttempt(As("member").get(), submit, &submitted).error_code(),
            grpc::ALREADY_EXISTS);
  // A choice of another question, a question not in the session.
  submit.set_question_id(q2.id());
  EXPECT_EQ(FirstViolatedField(stub_->SubmitAttempt(As("member").get(), submit, &submitted)), "choice_id");

  // Concurrent double submit of q2: exactly one wins.
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto stub = server_->NewStub();
      pb::SubmitAttemptRequest s;
      s.set_session_id(session);
      s.set_question_id(q2.id());
      s.set_choice_id(WrongChoice(q2));
      pb::SubmitAttemptResponse out;
      grpc::Status status = stub->SubmitAttempt(As("member").get(), s, &out);
      if (status.ok()) ++ok;
      if (status.error_code() == grpc::ALREADY_EXISTS) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 3);

  pb::GetPracticeSessionRequest get;
  get.set_session_id(session);
  pb::GetPracticeSessionResponse got;
  ASSERT_TRUE(stub_->GetPracticeSession(As("member").get(), get, &got).ok());
  EXPECT_EQ(got.session().answered_count(), 2);
  EXPECT_EQ(got.attempts_size(), 2);
  for (const auto& q : got.questions()) EXPECT_FALSE(CorrectChoice(q).empty());

  pb::EndPracticeSessionRequest end;
  end.set_session_id(session);
  pb::EndPracticeSessionResponse ended;
  ASSERT_TRUE(stub_->EndPracticeSession(As("member").get(), end, &ended).ok());
  EXPECT_EQ(ended.session().score(), 1);
  EXPECT_TRUE(ended.session().has_end_time());
  EXPECT_EQ(stub_->EndPracticeSession(As("member").get(), end, &ended).error_code(),
            grpc::FAILED_PRECONDITION);
  submit.set_question_id(q1.id());
  submit.set_choice_id(CorrectChoice(q1));
  EXPECT_EQ(stub_->SubmitAttempt(As("member").get(), submit, &submitted).error_code(),
            grpc::FAILED_PRECONDITION);

  pb::ListAttemptsRequest list;
  list.set_page_size(1);
  std::vector<std::string> listed;
  for (;;) {
    pb::ListAttemptsResponse page;
    ASSERT_TRUE(stub_->ListAttempts(As("member").get(), list, &page).ok());
    for (const auto& a : page.attempts()) listed.push_back(a.question_id());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(listed, ::testing::ElementsAre(q2.id(), q1.id()));
  // Another user cannot reuse the member's page token.
  list.set_page_size(1);
  list.clear_page_token();
  pb::ListAttemptsResponse first;
  ASSERT_TRUE(stub_->ListAttempts(As("member").get(), list, &first).ok());
  list.set_page_token(first.next_page_token());
  EXPECT_EQ(stub_->ListAttempts(As("other").get(), list, &first).error_code(),
            grpc::INVALID_ARGUMENT);

  pb::GetUserStatsResponse stats;
  ASSERT_TRUE(stub_->GetUserStats(As("member").get(), {}, &stats).ok());
  EXPECT_EQ(stats.overall().attempt_count(), 2);
  EXPECT_EQ(stats.overall().correct_count(), 1);
  ASSERT_EQ(stats.by_difficulty_size(), 2);
  EXPECT_EQ(stats.by_difficulty(0).difficulty(), pb::QUESTION_DIFFICULTY_EASY);
  EXPECT_EQ(stats.by_difficulty(0).accuracy().correct_count(), 1);
  EXPECT_EQ(stats.by_difficulty(1).accuracy().correct_count(), 0);
  ASSERT_EQ(stats.by_tag_size(), 1);
  EXPECT_EQ(stats.by_tag(0).tag().slug(), "tox");
  EXPECT_EQ(stats.by_tag(0).accuracy().attempt_count(), 1);
}

TEST_F(ServiceTest, NextSessionPrefersQuestionsNotYetAnsweredCorrectly) {
  std::vector<pb::Question> qs;
  for (int i = 0; i < 4; ++i) qs.push_back(Create(Valid(absl::StrCat("q", i))));
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.set_question_count(4);
  pb::StartPracticeSessionResponse started;
  ASSERT_TRUE(stub_->StartPracticeSession(As("member").get(), start, &started).ok());
  std::set<std::string> right;
  for (int i = 0; i < 2; ++i) {
    pb::SubmitAttemptRequest s;
    s.set_session_id(started.session().id());
    s.set_question_id(qs[i].id());
    s.set_choice_id(CorrectChoice(qs[i]));
    pb::SubmitAttemptResponse out;
    ASSERT_TRUE(stub_->SubmitAttempt(As("member").get(), s, &out).ok());
    right.insert(qs[i].id());
  }
  for (int round = 0; round < 2; ++round) {
    start.set_question_count(2);
    ASSERT_TRUE(stub_->StartPracticeSession(As("member").get(), start, &started).ok());
    for (const auto& id : started.session().question_ids()) {
      EXPECT_EQ(right.count(id), 0u) << "drew an already mastered question";
    }
  }
}

TEST_F(ServiceTest, ExamFlowRevealsNothingUntilTheSessionEnds) {
  pb::Question q1 = Create(Valid("one"));
  pb::Question q2 = Create(Valid("two"));
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_EXAM);
  start.set_question_count(2);
  pb::StartPracticeSessionResponse started;
  auto context = As("paying");
  context->AddMetadata("x-request-id", "11111111-2222-4333-8444-555555555555");
  ASSERT_TRUE(stub_->StartPracticeSession(context.get(), start, &started).ok());
  EXPECT_EQ(billing_.last_authorization(), "Bearer paying") << "the caller's own token";
  EXPECT_EQ(billing_.last_request_id(), "11111111-2222-4333-8444-555555555555");
  const std::string session = started.session().id();

  pb::SubmitAttemptRequest submit;
  submit.set_session_id(session);
  submit.set_question_id(q1.id());
  submit.set_choice_id(CorrectChoice(q1));
  pb::SubmitAttemptResponse submitted;
  ASSERT_TRUE(stub_->SubmitAttempt(As("paying").get(), submit, &submitted).ok());
  EXPECT_FALSE(submitted.revealed());
  EXPECT_FALSE(submitted.attempt().has_is_correct());
  EXPECT_EQ(submitted.correct_choice_id(), "");
  EXPECT_EQ(submitted.explanation(), "");

  pb::GetPracticeSessionRequest get;
  get.set_session_id(session);
  pb::GetPracticeSessionResponse got;
  ASSERT_TRUE(stub_->GetPracticeSession(As("paying").get(), get, &got).ok());
  ASSERT_EQ(got.attempts_size(), 1);
  EXPECT_FALSE(got.attempts(0).has_is_correct());
  for (const auto& q : got.questions()) {
    EXPECT_TRUE(CorrectChoice(q).empty());
    EXPECT_EQ(q.explanation(), "");
  }
  pb::ListAttemptsResponse attempts;
  ASSERT_TRUE(stub_->ListAttempts(As("paying").get(), {}, &attempts).ok());
  ASSERT_EQ(attempts.attempts_size(), 1);
  EXPECT_FALSE(attempts.attempts(0).has_is_correct());
  pb::GetUserStatsResponse stats;
  ASSERT_TRUE(stub_->GetUserStats(As("paying").get(), {}, &stats).ok());
  EXPECT_EQ(stats.overall().attempt_count(), 0) << "open exam attempts are not counted";

  pb::EndPracticeSessionRequest end;
  end.set_session_id(session);
  pb::EndPracticeSessionResponse ended;
  ASSERT_TRUE(stub_->EndPracticeSession(As("paying").get(), end, &ended).ok());
  EXPECT_EQ(ended.session().score(), 1);
  ASSERT_EQ(ended.attempts_size(), 1);
  EXPECT_TRUE(ended.attempts(0).is_correct());
  ASSERT_TRUE(stub_->GetPracticeSession(As("paying").get(), get, &got).ok());
  for (const auto& q : got.questions()) EXPECT_FALSE(CorrectChoice(q).empty());
  ASSERT_TRUE(stub_->GetUserStats(As("paying").get(), {}, &stats).ok());
  EXPECT_EQ(stats.overall().attempt_count(), 1);
  (void)q2;
}

// "Always pick the first choice" must score at chance in an exam, however the author ordered
// the choices: each session shows every question's choices in an order of its own, the same
// on every call, on another replica and after the session ended, and another session orders
// them anew.
TEST_F(ServiceTest, ExamChoiceOrderIsShuffledPerSessionSoAlwaysPickingTheFirstScoresAtChance) {
  const std::map<std::string, pb::Question> bank = CorrectFirstBank(100);
  auto replica = QuestionsTestServer::Start({auth_.get(), billing_addr_, 3, 500,
                                         server_->database().UrlAs("questions_service")});
  ASSERT_TRUE(replica.ok()) << replica.status();
  auto replica_stub = (*replica)->NewStub();

  constexpr int kSessions = 6;
  int first_pick_score = 0;
  int answers = 0;
  std::vector<std::map<std::string, std::vector<std::string>>> orders;  // per session
  for (int s = 0; s < kSessions; ++s) {
    pb::StartPracticeSessionRequest start;
    start.set_mode(pb::PRACTICE_MODE_EXAM);
    start.set_question_count(100);
    pb::StartPracticeSessionResponse started;
    grpc::Status status = stub_->StartPracticeSession(As("paying").get(), start, &started);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(started.questions_size(), 100);
    const std::string session = started.session().id();
    std::map<std::string, std::vector<std::string>> order;
    for (const auto& q : started.questions()) {
      ASSERT_EQ(q.choices_size(), 4);
      for (const auto& c : q.choices()) EXPECT_FALSE(c.has_is_correct());
      order[q.id()] = ShownOrder(q);
    }
    // The same order on every read, also from another replica (nothing of it is in memory).
    pb::GetPracticeSessionRequest get;
    get.set_session_id(session);
    for (auto* stub : {stub_.get(), replica_stub.get()}) {
      pb::GetPracticeSessionResponse got;
      ASSERT_TRUE(stub->GetPracticeSession(As("paying").get(), get, &got).ok());
      ASSERT_EQ(got.questions_size(), 100);
      for (const auto& q : got.questions()) EXPECT_EQ(ShownOrder(q), order[q.id()]);
    }
    // Always the first choice shown.
    for (const auto& q : started.questions()) {
      pb::SubmitAttemptRequest submit;
      submit.set_session_id(session);
      submit.set_question_id(q.id());
      submit.set_choice_id(q.choices(0).id());
      pb::SubmitAttemptResponse submitted;
      ASSERT_TRUE(stub_->SubmitAttempt(As("paying").get(), submit, &submitted).ok());
      EXPECT_FALSE(submitted.attempt().has_is_correct());
      EXPECT_FALSE(submitted.revealed());
      ++answers;
    }
    pb::EndPracticeSessionRequest end;
    end.set_session_id(session);
    pb::EndPracticeSessionResponse ended;
    ASSERT_TRUE(stub_->EndPracticeSession(As("paying").get(), end, &ended).ok());
    first_pick_score += ended.session().score();
    // Ended: the answers are revealed, in the same order, and agree with the author's.
    pb::GetPracticeSessionResponse revealed;
    ASSERT_TRUE(replica_stub->GetPracticeSession(As("paying").get(), get, &revealed).ok());
    for (const auto& q : revealed.questions()) {
      EXPECT_EQ(ShownOrder(q), order[q.id()]);
      EXPECT_EQ(CorrectChoice(q), CorrectChoice(bank.at(q.id())));
    }
    orders.push_back(std::move(order));
  }
  ASSERT_EQ(answers, 600);
  // With each order a uniform permutation, the first choice is correct with chance 1/4, so the
  // score is Binomial(600, 1/4): mean 150, and P(score < 90 or score > 210) = 2.0e-8 (exact
  // sum), so a correct service fails here less than once in 10^7 runs. In the author's order
  // the score is 600.
  EXPECT_GE(first_pick_score, 90);
  EXPECT_LE(first_pick_score, 210);
  // Across sessions: two independent orders of 4 choices agree with chance 1/24, about 4
  // questions of 100; more than 50 has a chance below 1e-40.
  for (int s = 1; s < kSessions; ++s) {
    int same = 0;
    for (const auto& [id, order] : orders[0]) same += orders[s].at(id) == order ? 1 : 0;
    EXPECT_LE(same, 50) << "a later practice session (index " << s
                        << " of this test's sessions) repeats the first one's choice order";
  }
  // The author still sees the order written, with the correct choice first.
  pb::GetQuestionRequest get;
  get.set_question_id(bank.begin()->first);
  pb::GetQuestionResponse authored;
  ASSERT_TRUE(stub_->GetQuestion(As("author").get(), get, &authored).ok());
  EXPECT_TRUE(authored.question().choices(0).is_correct());
  EXPECT_EQ(authored.question().choices(0).text(), "choice 0");
}

// Outside sessions a member's order of the choices must not give the answer away either (they
// could otherwise look a session's choice ids up in GetQuestion): one fixed order per
// question, independent of the author's.
TEST_F(ServiceTest, MembersSeeChoicesInAnOrderThatDoesNotGiveTheAnswerAway) {
  const std::map<std::string, pb::Question> bank = CorrectFirstBank(100);
  pb::ListQuestionsRequest list;
  list.set_page_size(100);
  pb::ListQuestionsResponse listed;
  ASSERT_TRUE(stub_->ListQuestions(As("member").get(), list, &listed).ok());
  ASSERT_EQ(listed.questions_size(), 100);
  int first_is_correct = 0;
  for (const auto& q : listed.questions()) {
    ASSERT_EQ(q.choices_size(), 4);
    for (const auto& c : q.choices()) EXPECT_FALSE(c.has_is_correct());
    std::vector<std::string> order = ShownOrder(q);
    if (order[0] == CorrectChoice(bank.at(q.id()))) ++first_is_correct;
    pb::GetQuestionRequest get;
    get.set_question_id(q.id());
    pb::GetQuestionResponse got;
    ASSERT_TRUE(stub_->GetQuestion(As("other").get(), get, &got).ok());
    EXPECT_EQ(ShownOrder(got.question()), order) << "one order per question for members";
  }
  // Binomial(100, 1/4): P(X < 5 or X > 50) = 3.9e-8 (exact sum). The author's order: 100.
  EXPECT_GE(first_is_correct, 5);
  EXPECT_LE(first_is_correct, 50);
}

// Which questions the next session draws ("not yet answered correctly" first) must not tell
// how the answers of an exam still open went.
TEST_F(ServiceTest, AnOpenExamsAnswersDoNotSteerTheNextDraw) {
  std::vector<pb::Question> qs;
  for (int i = 0; i < 4; ++i) qs.push_back(Create(Valid(absl::StrCat("q", i))));
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_EXAM);
  start.set_question_count(4);
  pb::StartPracticeSessionResponse exam;
  ASSERT_TRUE(stub_->StartPracticeSession(As("paying").get(), start, &exam).ok());
  const std::set<std::string> right = {qs[0].id(), qs[1].id()};
  for (int i = 0; i < 4; ++i) {
    pb::SubmitAttemptRequest s;
    s.set_session_id(exam.session().id());
    s.set_question_id(qs[i].id());
    s.set_choice_id(i < 2 ? CorrectChoice(qs[i]) : WrongChoice(qs[i]));
    pb::SubmitAttemptResponse out;
    ASSERT_TRUE(stub_->SubmitAttempt(As("paying").get(), s, &out).ok());
  }
  auto draw = [&]() {
    pb::StartPracticeSessionRequest tutor;
    tutor.set_mode(pb::PRACTICE_MODE_TUTOR);
    tutor.set_question_count(2);
    pb::StartPracticeSessionResponse started;
    grpc::Status s = stub_->StartPracticeSession(As("paying").get(), tutor, &started);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return std::set<std::string>(started.session().question_ids().begin(),
                                 started.session().question_ids().end());
  };
  // While the exam is open all four are alike: a draw of 2 of them avoids both right ones
  // with chance about 1/6, so 20 draws all avoiding them has a chance near 1e-16 (steered by
  // the hidden answers, the draw would avoid them every time).
  int with_a_right_one = 0;
  for (int i = 0; i < 20; ++i) {
    for (const std::string& id : draw()) with_a_right_one += right.count(id) > 0 ? 1 : 0;
  }
  EXPECT_GT(with_a_right_one, 0);
  // Once the exam has ended its answers are known, and the draw prefers the two wrong ones.
  pb::EndPracticeSessionRequest end;
  end.set_session_id(exam.session().id());
  pb::EndPracticeSessionResponse ended;
  ASSERT_TRUE(stub_->EndPracticeSession(As("paying").get(), end, &ended).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(draw(), std::set<std::string>({qs[2].id(), qs[3].id()}));
  }
}

// --- entitlement ---

TEST_F(ServiceTest, ExamModeNeedsAnEntitlement) {
  Create(Valid());
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_EXAM);
  start.set_question_count(1);
  pb::StartPracticeSessionResponse started;
  grpc::Status s = stub_->StartPracticeSession(As("member").get(), start, &started);
  EXPECT_EQ(s.error_code(), grpc::PERMISSION_DENIED);
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "ENTITLEMENT_REQUIRED");
  EXPECT_EQ(Count("practice_sessions"), 0);
  EXPECT_TRUE(stub_->StartPracticeSession(As("paying").get(), start, &started).ok());
}

TEST_F(ServiceTest, PracticeBeyondTheFreeQuotaNeedsAnEntitlement) {
  StartWith(/*free_quota=*/2, 500);
  Create(Valid());
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_TUTOR);
  start.set_question_count(1);
  pb::StartPracticeSessionResponse started;
  for (const char* who : {"member", "paying"}) {
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(stub_->StartPracticeSession(As(who).get(), start, &started).ok()) << who << i;
    }
  }
  EXPECT_EQ(billing_.calls(), 0);
  EXPECT_EQ(stub_->StartPracticeSession(As("member").get(), start, &started).error_code(),
            grpc::PERMISSION_DENIED);
  EXPECT_TRUE(stub_->StartPracticeSession(As("paying").get(), start, &started).ok());
  EXPECT_EQ(billing_.calls(), 2);
  EXPECT_EQ(Count("practice_sessions"), 5);
}

TEST_F(ServiceTest, BillingDownFailsClosedWithUnavailableWithinTheCallersDeadline) {
  Create(Valid());
  // Billing answers too slowly for the caller's deadline.
  billing_.delay_ms_ = 1500;
  pb::StartPracticeSessionRequest start;
  start.set_mode(pb::PRACTICE_MODE_EXAM);
  start.set_question_count(1);
  pb::StartPracticeSessionResponse started;
  absl::Time begin = absl::Now();
  grpc::Status s =
      stub_->StartPracticeSession(As("paying", absl::Milliseconds(800)).get(), start, &started);
  absl::Duration took = absl::Now() - begin;
  EXPECT_EQ(s.error_code(), grpc::UNAVAILABLE) << s.error_message();
  EXPECT_LT(took, absl::Milliseconds(800));
  billing_.delay_ms_ = 0;

  // Billing not running at all.
  billing_server_->Shutdown();
  billing_server_.reset();
  StartWithBillingAt("127.0.0.1:1");
  Create(Valid());
  begin = absl::Now();
  s = stub_->StartPracticeSession(As("paying", absl::Seconds(3)).get(), start, &started);
  EXPECT_EQ(s.error_code(), grpc::UNAVAILABLE) << s.error_message();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "BILLING_UNAVAILABLE");
  EXPECT_EQ(Count("practice_sessions"), 0);
}

// --- import ---

TEST_F(ServiceTest, ImportOfFiveThousandQuestionsReportsBadItemsAndIsIdempotent) {
  pb::Tag tag = MakeTag(pb::TAG_KIND_DOMAIN, "pharm");
  constexpr int kItems = 5000;
  const std::map<int, std::string> bad = {
      {7, "stem"}, {1234, "choices"}, {2500, "choices"}, {3333, "tag_ids[0]"},
      {4000, "external_key"}, {4999, "difficulty"}};
  auto run = [&]() {
    pb::ImportQuestionsResponse response;
    auto context = As("author", absl::Seconds(60));
    auto writer = stub_->ImportQuestions(context.get(), &response);
    pb::ImportQuestionsRequest batch;
    for (int i = 0; i < kItems; ++i) {
      pb::ImportQuestionItem* item = batch.add_items();
      item->set_external_key(absl::StrCat("bank-", i));
      item->set_stem(absl::StrCat("Question number ", i));
      item->set_explanation("because");
      item->set_difficulty(pb::QUESTION_DIFFICULTY_MEDIUM);
      item->set_publish(i % 2 == 0);
      auto* c = item->add_choices();
      c->set_text("yes");
      c->set_is_correct(true);
      item->add_choices()->set_text("no");
      if (i % 10 == 0) item->add_tag_ids(tag.id());
      switch (i) {
        case 7: item->set_stem(""); break;
        case 1234: item->mutable_choices()->RemoveLast(); break;
        case 2500: item->mutable_choices(1)->set_is_correct(true); break;
        case 3333: item->add_tag_ids("00000000-0000-4000-8000-000000000999"); break;
        case 4000: item->set_external_key("bank-3999"); break;  // repeats an earlier key
        case 4999: item->set_difficulty(pb::QUESTION_DIFFICULTY_UNSPECIFIED); break;
      }
      if (batch.items_size() == 250) {
        EXPECT_TRUE(writer->Write(batch));
        batch.Clear();
      }
    }
    if (batch.items_size() > 0) {
      EXPECT_TRUE(writer->Write(batch));
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  };
  absl::Time begin = absl::Now();
  pb::ImportQuestionsResponse first = run();
  absl::Duration took = absl::Now() - begin;
  EXPECT_EQ(first.created_count(), kItems - static_cast<int>(bad.size()));
  EXPECT_EQ(first.skipped_count(), 0);
  EXPECT_EQ(first.failed_count(), static_cast<int>(bad.size()));
  std::map<int, std::string> reported;
  for (const auto& e : first.errors()) reported[e.index()] = e.field();
  // Item 3333's tag list is checked after the stem/choices, in its chunk: field tag_ids[1].
  std::map<int, std::string> expected = bad;
  expected[3333] = (3333 % 10 == 0) ? "tag_ids[1]" : "tag_ids[0]";
  EXPECT_EQ(reported, expected);
  EXPECT_EQ(Count("questions"), kItems - static_cast<int64_t>(bad.size()));
  EXPECT_EQ(Count("choices"), 2 * (kItems - static_cast<int64_t>(bad.size())));
  EXPECT_LT(took, absl::Seconds(30)) << "chunked multi-row inserts keep the import fast";

  pb::ImportQuestionsResponse second = run();
  EXPECT_EQ(second.created_count(), 0);
  EXPECT_EQ(second.skipped_count(), kItems - static_cast<int>(bad.size()));
  EXPECT_EQ(Count("questions"), kItems - static_cast<int64_t>(bad.size()));

  pb::ListQuestionsRequest list;
  list.mutable_filter()->add_any_tag_ids(tag.id());
  list.set_page_size(100);
  pb::ListQuestionsResponse tagged;
  ASSERT_TRUE(stub_->ListQuestions(As("author").get(), list, &tagged).ok());
  EXPECT_EQ(tagged.questions_size(), 100);
}

// --- bookmarks ---

TEST_F(ServiceTest, BookmarksAreOwnAndOnlyOfVisibleQuestions) {
  pb::Question published = Create(Valid("pub"));
  pb::Question draft = Create(Valid("draft"), false);
  pb::CreateBookmarkRequest add;
  add.set_question_id(published.id());
  pb::CreateBookmarkResponse added;
  ASSERT_TRUE(stub_->CreateBookmark(As("member").get(), add, &added).ok());
  EXPECT_EQ(added.bookmark().question_id(), published.id());
  EXPECT_EQ(stub_->CreateBookmark(As("member").get(), add, &added).error_code(),
            grpc::ALREADY_EXISTS);
  add.set_question_id(draft.id());
  EXPECT_EQ(stub_->CreateBookmark(As("member").get(), add, &added).error_code(), grpc::NOT_FOUND);
  EXPECT_TRUE(stub_->CreateBookmark(As("author").get(), add, &added).ok());

  pb::ListBookmarksResponse mine, theirs;
  ASSERT_TRUE(stub_->ListBookmarks(As("member").get(), {}, &mine).ok());
  ASSERT_EQ(mine.bookmarks_size(), 1);
  EXPECT_EQ(mine.bookmarks(0).question_id(), published.id());
  ASSERT_TRUE(stub_->ListBookmarks(As("other").get(), {}, &theirs).ok());
  EXPECT_EQ(theirs.bookmarks_size(), 0);

  pb::DeleteBookmarkRequest remove;
  remove.set_question_id(published.id());
  pb::DeleteBookmarkResponse removed;
  EXPECT_EQ(stub_->DeleteBookmark(As("other").get(), remove, &removed).error_code(),
            grpc::NOT_FOUND);
  ASSERT_TRUE(stub_->DeleteBookmark(As("member").get(), remove, &removed).ok());
  EXPECT_EQ(stub_->DeleteBookmark(As("member").get(), remove, &removed).error_code(),
            grpc::NOT_FOUND);
}

// --- The audit trail (docs/audit.md) ---

// A context as `token` with the request id `request_id`, which the audit row must carry.
std::unique_ptr<grpc::ClientContext> WithRequestId(const std::string& token,
                                                   const std::string& request_id) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->AddMetadata("x-request-id", request_id);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return context;
}

std::string RequestIdOf(int i) {
  return absl::StrCat("00000000-0000-4000-8000-", absl::StrFormat("%012d", i));
}

TEST_F(ServiceTest, EachAuditedCallWritesOneRowWithItsCallerAndRequestAndARefusedCallNone) {
  int next = 1;
  std::vector<std::pair<std::string, std::string>> expected;  // action, request id
  const auto call = [&](const std::string& token, const std::string& action, auto rpc) {
    const std::string rid = RequestIdOf(next++);
    grpc::Status s = rpc(WithRequestId(token, rid).get());
    EXPECT_TRUE(s.ok()) << action << ": " << s.error_message();
    expected.emplace_back(action, rid);
  };
  pb::CreateTagRequest tag;
  tag.set_kind(pb::TAG_KIND_TOPIC);
  tag.set_slug("opioids");
  tag.set_label("Opioids");
  pb::CreateTagResponse tag_created;
  call("admin", "tag.create", [&](grpc::ClientContext* c) {
    return stub_->CreateTag(c, tag, &tag_created);
  });
  pb::CreateQuestionResponse created;
  call("author", "question.create", [&](grpc::ClientContext* c) {
    return stub_->CreateQuestion(c, Valid(), &created);
  });
  const std::string id = created.question().id();
  pb::UpdateQuestionRequest update;
  update.set_question_id(id);
  update.set_stem("Which drug reverses an opioid overdose?");
  update.mutable_update_mask()->add_paths("stem");
  pb::UpdateQuestionResponse updated;
  call("author", "question.update", [&](grpc::ClientContext* c) {
    return stub_->UpdateQuestion(c, update, &updated);
  });
  pb::TagQuestionRequest tag_it;
  tag_it.set_question_id(id);
  tag_it.set_tag_id(tag_created.tag().id());
  pb::TagQuestionResponse tagged;
  call("author", "question.tag", [&](grpc::ClientContext* c) {
    return stub_->TagQuestion(c, tag_it, &tagged);
  });
  pb::UntagQuestionRequest untag;
  untag.set_question_id(id);
  untag.set_tag_id(tag_created.tag().id());
  pb::UntagQuestionResponse untagged;
  call("author", "question.untag", [&](grpc::ClientContext* c) {
    return stub_->UntagQuestion(c, untag, &untagged);
  });
  pb::PublishQuestionRequest publish;
  publish.set_question_id(id);
  pb::PublishQuestionResponse published;
  call("author", "question.publish", [&](grpc::ClientContext* c) {
    return stub_->PublishQuestion(c, publish, &published);
  });
  pb::ArchiveQuestionRequest archive;
  archive.set_question_id(id);
  pb::ArchiveQuestionResponse archived;
  call("admin", "question.archive", [&](grpc::ClientContext* c) {
    return stub_->ArchiveQuestion(c, archive, &archived);
  });
  // One row for a whole import, with its counts (one item bad, one new, one existing).
  pb::ImportQuestionsResponse imported;
  call("author", "question.import", [&](grpc::ClientContext* c) {
    auto writer = stub_->ImportQuestions(c, &imported);
    pb::ImportQuestionsRequest batch;
    for (const std::string key : {"imp-1", "imp-1b", "imp-2"}) {
      pb::ImportQuestionItem* item = batch.add_items();
      item->set_external_key(key);
      item->set_stem(key == "imp-1b" ? "" : "An imported question");
      item->set_difficulty(pb::QUESTION_DIFFICULTY_HARD);
      item->add_choices()->set_text("yes");
      item->mutable_choices(0)->set_is_correct(true);
      item->add_choices()->set_text("no");
    }
    writer->Write(batch);
    writer->WritesDone();
    return writer->Finish();
  });
  EXPECT_EQ(imported.created_count(), 2);

  // Refused: a member's authoring, an author's repeat publish, an unknown question. Not
  // privileged: a member's bookmark and practice. None of them writes a row.
  const int64_t rows_before = Count("audit_log");
  pb::CreateQuestionResponse refused;
  EXPECT_EQ(stub_->CreateQuestion(As("member").get(), Valid(), &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->ArchiveQuestion(As("member").get(), archive, &archived).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->ArchiveQuestion(As("author").get(), archive, &archived).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stub_->CreateTag(As("member").get(), tag, &tag_created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->CreateTag(As("admin").get(), tag, &tag_created).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  {
    pb::ImportQuestionsResponse none;
    auto context = As("member");
    auto writer = stub_->ImportQuestions(context.get(), &none);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  pb::Question visible = Create(Valid("A published question"));
  expected.emplace_back("question.create", "");
  expected.emplace_back("question.publish", "");
  pb::CreateBookmarkRequest bookmark;
  bookmark.set_question_id(visible.id());
  pb::CreateBookmarkResponse bookmarked;
  EXPECT_TRUE(stub_->CreateBookmark(As("member").get(), bookmark, &bookmarked).ok());
  EXPECT_EQ(Count("audit_log"), rows_before + 2);

  ::audit::v1::ListAuditEventsRequest list;
  list.set_page_size(100);
  ::audit::v1::ListAuditEventsResponse page;
  grpc::Status s = stub_->ListAuditEvents(As("admin").get(), list, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(page.events_size(), static_cast<int>(expected.size()));
  const std::map<std::string, std::string> actor_of = {{"admin", kAdminId}, {"author", kAuthorId}};
  for (size_t i = 0; i < expected.size(); ++i) {
    // Newest first.
    const auto& e = page.events(static_cast<int>(expected.size() - 1 - i));
    EXPECT_EQ(e.action(), expected[i].first) << i;
    if (!expected[i].second.empty()) {
      EXPECT_EQ(e.request_id(), expected[i].second) << i;
    }
    EXPECT_EQ(e.outcome(), "ok") << i;
    EXPECT_EQ(e.hash().size(), 64u) << i;
    EXPECT_EQ(e.sequence(), static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(page.events(page.events_size() - 1).actor_user_id(), kAdminId);  // tag.create
  EXPECT_EQ(page.events(page.events_size() - 2).actor_user_id(), kAuthorId);
  EXPECT_EQ(page.events(page.events_size() - 2).target_id(), id);
  const auto& import_row = page.events(2);
  EXPECT_EQ(import_row.action(), "question.import");
  EXPECT_EQ(import_row.after_json(),
            R"({"failed": 1, "created": 2, "skipped": 0, "completed": true})");
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(ServiceTest, ListAuditEventsFiltersPagesAndNamesEachBadField) {
  for (int i = 0; i < 5; ++i) Create(Valid(absl::StrCat("Question ", i)), /*publish=*/i < 2);
  const absl::Time middle = absl::Now();
  pb::CreateTagRequest tag;
  tag.set_kind(pb::TAG_KIND_DOMAIN);
  tag.set_slug("cardiology");
  tag.set_label("Cardiology");
  pb::CreateTagResponse tag_created;
  ASSERT_TRUE(stub_->CreateTag(As("admin").get(), tag, &tag_created).ok());
  // 5 creates + 2 publishes by the author, then 1 tag by the admin: 8 rows.
  const auto list = [&](const ::audit::v1::ListAuditEventsRequest& r,
                        const std::string& token = "admin") {
    ::audit::v1::ListAuditEventsResponse page;
    grpc::Status s = stub_->ListAuditEvents(As(token).get(), r, &page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return page;
  };
  ::audit::v1::ListAuditEventsRequest r;
  EXPECT_EQ(list(r).events_size(), 8);  // page_size 0: up to 50
  r.set_actor_user_id(kAdminId);
  ASSERT_EQ(list(r).events_size(), 1);
  EXPECT_EQ(list(r).events(0).action(), "tag.create");
  r = {};
  r.set_action("question.publish");
  EXPECT_EQ(list(r).events_size(), 2);
  r = {};
  r.set_target_id(tag_created.tag().id());
  EXPECT_EQ(list(r).events_size(), 1);
  r = {};
  suite::api::SetTimestamp(middle, r.mutable_start_time());
  EXPECT_EQ(list(r).events_size(), 1);
  r = {};
  suite::api::SetTimestamp(middle, r.mutable_end_time());
  EXPECT_EQ(list(r).events_size(), 7);

  // Keyset pages of 3, newest first, every row once; the token only with its filters.
  r = {};
  r.set_page_size(3);
  r.set_action("question.create");
  std::vector<int64_t> seqs;
  std::string first_token;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = list(r);
    for (const auto& e : page.events()) seqs.push_back(e.sequence());
    if (first_token.empty()) first_token = page.next_page_token();
    if (page.next_page_token().empty()) break;
    r.set_page_token(page.next_page_token());
  }
  ASSERT_EQ(seqs.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seqs.rbegin(), seqs.rend()));
  EXPECT_EQ(std::set<int64_t>(seqs.begin(), seqs.end()).size(), 5u);

  ::audit::v1::ListAuditEventsResponse page;
  const auto field_of = [&](const ::audit::v1::ListAuditEventsRequest& bad) {
    grpc::Status s = stub_->ListAuditEvents(As("admin").get(), bad, &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    return FirstViolatedField(s);
  };
  r = {};
  r.set_page_size(3);
  r.set_action("question.publish");  // not the filter the token was issued for
  r.set_page_token(first_token);
  EXPECT_EQ(field_of(r), "page_token");
  r = {};
  r.set_page_token("not a token");
  EXPECT_EQ(field_of(r), "page_token");
  for (int size : {-1, 101, 1000000}) {
    r = {};
    r.set_page_size(size);
    EXPECT_EQ(field_of(r), "page_size") << size;
  }
  for (const std::string actor : {"admin", "0000", "00000000-0000-4000-8000-00000000000g"}) {
    r = {};
    r.set_actor_user_id(actor);
    EXPECT_EQ(field_of(r), "actor_user_id") << actor;
  }
  for (const std::string& text : {std::string("a\nb"), std::string("a\0b", 3),
                                 std::string("\x1b[31m"),
                                 std::string(201, 'x')}) {
    r = {};
    r.set_action(text);
    EXPECT_EQ(field_of(r), "action");
    r = {};
    r.set_target_id(text);
    EXPECT_EQ(field_of(r), "target_id");
  }
  // The longest accepted: an action of 100 characters, a target id of 200.
  r = {};
  r.set_action(std::string(101, 'a'));
  EXPECT_EQ(field_of(r), "action");
  r.set_action(std::string(100, 'a'));
  r.set_target_id(std::string(200, 'x'));
  EXPECT_TRUE(stub_->ListAuditEvents(As("admin").get(), r, &page).ok());
  r = {};
  suite::api::SetTimestamp(middle, r.mutable_start_time());
  suite::api::SetTimestamp(middle, r.mutable_end_time());
  EXPECT_EQ(field_of(r), "end_time");
  suite::api::SetTimestamp(middle - absl::Seconds(1), r.mutable_end_time());
  EXPECT_EQ(field_of(r), "end_time");
  r = {};
  r.mutable_start_time()->set_nanos(-1);
  EXPECT_EQ(field_of(r), "start_time");
  r = {};
  r.mutable_end_time()->set_seconds(253402300800);
  EXPECT_EQ(field_of(r), "end_time");

  // Only an admin, and nobody unauthenticated.
  for (const std::string who : {"member", "author"}) {
    grpc::Status s = stub_->ListAuditEvents(As(who).get(), {}, &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who;
    // Refused before the request is read: an invalid one (a bad page size, a timestamp out of
    // range) is denied the same, so a non-admin learns nothing of the validation.
    r = {};
    r.set_page_size(-1);
    r.mutable_end_time()->set_seconds(253402300800);
    EXPECT_EQ(stub_->ListAuditEvents(As(who).get(), r, &page).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who;
  }
  EXPECT_EQ(stub_->ListAuditEvents(As("").get(), {}, &page).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A listing writes nothing.
  EXPECT_EQ(Count("audit_log"), 8);
}

}  // namespace
}  // namespace suite::questions

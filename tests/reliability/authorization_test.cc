// The "author" column of the authorization matrix, which the services' own matrices
// (services/*/grpc/*authorization*, AuthorizationMatrixOfEveryRpc) do not have: for every RPC
// of identity and billing an author gets exactly what a plain member gets (the role grants
// nothing there), acting on another member's resources; on questions an author may author
// (create, update, publish, archive, tag, import) where a member is refused, and gets what a
// member gets on everything else. Anonymous callers are refused every RPC that is not public.
// Calls are sent generically from text-format requests, so the table stays one line per RPC.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/testing/billing_test_server.h"
#include "services/identity/grpc/test_helpers.h"
#include "services/identity/testing/identity_test_server.h"
#include "services/questions/testing/questions_test_server.h"
#include "shared/db/testing/test_database.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {
namespace {

namespace pb = ::google::protobuf;

struct Row {
  std::string method;
  std::string request;  // text format, $PLACEHOLDERS replaced
};

std::string Serialize(const std::string& service, const Row& row,
                      const std::map<std::string, std::string>& placeholders) {
  const pb::MethodDescriptor* m =
      pb::DescriptorPool::generated_pool()->FindServiceByName(service)->FindMethodByName(
          row.method);
  EXPECT_NE(m, nullptr) << row.method;
  if (m == nullptr) return "";
  std::unique_ptr<pb::Message> msg(
      pb::MessageFactory::generated_factory()->GetPrototype(m->input_type())->New());
  std::string text = absl::StrReplaceAll(row.request, placeholders);
  EXPECT_TRUE(pb::TextFormat::ParseFromString(text, msg.get())) << row.method << ": " << text;
  return msg->SerializeAsString();
}

grpc::StatusCode Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                      const Row& row, const std::map<std::string, std::string>& placeholders,
                      const std::string& token) {
  return CallRaw(channel, absl::StrCat("/", service, "/", row.method),
                 Serialize(service, row, placeholders), token)
      .status.error_code();
}

void ExpectEveryMethodListed(const std::string& service, const std::vector<Row>& rows,
                             const std::set<std::string>& skipped) {
  const pb::ServiceDescriptor* s = pb::DescriptorPool::generated_pool()->FindServiceByName(service);
  std::set<std::string> listed;
  for (const Row& r : rows) listed.insert(r.method);
  for (int i = 0; i < s->method_count(); ++i) {
    EXPECT_TRUE(listed.count(s->method(i)->name()) || skipped.count(s->method(i)->name()))
        << service << " " << s->method(i)->name() << " has no row";
  }
}

TEST(AuthorizationTest, IdentityGivesAnAuthorExactlyWhatItGivesAMember) {
  auto server = identity::testing::IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  identity::testing::Client client(**server);
  const std::string admin = client.AdminToken();
  std::string member_id, author_id, other_id;
  const std::string member = client.MemberToken("member@example.com", &member_id);
  const std::string author = client.MemberToken("author@example.com", &author_id);
  client.MemberToken("other@example.com", &other_id);
  {
    ::identity::v1::AssignRoleRequest req;
    req.set_user_id(author_id);
    req.set_role("author");
    ::identity::v1::AssignRoleResponse resp;
    auto ctx = identity::testing::Client::Bearer(admin);
    ASSERT_TRUE(client.stub().AssignRole(ctx.get(), req, &resp).ok());
  }
  const std::string svc = "identity.v1.IdentityService";
  auto channel = NewChannel((*server)->address());
  const std::map<std::string, std::string> ph = {{"$OTHER", other_id}};
  // Every request targets the other member (or is global); none may change what later rows
  // see when refused.
  std::vector<Row> rows = {
      {"GetUser", "user_id: '$OTHER'"},
      {"ListUsers", "page_size: 5"},
      {"UpdateUser", "user_id: '$OTHER' first_name: 'X'"},
      {"SetUserStatus", "user_id: '$OTHER' status: USER_STATUS_SUSPENDED"},
      {"DeleteUser", "user_id: '$OTHER'"},
      {"ChangePassword", "user_id: '$OTHER' current_password: 'correct horse battery staple' "
                         "new_password: 'another horse battery staple'"},
      {"CreateEmailVerification", "user_id: '$OTHER'"},
      {"ListSessions", "user_id: '$OTHER'"},
      {"RevokeSession", "session_id: '00000000-0000-4000-8000-000000000001'"},
      {"RevokeAllSessions", "user_id: '$OTHER'"},
      {"ListAccounts", "page_size: 5"},
      {"GetAccount", "account_id: '00000000-0000-4000-8000-000000000002'"},
      {"UpdateAccount", "account_id: '00000000-0000-4000-8000-000000000002' name: 'x'"},
      {"CreateRole", "key: 'auditor' label: 'Auditor'"},
      {"ListRoles", ""},
      {"AssignRole", "user_id: '$OTHER' role: 'admin'"},
      {"RevokeRole", "user_id: '$OTHER' role: 'member'"},
      {"ListRoleAssignments", "user_id: '$OTHER'"},
      {"ListLoginAttempts", "page_size: 5"},
      {"ListAuditEvents", "page_size: 5"},
  };
  // Public: the credentials are the argument; WatchRevocations carries only ids (the services
  // that cache ValidateSession follow it without a user's token). Self-only with no target:
  // Logout, RotateSession. CreateAccount makes the caller its first member: any member may
  // (tested by identity).
  ExpectEveryMethodListed(svc, rows,
                          {"CreateUser", "Login", "ValidateSession", "ConfirmEmailVerification",
                           "WatchRevocations", "Logout", "RotateSession", "CreateAccount"});
  for (const Row& row : rows) {
    const grpc::StatusCode anonymous = Call(channel, svc, row, ph, "");
    const grpc::StatusCode as_member = Call(channel, svc, row, ph, member);
    const grpc::StatusCode as_author = Call(channel, svc, row, ph, author);
    EXPECT_EQ(anonymous, grpc::StatusCode::UNAUTHENTICATED) << row.method;
    EXPECT_EQ(as_author, as_member) << row.method << ": an author is no more than a member";
    EXPECT_NE(as_author, grpc::StatusCode::UNAUTHENTICATED) << row.method;
  }
  // And the other member is untouched by all of it.
  ::identity::v1::GetUserRequest get;
  get.set_user_id(other_id);
  ::identity::v1::GetUserResponse got;
  auto ctx = identity::testing::Client::Bearer(admin);
  ASSERT_TRUE(client.stub().GetUser(ctx.get(), get, &got).ok());
  EXPECT_EQ(got.user().status(), ::identity::v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(got.user().first_name(), "");
}

constexpr char kAdmin[] = "11111111-1111-4111-8111-111111111111";
constexpr char kMember[] = "22222222-2222-4222-8222-222222222222";
constexpr char kAuthor[] = "33333333-3333-4333-8333-333333333333";
constexpr char kOther[] = "44444444-4444-4444-8444-444444444444";

TEST(AuthorizationTest, BillingGivesAnAuthorExactlyWhatItGivesAMember) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("admin", {kAdmin, {"admin"}, ""});
  auth.Add("member", {kMember, {"member"}, ""});
  auth.Add("author", {kAuthor, {"member", "author"}, ""});
  suite::billing::BillingOptions options;
  options.webhook_secrets = {"whsec_authz"};
  options.page_token_secret = "authz-page-token-secret";
  auto server = suite::billing::testing::BillingTestServer::Start((*db)->UrlAs("billing_service"),
                                                                options, auth);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = NewChannel(absl::StrCat("127.0.0.1:", (*server)->grpc_port()));
  const std::string svc = "billing.v1.BillingService";
  const std::map<std::string, std::string> ph = {{"$OTHER", kOther}};
  std::vector<Row> rows = {
      {"GetCustomer", "user_id: '$OTHER'"},
      {"LinkCustomer", "stripe_customer_id: 'cus_x' user_id: '$OTHER'"},
      {"GetSubscription", "stripe_subscription_id: 'sub_x'"},
      {"ListSubscriptions", "user_id: '$OTHER'"},
      {"GetEntitlement", "user_id: '$OTHER'"},
      {"RecordTransaction",
       "idempotency_key: 'k' transaction { account_id: '$OTHER' kind: TRANSACTION_KIND_PAYMENT "
       "status: TRANSACTION_STATUS_SUCCEEDED currency: 'USD' amount_cents: 1 provider: 'stripe' }"},
      {"ListTransactions", "account_id: '$OTHER'"},
      {"ListStripeEvents", "page_size: 5"},
      {"ReprocessStripeEvent", "stripe_event_id: 'evt_x'"},
      {"ListAuditEvents", "actor_user_id: '$OTHER'"},
  };
  // IngestStripeEvent is authenticated by the Stripe signature, not a bearer.
  ExpectEveryMethodListed(svc, rows, {"IngestStripeEvent"});
  for (const Row& row : rows) {
    EXPECT_EQ(Call(channel, svc, row, ph, ""), grpc::StatusCode::UNAUTHENTICATED) << row.method;
    const grpc::StatusCode as_member = Call(channel, svc, row, ph, "member");
    const grpc::StatusCode as_author = Call(channel, svc, row, ph, "author");
    EXPECT_EQ(as_author, as_member) << row.method;
    // Another member's data is NOT_FOUND (answered as missing data); an admin RPC is
    // PERMISSION_DENIED.
    const bool admin_rpc = row.method == "LinkCustomer" || row.method == "RecordTransaction" ||
                           row.method == "ListTransactions" || row.method == "ListStripeEvents" ||
                           row.method == "ReprocessStripeEvent" || row.method == "ListAuditEvents";
    EXPECT_EQ(as_author,
              admin_rpc ? grpc::StatusCode::PERMISSION_DENIED : grpc::StatusCode::NOT_FOUND)
        << row.method << ": another member's data or an admin RPC";
    const grpc::StatusCode as_admin = Call(channel, svc, row, ph, "admin");
    EXPECT_NE(as_admin, grpc::StatusCode::PERMISSION_DENIED) << row.method;
  }
}

TEST(AuthorizationTest, QuestionsLetsAnAuthorAuthorAndOtherwiseTreatsItAsAMember) {
  suite::billing::testing::StaticAuthenticator auth;
  auth.Add("member", {kMember, {"member"}, ""});
  auth.Add("author", {kAuthor, {"member", "author"}, ""});
  auth.Add("admin", {kAdmin, {"admin"}, ""});
  questions::testing::QuestionsServerOptions options;
  options.authenticator = &auth;
  options.billing_addr = "127.0.0.1:1";
  options.free_sessions_per_day = 100;
  auto server = questions::testing::QuestionsTestServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = NewChannel((*server)->address());
  const std::string svc = "questions.v1.QuestionBankService";
  const std::map<std::string, std::string> ph = {
      {"$Q", "00000000-0000-4000-8000-0000000000aa"}, {"$T", "00000000-0000-4000-8000-0000000000bb"}};
  const std::string question =
      "stem: 'Authored?' difficulty: QUESTION_DIFFICULTY_EASY choices { text: 'yes' "
      "is_correct: true } choices { text: 'no' }";
  std::vector<Row> authoring = {
      {"CreateQuestion", question},
      {"UpdateQuestion", "question_id: '$Q' stem: 'x' update_mask { paths: 'stem' }"},
      {"PublishQuestion", "question_id: '$Q'"},
      {"ArchiveQuestion", "question_id: '$Q'"},
      {"CreateTag", "kind: TAG_KIND_TOPIC slug: 'authz' label: 'Authz'"},
      {"TagQuestion", "question_id: '$Q' tag_id: '$T'"},
      {"UntagQuestion", "question_id: '$Q' tag_id: '$T'"},
  };
  std::vector<Row> learning = {
      {"GetQuestion", "question_id: '$Q'"},
      {"ListQuestions", "page_size: 5"},
      {"ListTags", "page_size: 5"},
      {"StartPracticeSession", "mode: PRACTICE_MODE_TUTOR question_count: 1"},
      {"GetPracticeSession", "session_id: '$Q'"},
      {"SubmitAttempt", "session_id: '$Q' question_id: '$Q' choice_id: '$Q'"},
      {"EndPracticeSession", "session_id: '$Q'"},
      {"ListAttempts", "page_size: 5"},
      {"GetUserStats", ""},
      {"CreateBookmark", "question_id: '$Q'"},
      {"DeleteBookmark", "question_id: '$Q'"},
      {"ListBookmarks", "page_size: 5"},
  };
  // The audit trail: admins only, an author no more than a member.
  std::vector<Row> admin_only = {
      {"ListAuditEvents", "page_size: 5"},
  };
  std::vector<Row> all = authoring;
  all.insert(all.end(), learning.begin(), learning.end());
  all.insert(all.end(), admin_only.begin(), admin_only.end());
  // ImportQuestions is client-streaming: its member/admin rows are in the service's matrix.
  ExpectEveryMethodListed(svc, all, {"ImportQuestions"});
  for (const Row& row : admin_only) {
    EXPECT_EQ(Call(channel, svc, row, ph, ""), grpc::StatusCode::UNAUTHENTICATED) << row.method;
    EXPECT_EQ(Call(channel, svc, row, ph, "member"), grpc::StatusCode::PERMISSION_DENIED)
        << row.method;
    EXPECT_EQ(Call(channel, svc, row, ph, "author"), grpc::StatusCode::PERMISSION_DENIED)
        << row.method;
    EXPECT_EQ(Call(channel, svc, row, ph, "admin"), grpc::StatusCode::OK) << row.method;
  }
  for (const Row& row : authoring) {
    EXPECT_EQ(Call(channel, svc, row, ph, ""), grpc::StatusCode::UNAUTHENTICATED) << row.method;
    EXPECT_EQ(Call(channel, svc, row, ph, "member"), grpc::StatusCode::PERMISSION_DENIED)
        << row.method;
    const grpc::StatusCode as_author = Call(channel, svc, row, ph, "author");
    EXPECT_NE(as_author, grpc::StatusCode::PERMISSION_DENIED) << row.method;
    EXPECT_NE(as_author, grpc::StatusCode::UNAUTHENTICATED) << row.method;
    EXPECT_NE(as_author, grpc::StatusCode::INTERNAL) << row.method;
  }
  for (const Row& row : learning) {
    EXPECT_EQ(Call(channel, svc, row, ph, ""), grpc::StatusCode::UNAUTHENTICATED) << row.method;
    EXPECT_EQ(Call(channel, svc, row, ph, "author"), Call(channel, svc, row, ph, "member"))
        << row.method;
  }
}

}  // namespace
}  // namespace suite::reliability

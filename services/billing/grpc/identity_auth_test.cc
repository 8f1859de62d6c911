// Billing authenticating its callers through the real client library
// (//shared/clients/identity:identity_authenticator) over gRPC, against a server that speaks
// identity.v1's ValidateSession contract. (The real identity service cannot be a dependency
// of a billing target — service packages never depend on each other — so the cross-service
// test with it belongs in tests/, which can start BillingTestServer with an
// IdentityAuthenticator pointed at IdentityTestServer.)
#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "pqxx/pqxx"
#include "services/billing/domain/stripe_signature.h"
#include "services/billing/testing/billing_test_server.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/db/testing/test_database.h"

namespace suite::billing {
namespace {

constexpr char kAdminId[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kAliceId[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kBobId[] = "aaaaaaaa-0000-4000-8000-000000000003";

// ValidateSession as identity answers it: a table of live tokens; anything else is
// UNAUTHENTICATED. GetUser as identity answers it for those sessions: the caller's own user,
// or any known user for an admin (NOT_FOUND for an unknown one), PERMISSION_DENIED for a
// member asking about another user.
class ValidateSessionServer final : public identity::v1::IdentityService::Service {
 public:
  void Grant(const std::string& token, const std::string& user, const std::string& role) {
    absl::MutexLock lock(&mu_);
    sessions_[token] = {user, role};
  }
  void Revoke(const std::string& token) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(token);
  }
  grpc::Status ValidateSession(grpc::ServerContext*,
                               const identity::v1::ValidateSessionRequest* request,
                               identity::v1::ValidateSessionResponse* response) override {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(request->session_token());
    if (it == sessions_.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown session");
    }
    response->set_user_id(it->second.first);
    response->set_session_id(absl::StrCat("sess-", it->second.first));
    identity::v1::RoleGrant* grant = response->add_role_grants();
    grant->set_role(it->second.second);
    response->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
    return grpc::Status::OK;
  }
  grpc::Status GetUser(grpc::ServerContext* context, const identity::v1::GetUserRequest* request,
                       identity::v1::GetUserResponse* response) override {
    absl::MutexLock lock(&mu_);
    std::string token;
    auto auth = context->client_metadata().find("authorization");
    if (auth != context->client_metadata().end()) {
      token = std::string(auth->second.data(), auth->second.size());
      if (token.rfind("Bearer ", 0) == 0) token = token.substr(7);
    }
    auto caller = sessions_.find(token);
    if (caller == sessions_.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown session");
    }
    if (caller->second.second != "admin" && caller->second.first != request->user_id()) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "only your own user");
    }
    for (const auto& [t, session] : sessions_) {
      if (session.first == request->user_id()) {
        response->mutable_user()->set_user_id(session.first);
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "user not found");
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> sessions_ ABSL_GUARDED_BY(mu_);
};

class IdentityAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    identity_.Grant("admin-token", kAdminId, "admin");
    identity_.Grant("alice-token", kAliceId, "member");
    identity_.Grant("bob-token", kBobId, "member");
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &identity_port_);
    builder.RegisterService(&identity_);
    identity_server_ = builder.BuildAndStart();
    ASSERT_NE(identity_server_, nullptr);
    suite::identity_client::IdentityAuthenticatorOptions auth_options;
    auth_options.cache_ttl = absl::ZeroDuration();  // every call asks identity
    auth_options.call_timeout = absl::Seconds(1);
    authenticator_ = std::make_unique<suite::identity_client::IdentityAuthenticator>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", identity_port_),
                            grpc::InsecureChannelCredentials()),
        auth_options);
    auto db = suite::db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    BillingOptions options;
    options.webhook_secrets = {"whsec"};
    options.page_token_secret = "page-secret";
    auto server =
        testing::BillingTestServer::Start(db_->UrlAs("billing_service"), options, *authenticator_);
    ASSERT_TRUE(server.ok()) << server.status();
    billing_ = std::move(*server);
    stub_ = billing_->NewStub();
  }
  void TearDown() override {
    billing_.reset();
    if (identity_server_) identity_server_->Shutdown();
  }

  grpc::StatusCode Entitlement(const std::string& token, const std::string& user) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    v1::GetEntitlementRequest req;
    req.set_user_id(user);
    v1::GetEntitlementResponse resp;
    return stub_->GetEntitlement(&ctx, req, &resp).error_code();
  }

  ValidateSessionServer identity_;
  int identity_port_ = 0;
  std::unique_ptr<grpc::Server> identity_server_;
  std::unique_ptr<suite::identity_client::IdentityAuthenticator> authenticator_;
  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::unique_ptr<testing::BillingTestServer> billing_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

TEST_F(IdentityAuthTest, RolesAndUsersComeFromValidateSession) {
  EXPECT_EQ(Entitlement("alice-token", kAliceId), grpc::StatusCode::OK);
  // Another member's entitlement is answered as a missing user's.
  EXPECT_EQ(Entitlement("bob-token", kAliceId), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Entitlement("admin-token", kAliceId), grpc::StatusCode::OK);
  EXPECT_EQ(Entitlement("forged-token", kAliceId), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(IdentityAuthTest, AdminWriteRecordsTheCallersRequestId) {
  const std::string request_id = "cccccccc-0000-4000-8000-0000000000aa";
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer admin-token");
  ctx.AddMetadata("x-request-id", request_id);
  v1::LinkCustomerRequest req;
  req.set_stripe_customer_id("cus_audit");
  req.set_user_id(kAliceId);
  v1::LinkCustomerResponse resp;
  ASSERT_TRUE(stub_->LinkCustomer(&ctx, req, &resp).ok());
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT request_id::text FROM billing.stripe_customers "
                     "WHERE stripe_customer_id = 'cus_audit'")[0]
                .as<std::string>(),
            request_id);
  grpc::ClientContext member;
  member.AddMetadata("authorization", "Bearer alice-token");
  EXPECT_EQ(stub_->LinkCustomer(&member, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// LinkCustomer asks identity's GetUser with the admin's own token: an unknown user is
// NOT_FOUND and nothing is written; identity down is UNAVAILABLE, not a link to an unchecked
// user.
TEST_F(IdentityAuthTest, LinkCustomerAsksIdentityWhetherTheUserExists) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer admin-token");
  v1::LinkCustomerRequest req;
  req.set_stripe_customer_id("cus_checked");
  req.set_user_id("aaaaaaaa-0000-4000-8000-0000000000ff");
  v1::LinkCustomerResponse resp;
  EXPECT_EQ(stub_->LinkCustomer(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  pqxx::connection conn(db_->url());
  {
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM billing.stripe_customers")[0].as<int>(), 0);
  }
  grpc::ClientContext known;
  known.AddMetadata("authorization", "Bearer admin-token");
  req.set_user_id(kBobId);
  ASSERT_TRUE(stub_->LinkCustomer(&known, req, &resp).ok());
  EXPECT_EQ(resp.customer().user_id(), kBobId);

  identity_server_->Shutdown();
  grpc::ClientContext down;
  down.AddMetadata("authorization", "Bearer admin-token");
  req.set_stripe_customer_id("cus_down");
  EXPECT_EQ(stub_->LinkCustomer(&down, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM billing.stripe_customers")[0].as<int>(), 1);
}

TEST_F(IdentityAuthTest, RevokedSessionIsRefused) {
  EXPECT_EQ(Entitlement("alice-token", kAliceId), grpc::StatusCode::OK);
  identity_.Revoke("alice-token");
  EXPECT_EQ(Entitlement("alice-token", kAliceId), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(IdentityAuthTest, IdentityDownIsUnavailableNotAHang) {
  identity_server_->Shutdown();
  const absl::Time start = absl::Now();
  EXPECT_EQ(Entitlement("alice-token", kAliceId), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace suite::billing

// Billing with the REAL identity service, in-process, each on its own fresh database as its own
// role: LinkCustomer asks identity's GetUser (with the admin's own token) whether the user
// exists; members signed up and logged in through identity see only their own customer,
// subscriptions and entitlement, and another member's are answered exactly as missing ones; the
// README's test event, an admin's LinkCustomer and the event again leave one customer.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "pqxx/pqxx"
#include "services/billing/domain/stripe_signature.h"
#include "services/billing/testing/billing_test_server.h"
#include "services/identity/testing/identity_test_server.h"
#include "shared/api/status.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/grpc_status.h"

namespace suite {
namespace {

using ::suite::billing::testing::BillingTestServer;
using ::suite::db::testing::TestDatabase;
using ::suite::identity::testing::IdentityTestServer;
using ::suite::identity_client::IdentityAuthenticator;
namespace iv1 = ::identity::v1;
namespace bv1 = ::billing::v1;

constexpr char kWebhookSecret[] = "whsec_billing_identity";
constexpr char kAdminEmail[] = "admin@billing-identity.example";
constexpr char kAdminPassword[] = "admin-password-billing-identity";
constexpr char kNobodyId[] = "aaaaaaaa-0000-4000-8000-0000000000ff";

std::string ReasonOf(const grpc::Status& status) {
  auto info = suite::api::ErrorInfoOf(rpc::FromGrpcStatus(status));
  return info ? info->reason : "";
}

// Everything a client can see of a failed call: code, message and the serialized details.
std::string Answer(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), "|", status.error_message(), "|",
                      absl::BytesToHexString(status.error_details()));
}

std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return ctx;
}

struct Member {
  std::string user_id;
  std::string token;
};

class BillingIdentityTest : public ::testing::Test {
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
    auth_ = std::make_unique<IdentityAuthenticator>(
        grpc::CreateChannel(identity_->address(), grpc::InsecureChannelCredentials()));
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ::suite::billing::BillingOptions options;
    options.webhook_secrets = {kWebhookSecret};
    options.page_token_secret = "billing-identity-page-token-secret";
    auto billing = BillingTestServer::Start(db_->UrlAs("billing_service"), options, *auth_);
    ASSERT_TRUE(billing.ok()) << billing.status();
    billing_ = std::move(*billing);
    stub_ = billing_->NewStub();
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
    req.set_email(name + "@billing-identity.example");
    req.set_password("password-of-" + name);
    iv1::CreateUserResponse resp;
    grpc::Status s = identity_stub_->CreateUser(As("").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.user().user_id(), Login(req.email(), req.password())};
  }

  // The README's "A test Stripe event" (a signed customer.subscription.* for `user`).
  grpc::Status Event(const std::string& id, const std::string& type, const std::string& sub,
                     const std::string& customer, const std::string& user, int64_t created) {
    const std::string payload = absl::Substitute(
        R"({"id":"$0","object":"event","type":"$1","created":$2,"livemode":false,)"
        R"("data":{"object":{"id":"$3","object":"subscription","customer":"$4",)"
        R"("status":"active","current_period_end":$5,)"
        R"("items":{"data":[{"price":{"id":"price_monthly"}}]},"metadata":{"user_id":"$6"}}}})",
        id, type, created, sub, customer, created + 2592000, user);
    const int64_t t = absl::ToUnixSeconds(absl::Now());
    bv1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(absl::StrCat(
        "t=", t, ",v1=", ::suite::billing::ComputeStripeSignature(kWebhookSecret, t, payload)));
    bv1::IngestStripeEventResponse resp;
    return stub_->IngestStripeEvent(As("").get(), req, &resp);
  }

  grpc::Status Link(const std::string& token, const std::string& customer, const std::string& user,
                    bool allow_relink = false, bv1::LinkCustomerResponse* out = nullptr) {
    bv1::LinkCustomerRequest req;
    req.set_stripe_customer_id(customer);
    req.set_user_id(user);
    req.set_allow_relink(allow_relink);
    bv1::LinkCustomerResponse ignored;
    return stub_->LinkCustomer(As(token).get(), req, out ? out : &ignored);
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  int64_t LiveCustomersOf(const std::string& user) {
    return Count(absl::StrCat("SELECT count(*) FROM billing.stripe_customers WHERE user_id = '",
                              user, "' AND deleted_at IS NULL"));
  }

  std::unique_ptr<IdentityTestServer> identity_;
  std::unique_ptr<iv1::IdentityService::Stub> identity_stub_;
  std::string admin_token_;
  std::unique_ptr<IdentityAuthenticator> auth_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<BillingTestServer> billing_;
  std::unique_ptr<bv1::BillingService::Stub> stub_;
};

TEST_F(BillingIdentityTest, LinkCustomerLinksOnlyUsersIdentityKnows) {
  Member alice = SignUp("alice-link");
  // Nobody: NOT_FOUND naming user_id, and no customer row.
  grpc::Status s = Link(admin_token_, "cus_nobody", kNobodyId);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "USER_NOT_FOUND");
  EXPECT_NE(s.error_message().find("user_id"), std::string::npos) << s.error_message();
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_customers"), 0);
  // A real member: linked.
  bv1::LinkCustomerResponse linked;
  ASSERT_TRUE(Link(admin_token_, "cus_alice", alice.user_id, false, &linked).ok());
  EXPECT_EQ(linked.customer().user_id(), alice.user_id);
  // A member may not link, not even themself (PERMISSION_DENIED before identity is asked).
  EXPECT_EQ(Link(alice.token, "cus_self", alice.user_id).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A user deleted in identity is no longer linkable.
  Member bob = SignUp("bob-deleted");
  iv1::DeleteUserRequest del;
  del.set_user_id(bob.user_id);
  iv1::DeleteUserResponse deleted;
  ASSERT_TRUE(identity_stub_->DeleteUser(As(admin_token_).get(), del, &deleted).ok());
  s = Link(admin_token_, "cus_bob", bob.user_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "USER_NOT_FOUND");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_customers"), 1);
}

TEST_F(BillingIdentityTest, ReadmeEventThenLinkThenEventLeavesOneCustomer) {
  Member alice = SignUp("alice-readme");
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  ASSERT_TRUE(Event("evt_local1", "customer.subscription.created", "sub_local1", "cus_local1",
                    alice.user_id, t)
                  .ok());
  ASSERT_TRUE(Link(admin_token_, "cus_local1", alice.user_id).ok());
  grpc::Status s = Link(admin_token_, "cus_local2", alice.user_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "USER_HAS_OTHER_CUSTOMER");
  ASSERT_TRUE(Event("evt_local2", "customer.subscription.updated", "sub_local1", "cus_local1",
                    alice.user_id, t + 1)
                  .ok());
  ASSERT_TRUE(Event("evt_local3", "customer.subscription.created", "sub_local2", "cus_local2",
                    alice.user_id, t + 2)
                  .ok());
  EXPECT_EQ(LiveCustomersOf(alice.user_id), 1);
  bv1::GetCustomerRequest req;
  req.set_user_id(alice.user_id);
  bv1::GetCustomerResponse mine;
  ASSERT_TRUE(stub_->GetCustomer(As(alice.token).get(), req, &mine).ok());
  EXPECT_EQ(mine.customer().stripe_customer_id(), "cus_local1");
  // Moving her customer to another member needs allow_relink.
  Member carol = SignUp("carol-readme");
  s = Link(admin_token_, "cus_local1", carol.user_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "CUSTOMER_LINKED_TO_OTHER_USER");
  ASSERT_TRUE(Link(admin_token_, "cus_local1", carol.user_id, /*allow_relink=*/true).ok());
  EXPECT_EQ(LiveCustomersOf(alice.user_id), 0);
  EXPECT_EQ(LiveCustomersOf(carol.user_id), 1);
}

TEST_F(BillingIdentityTest, AnotherMembersThingsAreAnsweredAsMissingOnes) {
  Member alice = SignUp("alice-visible");
  Member bob = SignUp("bob-visible");
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  ASSERT_TRUE(
      Event("evt_a", "customer.subscription.created", "sub_alice", "cus_alice", alice.user_id, t)
          .ok());
  bv1::GetEntitlementRequest e;
  bv1::GetEntitlementResponse eo;
  e.set_user_id(alice.user_id);
  grpc::Status alices = stub_->GetEntitlement(As(bob.token).get(), e, &eo);
  e.set_user_id(kNobodyId);
  grpc::Status nobodys = stub_->GetEntitlement(As(bob.token).get(), e, &eo);
  EXPECT_EQ(alices.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(alices), Answer(nobodys));

  bv1::GetSubscriptionRequest g;
  bv1::GetSubscriptionResponse go;
  g.set_stripe_subscription_id("sub_alice");
  grpc::Status sub = stub_->GetSubscription(As(bob.token).get(), g, &go);
  g.set_stripe_subscription_id("sub_nobody");
  EXPECT_EQ(sub.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(sub), Answer(stub_->GetSubscription(As(bob.token).get(), g, &go)));

  bv1::GetCustomerRequest c;
  bv1::GetCustomerResponse co;
  c.set_stripe_customer_id("cus_alice");
  grpc::Status cus = stub_->GetCustomer(As(bob.token).get(), c, &co);
  c.set_stripe_customer_id("cus_nobody");
  EXPECT_EQ(cus.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(cus), Answer(stub_->GetCustomer(As(bob.token).get(), c, &co)));

  bv1::ListSubscriptionsRequest l;
  bv1::ListSubscriptionsResponse lo;
  l.set_user_id(alice.user_id);
  grpc::Status list = stub_->ListSubscriptions(As(bob.token).get(), l, &lo);
  l.set_user_id(kNobodyId);
  EXPECT_EQ(list.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(list), Answer(stub_->ListSubscriptions(As(bob.token).get(), l, &lo)));

  // Alice and the admin see them; Alice's period end is set, Bob's (none) is not.
  g.set_stripe_subscription_id("sub_alice");
  EXPECT_TRUE(stub_->GetSubscription(As(alice.token).get(), g, &go).ok());
  EXPECT_TRUE(stub_->GetSubscription(As(admin_token_).get(), g, &go).ok());
  e.set_user_id(alice.user_id);
  ASSERT_TRUE(stub_->GetEntitlement(As(alice.token).get(), e, &eo).ok());
  EXPECT_TRUE(eo.entitlement().entitled());
  EXPECT_TRUE(eo.entitlement().has_current_period_end());
  e.set_user_id(bob.user_id);
  ASSERT_TRUE(stub_->GetEntitlement(As(bob.token).get(), e, &eo).ok());
  EXPECT_FALSE(eo.entitlement().entitled());
  EXPECT_FALSE(eo.entitlement().has_current_period_end());
}

}  // namespace
}  // namespace suite

// Who a Stripe customer belongs to, what a member may learn about other members' things, and times
// billing does not know: real PostgreSQL (as billing_service), the real gRPC and HTTP servers on
// loopback, through the generated stub. Identity is StaticAuthenticator here (its users are the
// callers added); tests/integration/billing_identity_test.cc runs LinkCustomer against the real
// identity service.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/billing/domain/stripe_signature.h"
#include "services/billing/testing/billing_test_server.h"
#include "shared/api/status.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/grpc_status.h"

namespace suite::billing {
namespace {

using ::suite::billing::testing::BillingTestServer;
using ::suite::billing::testing::StaticAuthenticator;
using suite::db::testing::TestDatabase;
namespace v1 = ::billing::v1;

constexpr char kSecret[] = "whsec_links";
constexpr char kAdminId[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kAliceId[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kBobId[] = "aaaaaaaa-0000-4000-8000-000000000003";
// A well-formed id of nobody.
constexpr char kNobodyId[] = "aaaaaaaa-0000-4000-8000-0000000000ff";
constexpr char kAccountId[] = "bbbbbbbb-0000-4000-8000-000000000001";
constexpr char kNobodysAccountId[] = "bbbbbbbb-0000-4000-8000-0000000000ff";
constexpr int64_t kT0 = 1800000000;

std::string Event(const std::string &id, const std::string &type, int64_t created,
                  const std::string &object) {
  return absl::Substitute(
      R"({"id":"$0","object":"event","type":"$1","created":$2,"livemode":false,)"
      R"("api_version":"2024-06-20","data":{"object":$3}})",
      id, type, created, object);
}

// The README's example subscription ("A test Stripe event"), for `user` ("" = no metadata).
std::string SubscriptionObject(const std::string &id, const std::string &customer,
                               const std::string &user, const std::string &status = "active") {
  return absl::Substitute(
      R"({"id":"$0","object":"subscription","customer":"$1","status":"$2",)"
      R"("current_period_end":1802592000,"items":{"data":[{"price":{"id":"price_monthly"}}]},)"
      R"("metadata":{"user_id":"$3"}})",
      id, customer, status, user);
}

std::string CustomerObject(const std::string &id, const std::string &user) {
  return absl::Substitute(R"({"id":"$0","object":"customer","metadata":{"user_id":"$1"}})", id,
                          user);
}

std::string ReasonOf(const grpc::Status &status) {
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(status));
  return info ? info->reason : "";
}

// Everything a client can see of a failed call: code, message and the serialized details.
std::string Answer(const grpc::Status &status) {
  return absl::StrCat(status.error_code(), "|", status.error_message(), "|",
                      absl::BytesToHexString(status.error_details()));
}

class CustomerLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auth_.Add("admin", {kAdminId, {"admin"}, ""});
    auth_.Add("alice", {kAliceId, {"member"}, ""});
    auth_.Add("bob", {kBobId, {"member"}, ""});
    BillingOptions options;
    options.webhook_secrets = {kSecret};
    options.page_token_secret = "links-page-secret";
    options.now = [] { return absl::FromUnixSeconds(kT0); };
    auto server = BillingTestServer::Start(db_->UrlAs("billing_service"), options, auth_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = server_->NewStub();
  }

  grpc::Status Ingest(const std::string &payload) {
    grpc::ClientContext ctx;
    v1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(
        absl::StrCat("t=", kT0, ",v1=", ComputeStripeSignature(kSecret, kT0, payload)));
    v1::IngestStripeEventResponse out;
    return stub_->IngestStripeEvent(&ctx, req, &out);
  }
  void MustIngest(const std::string &payload) {
    grpc::Status s = Ingest(payload);
    ASSERT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
  }

  static std::unique_ptr<grpc::ClientContext> As(const std::string &token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  grpc::Status Link(const std::string &customer, const std::string &user, bool allow_relink,
                    v1::LinkCustomerResponse *out = nullptr, const std::string &token = "admin") {
    v1::LinkCustomerRequest req;
    req.set_stripe_customer_id(customer);
    req.set_user_id(user);
    req.set_allow_relink(allow_relink);
    v1::LinkCustomerResponse ignored;
    return stub_->LinkCustomer(As(token).get(), req, out ? out : &ignored);
  }

  grpc::Status CustomerByStripeId(const std::string &token, const std::string &id,
                                  v1::GetCustomerResponse *out = nullptr) {
    v1::GetCustomerRequest req;
    req.set_stripe_customer_id(id);
    v1::GetCustomerResponse ignored;
    return stub_->GetCustomer(As(token).get(), req, out ? out : &ignored);
  }
  grpc::Status CustomerByUser(const std::string &token, const std::string &user,
                              v1::GetCustomerResponse *out = nullptr) {
    v1::GetCustomerRequest req;
    req.set_user_id(user);
    v1::GetCustomerResponse ignored;
    return stub_->GetCustomer(As(token).get(), req, out ? out : &ignored);
  }
  grpc::Status Subscription(const std::string &token, const std::string &id,
                            v1::GetSubscriptionResponse *out = nullptr) {
    v1::GetSubscriptionRequest req;
    req.set_stripe_subscription_id(id);
    v1::GetSubscriptionResponse ignored;
    return stub_->GetSubscription(As(token).get(), req, out ? out : &ignored);
  }
  grpc::Status Subscriptions(const std::string &token, const std::string &user,
                             v1::ListSubscriptionsResponse *out = nullptr) {
    v1::ListSubscriptionsRequest req;
    req.set_user_id(user);
    v1::ListSubscriptionsResponse ignored;
    return stub_->ListSubscriptions(As(token).get(), req, out ? out : &ignored);
  }
  grpc::Status Entitlement(const std::string &token, const std::string &user,
                           v1::GetEntitlementResponse *out = nullptr) {
    v1::GetEntitlementRequest req;
    req.set_user_id(user);
    v1::GetEntitlementResponse ignored;
    return stub_->GetEntitlement(As(token).get(), req, out ? out : &ignored);
  }
  bool Entitled(const std::string &user) {
    v1::GetEntitlementResponse e;
    EXPECT_TRUE(Entitlement("admin", user, &e).ok());
    return e.entitlement().entitled();
  }

  int64_t Count(const std::string &sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  // The live (not deleted) customers linked to `user`.
  int64_t LiveCustomersOf(const std::string &user) {
    return Count(absl::StrCat("SELECT count(*) FROM billing.stripe_customers WHERE user_id = '",
                              user, "' AND deleted_at IS NULL"));
  }
  std::string OwnerOf(const std::string &customer) {
    v1::GetCustomerResponse c;
    EXPECT_TRUE(CustomerByStripeId("admin", customer, &c).ok()) << customer;
    return c.customer().user_id();
  }
  std::string SubscriptionOwner(const std::string &sub) {
    v1::GetSubscriptionResponse s;
    EXPECT_TRUE(Subscription("admin", sub, &s).ok()) << sub;
    return s.subscription().user_id();
  }

  StaticAuthenticator auth_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<BillingTestServer> server_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

// ---- LinkCustomer
// ----------------------------------------------------------------------

TEST_F(CustomerLinksTest, LinkCustomerRefusesAnUnknownUserAndWritesNothing) {
  grpc::Status s = Link("cus_new", kNobodyId, /*allow_relink=*/false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "USER_NOT_FOUND");
  EXPECT_NE(s.error_message().find("user_id"), std::string::npos) << s.error_message();
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata["field"], "user_id");
  // allow_relink does not make an unknown user acceptable.
  EXPECT_EQ(Link("cus_new", kNobodyId, /*allow_relink=*/true).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_customers"), 0);

  // The same refusal leaves an existing customer as it was.
  MustIngest(Event("evt_1", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_1", "cus_1", kAliceId)));
  EXPECT_EQ(Link("cus_1", kNobodyId, true).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(OwnerOf("cus_1"), kAliceId);
  EXPECT_TRUE(Entitled(kAliceId));

  // A known user in upper case is the same user.
  v1::LinkCustomerResponse linked;
  std::string upper = kBobId;
  for (char &c : upper) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  ASSERT_TRUE(Link("cus_2", upper, false, &linked).ok());
  EXPECT_EQ(linked.customer().user_id(), kBobId);
  // Members may not link at all, whatever the user (decided before the user is looked up).
  EXPECT_EQ(Link("cus_3", kAliceId, false, nullptr, "alice").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Link("cus_3", kNobodyId, false, nullptr, "alice").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CustomerLinksTest, LinkedCustomerMovesOnlyWithAllowRelink) {
  MustIngest(Event("evt_1", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_1", "cus_1", kAliceId)));
  ASSERT_EQ(OwnerOf("cus_1"), kAliceId);

  grpc::Status s = Link("cus_1", kBobId, /*allow_relink=*/false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "CUSTOMER_LINKED_TO_OTHER_USER");
  // Nothing moved.
  EXPECT_EQ(OwnerOf("cus_1"), kAliceId);
  EXPECT_EQ(SubscriptionOwner("sub_1"), kAliceId);
  EXPECT_TRUE(Entitled(kAliceId));
  EXPECT_FALSE(Entitled(kBobId));

  // Asked explicitly, the customer moves with its subscription.
  v1::LinkCustomerResponse linked;
  ASSERT_TRUE(Link("cus_1", kBobId, /*allow_relink=*/true, &linked).ok());
  EXPECT_EQ(linked.customer().user_id(), kBobId);
  EXPECT_EQ(SubscriptionOwner("sub_1"), kBobId);
  EXPECT_FALSE(Entitled(kAliceId));
  EXPECT_TRUE(Entitled(kBobId));
  // Linking it again to the user it belongs to needs no flag and changes nothing.
  ASSERT_TRUE(Link("cus_1", kBobId, /*allow_relink=*/false, &linked).ok());
  EXPECT_EQ(linked.customer().user_id(), kBobId);
}

TEST_F(CustomerLinksTest, AUserHasOneLiveCustomer) {
  ASSERT_TRUE(Link("cus_1", kAliceId, false).ok());
  grpc::Status s = Link("cus_2", kAliceId, false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "USER_HAS_OTHER_CUSTOMER");
  // A refused link creates no customer row.
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_customers WHERE "
                  "stripe_customer_id = "
                  "'cus_2'"),
            0);
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);

  // With allow_relink the new customer replaces the old one, which is unlinked with its
  // subscriptions.
  MustIngest(Event("evt_1", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_1", "cus_1", "")));
  ASSERT_EQ(SubscriptionOwner("sub_1"), kAliceId);
  ASSERT_TRUE(Link("cus_2", kAliceId, /*allow_relink=*/true).ok());
  EXPECT_EQ(OwnerOf("cus_1"), "");
  EXPECT_EQ(SubscriptionOwner("sub_1"), "");
  EXPECT_FALSE(Entitled(kAliceId));
  v1::GetCustomerResponse mine;
  ASSERT_TRUE(CustomerByUser("alice", kAliceId, &mine).ok());
  EXPECT_EQ(mine.customer().stripe_customer_id(), "cus_2");
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);

  // A deleted customer does not count: after Stripe deletes cus_2, another may be linked.
  MustIngest(Event("evt_del", "customer.deleted", kT0 + 1,
                   R"({"id":"cus_2","object":"customer","deleted":true})"));
  ASSERT_TRUE(Link("cus_3", kAliceId, false).ok());
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);
  ASSERT_TRUE(CustomerByUser("alice", kAliceId, &mine).ok());
  EXPECT_EQ(mine.customer().stripe_customer_id(), "cus_3");
}

// ---- Links made by Stripe events
// -------------------------------------------------------

TEST_F(CustomerLinksTest, EventsNeverOverrideAnExplicitLink) {
  ASSERT_TRUE(Link("cus_x", kBobId, false).ok());
  // customer.updated, a subscription and a checkout all naming Alice: the customer stays Bob's, and
  // so does the subscription.
  MustIngest(Event("evt_c", "customer.updated", kT0, CustomerObject("cus_x", kAliceId)));
  MustIngest(Event("evt_s", "customer.subscription.created", kT0 + 1,
                   SubscriptionObject("sub_x", "cus_x", kAliceId)));
  MustIngest(Event("evt_co", "checkout.session.completed", kT0 + 2,
                   absl::StrCat(R"({"id":"cs_1","object":"checkout.session","customer":"cus_x",)",
                                R"("client_reference_id":")", kAliceId, R"("})")));
  MustIngest(Event("evt_s2", "customer.subscription.updated", kT0 + 3,
                   SubscriptionObject("sub_x", "cus_x", kAliceId)));
  EXPECT_EQ(OwnerOf("cus_x"), kBobId);
  EXPECT_EQ(SubscriptionOwner("sub_x"), kBobId);
  EXPECT_TRUE(Entitled(kBobId));
  EXPECT_FALSE(Entitled(kAliceId));
  EXPECT_EQ(LiveCustomersOf(kAliceId), 0);
  EXPECT_EQ(LiveCustomersOf(kBobId), 1);
}

TEST_F(CustomerLinksTest, AnEventLinksAnUnlinkedCustomerOnlyForAUserWithoutOne) {
  // An unlinked customer is linked by its first event naming a user, in any event type.
  MustIngest(Event("evt_1", "customer.created", kT0, CustomerObject("cus_a", "")));
  ASSERT_EQ(OwnerOf("cus_a"), "");
  MustIngest(Event("evt_2", "customer.subscription.created", kT0 + 1,
                   SubscriptionObject("sub_a", "cus_a", kAliceId)));
  EXPECT_EQ(OwnerOf("cus_a"), kAliceId);
  EXPECT_EQ(SubscriptionOwner("sub_a"), kAliceId);

  // Alice already has cus_a: an event naming her on a new customer leaves that one unlinked (its
  // subscription too), and is still processed.
  MustIngest(Event("evt_3", "customer.subscription.created", kT0 + 2,
                   SubscriptionObject("sub_b", "cus_b", kAliceId)));
  MustIngest(Event("evt_4", "customer.created", kT0 + 3, CustomerObject("cus_c", kAliceId)));
  MustIngest(Event("evt_5", "checkout.session.completed", kT0 + 4,
                   absl::StrCat(R"({"id":"cs_1","object":"checkout.session","customer":"cus_d",)",
                                R"("client_reference_id":")", kAliceId, R"("})")));
  EXPECT_EQ(OwnerOf("cus_b"), "");
  EXPECT_EQ(OwnerOf("cus_c"), "");
  EXPECT_EQ(OwnerOf("cus_d"), "");
  EXPECT_EQ(SubscriptionOwner("sub_b"), "");
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE status = "
                  "'processed'"),
            5);

  // An older event naming another user arriving late changes nothing either.
  MustIngest(Event("evt_0", "customer.created", kT0 - 100, CustomerObject("cus_a", kBobId)));
  EXPECT_EQ(OwnerOf("cus_a"), kAliceId);
}

// The README's "A test Stripe event", then the admin's LinkCustomer, then the event again (Stripe's
// next update of the same subscription): one customer, the member's, throughout.
TEST_F(CustomerLinksTest, ReadmeExampleReplayedEndsWithOneCustomer) {
  MustIngest(Event("evt_local1", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_local1", "cus_local1", kAliceId)));
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);
  // The admin links the same customer: nothing changes.
  v1::LinkCustomerResponse linked;
  ASSERT_TRUE(Link("cus_local1", kAliceId, false, &linked).ok());
  EXPECT_EQ(linked.customer().stripe_customer_id(), "cus_local1");
  // The admin links another customer to her: refused, she keeps one.
  grpc::Status s = Link("cus_local2", kAliceId, false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "USER_HAS_OTHER_CUSTOMER");
  // The event again, and once more as a new customer's event naming her.
  MustIngest(Event("evt_local2", "customer.subscription.updated", kT0 + 60,
                   SubscriptionObject("sub_local1", "cus_local1", kAliceId)));
  MustIngest(Event("evt_local3", "customer.subscription.created", kT0 + 120,
                   SubscriptionObject("sub_local2", "cus_local2", kAliceId)));
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);
  v1::GetCustomerResponse mine;
  ASSERT_TRUE(CustomerByUser("alice", kAliceId, &mine).ok());
  EXPECT_EQ(mine.customer().stripe_customer_id(), "cus_local1");
  v1::ListSubscriptionsResponse subs;
  ASSERT_TRUE(Subscriptions("alice", "", &subs).ok());
  ASSERT_EQ(subs.subscriptions_size(), 1);
  EXPECT_EQ(subs.subscriptions(0).stripe_subscription_id(), "sub_local1");

  // The other order: the admin links first, then the README event names her on its customer.
  ASSERT_TRUE(Link("cus_bob1", kBobId, false).ok());
  MustIngest(Event("evt_bob", "customer.subscription.created", kT0 + 180,
                   SubscriptionObject("sub_bob", "cus_bob2", kBobId)));
  EXPECT_EQ(LiveCustomersOf(kBobId), 1);
  EXPECT_EQ(OwnerOf("cus_bob2"), "");
}

TEST_F(CustomerLinksTest, ConcurrentLinksOfOneUserLeaveOneCustomer) {
  // Admin links and events naming Alice, on eight different customers, all at once.
  constexpr int kEach = 8;
  std::atomic<int> linked{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kEach; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status s = Link(absl::StrCat("cus_link", i), kAliceId, false);
      if (s.ok()) {
        ++linked;
      } else if (ReasonOf(s) != "USER_HAS_OTHER_CUSTOMER") {
        ++unexpected;
      }
    });
    threads.emplace_back([&, i] {
      grpc::Status s = Ingest(Event(
          absl::StrCat("evt_c", i), "customer.subscription.created", kT0 + i,
          SubscriptionObject(absl::StrCat("sub_c", i), absl::StrCat("cus_event", i), kAliceId)));
      if (!s.ok()) ++unexpected;
    });
  }
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_LE(linked.load(), 1);
  EXPECT_EQ(LiveCustomersOf(kAliceId), 1);
  // Every subscription belongs to its customer's user.
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_subscriptions s JOIN "
                  "billing.stripe_customers c ON c.id = s.customer_id "
                  "WHERE s.user_id IS DISTINCT FROM c.user_id"),
            0);
}

// ---- What a member may learn
// ------------------------------------------------------------

TEST_F(CustomerLinksTest, AnotherMembersThingsAreAnsweredExactlyAsMissingOnes) {
  MustIngest(Event("evt_1", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_alice", "cus_alice", kAliceId)));
  // A customer linked to nobody is nobody's to see but the admins'.
  MustIngest(Event("evt_2", "customer.subscription.created", kT0,
                   SubscriptionObject("sub_free", "cus_free", "")));

  // By Stripe id: Alice's, an unlinked and a missing one look the same to Bob.
  const std::string missing_customer = Answer(CustomerByStripeId("bob", "cus_missing"));
  EXPECT_EQ(CustomerByStripeId("bob", "cus_missing").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(CustomerByStripeId("bob", "cus_alice")), missing_customer);
  EXPECT_EQ(Answer(CustomerByStripeId("bob", "cus_free")), missing_customer);
  EXPECT_EQ(Answer(CustomerByStripeId("admin", "cus_missing")), missing_customer);
  const std::string missing_sub = Answer(Subscription("bob", "sub_missing"));
  EXPECT_EQ(Subscription("bob", "sub_missing").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(Subscription("bob", "sub_alice")), missing_sub);
  EXPECT_EQ(Answer(Subscription("bob", "sub_free")), missing_sub);
  EXPECT_EQ(Answer(Subscription("admin", "sub_missing")), missing_sub);

  // By user: Alice (who has a customer) and nobody look the same to Bob; and like Bob's own missing
  // customer.
  const std::string no_customer = Answer(CustomerByUser("bob", kBobId));
  EXPECT_EQ(CustomerByUser("bob", kBobId).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Answer(CustomerByUser("bob", kAliceId)), no_customer);
  EXPECT_EQ(Answer(CustomerByUser("bob", kNobodyId)), no_customer);
  const std::string no_user = Answer(Subscriptions("bob", kNobodyId));
  EXPECT_EQ(Subscriptions("bob", kNobodyId).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(Subscriptions("bob", kNobodyId)), "USER_NOT_FOUND");
  EXPECT_EQ(Answer(Subscriptions("bob", kAliceId)), no_user);
  EXPECT_EQ(Answer(Entitlement("bob", kAliceId)), Answer(Entitlement("bob", kNobodyId)));
  EXPECT_EQ(Entitlement("bob", kAliceId).error_code(), grpc::StatusCode::NOT_FOUND);
  // The same id in upper case is the same answer (no second spelling that tells more).
  std::string upper = kAliceId;
  for (char &c : upper) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  EXPECT_EQ(Answer(Entitlement("bob", upper)), Answer(Entitlement("bob", kNobodyId)));
  EXPECT_TRUE(Entitlement("alice", upper).ok());

  // Admin-only calls: the same PERMISSION_DENIED whatever the id names.
  v1::ListTransactionsRequest tx;
  v1::ListTransactionsResponse txs;
  v1::RecordTransactionRequest record;
  record.set_idempotency_key("k1");
  record.mutable_transaction()->set_account_id(kAccountId);
  record.mutable_transaction()->set_kind(v1::TRANSACTION_KIND_PAYMENT);
  record.mutable_transaction()->set_status(v1::TRANSACTION_STATUS_SUCCEEDED);
  record.mutable_transaction()->set_currency("EUR");
  record.mutable_transaction()->set_amount_cents(100);
  record.mutable_transaction()->set_provider("manual");
  v1::RecordTransactionResponse recorded;
  ASSERT_TRUE(stub_->RecordTransaction(As("admin").get(), record, &recorded).ok());
  tx.set_account_id(kAccountId);
  grpc::Status existing = stub_->ListTransactions(As("bob").get(), tx, &txs);
  tx.set_account_id(kNobodysAccountId);
  grpc::Status nobodys = stub_->ListTransactions(As("bob").get(), tx, &txs);
  EXPECT_EQ(existing.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Answer(existing), Answer(nobodys));
  v1::ReprocessStripeEventRequest rp;
  v1::ReprocessStripeEventResponse rpo;
  rp.set_stripe_event_id("evt_1");
  grpc::Status stored = stub_->ReprocessStripeEvent(As("bob").get(), rp, &rpo);
  rp.set_stripe_event_id("evt_missing");
  EXPECT_EQ(Answer(stored), Answer(stub_->ReprocessStripeEvent(As("bob").get(), rp, &rpo)));
  EXPECT_EQ(Answer(Link("cus_alice", kAliceId, false, nullptr, "bob")),
            Answer(Link("cus_missing", kNobodyId, false, nullptr, "bob")));

  // The owner and an admin see them.
  EXPECT_TRUE(CustomerByStripeId("alice", "cus_alice").ok());
  EXPECT_TRUE(CustomerByStripeId("admin", "cus_alice").ok());
  EXPECT_TRUE(CustomerByStripeId("admin", "cus_free").ok());
  EXPECT_TRUE(Subscription("alice", "sub_alice").ok());
  EXPECT_TRUE(Subscription("admin", "sub_free").ok());
  EXPECT_TRUE(CustomerByUser("admin", kAliceId).ok());
  v1::ListSubscriptionsResponse subs;
  ASSERT_TRUE(Subscriptions("admin", kAliceId, &subs).ok());
  EXPECT_EQ(subs.subscriptions_size(), 1);
  ASSERT_TRUE(Subscriptions("admin", kNobodyId, &subs).ok());
  EXPECT_EQ(subs.subscriptions_size(), 0);
  EXPECT_TRUE(Entitlement("admin", kAliceId).ok());
  tx.set_account_id(kAccountId);
  EXPECT_TRUE(stub_->ListTransactions(As("admin").get(), tx, &txs).ok());
}

// ---- Times billing does not know
// --------------------------------------------------------

TEST_F(CustomerLinksTest, UnknownTimesAreLeftUnset) {
  // No subscription: no period end (it read 1970-01-01 before).
  v1::GetEntitlementResponse e;
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_FALSE(e.entitlement().has_current_period_end());
  EXPECT_EQ(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_UNSPECIFIED);

  // A subscription without a period end or a trial (null and absent both).
  MustIngest(Event("evt_1", "customer.subscription.created", kT0,
                   absl::StrCat(R"({"id":"sub_1","object":"subscription","customer":"cus_1",)",
                                R"("status":"incomplete","trial_end":null,)",
                                R"("metadata":{"user_id":")", kAliceId, R"("}})")));
  v1::GetSubscriptionResponse sub;
  ASSERT_TRUE(Subscription("alice", "sub_1", &sub).ok());
  EXPECT_FALSE(sub.subscription().has_current_period_end());
  EXPECT_FALSE(sub.subscription().has_trial_end());
  EXPECT_TRUE(sub.subscription().has_create_time());
  v1::ListSubscriptionsResponse subs;
  ASSERT_TRUE(Subscriptions("alice", "", &subs).ok());
  ASSERT_EQ(subs.subscriptions_size(), 1);
  EXPECT_FALSE(subs.subscriptions(0).has_current_period_end());
  EXPECT_FALSE(subs.subscriptions(0).has_trial_end());
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_EQ(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_INCOMPLETE);
  EXPECT_FALSE(e.entitlement().has_current_period_end());

  // Known times are set, to the second Stripe gave.
  MustIngest(Event("evt_2", "customer.subscription.updated", kT0 + 1,
                   absl::StrCat(R"({"id":"sub_1","object":"subscription","customer":"cus_1",)",
                                R"("status":"trialing","trial_end":1800100000,)",
                                R"("current_period_end":1800200000})")));
  ASSERT_TRUE(Subscription("alice", "sub_1", &sub).ok());
  EXPECT_EQ(sub.subscription().current_period_end().seconds(), 1800200000);
  EXPECT_EQ(sub.subscription().trial_end().seconds(), 1800100000);
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_EQ(e.entitlement().current_period_end().seconds(), 1800200000);

  // An event that can never be applied (no customer) is parked: acknowledged, stored as
  // failed, and it has no process time.
  EXPECT_EQ(Ingest(Event("evt_broken", "customer.subscription.created", kT0,
                         R"({"id":"sub_b","object":"subscription","status":"active"})"))
                .error_code(),
            grpc::StatusCode::OK);
  v1::ListStripeEventsRequest list;
  list.set_page_size(100);
  v1::ListStripeEventsResponse events;
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), list, &events).ok());
  int seen = 0;
  for (const v1::StripeEvent &event : events.stripe_events()) {
    EXPECT_TRUE(event.has_receive_time()) << event.stripe_event_id();
    EXPECT_TRUE(event.has_event_create_time()) << event.stripe_event_id();
    if (event.stripe_event_id() == "evt_broken") {
      ++seen;
      EXPECT_FALSE(event.has_process_time());
    } else {
      EXPECT_TRUE(event.has_process_time()) << event.stripe_event_id();
    }
  }
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace suite::billing

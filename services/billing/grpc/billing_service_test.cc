// billing.v1.BillingService end to end: real PostgreSQL (as billing_service), real gRPC and
// HTTP servers on loopback, driven through the generated stub and an httplib client.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "services/billing/domain/stripe_signature.h"
#include "services/billing/testing/billing_test_server.h"
#include "services/billing/testing/nested_json.h"
#include "shared/api/status.h"
#include "shared/base/json_log.h"
#include "shared/db/testing/test_database.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/grpc_status.h"

namespace suite::billing {
namespace {

using ::suite::billing::testing::BillingTestServer;
using ::suite::billing::testing::Mixed;
using ::suite::billing::testing::Nest;
using ::suite::billing::testing::StaticAuthenticator;
using suite::db::testing::TestDatabase;
namespace v1 = ::billing::v1;

constexpr char kSecret[] = "whsec_test";
constexpr char kAdminId[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kAliceId[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kBobId[] = "aaaaaaaa-0000-4000-8000-000000000003";
constexpr char kAccountId[] = "bbbbbbbb-0000-4000-8000-000000000001";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

std::string Event(const std::string& id, const std::string& type, int64_t created,
                  const std::string& object) {
  return absl::Substitute(
      R"({"id":"$0","object":"event","type":"$1","created":$2,"livemode":false,)"
      R"("api_version":"2024-06-20","data":{"object":$3}})",
      id, type, created, object);
}

std::string SubscriptionObject(const std::string& id, const std::string& customer,
                               const std::string& status, const std::string& user = "") {
  return absl::Substitute(
      R"({"id":"$0","object":"subscription","customer":"$1","status":"$2",)"
      R"("cancel_at_period_end":false,"current_period_end":1800600000,"trial_end":null,)"
      R"("items":{"data":[{"price":{"id":"price_pro"}}]},"metadata":{"user_id":"$3"}})",
      id, customer, status, user);
}

std::string Sign(const std::string& payload, absl::Time at = kNow) {
  const int64_t t = absl::ToUnixSeconds(at);
  return absl::StrCat("t=", t, ",v1=", ComputeStripeSignature(kSecret, t, payload));
}

std::string ReasonOf(const grpc::Status& status) {
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(status));
  return info ? info->reason : "";
}

class BillingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auth_.Add("admin", {kAdminId, {"admin"}, ""});
    auth_.Add("alice", {kAliceId, {"member"}, ""});
    auth_.Add("bob", {kBobId, {"member"}, ""});
    server_ = StartServer();
    stub_ = server_->NewStub();
  }

  std::unique_ptr<BillingTestServer> StartServer() {
    BillingOptions options;
    options.webhook_secrets = {"whsec_old", kSecret};
    options.page_token_secret = "page-secret";
    options.past_due_grace = absl::Hours(72);
    options.now = [this] { return absl::FromUnixSeconds(now_.load()); };
    auto server = BillingTestServer::Start(db_->UrlAs("billing_service"), options, auth_);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  grpc::Status Ingest(const std::string& payload, v1::IngestStripeEventResponse* out,
                      v1::BillingService::Stub* stub = nullptr) {
    grpc::ClientContext ctx;
    v1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(Sign(payload));
    return (stub ? stub : stub_.get())->IngestStripeEvent(&ctx, req, out);
  }
  v1::IngestStripeEventResponse MustIngest(const std::string& payload) {
    v1::IngestStripeEventResponse out;
    grpc::Status s = Ingest(payload, &out);
    EXPECT_TRUE(s.ok()) << s.error_message() << " " << ReasonOf(s);
    return out;
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  grpc::Status Entitlement(const std::string& token, const std::string& user,
                           v1::GetEntitlementResponse* out) {
    v1::GetEntitlementRequest req;
    req.set_user_id(user);
    return stub_->GetEntitlement(As(token).get(), req, out);
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  void Exec(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec0(sql);
    tx.commit();
  }

  std::atomic<int64_t> now_{absl::ToUnixSeconds(kNow)};
  StaticAuthenticator auth_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<BillingTestServer> server_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

// ---- Ingestion -------------------------------------------------------------------------

TEST_F(BillingServiceTest, SubscriptionEventIsAppliedAndRedeliveryIsADuplicate) {
  const std::string payload = Event("evt_1", "customer.subscription.created", 1800000000,
                                    SubscriptionObject("sub_1", "cus_1", "active", kAliceId));
  v1::IngestStripeEventResponse first = MustIngest(payload);
  EXPECT_EQ(first.status(), v1::STRIPE_EVENT_STATUS_PROCESSED);
  EXPECT_FALSE(first.duplicate());
  v1::IngestStripeEventResponse again = MustIngest(payload);
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.status(), v1::STRIPE_EVENT_STATUS_PROCESSED);

  v1::GetSubscriptionRequest req;
  req.set_stripe_subscription_id("sub_1");
  v1::GetSubscriptionResponse resp;
  ASSERT_TRUE(stub_->GetSubscription(As("alice").get(), req, &resp).ok());
  EXPECT_EQ(resp.subscription().status(), v1::SUBSCRIPTION_STATUS_ACTIVE);
  EXPECT_EQ(resp.subscription().price_id(), "price_pro");
  EXPECT_EQ(resp.subscription().user_id(), kAliceId);
  EXPECT_EQ(resp.subscription().stripe_customer_id(), "cus_1");
  EXPECT_EQ(resp.subscription().current_period_end().seconds(), 1800600000);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events"), 1);
}

TEST_F(BillingServiceTest, FiftyConcurrentDeliveriesOverTwoReplicasApplyOnce) {
  std::unique_ptr<BillingTestServer> replica = StartServer();
  ASSERT_NE(replica, nullptr);
  auto replica_stub = replica->NewStub();
  // invoice.paid books a ledger entry: applying twice would write two.
  const std::string payload =
      Event("evt_dup", "invoice.paid", 1800000000,
            absl::StrCat(R"({"id":"in_1","object":"invoice","amount_paid":1999,"currency":"eur",)",
                         R"("customer_email":"x@example.com","metadata":{"account_id":")",
                         kAccountId, R"(","secret":"s"}})"));
  std::atomic<int> ok{0};
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      v1::IngestStripeEventResponse out;
      grpc::Status s;
      if (i % 4 == 3) {  // some through the HTTP door of either replica
        httplib::Client client("127.0.0.1", (i % 2 ? replica : server_)->http_port());
        auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(payload)}}, payload,
                               "application/json");
        if (res && res->status == 200) {
          ++ok;
          if (res->body.find("\"duplicate\":false") != std::string::npos) ++fresh;
        }
        return;
      }
      s = Ingest(payload, &out, i % 2 ? replica_stub.get() : stub_.get());
      if (s.ok()) {
        ++ok;
        if (!out.duplicate()) ++fresh;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 50);
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE stripe_event_id = 'evt_dup'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.transactions"), 1);
  EXPECT_EQ(Count("SELECT amount_cents FROM billing.transactions"), 1999);
  // Redacted: no e-mail, metadata reduced to the ids.
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE raw_event_redacted::text "
                  "LIKE '%example.com%' OR raw_event_redacted::text LIKE '%secret%'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE related_transaction_id = "
                  "(SELECT id FROM billing.transactions)"),
            1);
}

TEST_F(BillingServiceTest, OlderEventNeverOverwritesNewerState) {
  MustIngest(Event("evt_new", "customer.subscription.updated", 1800000100,
                   SubscriptionObject("sub_o", "cus_o", "active", kAliceId)));
  v1::IngestStripeEventResponse old =
      MustIngest(Event("evt_old", "customer.subscription.updated", 1800000050,
                       SubscriptionObject("sub_o", "cus_o", "past_due", kAliceId)));
  EXPECT_EQ(old.status(), v1::STRIPE_EVENT_STATUS_STALE);  // acknowledged, not applied
  v1::GetEntitlementResponse e;
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_EQ(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_ACTIVE);
  // A newer one does apply.
  MustIngest(Event("evt_newer", "customer.subscription.deleted", 1800000200,
                   SubscriptionObject("sub_o", "cus_o", "canceled", kAliceId)));
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_EQ(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_CANCELED);
  EXPECT_FALSE(e.entitlement().entitled());
}

TEST_F(BillingServiceTest, SameSecondEventsEndInTheSameStateInEitherOrder) {
  const std::string a = Event("evt_same_a", "customer.subscription.updated", 1800000000,
                              SubscriptionObject("sub_s1", "cus_s", "active", kAliceId));
  const std::string b = Event("evt_same_b", "customer.subscription.updated", 1800000000,
                              SubscriptionObject("sub_s1", "cus_s", "unpaid", kAliceId));
  MustIngest(b);
  MustIngest(a);
  const std::string a2 = Event("evt_same_a2", "customer.subscription.updated", 1800000000,
                               SubscriptionObject("sub_s2", "cus_s", "active", kBobId));
  const std::string b2 = Event("evt_same_b2", "customer.subscription.updated", 1800000000,
                               SubscriptionObject("sub_s2", "cus_s", "unpaid", kBobId));
  MustIngest(a2);
  MustIngest(b2);
  // The greater event id wins, whatever the arrival order.
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_subscriptions WHERE status = 'unpaid'"), 2);
}

TEST_F(BillingServiceTest, BadInputIsRefusedAndNothingStored) {
  v1::IngestStripeEventResponse out;
  // Malformed JSON.
  grpc::Status s = Ingest("{not json", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "MALFORMED_EVENT");
  // Missing id / created.
  EXPECT_EQ(
      Ingest(R"({"object":"event","type":"customer.created","created":1,"livemode":false})", &out)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Ingest(R"({"id":"evt_x","object":"event","type":"customer.created","livemode":false})", &out)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  // Bad signature.
  const std::string payload =
      Event("evt_sig", "customer.created", 1800000000, R"({"id":"cus_sig","object":"customer"})");
  grpc::ClientContext ctx;
  v1::IngestStripeEventRequest req;
  req.set_payload(payload);
  req.set_stripe_signature(absl::StrCat("t=1800000000,v1=", std::string(64, 'a')));
  s = stub_->IngestStripeEvent(&ctx, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(s), "SIGNATURE_MISMATCH");
  // Stale signature.
  grpc::ClientContext ctx2;
  req.set_stripe_signature(Sign(payload, kNow - absl::Seconds(301)));
  EXPECT_EQ(stub_->IngestStripeEvent(&ctx2, req, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Oversize.
  const std::string big =
      Event("evt_big", "customer.created", 1800000000,
            absl::StrCat(R"({"id":"cus_big","pad":")", std::string(1024 * 1024, 'x'), R"("})"));
  s = Ingest(big, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(s), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events"), 0);
}

TEST_F(BillingServiceTest, UnknownTypeIsStoredAsIgnored) {
  v1::IngestStripeEventResponse out =
      MustIngest(Event("evt_unknown", "balance.available", 1800000000, R"({"object":"balance"})"));
  EXPECT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_IGNORED);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE status = 'ignored'"), 1);
}

TEST_F(BillingServiceTest, ProcessingFailureIsRecordedAndReprocessable) {
  // A subscription without its customer cannot be applied.
  const std::string payload = Event("evt_broken", "customer.subscription.created", 1800000000,
                                    R"({"id":"sub_b","object":"subscription","status":"active"})");
  v1::IngestStripeEventResponse out;
  grpc::Status s = Ingest(payload, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();  // parked: Stripe must not retry it for days
  EXPECT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_FAILED);
  EXPECT_NE(out.last_error().find("customer"), std::string::npos) << out.last_error();
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE status = 'failed' AND "
                  "last_error LIKE '%customer%'"),
            1);
  // A redelivery is parked again (still failed, still one row).
  ASSERT_TRUE(Ingest(payload, &out).ok());
  EXPECT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_FAILED);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events"), 1);

  v1::ReprocessStripeEventRequest req;
  req.set_stripe_event_id("evt_broken");
  v1::ReprocessStripeEventResponse resp;
  s = stub_->ReprocessStripeEvent(As("admin").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "EVENT_PROCESSING_FAILED");
  // An operator repairs the stored event; reprocessing then applies it.
  Exec(
      "UPDATE billing.stripe_events SET raw_event_redacted = jsonb_set(raw_event_redacted, "
      "'{data,object,customer}', '\"cus_b\"') WHERE stripe_event_id = 'evt_broken'");
  grpc::Status ok = stub_->ReprocessStripeEvent(As("admin").get(), req, &resp);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(resp.stripe_event().status(), v1::STRIPE_EVENT_STATUS_PROCESSED);
  EXPECT_EQ(resp.stripe_event().last_error(), "");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_subscriptions"), 1);
  // Once applied, reprocessing is refused.
  s = stub_->ReprocessStripeEvent(As("admin").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "EVENT_ALREADY_APPLIED");
  req.set_stripe_event_id("evt_nope");
  EXPECT_EQ(stub_->ReprocessStripeEvent(As("admin").get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(BillingServiceTest, CustomerEventsLinkUsersAndCheckoutLinks) {
  MustIngest(Event("evt_c1", "customer.created", 1800000000,
                   absl::StrCat(R"({"id":"cus_l","object":"customer","email":"a@b.c",)",
                                R"("name":"Alice","metadata":{"user_id":")", kAliceId, R"("}})")));
  v1::GetCustomerRequest req;
  req.set_user_id(kAliceId);
  v1::GetCustomerResponse resp;
  ASSERT_TRUE(stub_->GetCustomer(As("alice").get(), req, &resp).ok());
  EXPECT_EQ(resp.customer().stripe_customer_id(), "cus_l");
  EXPECT_FALSE(resp.customer().deleted());
  MustIngest(Event("evt_c2", "customer.deleted", 1800000010,
                   R"({"id":"cus_l","object":"customer","deleted":true})"));
  ASSERT_TRUE(stub_->GetCustomer(As("alice").get(), req, &resp).ok());
  EXPECT_TRUE(resp.customer().deleted());
  // checkout.session.completed links a customer to client_reference_id.
  MustIngest(Event("evt_co", "checkout.session.completed", 1800000020,
                   absl::StrCat(R"({"id":"cs_1","object":"checkout.session","customer":"cus_k",)",
                                R"("client_reference_id":")", kBobId, R"("})")));
  req.set_user_id(kBobId);
  ASSERT_TRUE(stub_->GetCustomer(As("bob").get(), req, &resp).ok());
  EXPECT_EQ(resp.customer().stripe_customer_id(), "cus_k");
}

// ---- Entitlement ----------------------------------------------------------------------

TEST_F(BillingServiceTest, EntitlementForEveryStatus) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"incomplete", false}, {"incomplete_expired", false}, {"trialing", true}, {"active", true},
      {"past_due", true},    {"canceled", false},           {"unpaid", false},  {"paused", false}};
  int n = 0;
  for (const auto& [status, entitled] : cases) {
    const std::string user = absl::StrCat("cccccccc-0000-4000-8000-00000000000", n);
    auth_.Add("u" + std::to_string(n), {user, {"member"}, ""});
    MustIngest(Event(
        absl::StrCat("evt_st", n), "customer.subscription.updated", absl::ToUnixSeconds(kNow) - 60,
        SubscriptionObject(absl::StrCat("sub_st", n), absl::StrCat("cus_st", n), status, user)));
    v1::GetEntitlementResponse e;
    ASSERT_TRUE(Entitlement("u" + std::to_string(n), user, &e).ok()) << status;
    EXPECT_EQ(e.entitlement().entitled(), entitled) << status;
    EXPECT_EQ(e.entitlement().user_id(), user);
    EXPECT_EQ(e.entitlement().price_id(), "price_pro");
    EXPECT_NE(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_UNSPECIFIED);
    ++n;
  }
  v1::GetEntitlementResponse none;
  ASSERT_TRUE(Entitlement("alice", kAliceId, &none).ok());
  EXPECT_FALSE(none.entitlement().entitled());
  EXPECT_EQ(none.entitlement().status(), v1::SUBSCRIPTION_STATUS_UNSPECIFIED);
}

TEST_F(BillingServiceTest, PastDueIsEntitledOnlyWithinTheGracePeriod) {
  MustIngest(Event("evt_pd", "customer.subscription.updated", absl::ToUnixSeconds(kNow) - 3600,
                   SubscriptionObject("sub_pd", "cus_pd", "past_due", kAliceId)));
  v1::GetEntitlementResponse e;
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_TRUE(e.entitlement().entitled());
  now_ = absl::ToUnixSeconds(kNow + absl::Hours(72));  // 73 h after it became past_due
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_FALSE(e.entitlement().entitled());
  EXPECT_EQ(e.entitlement().status(), v1::SUBSCRIPTION_STATUS_PAST_DUE);
}

TEST_F(BillingServiceTest, ActiveSubscriptionWinsOverOlderCanceledOne) {
  MustIngest(Event("evt_w1", "customer.subscription.updated", 1800000000,
                   SubscriptionObject("sub_w1", "cus_w", "canceled", kAliceId)));
  MustIngest(Event("evt_w2", "customer.subscription.updated", 1800000000,
                   SubscriptionObject("sub_w2", "cus_w", "active", kAliceId)));
  v1::GetEntitlementResponse e;
  ASSERT_TRUE(Entitlement("alice", kAliceId, &e).ok());
  EXPECT_TRUE(e.entitlement().entitled());
}

// ---- Ledger ---------------------------------------------------------------------------

v1::RecordTransactionRequest Payment(const std::string& key, int64_t cents,
                                     const std::string& currency = "EUR") {
  v1::RecordTransactionRequest req;
  req.set_idempotency_key(key);
  v1::Transaction* t = req.mutable_transaction();
  t->set_account_id(kAccountId);
  t->set_kind(v1::TRANSACTION_KIND_PAYMENT);
  t->set_status(v1::TRANSACTION_STATUS_SUCCEEDED);
  t->set_currency(currency);
  t->set_amount_cents(cents);
  t->set_provider("manual");
  (*t->mutable_metadata())["note"] = "test";
  return req;
}

TEST_F(BillingServiceTest, LedgerIsIdempotentAndDetectsConflicts) {
  v1::RecordTransactionResponse first, again;
  ASSERT_TRUE(stub_->RecordTransaction(As("admin").get(), Payment("k1", 500), &first).ok());
  EXPECT_FALSE(first.replayed());
  ASSERT_TRUE(stub_->RecordTransaction(As("admin").get(), Payment("k1", 500), &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.transaction().id(), first.transaction().id());
  v1::RecordTransactionResponse conflict;
  grpc::Status s = stub_->RecordTransaction(As("admin").get(), Payment("k1", 501), &conflict);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.transactions"), 1);
}

TEST_F(BillingServiceTest, LedgerValidatesBeforeWriting) {
  v1::RecordTransactionResponse out;
  for (auto req : {Payment("k", 1, "EURO"), Payment("k", 1, "eur"), Payment("k", 1, "ABC"),
                   Payment("", 1), Payment("k", int64_t{1} << 40)}) {
    EXPECT_EQ(stub_->RecordTransaction(As("admin").get(), req, &out).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << req.ShortDebugString();
  }
  auto bad_account = Payment("k", 1);
  bad_account.mutable_transaction()->set_account_id("nope");
  grpc::Status s = stub_->RecordTransaction(As("admin").get(), bad_account, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = suite::api::FieldViolationsOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_FALSE(violations.empty());
  EXPECT_EQ(violations[0].field, "transaction.account_id");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.transactions"), 0);
}

// proto3 hands a handler any enum number a client sends: one billing does not know is refused
// as "<field>: unknown value N" (not "must be set"), and nothing is written or widened.
TEST_F(BillingServiceTest, UnknownEnumNumberIsUnknownValueNamingTheField) {
  auto expect = [](const grpc::Status& s, const std::string& field, const std::string& why) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(s.error_message(), absl::StrCat(field, ": ", why));
    auto v = suite::api::FieldViolationsOf(suite::rpc::FromGrpcStatus(s));
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].field, field);
    EXPECT_EQ(v[0].description, why);
  };
  v1::RecordTransactionResponse out;
  // One past the largest value of each enum (from the generated _MAX, so a value added later
  // does not make the case valid), a far one, negative, and the extremes.
  auto unknown = [](int max) {
    return std::vector<int>{max + 1, 99, -1, 2147483647, -2147483647 - 1};
  };
  for (int n : unknown(v1::TransactionKind_MAX)) {
    auto kind = Payment("k", 1);
    kind.mutable_transaction()->set_kind(static_cast<v1::TransactionKind>(n));
    expect(stub_->RecordTransaction(As("admin").get(), kind, &out), "transaction.kind",
           absl::StrCat("unknown value ", n));
  }
  for (int n : unknown(v1::TransactionStatus_MAX)) {
    auto status = Payment("k", 1);
    status.mutable_transaction()->set_status(static_cast<v1::TransactionStatus>(n));
    expect(stub_->RecordTransaction(As("admin").get(), status, &out), "transaction.status",
           absl::StrCat("unknown value ", n));
  }
  for (int n : unknown(v1::StripeEventStatus_MAX)) {
    v1::ListStripeEventsRequest list;
    list.set_status(static_cast<v1::StripeEventStatus>(n));
    v1::ListStripeEventsResponse listed;
    expect(stub_->ListStripeEvents(As("admin").get(), list, &listed), "status",
           absl::StrCat("unknown value ", n));
  }
  // Not set where it must be: "is required".
  auto unset = Payment("k", 1);
  unset.mutable_transaction()->set_kind(v1::TRANSACTION_KIND_UNSPECIFIED);
  expect(stub_->RecordTransaction(As("admin").get(), unset, &out), "transaction.kind",
         "is required");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.transactions"), 0);
}

TEST_F(BillingServiceTest, ListTransactionsPagesWithSignedTokens) {
  for (int i = 0; i < 5; ++i) {
    v1::RecordTransactionResponse out;
    ASSERT_TRUE(
        stub_->RecordTransaction(As("admin").get(), Payment(absl::StrCat("p", i), i + 1), &out)
            .ok());
  }
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListTransactionsRequest req;
    req.set_account_id(kAccountId);
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListTransactionsResponse resp;
    ASSERT_TRUE(stub_->ListTransactions(As("admin").get(), req, &resp).ok());
    for (const auto& t : resp.transactions()) seen.push_back(t.amount_cents());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<int64_t>{5, 4, 3, 2, 1}));
  EXPECT_EQ(pages, 3);
  // A forged or foreign token is refused.
  v1::ListTransactionsRequest req;
  req.set_account_id(kAccountId);
  req.set_page_token("MTIzOmFiYw.AAAA");
  v1::ListTransactionsResponse resp;
  grpc::Status s = stub_->ListTransactions(As("admin").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "INVALID_PAGE_TOKEN");
}

TEST_F(BillingServiceTest, ListStripeEventsFiltersAndPages) {
  MustIngest(Event("evt_l1", "customer.created", 1800000000, R"({"id":"cus_a"})"));
  MustIngest(Event("evt_l2", "balance.available", 1800000000, R"({})"));
  MustIngest(Event("evt_l3", "customer.created", 1800000000, R"({"id":"cus_b"})"));
  v1::ListStripeEventsRequest req;
  req.set_type("customer.created");
  req.set_page_size(1);
  v1::ListStripeEventsResponse resp;
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), req, &resp).ok());
  ASSERT_EQ(resp.stripe_events_size(), 1);
  EXPECT_EQ(resp.stripe_events(0).stripe_event_id(), "evt_l3");
  ASSERT_FALSE(resp.next_page_token().empty());
  req.set_page_token(resp.next_page_token());
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), req, &resp).ok());
  ASSERT_EQ(resp.stripe_events_size(), 1);
  EXPECT_EQ(resp.stripe_events(0).stripe_event_id(), "evt_l1");
  EXPECT_EQ(resp.next_page_token(), "");
  // The token is bound to its filter.
  req.set_type("balance.available");
  EXPECT_EQ(stub_->ListStripeEvents(As("admin").get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListStripeEventsRequest ignored;
  ignored.set_status(v1::STRIPE_EVENT_STATUS_IGNORED);
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), ignored, &resp).ok());
  ASSERT_EQ(resp.stripe_events_size(), 1);
  EXPECT_EQ(resp.stripe_events(0).stripe_event_id(), "evt_l2");
  v1::ListStripeEventsRequest bad_type;
  bad_type.set_type("customer created");
  EXPECT_EQ(stub_->ListStripeEvents(As("admin").get(), bad_type, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListStripeEventsRequest later;
  later.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), later, &resp).ok());
  EXPECT_EQ(resp.stripe_events_size(), 0);
}

// ---- Authorization matrix -------------------------------------------------------------

TEST_F(BillingServiceTest, AuthorizationMatrix) {
  MustIngest(Event("evt_m", "customer.subscription.created", 1800000000,
                   SubscriptionObject("sub_m", "cus_m", "active", kAliceId)));
  struct Call {
    std::string name;
    std::function<grpc::Status(grpc::ClientContext*)> run;
    // Expected code for anonymous, alice (owner), bob (other member), admin. Another
    // member's things are NOT_FOUND (as missing ones); admin-only calls PERMISSION_DENIED.
    grpc::StatusCode anonymous, owner, other, admin;
  };
  using C = grpc::StatusCode;
  auto* stub = stub_.get();
  std::vector<Call> calls = {
      {"GetEntitlement",
       [&](grpc::ClientContext* c) {
         v1::GetEntitlementRequest r;
         r.set_user_id(kAliceId);
         v1::GetEntitlementResponse o;
         return stub->GetEntitlement(c, r, &o);
       },
       C::UNAUTHENTICATED, C::OK, C::NOT_FOUND, C::OK},
      {"GetCustomer(user)",
       [&](grpc::ClientContext* c) {
         v1::GetCustomerRequest r;
         r.set_user_id(kAliceId);
         v1::GetCustomerResponse o;
         return stub->GetCustomer(c, r, &o);
       },
       C::UNAUTHENTICATED, C::OK, C::NOT_FOUND, C::OK},
      {"GetCustomer(stripe id)",
       [&](grpc::ClientContext* c) {
         v1::GetCustomerRequest r;
         r.set_stripe_customer_id("cus_m");
         v1::GetCustomerResponse o;
         return stub->GetCustomer(c, r, &o);
       },
       C::UNAUTHENTICATED, C::OK, C::NOT_FOUND, C::OK},
      {"GetSubscription",
       [&](grpc::ClientContext* c) {
         v1::GetSubscriptionRequest r;
         r.set_stripe_subscription_id("sub_m");
         v1::GetSubscriptionResponse o;
         return stub->GetSubscription(c, r, &o);
       },
       C::UNAUTHENTICATED, C::OK, C::NOT_FOUND, C::OK},
      {"ListSubscriptions",
       [&](grpc::ClientContext* c) {
         v1::ListSubscriptionsRequest r;
         r.set_user_id(kAliceId);
         v1::ListSubscriptionsResponse o;
         return stub->ListSubscriptions(c, r, &o);
       },
       C::UNAUTHENTICATED, C::OK, C::NOT_FOUND, C::OK},
      {"LinkCustomer",
       [&](grpc::ClientContext* c) {
         v1::LinkCustomerRequest r;
         r.set_stripe_customer_id("cus_m");
         r.set_user_id(kAliceId);
         v1::LinkCustomerResponse o;
         return stub->LinkCustomer(c, r, &o);
       },
       C::UNAUTHENTICATED, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::OK},
      {"RecordTransaction",
       [&](grpc::ClientContext* c) {
         v1::RecordTransactionResponse o;
         return stub->RecordTransaction(c, Payment("m", 1), &o);
       },
       C::UNAUTHENTICATED, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::OK},
      {"ListTransactions",
       [&](grpc::ClientContext* c) {
         v1::ListTransactionsRequest r;
         r.set_account_id(kAccountId);
         v1::ListTransactionsResponse o;
         return stub->ListTransactions(c, r, &o);
       },
       C::UNAUTHENTICATED, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::OK},
      {"ListStripeEvents",
       [&](grpc::ClientContext* c) {
         v1::ListStripeEventsRequest r;
         v1::ListStripeEventsResponse o;
         return stub->ListStripeEvents(c, r, &o);
       },
       C::UNAUTHENTICATED, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::OK},
      {"ReprocessStripeEvent",
       [&](grpc::ClientContext* c) {
         v1::ReprocessStripeEventRequest r;
         r.set_stripe_event_id("evt_m");
         v1::ReprocessStripeEventResponse o;
         return stub->ReprocessStripeEvent(c, r, &o);
       },
       // admin reaches the domain: the event is already applied.
       C::UNAUTHENTICATED, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::FAILED_PRECONDITION},
  };
  for (const Call& call : calls) {
    EXPECT_EQ(call.run(As("").get()).error_code(), call.anonymous) << call.name;
    EXPECT_EQ(call.run(As("unknown-token").get()).error_code(), C::UNAUTHENTICATED) << call.name;
    EXPECT_EQ(call.run(As("alice").get()).error_code(), call.owner) << call.name;
    EXPECT_EQ(call.run(As("bob").get()).error_code(), call.other) << call.name;
    EXPECT_EQ(call.run(As("admin").get()).error_code(), call.admin) << call.name;
  }
  // IngestStripeEvent needs no bearer: the signature authenticates it.
  v1::IngestStripeEventResponse out;
  EXPECT_TRUE(Ingest(Event("evt_m2", "balance.available", 1, "{}"), &out).ok());
}

TEST_F(BillingServiceTest, ValidationNamesTheField) {
  v1::GetEntitlementRequest r;
  r.set_user_id("not-a-uuid");
  v1::GetEntitlementResponse o;
  grpc::Status s = stub_->GetEntitlement(As("admin").get(), r, &o);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto v = suite::api::FieldViolationsOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].field, "user_id");
  v1::GetSubscriptionRequest g;
  v1::GetSubscriptionResponse go;
  EXPECT_EQ(stub_->GetSubscription(As("admin").get(), g, &go).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  g.set_stripe_subscription_id("sub_missing");
  EXPECT_EQ(stub_->GetSubscription(As("admin").get(), g, &go).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListSubscriptionsRequest l;
  l.set_page_size(-1);
  v1::ListSubscriptionsResponse lo;
  EXPECT_EQ(stub_->ListSubscriptions(As("alice").get(), l, &lo).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Over the maximum is coerced to it (AIP-158), as in every service of the suite.
  l.set_page_size(101);
  EXPECT_TRUE(stub_->ListSubscriptions(As("alice").get(), l, &lo).ok());
  v1::GetCustomerRequest c;
  v1::GetCustomerResponse co;
  EXPECT_EQ(stub_->GetCustomer(As("admin").get(), c, &co).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  c.set_user_id(kBobId);
  EXPECT_EQ(stub_->GetCustomer(As("admin").get(), c, &co).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(BillingServiceTest, LinkCustomerRelinksSubscriptionsAndListsThem) {
  MustIngest(Event("evt_u1", "customer.subscription.created", 1800000000,
                   SubscriptionObject("sub_u1", "cus_u", "active")));
  MustIngest(Event("evt_u2", "customer.subscription.created", 1800000001,
                   SubscriptionObject("sub_u2", "cus_u", "canceled")));
  v1::GetEntitlementResponse e;
  ASSERT_TRUE(Entitlement("bob", kBobId, &e).ok());
  EXPECT_FALSE(e.entitlement().entitled());
  v1::LinkCustomerRequest link;
  link.set_stripe_customer_id("cus_u");
  link.set_user_id(kBobId);
  v1::LinkCustomerResponse linked;
  ASSERT_TRUE(stub_->LinkCustomer(As("admin").get(), link, &linked).ok());
  EXPECT_EQ(linked.customer().user_id(), kBobId);
  ASSERT_TRUE(Entitlement("bob", kBobId, &e).ok());
  EXPECT_TRUE(e.entitlement().entitled());
  v1::ListSubscriptionsRequest req;  // empty user_id: the caller's own
  req.set_page_size(1);
  v1::ListSubscriptionsResponse resp;
  ASSERT_TRUE(stub_->ListSubscriptions(As("bob").get(), req, &resp).ok());
  ASSERT_EQ(resp.subscriptions_size(), 1);
  ASSERT_FALSE(resp.next_page_token().empty());
  req.set_page_token(resp.next_page_token());
  v1::ListSubscriptionsResponse second;
  ASSERT_TRUE(stub_->ListSubscriptions(As("bob").get(), req, &second).ok());
  ASSERT_EQ(second.subscriptions_size(), 1);
  EXPECT_NE(second.subscriptions(0).id(), resp.subscriptions(0).id());
  EXPECT_EQ(second.next_page_token(), "");
}

// ---- The HTTP door --------------------------------------------------------------------

TEST_F(BillingServiceTest, HttpDoorAnswersAsStripeExpects) {
  httplib::Client client("127.0.0.1", server_->http_port());
  const std::string payload = Event("evt_h", "customer.subscription.created", 1800000000,
                                    SubscriptionObject("sub_h", "cus_h", "trialing", kAliceId));
  auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(payload)}}, payload,
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\"processed\""), std::string::npos);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(payload)}}, payload,
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\"duplicate\":true"), std::string::npos);
  // Bad signature, no signature, bad JSON: 400.
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", "t=1,v1=00"}}, payload,
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = client.Post("/webhooks/stripe", payload, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign("nope")}}, "nope",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // Oversize: 413.
  const std::string big(kMaxWebhookPayloadBytes + 1, 'x');
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(big)}}, big, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // An event that can never apply: parked, 200.
  const std::string broken = Event("evt_hb", "customer.subscription.updated", 1800000000,
                                   R"({"id":"sub_hb","status":"active"})");
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(broken)}}, broken,
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\"parked\":true"), std::string::npos) << res->body;
  // Unknown type: 200.
  const std::string unknown = Event("evt_hu", "payout.paid", 1800000000, "{}");
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(unknown)}}, unknown,
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events"), 3);
}

// The value of billing_webhook_events_total{outcome="<outcome>"} in this process's registry.
double WebhookOutcomeCount(absl::string_view outcome) {
  const std::string text = suite::metrics::Registry::Default().Render();
  const std::string series =
      absl::StrCat("billing_webhook_events_total{outcome=\"", outcome, "\"} ");
  const size_t at = text.find(series);
  if (at == std::string::npos) return 0;
  double value = 0;
  const size_t end = text.find('\n', at);
  EXPECT_TRUE(absl::SimpleAtod(text.substr(at + series.size(), end - at - series.size()), &value));
  return value;
}

TEST_F(BillingServiceTest, WebhookOutcomesAreCountedForOperators) {
  const std::vector<std::string> outcomes = {"processed", "duplicate", "ignored", "parked",
                                             "rejected_signature", "rejected_payload",
                                             "too_large"};
  std::map<std::string, double> before;
  for (const std::string& o : outcomes) before[o] = WebhookOutcomeCount(o);

  httplib::Client client("127.0.0.1", server_->http_port());
  auto post = [&](const std::string& body, const std::string& signature) {
    auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", signature}}, body,
                           "application/json");
    ASSERT_TRUE(res);
  };
  const std::string created = Event("evt_m1", "customer.subscription.created", 1800000000,
                                    SubscriptionObject("sub_m", "cus_m", "active", kAliceId));
  post(created, Sign(created));
  post(created, Sign(created));
  const std::string unknown = Event("evt_m2", "payout.paid", 1800000000, "{}");
  post(unknown, Sign(unknown));
  const std::string broken = Event("evt_m3", "customer.subscription.updated", 1800000000,
                                   R"({"id":"sub_m3","status":"active"})");
  post(broken, Sign(broken));
  post(created, "t=1,v1=00");
  post("nope", Sign("nope"));
  // Through the RPC door: over HTTP, httplib itself refuses a body past the same bound
  // before the domain sees it, and that transport-level 413 is not counted here.
  const std::string big(kMaxWebhookPayloadBytes + 1, 'x');
  v1::IngestStripeEventResponse ignored_response;
  EXPECT_EQ(Ingest(big, &ignored_response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  for (const std::string& o : outcomes) {
    EXPECT_EQ(WebhookOutcomeCount(o) - before[o], 1) << o;
  }
}

TEST_F(BillingServiceTest, DatabaseDownAnswersUnavailableAndStripeRetries) {
  BillingOptions options;
  options.webhook_secrets = {kSecret};
  options.page_token_secret = "page-secret";
  options.now = [] { return kNow; };
  auto down =
      BillingTestServer::Start("postgresql://billing_service@127.0.0.1:1/none", options, auth_);
  ASSERT_TRUE(down.ok()) << down.status();
  auto stub = (*down)->NewStub();
  v1::GetEntitlementRequest req;
  req.set_user_id(kAliceId);
  v1::GetEntitlementResponse resp;
  EXPECT_EQ(stub->GetEntitlement(As("alice").get(), req, &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  const std::string payload = Event("evt_down", "customer.created", 1, R"({"id":"cus_d"})");
  v1::IngestStripeEventResponse out;
  EXPECT_EQ(Ingest(payload, &out, stub.get()).error_code(), grpc::StatusCode::UNAVAILABLE);
  httplib::Client client("127.0.0.1", (*down)->http_port());
  auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(payload)}}, payload,
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
}

// ---- Hostile and poison deliveries ----------------------------------------------------

// What one POST /webhooks/stripe with a valid signature answers.
struct HttpAnswer {
  int status = 0;
  nlohmann::json body;
};
HttpAnswer PostSigned(int port, const std::string& payload) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  client.set_write_timeout(30, 0);
  auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(payload)}}, payload,
                         "application/json");
  HttpAnswer answer;
  if (!res) return answer;
  answer.status = res->status;
  answer.body = nlohmann::json::parse(res->body, nullptr, false);
  return answer;
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(int port) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  return resp.status();
}

// Correctly signed events nested up to 10^6 levels (arrays, objects, both; closed, unclosed)
// through both doors: a clear refusal (400 not JSON, 413 too large) or parking (200, stored
// as failed with its envelope), never a crash; the process stays SERVING. Brackets inside a
// string do not count: that event is applied.
TEST_F(BillingServiceTest, DeeplyNestedSignedEventsAreRefusedOrParkedNeverCrash) {
  const int kMillion = 1000000;
  struct Case {
    std::string name;
    std::string data_object;
    int http_status;  // what POST /webhooks/stripe answers
  };
  const std::vector<Case> cases = {
      {"arrays_1e6", Nest("[", "]", kMillion), 413},
      {"objects_1e6", Nest(R"({"a":)", "}", kMillion), 413},
      {"mixed_1e6", Mixed(kMillion), 413},
      {"unclosed_1e6", std::string(kMillion, '['), 400},
      {"arrays_5e5", Nest("[", "]", 500000), 200},
      {"objects_1e5", Nest(R"({"a":)", "}", 100000), 200},
      {"mixed_1e5", Mixed(100000), 200},
      {"arrays_6e4", Nest("[", "]", 60000), 200},
      {"arrays_3e4", Nest("[", "]", 30000), 200},
      {"arrays_65", Nest("[", "]", 65), 200},
  };
  int parked = 0;
  for (const Case& c : cases) {
    const std::string payload =
        Event("evt_deep_" + c.name, "customer.subscription.updated", 1800000000, c.data_object);
    HttpAnswer http = PostSigned(server_->http_port(), payload);
    EXPECT_EQ(http.status, c.http_status) << c.name;
    ASSERT_TRUE(http.body.is_object()) << c.name;
    if (c.http_status == 200) {
      ++parked;
      EXPECT_EQ(http.body.value("status", ""), "failed") << c.name;
      EXPECT_EQ(http.body.value("parked", false), true) << c.name;
      EXPECT_NE(http.body.value("last_error", "").find("nests"), std::string::npos) << c.name;
    } else {
      EXPECT_FALSE(http.body.value("error", "").empty()) << c.name;
      EXPECT_FALSE(http.body.value("message", "").empty()) << c.name;
    }
    // The RPC door: the same payload under a fresh id.
    const std::string rpc_payload = Event("evt_deep_rpc_" + c.name,
                                          "customer.subscription.updated", 1800000000,
                                          c.data_object);
    v1::IngestStripeEventResponse out;
    grpc::Status s = Ingest(rpc_payload, &out);
    if (rpc_payload.size() > kMaxWebhookPayloadBytes) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << c.name;
    } else if (c.http_status == 400) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    } else {
      ASSERT_TRUE(s.ok()) << c.name << ": " << s.error_message();
      EXPECT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_FAILED) << c.name;
      ++parked;
    }
  }
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_events WHERE status = 'failed' AND "
                  "last_error LIKE '%nests%'"),
            parked);
  // A string full of brackets is not nesting: applied whole.
  const std::string in_string =
      Event("evt_brackets_in_string", "customer.subscription.created", 1800000000,
            absl::StrCat(R"({"id":"sub_str","customer":"cus_str","status":"active",)"
                         R"("note":")",
                         std::string(kMillion, '['), std::string(1000, '{'), R"("})"));
  ASSERT_LE(in_string.size(), kMaxWebhookPayloadBytes);
  HttpAnswer applied = PostSigned(server_->http_port(), in_string);
  EXPECT_EQ(applied.status, 200);
  EXPECT_EQ(applied.body.value("status", ""), "processed");
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_subscriptions "
                  "WHERE stripe_subscription_id = 'sub_str'"),
            1);
  // Alive and serving through both doors.
  EXPECT_EQ(Health(server_->grpc_port()), grpc::health::v1::HealthCheckResponse::SERVING);
  MustIngest(Event("evt_after_deep", "payout.paid", 1800000000, "{}"));
  EXPECT_EQ(PostSigned(server_->http_port(), Event("evt_after_deep_http", "payout.paid",
                                                   1800000000, "{}"))
                .status,
            200);
}

// A customer.subscription.updated event with data.previous_attributes.
std::string Updated(const std::string& id, const std::string& sub, const std::string& from,
                    const std::string& to, int64_t created = 1800000000) {
  return absl::Substitute(
      R"({"id":"$0","object":"event","type":"customer.subscription.updated","created":$4,)"
      R"("livemode":false,"api_version":"2024-06-20","data":{"object":$1,)"
      R"("previous_attributes":{"status":"$2"}}})",
      id, SubscriptionObject(sub, "cus_perm", to, kAliceId), from, to, created);
}

// Three events of one second, delivered in each of the 6 orders, to a fresh subscription per
// order. Their ids run against the chain (the last has the smallest id), so ordering by id
// would fail. Each order must end in the state of the chain's last event; an event is
// processed when it comes after every event delivered before it and superseded otherwise;
// an event of an earlier second is stale.
TEST_F(BillingServiceTest, SameSecondEventsEndInTheSameStateInEveryOrder) {
  struct Chain {
    std::string name;
    // Builders for the chain's events in true order, given a subscription and an id prefix.
    std::vector<std::function<std::string(const std::string&, const std::string&)>> events;
    v1::SubscriptionStatus final_status;
    // Whether each delivery's answer follows the chain delivered so far (not for a cycle,
    // which only the whole set orders).
    bool each_delivery = true;
  };
  auto created = [](const std::string& status) {
    return [status](const std::string& sub, const std::string& prefix) {
      return Event(prefix + "_c", "customer.subscription.created", 1800000000,
                   SubscriptionObject(sub, "cus_perm", status, kAliceId));
    };
  };
  auto updated = [](const std::string& suffix, const std::string& from, const std::string& to) {
    return [=](const std::string& sub, const std::string& prefix) {
      return Updated(prefix + suffix, sub, from, to);
    };
  };
  auto deleted = [](const std::string& suffix) {
    return [=](const std::string& sub, const std::string& prefix) {
      return Event(prefix + suffix, "customer.subscription.deleted", 1800000000,
                   SubscriptionObject(sub, "cus_perm", "canceled", kAliceId));
    };
  };
  const std::vector<Chain> chains = {
      {"to_canceled",
       {created("active"), updated("_b", "active", "past_due"),
        updated("_a", "past_due", "canceled")},
       v1::SUBSCRIPTION_STATUS_CANCELED},
      {"active_then_canceled",
       {created("incomplete"), updated("_b", "incomplete", "active"),
        updated("_a", "active", "canceled")},
       v1::SUBSCRIPTION_STATUS_CANCELED},
      {"to_past_due",
       {created("incomplete"), updated("_b", "incomplete", "active"),
        updated("_a", "active", "past_due")},
       v1::SUBSCRIPTION_STATUS_PAST_DUE},
      {"deleted_without_chain",
       {created("active"), updated("_b", "active", "past_due"), deleted("_a")},
       v1::SUBSCRIPTION_STATUS_CANCELED},
      {"recovered_within_the_second",
       {created("active"), updated("_b", "active", "past_due"),
        updated("_a", "past_due", "active")},
       v1::SUBSCRIPTION_STATUS_ACTIVE,
       /*each_delivery=*/false},
  };
  // The id of the chain's event `index` as built for `sub` and `prefix`.
  auto index_id = [](const Chain& chain, int index, const std::string& sub,
                     const std::string& prefix) {
    return nlohmann::json::parse(chain.events[index](sub, prefix)).value("id", "");
  };
  int sequence = 0;
  for (const Chain& chain : chains) {
    std::vector<int> order = {0, 1, 2};
    do {
      ++sequence;
      const std::string sub = absl::StrCat("sub_", chain.name, "_", sequence);
      const std::string prefix = absl::StrCat("evt_", sequence);
      const std::string where = absl::StrCat(chain.name, " order ", order[0], order[1], order[2]);
      int latest = -1;
      for (int index : order) {
        v1::IngestStripeEventResponse out = MustIngest(chain.events[index](sub, prefix));
        const v1::StripeEventStatus expected =
            index > latest ? v1::STRIPE_EVENT_STATUS_PROCESSED : v1::STRIPE_EVENT_STATUS_SUPERSEDED;
        if (chain.each_delivery) {
          EXPECT_EQ(out.status(), expected) << where << " event " << index;
        }
        latest = std::max(latest, index);
      }
      // Whatever the order: the chain's last event processed, the others superseded.
      const std::string last_id = index_id(chain, 2, sub, prefix);
      EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM billing.stripe_events WHERE "
                                   "stripe_event_id = '", last_id, "' AND status = 'processed'")),
                1)
          << where;
      EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM billing.stripe_events WHERE "
                                   "stripe_event_id LIKE '", prefix, "\\_%' AND status = "
                                   "'superseded'")),
                2)
          << where;
      v1::GetSubscriptionRequest req;
      req.set_stripe_subscription_id(sub);
      v1::GetSubscriptionResponse resp;
      ASSERT_TRUE(stub_->GetSubscription(As("admin").get(), req, &resp).ok()) << where;
      EXPECT_EQ(resp.subscription().status(), chain.final_status) << where;
      // An event of an earlier second changes nothing and says so.
      v1::IngestStripeEventResponse stale =
          MustIngest(Updated(prefix + "_old", sub, "trialing", "active", 1799999999));
      EXPECT_EQ(stale.status(), v1::STRIPE_EVENT_STATUS_STALE) << where;
      ASSERT_TRUE(stub_->GetSubscription(As("admin").get(), req, &resp).ok());
      EXPECT_EQ(resp.subscription().status(), chain.final_status) << where;
    } while (std::next_permutation(order.begin(), order.end()));
  }
  EXPECT_EQ(sequence, 30);
  // The statuses are visible to operators.
  v1::ListStripeEventsRequest list;
  list.set_status(v1::STRIPE_EVENT_STATUS_STALE);
  list.set_page_size(100);
  v1::ListStripeEventsResponse listed;
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), list, &listed).ok());
  EXPECT_EQ(listed.stripe_events_size(), 30);
  list.set_status(v1::STRIPE_EVENT_STATUS_SUPERSEDED);
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), list, &listed).ok());
  EXPECT_EQ(listed.stripe_events_size(), 60);  // two per order
}

// The value of an unlabelled counter in this process's registry.
double CounterValue(absl::string_view name) {
  const std::string text = suite::metrics::Registry::Default().Render();
  const std::string series = absl::StrCat("\n", name, " ");
  const size_t at = text.find(series);
  if (at == std::string::npos) return 0;
  double value = 0;
  const size_t start = at + series.size();
  const size_t end = text.find('\n', start);
  EXPECT_TRUE(absl::SimpleAtod(text.substr(start, end - start), &value));
  return value;
}

// Signed events that can never apply are parked, not retried forever: stored as failed with
// the reason, answered 200 (HTTP) / OK (RPC), counted, listed, and re-runnable once fixed.
TEST_F(BillingServiceTest, PoisonEventsAreParkedListedCountedAndReprocessable) {
  const double parked_before = CounterValue("billing_stripe_events_parked_total");
  const std::vector<std::pair<std::string, std::string>> poison = {
      {"evt_poison_no_id", Event("evt_poison_no_id", "customer.subscription.updated", 1800000000,
                                 R"({"customer":"cus_p","status":"active"})")},
      {"evt_poison_status",
       Event("evt_poison_status", "customer.subscription.updated", 1800000000,
             SubscriptionObject("sub_poison", "cus_p", "sleeping", kAliceId))},
      {"evt_poison_deep", Event("evt_poison_deep", "customer.subscription.updated", 1800000000,
                                Nest("[", "]", 30000))},
      {"evt_poison_no_object", Event("evt_poison_no_object", "invoice.paid", 1800000000, "null")},
      {"evt_poison_account",
       Event("evt_poison_account", "invoice.paid", 1800000000,
             R"({"id":"in_1","amount_paid":100,"currency":"eur","metadata":{"account_id":"x"}})")},
  };
  for (const auto& [id, payload] : poison) {
    for (int delivery = 0; delivery < 2; ++delivery) {  // a redelivery is parked again
      HttpAnswer http = PostSigned(server_->http_port(), payload);
      EXPECT_EQ(http.status, 200) << id;
      EXPECT_EQ(http.body.value("status", ""), "failed") << id;
      EXPECT_EQ(http.body.value("parked", false), true) << id;
      EXPECT_FALSE(http.body.value("last_error", "").empty()) << id;
    }
  }
  // Through the RPC door too.
  v1::IngestStripeEventResponse out;
  const std::string rpc_poison = Event("evt_poison_rpc", "customer.subscription.created",
                                       1800000000, R"({"id":"sub_r","status":"active"})");
  grpc::Status s = Ingest(rpc_poison, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_FAILED);
  EXPECT_NE(out.last_error().find("customer"), std::string::npos);
  EXPECT_EQ(CounterValue("billing_stripe_events_parked_total") - parked_before,
            2 * poison.size() + 1);
  // Listed with their reasons.
  v1::ListStripeEventsRequest list;
  list.set_status(v1::STRIPE_EVENT_STATUS_FAILED);
  list.set_page_size(100);
  v1::ListStripeEventsResponse listed;
  ASSERT_TRUE(stub_->ListStripeEvents(As("admin").get(), list, &listed).ok());
  EXPECT_EQ(listed.stripe_events_size(), static_cast<int>(poison.size()) + 1);
  for (const v1::StripeEvent& e : listed.stripe_events()) {
    EXPECT_FALSE(e.last_error().empty()) << e.stripe_event_id();
  }
  // Not a Stripe event at all: nothing to park it under, refused with the reason.
  HttpAnswer not_json = PostSigned(server_->http_port(), "{\"id\":\"evt_x\",");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.body.value("error", ""), "MALFORMED_EVENT");
  EXPECT_FALSE(not_json.body.value("message", "").empty());
  HttpAnswer no_envelope = PostSigned(server_->http_port(), R"({"id":"evt_y","object":"event"})");
  EXPECT_EQ(no_envelope.status, 400);
  EXPECT_NE(no_envelope.body.value("message", "").find("type"), std::string::npos);
  // Once the cause is fixed (here: the stored status is one billing knows), ReprocessStripeEvent
  // applies the parked event.
  v1::ReprocessStripeEventRequest req;
  req.set_stripe_event_id("evt_poison_status");
  v1::ReprocessStripeEventResponse resp;
  s = stub_->ReprocessStripeEvent(As("admin").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Exec(
      "UPDATE billing.stripe_events SET raw_event_redacted = jsonb_set(raw_event_redacted, "
      "'{data,object,status}', '\"active\"') WHERE stripe_event_id = 'evt_poison_status'");
  s = stub_->ReprocessStripeEvent(As("admin").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stripe_event().status(), v1::STRIPE_EVENT_STATUS_PROCESSED);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.stripe_subscriptions WHERE "
                  "stripe_subscription_id = 'sub_poison' AND status = 'active'"),
            1);
}

// Every request on the webhook door writes exactly one JSON log line with the event id, type,
// outcome, HTTP status and latency, and never the body or the signature.
TEST_F(BillingServiceTest, EveryWebhookDeliveryWritesOneJsonLogLine) {
  absl::Mutex mu;
  std::vector<nlohmann::json> lines;
  std::vector<std::string> raw;
  suite::SetLogSinkForTesting([&](const std::string& line) {
    absl::MutexLock lock(&mu);
    raw.push_back(line);
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_object() && parsed.value("event", "") == "webhook") lines.push_back(parsed);
  });
  httplib::Client client("127.0.0.1", server_->http_port());
  const std::string secret_marker = "body-marker-never-logged";
  const std::string ok = Event("evt_log_ok", "customer.subscription.created", 1800000000,
                               SubscriptionObject("sub_log", "cus_log", "active", kAliceId));
  const std::string poison = Event("evt_log_poison", "customer.subscription.updated", 1800000000,
                                   R"({"status":"active","note":")" + secret_marker + "\"}");
  const std::string big(kMaxWebhookPayloadBytes + 10, 'x');
  struct Expected {
    int status;
    std::string outcome;
    std::string event_id;
  };
  std::vector<Expected> expected;
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 200; ++i) {
      {
        absl::MutexLock lock(&mu);
        if (lines.size() >= n) return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  };
  auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(ok)}}, ok,
                         "application/json");
  expected.push_back({200, "processed", "evt_log_ok"});
  wait_for(1);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(poison)}}, poison,
                    "application/json");
  expected.push_back({200, "parked", "evt_log_poison"});
  wait_for(2);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", "t=1,v1=" + secret_marker}}, ok,
                    "application/json");
  expected.push_back({400, "rejected_signature", ""});
  wait_for(3);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign("[")}}, "[",
                    "application/json");
  expected.push_back({400, "rejected_payload", ""});
  wait_for(4);
  res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(big)}}, big,
                    "application/json");
  expected.push_back({413, "too_large", ""});
  wait_for(5);
  res = client.Get("/webhooks/stripe");
  expected.push_back({405, "method_not_allowed", ""});
  wait_for(6);
  res = client.Post("/elsewhere", ok, "application/json");
  expected.push_back({404, "not_found", ""});
  wait_for(7);
  absl::SleepFor(absl::Milliseconds(100));  // a second line would show up by now
  suite::SetLogSinkForTesting(nullptr);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const nlohmann::json& line = lines[i];
    EXPECT_EQ(line.value("http_status", 0), expected[i].status) << line.dump();
    EXPECT_EQ(line.value("outcome", ""), expected[i].outcome) << line.dump();
    EXPECT_TRUE(line.contains("latency_ms")) << line.dump();
    EXPECT_TRUE(line.contains("request_id")) << line.dump();
    EXPECT_TRUE(line.contains("time")) << line.dump();
    EXPECT_EQ(line.value("severity", ""), "INFO") << line.dump();
    if (!expected[i].event_id.empty()) {
      EXPECT_EQ(line.value("stripe_event_id", ""), expected[i].event_id) << line.dump();
      EXPECT_FALSE(line.value("type", "").empty()) << line.dump();
    }
  }
  for (const std::string& line : raw) {
    EXPECT_EQ(line.find(secret_marker), std::string::npos) << line;
    EXPECT_EQ(line.find("v1="), std::string::npos) << line;
  }
}

// Every HTTP error answer says why in one JSON line, also those httplib makes itself.
TEST_F(BillingServiceTest, HttpErrorAnswersSayWhyInOneJsonLine) {
  httplib::Client client("127.0.0.1", server_->http_port());
  const std::string ok = Event("evt_err", "payout.paid", 1800000000, "{}");
  const std::string big(kMaxWebhookPayloadBytes + 1, 'x');
  struct Probe {
    std::string name;
    httplib::Result result;
    int status;
    std::string error;
  };
  std::vector<Probe> probes;
  probes.push_back({"oversize", client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign(big)}},
                                            big, "application/json"),
                    413, "PAYLOAD_TOO_LARGE"});
  probes.push_back({"bad signature",
                    client.Post("/webhooks/stripe", {{"Stripe-Signature", "t=1,v1=00"}}, ok,
                                "application/json"),
                    400, "SIGNATURE_MALFORMED"});
  probes.push_back({"no signature", client.Post("/webhooks/stripe", ok, "application/json"), 400,
                    "SIGNATURE_MISSING"});
  probes.push_back({"not json",
                    client.Post("/webhooks/stripe", {{"Stripe-Signature", Sign("nope")}}, "nope",
                                "application/json"),
                    400, "MALFORMED_EVENT"});
  probes.push_back({"other path", client.Get("/"), 404, "NOT_FOUND"});
  probes.push_back({"other method", client.Put("/webhooks/stripe", ok, "application/json"), 405,
                    "METHOD_NOT_ALLOWED"});
  probes.push_back({"delete", client.Delete("/webhooks/stripe"), 405, "METHOD_NOT_ALLOWED"});
  for (Probe& p : probes) {
    ASSERT_TRUE(p.result) << p.name;
    EXPECT_EQ(p.result->status, p.status) << p.name;
    EXPECT_EQ(p.result->body.find('\n'), std::string::npos) << p.name;
    nlohmann::json body = nlohmann::json::parse(p.result->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << p.name << ": " << p.result->body;
    EXPECT_EQ(body.value("error", ""), p.error) << p.name;
    EXPECT_FALSE(body.value("message", "").empty()) << p.name;
    EXPECT_EQ(p.result->get_header_value("Content-Type"), "application/json") << p.name;
  }
  EXPECT_EQ(probes[5].result->get_header_value("Allow"), "POST");
  // A chunked body past the bound, refused by httplib while reading it.
  httplib::Client chunked("127.0.0.1", server_->http_port());
  size_t sent = 0;
  auto res = chunked.Post(
      "/webhooks/stripe", {{"Stripe-Signature", Sign(big)}},
      [&](size_t, httplib::DataSink& sink) {
        const std::string block(64 * 1024, 'x');
        if (sent < 2 * kMaxWebhookPayloadBytes) {
          sink.write(block.data(), block.size());
          sent += block.size();
        } else {
          sink.done();
        }
        return true;
      },
      "application/json");
  if (res) {  // httplib may close before the client finishes writing
    EXPECT_EQ(res->status, 413);
    nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
    EXPECT_EQ(body.value("error", ""), "PAYLOAD_TOO_LARGE") << res->body;
  }
}

// Clients that connect and then send nothing (or half a request) hold a worker each until the
// read timeout; a few dozen of them must not keep a delivery from being answered at once.
TEST_F(BillingServiceTest, IdleConnectionsDoNotWedgeTheWebhookDoor) {
  // 32 raw connections, each with an unfinished request line.
  std::vector<int> fds;
  for (int i = 0; i < 32; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->http_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const char partial[] = "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n";
    ASSERT_GT(::send(fd, partial, sizeof(partial) - 1, 0), 0);
    fds.push_back(fd);
  }
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  HttpAnswer answer =
      PostSigned(server_->http_port(), Event("evt_not_wedged", "payout.paid", 1800000000, "{}"));
  EXPECT_EQ(answer.status, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  for (int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace suite::billing

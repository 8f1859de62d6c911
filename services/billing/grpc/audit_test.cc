// Billing's audit trail seen from the API, on a real PostgreSQL (as billing_service) and a
// real gRPC server: each admin-only write records exactly one row naming the authenticated
// caller and the call's request id, in the transaction of the change; a refused or no-op call
// records none; ListAuditEvents is admin only, filters, pages newest first with tokens bound
// to the filters, and names the offending field of every INVALID_ARGUMENT.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "audit/v1/audit.pb.h"
#include "billing/v1/billing_service.grpc.pb.h"
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

constexpr char kSecret[] = "whsec_test";
constexpr char kAdminId[] = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr char kOtherAdminId[] = "aaaaaaaa-0000-4000-8000-000000000004";
constexpr char kAliceId[] = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr char kBobId[] = "aaaaaaaa-0000-4000-8000-000000000003";
constexpr char kAccountId[] = "bbbbbbbb-0000-4000-8000-000000000001";
constexpr char kRequestId[] = "cccccccc-0000-4000-8000-000000000001";

using suite::rpc::FirstViolatedField;

class BillingAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auth_.Add("admin", {kAdminId, {"admin"}, ""});
    auth_.Add("admin2", {kOtherAdminId, {"admin"}, ""});
    auth_.Add("alice", {kAliceId, {"member"}, ""});
    auth_.AddUser(kBobId);
    BillingOptions options;
    options.webhook_secrets = {kSecret};
    options.page_token_secret = "page-secret";
    auto server = BillingTestServer::Start(db_->UrlAs("billing_service"), options, auth_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = server_->NewStub();
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                          const std::string& request_id = kRequestId) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + token);
    if (!request_id.empty()) ctx->AddMetadata("x-request-id", request_id);
    return ctx;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_->url());
    return pqxx::nontransaction(conn).exec1(sql)[0].as<int64_t>();
  }
  void Exec(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction(conn).exec0(sql);
  }

  grpc::Status Record(const std::string& token, const std::string& key, int64_t cents,
                      v1::RecordTransactionResponse* out) {
    v1::RecordTransactionRequest req;
    req.set_idempotency_key(key);
    v1::Transaction* t = req.mutable_transaction();
    t->set_account_id(kAccountId);
    t->set_kind(v1::TRANSACTION_KIND_PAYMENT);
    t->set_status(v1::TRANSACTION_STATUS_SUCCEEDED);
    t->set_currency("EUR");
    t->set_amount_cents(cents);
    t->set_provider("manual");
    return stub_->RecordTransaction(As(token).get(), req, out);
  }

  grpc::Status Link(const std::string& token, const std::string& customer, const std::string& user,
                    bool allow_relink = false) {
    v1::LinkCustomerRequest req;
    req.set_stripe_customer_id(customer);
    req.set_user_id(user);
    req.set_allow_relink(allow_relink);
    v1::LinkCustomerResponse out;
    return stub_->LinkCustomer(As(token).get(), req, &out);
  }

  grpc::Status List(const std::string& token, const audit::v1::ListAuditEventsRequest& req,
                    audit::v1::ListAuditEventsResponse* out) {
    return stub_->ListAuditEvents(As(token).get(), req, out);
  }
  std::vector<audit::v1::AuditEvent> All(audit::v1::ListAuditEventsRequest req = {}) {
    audit::v1::ListAuditEventsResponse out;
    grpc::Status s = List("admin", req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.events().begin(), out.events().end()};
  }

  // A parked event (a subscription without its customer), then repaired so that it applies.
  void ParkRepairableEvent(const std::string& id) {
    const std::string payload =
        absl::Substitute(R"({"id":"$0","object":"event","type":"customer.subscription.created",)"
                         R"("created":1800000000,"livemode":false,"data":{"object":{"id":"sub_$0",)"
                         R"("object":"subscription","status":"active"}}})",
                         id);
    const int64_t t = absl::ToUnixSeconds(absl::Now());
    v1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(
        absl::StrCat("t=", t, ",v1=", ComputeStripeSignature(kSecret, t, payload)));
    grpc::ClientContext ctx;
    v1::IngestStripeEventResponse out;
    ASSERT_TRUE(stub_->IngestStripeEvent(&ctx, req, &out).ok());
    ASSERT_EQ(out.status(), v1::STRIPE_EVENT_STATUS_FAILED);
  }
  void Repair(const std::string& id) {
    Exec(
        absl::StrCat("UPDATE billing.stripe_events SET raw_event_redacted = "
                     "jsonb_set(raw_event_redacted, '{data,object,customer}', '\"cus_r\"') "
                     "WHERE stripe_event_id = '",
                     id, "'"));
  }
  grpc::Status Reprocess(const std::string& token, const std::string& id) {
    v1::ReprocessStripeEventRequest req;
    req.set_stripe_event_id(id);
    v1::ReprocessStripeEventResponse out;
    return stub_->ReprocessStripeEvent(As(token).get(), req, &out);
  }

  std::unique_ptr<TestDatabase> db_;
  StaticAuthenticator auth_;
  std::unique_ptr<BillingTestServer> server_;
  std::unique_ptr<v1::BillingService::Stub> stub_;
};

TEST_F(BillingAuditTest, EachAdminWriteRecordsOneRowWithItsCallerAndRequestId) {
  v1::RecordTransactionResponse recorded;
  ASSERT_TRUE(Record("admin", "k1", 500, &recorded).ok());
  ASSERT_TRUE(Link("admin", "cus_1", kBobId).ok());
  ParkRepairableEvent("evt_r");
  Repair("evt_r");
  ASSERT_TRUE(Reprocess("admin", "evt_r").ok());

  std::vector<audit::v1::AuditEvent> events = All();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].action(), "ledger.append");
  EXPECT_EQ(events[2].target_type(), "transaction");
  EXPECT_EQ(events[2].target_id(), recorded.transaction().id());
  EXPECT_NE(events[2].after_json().find("\"amount_cents\": 500"), std::string::npos)
      << events[2].after_json();
  EXPECT_EQ(events[1].action(), "customer.link");
  EXPECT_EQ(events[1].target_type(), "customer");
  EXPECT_EQ(events[1].target_id(), "cus_1");
  EXPECT_EQ(events[1].before_json(), R"({"user_id": null})");
  EXPECT_EQ(events[1].after_json(), absl::StrCat(R"({"user_id": ")", kBobId, "\"}"));
  EXPECT_EQ(events[0].action(), "stripe_event.reprocess");
  EXPECT_EQ(events[0].target_type(), "stripe_event");
  EXPECT_EQ(events[0].target_id(), "evt_r");
  EXPECT_EQ(events[0].before_json(), R"({"status": "failed"})");
  EXPECT_EQ(events[0].after_json(), R"({"status": "processed"})");
  for (const auto& e : events) {
    EXPECT_EQ(e.actor_user_id(), kAdminId) << e.action();
    EXPECT_EQ(e.request_id(), kRequestId) << e.action();
    EXPECT_EQ(e.outcome(), "ok") << e.action();
    EXPECT_EQ(e.hash().size(), 64u) << e.action();
  }
  EXPECT_EQ(events[0].sequence(), 3);
  EXPECT_EQ(events[2].sequence(), 1);
}

TEST_F(BillingAuditTest, RefusedFailedAndNoOpCallsRecordNothing) {
  v1::RecordTransactionResponse out;
  // Not an admin.
  EXPECT_EQ(Record("alice", "k1", 500, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Link("alice", "cus_1", kBobId).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ParkRepairableEvent("evt_r");
  EXPECT_EQ(Reprocess("alice", "evt_r").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Invalid, refused by a rule, or still failing.
  EXPECT_EQ(Record("admin", "k1", -5, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Link("admin", "cus_1", kAliceId + std::string("0")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Link("admin", "cus_1", "aaaaaaaa-0000-4000-8000-0000000000ff").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Reprocess("admin", "evt_r").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reprocess("admin", "evt_none").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.audit_log"), 0);

  // Changes recorded once; their no-op repetitions (a replayed key, a link already so) and
  // refusals (a reused key, a relink without allow_relink, a settled event) record nothing.
  ASSERT_TRUE(Record("admin", "k1", 500, &out).ok());
  ASSERT_TRUE(Link("admin", "cus_1", kBobId).ok());
  ASSERT_EQ(Count("SELECT count(*) FROM billing.audit_log"), 2);
  ASSERT_TRUE(Record("admin", "k1", 500, &out).ok());
  EXPECT_TRUE(out.replayed());
  EXPECT_EQ(Record("admin", "k1", 501, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Link("admin", "cus_1", kBobId).ok());
  EXPECT_EQ(Link("admin", "cus_2", kBobId).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Repair("evt_r");
  ASSERT_TRUE(Reprocess("admin", "evt_r").ok());
  EXPECT_EQ(Reprocess("admin", "evt_r").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Count("SELECT count(*) FROM billing.audit_log"), 3);
  // Webhook deliveries are the system's and are recorded by billing.stripe_events alone.
  EXPECT_EQ(Count("SELECT count(*) FROM billing.audit_log WHERE actor_id IS NULL"), 0);
}

TEST_F(BillingAuditTest, ARelinkIsOneRowNamingTheCustomerItUnlinked) {
  ASSERT_TRUE(Link("admin", "cus_old", kBobId).ok());
  ASSERT_TRUE(Link("admin", "cus_new", kBobId, /*allow_relink=*/true).ok());
  ASSERT_TRUE(Link("admin", "cus_new", kAliceId, /*allow_relink=*/true).ok());
  std::vector<audit::v1::AuditEvent> events = All();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].target_id(), "cus_new");
  EXPECT_EQ(
      events[1].after_json(),
      absl::StrCat(R"({"user_id": ")", kBobId, R"(", "unlinked_stripe_customer_id": "cus_old"})"));
  EXPECT_EQ(events[0].before_json(), absl::StrCat(R"({"user_id": ")", kBobId, "\"}"));
  EXPECT_EQ(events[0].after_json(), absl::StrCat(R"({"user_id": ")", kAliceId, "\"}"));
}

TEST_F(BillingAuditTest, ListingIsAdminOnly) {
  audit::v1::ListAuditEventsResponse out;
  grpc::Status s = List("alice", {}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(s));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "MISSING_ROLE");
  // Refused before the request is looked at: an invalid one is answered the same.
  audit::v1::ListAuditEventsRequest bad;
  bad.set_page_size(-1);
  EXPECT_EQ(List("alice", bad, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  bad.set_action(std::string(101, 'a'));
  bad.mutable_end_time()->set_seconds(253402300800);  // past year 9999
  bad.set_page_token("abc.def.ghi");
  EXPECT_EQ(List("alice", bad, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->ListAuditEvents(&anonymous, {}, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(BillingAuditTest, EveryInvalidArgumentNamesItsField) {
  struct Case {
    const char* name;
    std::function<void(audit::v1::ListAuditEventsRequest*)> set;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"negative size", [](auto* r) { r->set_page_size(-1); }, "page_size"},
      {"size over 100", [](auto* r) { r->set_page_size(101); }, "page_size"},
      {"actor not a uuid", [](auto* r) { r->set_actor_user_id("admin"); }, "actor_user_id"},
      {"actor with a newline", [](auto* r) { r->set_actor_user_id(absl::StrCat(kAdminId, "\n")); },
       "actor_user_id"},
      {"action with a newline", [](auto* r) { r->set_action("ledger.append\n"); }, "action"},
      {"action with NUL", [](auto* r) { r->set_action(std::string("ledger\0x", 8)); }, "action"},
      {"action with ESC", [](auto* r) { r->set_action("\x1b[31m"); }, "action"},
      {"action with C1 CSI",
       [](auto* r) {
         r->set_action(
             "\xc2\x9b"
             "31m");
       },
       "action"},
      {"action too long", [](auto* r) { r->set_action(std::string(101, 'a')); }, "action"},
      {"target with a tab", [](auto* r) { r->set_target_id("cus_1\t"); }, "target_id"},
      {"target with DEL", [](auto* r) { r->set_target_id("cus\x7f"); }, "target_id"},
      {"target too long", [](auto* r) { r->set_target_id(std::string(201, 'x')); }, "target_id"},
      {"end before start",
       [](auto* r) {
         r->mutable_start_time()->set_seconds(1800000000);
         r->mutable_end_time()->set_seconds(1700000000);
       },
       "end_time"},
      {"end equal to start",
       [](auto* r) {
         r->mutable_start_time()->set_seconds(1800000000);
         r->mutable_end_time()->set_seconds(1800000000);
       },
       "end_time"},
      {"forged token", [](auto* r) { r->set_page_token("abc.def.ghi"); }, "page_token"},
      {"start nanos negative", [](auto* r) { r->mutable_start_time()->set_nanos(-1); },
       "start_time"},
      {"end past year 9999", [](auto* r) { r->mutable_end_time()->set_seconds(253402300800); },
       "end_time"},
  };
  for (const Case& c : cases) {
    audit::v1::ListAuditEventsRequest req;
    c.set(&req);
    audit::v1::ListAuditEventsResponse out;
    grpc::Status s = List("admin", req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_EQ(FirstViolatedField(s), c.field) << c.name << ": " << s.error_message();
  }
  // The edges that are accepted.
  for (int size : {0, 1, 100}) {
    audit::v1::ListAuditEventsRequest req;
    req.set_page_size(size);
    audit::v1::ListAuditEventsResponse out;
    EXPECT_TRUE(List("admin", req, &out).ok()) << size;
  }
  audit::v1::ListAuditEventsRequest edge;
  edge.set_action(std::string(100, 'a'));
  edge.set_target_id("cus_\xc3\xa9\xe2\x80\x8f");  // é and a bidi mark: one line, accepted
  edge.set_actor_user_id("AAAAAAAA-0000-4000-8000-000000000001");
  audit::v1::ListAuditEventsResponse out;
  EXPECT_TRUE(List("admin", edge, &out).ok());
  audit::v1::ListAuditEventsRequest longest_target;
  longest_target.set_target_id(std::string(200, 'x'));
  EXPECT_TRUE(List("admin", longest_target, &out).ok());
}

TEST_F(BillingAuditTest, ListingFiltersAndPagesNewestFirstWithTokensBoundToTheFilters) {
  v1::RecordTransactionResponse out;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Record("admin", absl::StrCat("k", i), 100 + i, &out).ok());
  }
  ASSERT_TRUE(Link("admin2", "cus_1", kBobId).ok());
  const absl::Time middle = absl::Now();
  ASSERT_TRUE(Record("admin2", "k5", 105, &out).ok());

  // Paging: 7 rows, 3 a page, newest first, each exactly once.
  audit::v1::ListAuditEventsRequest req;
  req.set_page_size(3);
  std::vector<int64_t> seen;
  for (int page = 0; page < 10; ++page) {
    audit::v1::ListAuditEventsResponse resp;
    ASSERT_TRUE(List("admin", req, &resp).ok());
    for (const auto& e : resp.events()) seen.push_back(e.sequence());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1}));

  // A token made for one filter does not continue another.
  audit::v1::ListAuditEventsRequest first;
  first.set_page_size(1);
  audit::v1::ListAuditEventsResponse resp;
  ASSERT_TRUE(List("admin", first, &resp).ok());
  ASSERT_FALSE(resp.next_page_token().empty());
  audit::v1::ListAuditEventsRequest other = first;
  other.set_page_token(resp.next_page_token());
  other.set_action("ledger.append");
  grpc::Status s = List("admin", other, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FirstViolatedField(s), "page_token");

  audit::v1::ListAuditEventsRequest by_actor;
  by_actor.set_actor_user_id(kOtherAdminId);
  std::vector<audit::v1::AuditEvent> events = All(by_actor);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].sequence(), 7);
  EXPECT_EQ(events[1].sequence(), 6);
  audit::v1::ListAuditEventsRequest by_action;
  by_action.set_action("customer.link");
  ASSERT_EQ(All(by_action).size(), 1u);
  EXPECT_EQ(All(by_action)[0].target_id(), "cus_1");
  audit::v1::ListAuditEventsRequest by_target;
  by_target.set_target_id("cus_1");
  EXPECT_EQ(All(by_target).size(), 1u);
  by_target.set_target_id("cus_2");
  EXPECT_TRUE(All(by_target).empty());
  audit::v1::ListAuditEventsRequest since;
  since.mutable_start_time()->set_seconds(absl::ToUnixSeconds(middle));
  since.mutable_start_time()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(middle - absl::FromUnixSeconds(absl::ToUnixSeconds(middle)))));
  ASSERT_EQ(All(since).size(), 1u);
  EXPECT_EQ(All(since)[0].sequence(), 7);
  audit::v1::ListAuditEventsRequest until;
  *until.mutable_end_time() = since.start_time();
  EXPECT_EQ(All(until).size(), 6u);
}

}  // namespace
}  // namespace suite::billing

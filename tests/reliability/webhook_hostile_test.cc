// Hostile Stripe webhook deliveries against the real billing_server binary (a process of its
// own on a real PostgreSQL database), through both doors: POST /webhooks/stripe and the
// IngestStripeEvent RPC. Every payload is correctly signed, so it reaches the parser: JSON
// nested up to 10^6 levels (arrays, objects, both, unclosed, and brackets inside strings,
// which are not nesting), at once and concurrently. Each delivery must get a clear answer
// (200 parked or applied, 400, 413 — never a 5xx or a dropped connection), the process must
// stay alive and SERVING, and its log must hold exactly one "webhook" line per HTTP delivery.
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
#include "services/billing/testing/nested_json.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/harness/suite.h"
#include "tests/reliability/harness.h"

namespace suite::reliability {
namespace {

using ::suite::billing::testing::Mixed;
using ::suite::billing::testing::Nest;

constexpr char kSecret[] = "whsec_hostile_webhooks";
constexpr int kMillion = 1000000;
constexpr size_t kDoorLimit = 1024 * 1024;

std::string Signature(const std::string& payload) {
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  return absl::StrCat("t=", t, ",v1=", suite::billing::ComputeStripeSignature(kSecret, t, payload));
}

std::string Event(const std::string& id, const std::string& object) {
  return absl::StrCat(R"({"id":")", id,
                      R"(","object":"event","type":"customer.subscription.updated",)"
                      R"("created":1800000000,"livemode":false,"data":{"object":)",
                      object, "}}");
}

class WebhookHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = suite::db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    harness::SuiteOptions o = harness::TestOptions(
        [this](const std::string& role) { return db_->UrlAs(role); }, "", "", kSecret);
    // Billing alone: ingestion needs no caller (its identity address is one where nothing
    // listens).
    o.replicas = {{"billing", 1}};
    log_ = absl::StrCat(o.logs_dir, "/billing.log");
    std::remove(log_.c_str());
    suite_ = std::make_unique<harness::Suite>(o);
    const absl::Status started = suite_->Start();
    ASSERT_TRUE(started.ok()) << started;
    grpc_port_ = suite_->ports("billing").grpc;
    webhook_port_ = suite_->ports("billing").webhook;
    billing_ = &suite_->process("billing");
    channel_ = NewChannel(absl::StrCat("127.0.0.1:", grpc_port_));
  }

  // POSTs `payload` signed; returns the status (0: no answer) and the parsed body.
  std::pair<int, nlohmann::json> Post(const std::string& payload) {
    httplib::Client client("127.0.0.1", webhook_port_);
    client.set_read_timeout(60, 0);
    client.set_write_timeout(60, 0);
    auto res = client.Post("/webhooks/stripe", {{"Stripe-Signature", Signature(payload)}},
                           payload, "application/json");
    if (!res) return {0, nullptr};
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
  }

  grpc::Status Ingest(const std::string& payload, ::billing::v1::IngestStripeEventResponse* out) {
    auto stub = ::billing::v1::BillingService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    ::billing::v1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(Signature(payload));
    return stub->IngestStripeEvent(&ctx, req, out);
  }

  int WebhookLogLines() {
    std::ifstream in(log_);
    std::string line;
    int count = 0;
    while (std::getline(in, line)) {
      nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
      if (parsed.is_object() && parsed.value("event", "") == "webhook") ++count;
    }
    return count;
  }

  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  int grpc_port_ = 0;
  int webhook_port_ = 0;
  std::string log_;
  std::unique_ptr<harness::Suite> suite_;
  rpc::testing::ServerProcess* billing_ = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(WebhookHostileTest, DeeplyNestedSignedEventsNeverCrashTheBillingProcess) {
  struct Case {
    std::string name;
    std::string object;
  };
  const std::vector<Case> cases = {
      {"arrays_1e6", Nest("[", "]", kMillion)},
      {"objects_1e6", Nest(R"({"a":)", "}", kMillion)},
      {"mixed_1e6", Mixed(kMillion)},
      {"unclosed_arrays_1e6", std::string(kMillion, '[')},
      {"unclosed_objects_2e5", Nest(R"({"a":)", "", 200000)},
      {"arrays_5e5", Nest("[", "]", 500000)},
      {"objects_1e5", Nest(R"({"a":)", "}", 100000)},
      {"mixed_1e5", Mixed(100000)},
      {"arrays_6e4", Nest("[", "]", 60000)},
      {"arrays_3e4", Nest("[", "]", 30000)},
      {"strings_1e6",
       absl::StrCat(R"({"id":"sub_s","customer":"cus_s","status":"active","note":")",
                    std::string(kMillion - 100000, '['), std::string(50000, '{'), R"("})")},
  };
  int http_deliveries = 0;
  for (const Case& c : cases) {
    const std::string payload = Event("evt_http_" + c.name, c.object);
    auto [status, body] = Post(payload);
    ++http_deliveries;
    EXPECT_TRUE(status == 200 || status == 400 || status == 413) << c.name << ": " << status;
    ASSERT_TRUE(body.is_object()) << c.name;
    if (payload.size() > kDoorLimit) {
      EXPECT_EQ(status, 413) << c.name;
    }
    if (status == 200) {
      const std::string expected = c.name == "strings_1e6" ? "processed" : "failed";
      EXPECT_EQ(body.value("status", ""), expected) << c.name;
    } else {
      EXPECT_FALSE(body.value("error", "").empty()) << c.name;
      EXPECT_FALSE(body.value("message", "").empty()) << c.name;
    }
    ::billing::v1::IngestStripeEventResponse out;
    grpc::Status rpc = Ingest(Event("evt_rpc_" + c.name, c.object), &out);
    EXPECT_TRUE(rpc.ok() || rpc.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                rpc.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << c.name << ": " << rpc.error_code() << " " << rpc.error_message();
    ASSERT_TRUE(billing_->Alive()) << c.name << " killed billing; see " << log_;
  }
  // Concurrently, so that several deep parses overlap.
  std::vector<std::thread> threads;
  std::vector<int> statuses(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = Post(Event(absl::StrCat("evt_concurrent_", i), Nest("[", "]", 400000))).first;
    });
  }
  for (std::thread& t : threads) t.join();
  http_deliveries += 8;
  for (int status : statuses) EXPECT_EQ(status, 200);
  ASSERT_TRUE(billing_->Alive());
  EXPECT_EQ(HealthOf(channel_), HealthStatus::kServing);
  // Parked events are stored with their envelope; the string one was applied.
  pqxx::connection conn(db_->url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM billing.stripe_events WHERE status = 'failed' AND "
                     "last_error LIKE '%nests%'")[0]
                .as<int>(),
            2 * 5 + 8);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM billing.stripe_subscriptions")[0].as<int>(), 1);
  // One log line per HTTP delivery (written after the answer: allow it a moment).
  const absl::Time end = absl::Now() + absl::Seconds(5);
  while (WebhookLogLines() < http_deliveries && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(WebhookLogLines(), http_deliveries);
}

}  // namespace
}  // namespace suite::reliability

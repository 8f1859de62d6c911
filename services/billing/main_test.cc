// The billing_server binary as deployed: configured from the environment, serving health
// (following its database) and webhooks, and exiting 0 after SIGTERM drains it; exit 2 on bad
// configuration.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"

namespace suite::billing {
namespace {

constexpr char kBinary[] = "services/billing/billing_server";

using grpc::health::v1::HealthCheckResponse;
using suite::rpc::testing::FreeLoopbackPort;
using suite::rpc::testing::SpawnServer;
using suite::rpc::testing::WaitExit;
using suite::rpc::testing::WaitForHealth;

TEST(BillingServerBinaryTest, ServesAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int grpc_port = FreeLoopbackPort();
  const int http_port = FreeLoopbackPort();
  const pid_t pid = SpawnServer(kBinary, {{"DATABASE_URL", (*db)->UrlAs("billing_service")},
                                          {"BILLING_GRPC_PORT", std::to_string(grpc_port)},
                                          {"BILLING_WEBHOOK_PORT", std::to_string(http_port)},
                                          {"BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_bin"},
                                          {"BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef"},
                                          {"IDENTITY_ADDR", "127.0.0.1:1"},
                                          {"BILLING_GRPC_HEALTH_INTERVAL", "100ms"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitForHealth(absl::StrCat("127.0.0.1:", grpc_port), "", HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);

  const std::string payload =
      R"({"id":"evt_bin","object":"event","type":"customer.created","created":1,)"
      R"("livemode":false,"data":{"object":{"id":"cus_bin"}}})";
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  httplib::Client client("127.0.0.1", http_port);
  auto res = client.Post(
      "/webhooks/stripe",
      {{"Stripe-Signature",
        absl::StrCat("t=", t, ",v1=", ComputeStripeSignature("whsec_bin", t, payload))}},
      payload, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 0);
  httplib::Client after("127.0.0.1", http_port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Post("/webhooks/stripe", payload, "application/json"));
}

TEST(BillingServerBinaryTest, HealthIsNotServingWhileTheDatabaseIsDown) {
  const int grpc_port = FreeLoopbackPort();
  const pid_t pid =
      SpawnServer(kBinary, {{"DATABASE_URL", "postgresql://billing_service@127.0.0.1:1/none"},
                            {"BILLING_GRPC_PORT", std::to_string(grpc_port)},
                            {"BILLING_WEBHOOK_PORT", "0"},
                            {"BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_bin"},
                            {"BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef"},
                            {"IDENTITY_ADDR", "127.0.0.1:1"},
                            {"BILLING_GRPC_HEALTH_INTERVAL", "100ms"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitForHealth(absl::StrCat("127.0.0.1:", grpc_port), "billing.v1.BillingService",
                          HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 0);
}

TEST(BillingServerBinaryTest, BadConfigurationExitsTwo) {
  const pid_t pid = SpawnServer(kBinary, {{"DATABASE_URL", "postgresql://x@127.0.0.1:1/x"},
                                          {"IDENTITY_ADDR", "a:1"},
                                          {"BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 2);  // no webhook secret
}

}  // namespace
}  // namespace suite::billing

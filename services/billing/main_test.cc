// The billing_server binary as deployed: configured from the environment, serving health
// (following its database) and webhooks, and exiting 0 after SIGTERM drains it; exit 2 on bad
// configuration.
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/db/testing/test_database.h"

namespace billing {
namespace {

constexpr char kBinary[] = "services/billing/billing_server";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Waits up to `timeout` for `pid` to exit; returns its exit code, or -1.
int WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST(BillingServerBinaryTest, ServesAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int grpc_port = FreePort();
  const int http_port = FreePort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("DATABASE_URL", (*db)->UrlAs("billing_service").c_str(), 1);
    setenv("BILLING_GRPC_PORT", std::to_string(grpc_port).c_str(), 1);
    setenv("BILLING_WEBHOOK_PORT", std::to_string(http_port).c_str(), 1);
    setenv("BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_bin", 1);
    setenv("BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef", 1);
    setenv("IDENTITY_ADDR", "127.0.0.1:1", 1);
    setenv("BILLING_GRPC_HEALTH_INTERVAL", "100ms", 1);
    freopen("/dev/null", "w", stdout);
    execl(kBinary, kBinary, static_cast<char*>(nullptr));
    _exit(127);
  }
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
  bool serving = false;
  for (int i = 0; i < 100 && !serving; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    serving = health->Check(&ctx, req, &resp).ok() &&
              resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (!serving) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(serving);

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
  const int grpc_port = FreePort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("DATABASE_URL", "postgresql://billing_service@127.0.0.1:1/none", 1);
    setenv("BILLING_GRPC_PORT", std::to_string(grpc_port).c_str(), 1);
    setenv("BILLING_WEBHOOK_PORT", "0", 1);
    setenv("BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_bin", 1);
    setenv("BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef", 1);
    setenv("IDENTITY_ADDR", "127.0.0.1:1", 1);
    setenv("BILLING_GRPC_HEALTH_INTERVAL", "100ms", 1);
    freopen("/dev/null", "w", stdout);
    execl(kBinary, kBinary, static_cast<char*>(nullptr));
    _exit(127);
  }
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
  bool not_serving = false;
  for (int i = 0; i < 100 && !not_serving; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("billing.v1.BillingService");
    grpc::health::v1::HealthCheckResponse resp;
    not_serving = health->Check(&ctx, req, &resp).ok() &&
                  resp.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
    if (!not_serving) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(not_serving);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 0);
}

TEST(BillingServerBinaryTest, BadConfigurationExitsTwo) {
  const std::string command = absl::StrCat(
      "env -i DATABASE_URL=postgresql://x@127.0.0.1:1/x IDENTITY_ADDR=a:1 "
      "BILLING_PAGE_TOKEN_SECRET=0123456789abcdef ",
      kBinary, " >/dev/null 2>&1");
  const int raw = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(raw));
  EXPECT_EQ(WEXITSTATUS(raw), 2);  // no webhook secret
}

}  // namespace
}  // namespace billing

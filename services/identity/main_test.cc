// The identity_server binary as deployed: configured from the environment, creating the first
// admin from IDENTITY_BOOTSTRAP_ADMIN_*, serving Login and health (which follows the
// database), draining and exiting 0 on SIGTERM; exiting 2 on bad configuration.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"

namespace {

constexpr char kServer[] = "services/identity/identity_server";

using grpc::health::v1::HealthCheckResponse;
using suite::rpc::testing::FreeLoopbackPort;
using suite::rpc::testing::SpawnServer;
using suite::rpc::testing::WaitExit;
using suite::rpc::testing::WaitForHealth;

constexpr char kService[] = "identity.v1.IdentityService";

// Starts identity_server with exactly `env`.
pid_t StartServer(const std::map<std::string, std::string>& env) {
  return SpawnServer(kServer, env);
}

TEST(IdentityServerBinaryTest, BootstrapsTheAdminServesLoginAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int port = FreeLoopbackPort();
  const pid_t pid = StartServer({{"DATABASE_URL", (*db)->UrlAs("identity_service")},
                                 {"IDENTITY_GRPC_PORT", std::to_string(port)},
                                 {"IDENTITY_GRPC_HEALTH_INTERVAL", "100ms"},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "the operator's secret"}});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(WaitForHealth(absl::StrCat("127.0.0.1:", port), kService, HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);

  auto identity = identity::v1::IdentityService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  identity::v1::LoginRequest login;
  login.set_email("root@example.com");
  login.set_password("the operator's secret");
  identity::v1::LoginResponse session;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status s = identity->Login(&ctx, login, &session);
  ASSERT_TRUE(s.ok()) << s.error_message();
  identity::v1::ValidateSessionRequest validate;
  validate.set_session_token(session.session_token());
  identity::v1::ValidateSessionResponse who;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(identity->ValidateSession(&ctx2, validate, &who).ok());
  bool admin = false;
  for (const auto& g : who.role_grants()) admin |= g.role() == "admin" && g.account_id().empty();
  EXPECT_TRUE(admin);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(20)), 0);
}

TEST(IdentityServerBinaryTest, HealthIsNotServingWhileTheDatabaseIsUnreachable) {
  const int port = FreeLoopbackPort();
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(port)},
                                 {"IDENTITY_GRPC_HEALTH_INTERVAL", "100ms"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(
      WaitForHealth(absl::StrCat("127.0.0.1:", port), kService, HealthCheckResponse::NOT_SERVING),
      HealthCheckResponse::NOT_SERVING);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(20)), 0);
}

TEST(IdentityServerBinaryTest, HashingWeakerThanOwaspIsABadConfiguration) {
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(FreeLoopbackPort())},
                                 {"IDENTITY_ARGON2_MEMLIMIT_KIB", "1024"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 2);
}

TEST(IdentityServerBinaryTest, HalfABootstrapPairIsABadConfiguration) {
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(FreeLoopbackPort())},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 2);
}

}  // namespace

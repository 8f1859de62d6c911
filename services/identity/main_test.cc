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

namespace {

constexpr char kServer[] = "services/identity/identity_server";

// A port nothing listens on right now, taken from a range unlikely to collide with others.
int PickPort() {
  static int next = 0;
  return 30000 + (getpid() % 2000) * 5 + (next++);
}

// Starts the server with `env` (and nothing else from the parent's environment) and returns
// its pid; the child's stdout goes to /dev/null.
pid_t StartServer(const std::map<std::string, std::string>& env) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  clearenv();
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
  if (freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
  execl(kServer, kServer, static_cast<char*>(nullptr));
  _exit(127);
}

// ExitCode waits for `pid` up to `limit`; -1 when it did not exit normally in time (killed).
int ExitCode(pid_t pid, absl::Duration limit) {
  for (absl::Time end = absl::Now() + limit; absl::Now() < end;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    absl::SleepFor(absl::Milliseconds(25));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// WaitForHealth polls the service's health until it reports `want` or 10 s pass.
bool WaitForHealth(int port, grpc::health::v1::HealthCheckResponse::ServingStatus want) {
  for (int i = 0; i < 100; ++i) {
    // A fresh channel each time: a channel that failed to connect backs off for seconds.
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("identity.v1.IdentityService");
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() && resp.status() == want) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

TEST(IdentityServerBinaryTest, BootstrapsTheAdminServesLoginAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int port = PickPort();
  const pid_t pid = StartServer({{"DATABASE_URL", (*db)->UrlAs("identity_service")},
                                 {"IDENTITY_GRPC_PORT", std::to_string(port)},
                                 {"IDENTITY_GRPC_HEALTH_INTERVAL", "100ms"},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "the operator's secret"}});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForHealth(port, grpc::health::v1::HealthCheckResponse::SERVING));

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
  EXPECT_EQ(ExitCode(pid, absl::Seconds(20)), 0);
}

TEST(IdentityServerBinaryTest, HealthIsNotServingWhileTheDatabaseIsUnreachable) {
  const int port = PickPort();
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(port)},
                                 {"IDENTITY_GRPC_HEALTH_INTERVAL", "100ms"}});
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitForHealth(port, grpc::health::v1::HealthCheckResponse::NOT_SERVING));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(ExitCode(pid, absl::Seconds(20)), 0);
}

TEST(IdentityServerBinaryTest, HashingWeakerThanOwaspIsABadConfiguration) {
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(PickPort())},
                                 {"IDENTITY_ARGON2_MEMLIMIT_KIB", "1024"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid, absl::Seconds(10)), 2);
}

TEST(IdentityServerBinaryTest, HalfABootstrapPairIsABadConfiguration) {
  const pid_t pid = StartServer({{"DATABASE_URL", "postgresql://identity_service@127.0.0.1:1/x"},
                                 {"IDENTITY_GRPC_PORT", std::to_string(PickPort())},
                                 {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com"}});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid, absl::Seconds(10)), 2);
}

}  // namespace

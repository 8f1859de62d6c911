// The questions_server binary as operators run it: configured from the environment, health
// follows the database pool, a drain on SIGTERM exits 0, bad configuration exits 2.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "shared/db/testing/test_database.h"

namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Starts the binary with exactly `env` (plus PATH); returns its pid.
pid_t Spawn(std::vector<std::string> env) {
  env.push_back("PATH=/usr/bin:/bin");
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char path[] = "services/questions/questions_server";
    char* argv[] = {path, nullptr};
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execve(path, argv, envp.data());
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid, absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// Polls health until it reports `want` or the timeout passes; returns the last status seen.
HealthCheckResponse::ServingStatus WaitHealth(const std::string& addr,
                                              HealthCheckResponse::ServingStatus want) {
  auto stub = Health::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  absl::Time end = absl::Now() + absl::Seconds(15);
  while (absl::Now() < end) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    HealthCheckRequest request;
    HealthCheckResponse response;
    if (stub->Check(&context, request, &response).ok()) {
      last = response.status();
      if (last == want) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

std::vector<std::string> BaseEnv(const std::string& database_url, int port) {
  return {"DATABASE_URL=" + database_url,
          absl::StrCat("QUESTIONS_GRPC_ADDR=127.0.0.1:", port),
          "QUESTIONS_GRPC_HEALTH_INTERVAL=100ms",
          "QUESTIONS_GRPC_DRAIN_TIMEOUT=2s",
          "IDENTITY_ADDR=127.0.0.1:1",
          "BILLING_ADDR=127.0.0.1:1",
          "QUESTIONS_PAGE_TOKEN_SECRET=0123456789abcdef0123",
          "QUESTIONS_FREE_QUOTA=5"};
}

TEST(QuestionsServerMainTest, ServesHealthFromTheDatabaseAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int port = FreePort();
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  pid_t pid = Spawn(BaseEnv((*db)->UrlAs("questions_service"), port));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitHealth(addr, HealthCheckResponse::SERVING), HealthCheckResponse::SERVING);

  // The service is there: no bearer token → UNAUTHENTICATED; identity unreachable →
  // UNAVAILABLE (never a hang).
  auto stub = questions::v1::QuestionBankService::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;
    questions::v1::ListTagsResponse response;
    EXPECT_EQ(stub->ListTags(&context, {}, &response).error_code(), grpc::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer some-token");
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    questions::v1::ListTagsResponse response;
    EXPECT_EQ(stub->ListTags(&context, {}, &response).error_code(), grpc::UNAVAILABLE);
  }
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 0);
}

TEST(QuestionsServerMainTest, HealthIsNotServingWhileTheDatabaseIsUnreachable) {
  const int port = FreePort();
  pid_t pid = Spawn(BaseEnv("postgresql://questions_service@127.0.0.1:1/none", port));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitHealth(absl::StrCat("127.0.0.1:", port), HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 0);
}

TEST(QuestionsServerMainTest, MissingOrBadConfigurationExitsWithCode2) {
  const int port = FreePort();
  for (const std::string& drop : std::vector<std::string>
       {"IDENTITY_ADDR", "BILLING_ADDR", "QUESTIONS_PAGE_TOKEN_SECRET", "DATABASE_URL"}) {
    std::vector<std::string> env;
    for (const std::string& e : BaseEnv("postgresql://x@127.0.0.1:1/none", port)) {
      if (e.rfind(drop + "=", 0) != 0) env.push_back(e);
    }
    EXPECT_EQ(WaitExit(Spawn(env), absl::Seconds(10)), 2) << "without " << drop;
  }
  std::vector<std::string> env = BaseEnv("postgresql://x@127.0.0.1:1/none", port);
  env.push_back("QUESTIONS_FREE_QUOTA=lots");
  // The later duplicate is ignored by getenv on glibc (first wins), so replace instead.
  env.erase(env.end() - 2);
  EXPECT_EQ(WaitExit(Spawn(env), absl::Seconds(10)), 2) << "bad QUESTIONS_FREE_QUOTA";
}

}  // namespace

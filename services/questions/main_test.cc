// The questions_server binary as operators run it: configured from the environment, health
// follows the database pool, a drain on SIGTERM exits 0, bad configuration exits 2.
#include <signal.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"

namespace {

using ::grpc::health::v1::HealthCheckResponse;
using suite::rpc::testing::FreeLoopbackPort;
using suite::rpc::testing::WaitExit;
using suite::rpc::testing::WaitForHealth;

// Starts questions_server with exactly `env`.
pid_t Spawn(const std::map<std::string, std::string>& env) {
  return suite::rpc::testing::SpawnServer("services/questions/questions_server", env);
}

std::map<std::string, std::string> BaseEnv(const std::string& database_url, int port) {
  return {{"DATABASE_URL", database_url},
          {"QUESTIONS_GRPC_ADDR", absl::StrCat("127.0.0.1:", port)},
          {"QUESTIONS_GRPC_HEALTH_INTERVAL", "100ms"},
          {"QUESTIONS_GRPC_DRAIN_TIMEOUT", "2s"},
          {"IDENTITY_ADDR", "127.0.0.1:1"},
          {"BILLING_ADDR", "127.0.0.1:1"},
          {"QUESTIONS_PAGE_TOKEN_SECRET", "0123456789abcdef0123"},
          {"QUESTIONS_FREE_QUOTA", "5"}};
}

TEST(QuestionsServerMainTest, ServesHealthFromTheDatabaseAndDrainsOnSigterm) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  const int port = FreeLoopbackPort();
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  pid_t pid = Spawn(BaseEnv((*db)->UrlAs("questions_service"), port));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitForHealth(addr, "", HealthCheckResponse::SERVING), HealthCheckResponse::SERVING);

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
  const int port = FreeLoopbackPort();
  pid_t pid = Spawn(BaseEnv("postgresql://questions_service@127.0.0.1:1/none", port));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitForHealth(absl::StrCat("127.0.0.1:", port), "", HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 0);
}

TEST(QuestionsServerMainTest, MissingOrBadConfigurationExitsWithCode2) {
  const int port = FreeLoopbackPort();
  for (const std::string& drop : std::vector<std::string>
       {"IDENTITY_ADDR", "BILLING_ADDR", "QUESTIONS_PAGE_TOKEN_SECRET", "DATABASE_URL"}) {
    std::map<std::string, std::string> env = BaseEnv("postgresql://x@127.0.0.1:1/none", port);
    ASSERT_EQ(env.erase(drop), 1u) << drop;
    EXPECT_EQ(WaitExit(Spawn(env), absl::Seconds(10)), 2) << "without " << drop;
  }
  std::map<std::string, std::string> env = BaseEnv("postgresql://x@127.0.0.1:1/none", port);
  env["QUESTIONS_FREE_QUOTA"] = "lots";
  EXPECT_EQ(WaitExit(Spawn(env), absl::Seconds(10)), 2) << "bad QUESTIONS_FREE_QUOTA";
}

}  // namespace

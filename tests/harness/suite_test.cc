// The harness itself: the whole suite comes up SERVING with the environment it promises, a
// replica restarts and is killed on its own, a replica that cannot start is reported with its
// exit status, and suite_up does the same from the command line (start, commands, EOF).
#include "tests/harness/suite.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"

namespace suite::harness {
namespace {

using grpc::health::v1::HealthCheckResponse;
using rpc::testing::WaitForHealth;

std::string LogsDir() {
  const char* dir = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  return dir != nullptr ? dir : "/tmp";
}

class SuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = db::testing::TestDatabase::CreateMigrated();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  SuiteOptions Options() {
    SuiteOptions options;
    options.database_url = [this](const std::string& role) { return db_->UrlAs(role); };
    options.logs_dir = LogsDir();
    options.env = {{"{SVC}_GRPC_HEALTH_INTERVAL", "100ms"}, {"{SVC}_GRPC_DRAIN_TIMEOUT", "2s"},
                   {"{SVC}_GRPC_LAME_DUCK", "0"}};
    return options;
  }
  std::unique_ptr<db::testing::TestDatabase> db_;
};

TEST_F(SuiteTest, EveryReplicaServesAndCallersAreGivenTheirPeers) {
  SuiteOptions options = Options();
  options.replicas = {{"identity", 2}, {"billing", 1}, {"questions", 1}};
  options.peers = Peers::kAllReplicas;
  options.metrics = true;
  Suite suite(options);
  ASSERT_TRUE(suite.Start().ok());
  for (const std::string& svc : Services()) {
    for (int i = 0; i < suite.replicas(svc); ++i) {
      EXPECT_EQ(WaitForHealth(suite.addr(svc, i), "", HealthCheckResponse::SERVING),
                HealthCheckResponse::SERVING)
          << svc << " " << i;
      EXPECT_GT(suite.ports(svc, i).metrics, 0);
    }
  }
  const std::string identities =
      absl::StrCat("ipv4:", suite.addr("identity", 0), ",", suite.addr("identity", 1));
  EXPECT_EQ(suite.Env("billing", 0).at("IDENTITY_ADDR"), identities);
  EXPECT_EQ(suite.Env("questions", 0).at("BILLING_ADDR"), suite.addr("billing", 0));
  EXPECT_EQ(suite.Env("questions", 0).at("QUESTIONS_LISTEN_HOST"), "127.0.0.1");
  EXPECT_EQ(suite.Env("identity", 1).at("IDENTITY_GRPC_HEALTH_INTERVAL"), "100ms");
  // The replicas of a service share their page-token secret.
  EXPECT_EQ(suite.Env("identity", 0).at("IDENTITY_PAGE_TOKEN_SECRET"),
            suite.Env("identity", 1).at("IDENTITY_PAGE_TOKEN_SECRET"));
  const std::map<std::string, int> codes = suite.StopAll();
  ASSERT_EQ(codes.size(), 4u);
  for (const auto& [name, code] : codes) EXPECT_EQ(code, 0) << name;
}

TEST_F(SuiteTest, OneReplicaRestartsAndIsKilledWhileTheOthersServe) {
  SuiteOptions options = Options();
  options.replicas = {{"identity", 2}};
  Suite suite(options);
  ASSERT_TRUE(suite.Start().ok());
  const pid_t before = suite.process("identity", 1).pid();
  absl::StatusOr<int> old = suite.Restart("identity", 1);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(*old, 0);  // SIGTERM: drained, exit 0
  EXPECT_NE(suite.process("identity", 1).pid(), before);
  EXPECT_EQ(WaitForHealth(suite.addr("identity", 1), "", HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);
  suite.Kill("identity", 1);
  EXPECT_FALSE(suite.process("identity", 1).Alive());
  EXPECT_EQ(suite.process("identity", 1).exit_code(), 128 + SIGKILL);
  EXPECT_TRUE(suite.process("identity", 0).Alive());
  EXPECT_EQ(suite.Stop("identity", 0), 0);
}

TEST_F(SuiteTest, AReplicaThatCannotStartIsReportedWithItsExitStatus) {
  SuiteOptions options = Options();
  options.replicas = {{"identity", 1}};
  // A bad setting stops the binary at start with exit code 2, naming the variable; a
  // service's own variables override those for every service.
  options.service_env["identity"]["IDENTITY_GRPC_DRAIN_TIMEOUT"] = "not a duration";
  Suite suite(options);
  absl::Status s = suite.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("exited with status 2"), absl::string_view::npos) << s;
  EXPECT_EQ(suite.StartReplica("identity", 3).code(), absl::StatusCode::kInvalidArgument);
}

// Reads one line of `in` as JSON, skipping the events a death prints.
nlohmann::json Reply(FILE* in) {
  char* line = nullptr;
  size_t cap = 0;
  nlohmann::json j;
  while (getline(&line, &cap, in) > 0) {
    j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("event") || j["event"] != "exited") break;
  }
  free(line);
  return j;
}

TEST_F(SuiteTest, SuiteUpStartsTheSuiteTakesCommandsAndStopsEverythingAtEndOfInput) {
  int to_child[2], from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const std::string url_template =
      absl::StrReplaceAll(db_->UrlAs("ROLE"), {{"ROLE", "{role}"}});
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    execl("tests/harness/suite_up", "suite_up", ("--database_url=" + url_template).c_str(),
          ("--logs_dir=" + LogsDir()).c_str(), "--replicas=identity=2,billing=1,questions=0",
          "--env={SVC}_GRPC_LAME_DUCK=0", "--env=identity:IDENTITY_GRPC_DRAIN_TIMEOUT=2s",
          nullptr);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  FILE* in = fdopen(from_child[0], "r");
  FILE* out = fdopen(to_child[1], "w");
  const nlohmann::json up = Reply(in);
  ASSERT_EQ(up.value("event", ""), "up") << up.dump();
  ASSERT_EQ(up["services"]["identity"].size(), 2u);
  ASSERT_EQ(up["services"]["questions"].size(), 0u);
  const std::string identity1 = up["services"]["identity"][1]["addr"];
  const int pid1 = up["services"]["identity"][1]["pid"];
  EXPECT_EQ(WaitForHealth(up["services"]["billing"][0]["addr"], "", HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);

  fputs("restart identity 1\n", out);
  fflush(out);
  nlohmann::json r = Reply(in);
  EXPECT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["old_exit_code"], 0);
  EXPECT_NE(r.value("pid", 0), pid1);
  EXPECT_EQ(WaitForHealth(identity1, "", HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);

  fputs("kill billing 0\n", out);
  fflush(out);
  r = Reply(in);
  EXPECT_TRUE(r.value("ok", false)) << r.dump();
  EXPECT_EQ(r["exit_code"], 128 + SIGKILL);

  fputs("restart questions 0\n", out);  // none configured
  fflush(out);
  r = Reply(in);
  EXPECT_FALSE(r.value("ok", true)) << r.dump();

  fputs(R"(["start", "billing", "0", "BILLING_GRPC_DRAIN_TIMEOUT=1s"])" "\n", out);
  fflush(out);
  r = Reply(in);
  EXPECT_TRUE(r.value("ok", false)) << r.dump();

  fclose(out);  // EOF: everything stops, drained
  r = Reply(in);
  EXPECT_EQ(r.value("event", ""), "down") << r.dump();
  for (const auto& [name, code] : r["exit_codes"].items()) EXPECT_EQ(code, 0) << name;
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(WaitForHealth(identity1, "", HealthCheckResponse::SERVING, absl::Seconds(1)),
            HealthCheckResponse::UNKNOWN);
  fclose(in);
}

}  // namespace
}  // namespace suite::harness

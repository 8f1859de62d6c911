// The schema guard of the three real server binaries on a real PostgreSQL: a build refuses to
// serve (health NOT_SERVING, one log line naming the file) on a database that lacks one of its
// migrations and serves once `migrate up` has run; a database AHEAD of the build by expand
// migrations (a new nullable column and an index built CONCURRENTLY, as a newer build would
// bring) is served normally, reads and writes included.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "shared/db/migrate/migrator.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/harness/suite.h"

namespace {

namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckResponse;
using suite::db::migrate::Migrator;
using suite::db::migrate::MigratorOptions;
using suite::db::testing::TestDatabase;
using suite::rpc::testing::WaitForHealth;

constexpr char kAdminEmail[] = "root@example.com";
constexpr char kAdminPassword[] = "the operator's long secret";

std::string OutputDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Every JSON line of `file` whose "event" is `event`.
std::vector<nlohmann::json> LogEvents(const std::string& file, const std::string& event) {
  std::ifstream in(file);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("event", "") == event) out.push_back(j);
  }
  return out;
}

std::unique_ptr<Migrator> NewMigrator(const TestDatabase& db, const std::string& dir) {
  MigratorOptions options;
  options.database_url = db.url_owner();
  options.migrations_dir = dir;
  auto migrator = Migrator::Create(options);
  EXPECT_TRUE(migrator.ok()) << migrator.status();
  return migrator.ok() ? std::move(*migrator) : nullptr;
}

// One server binary as deployed (tests/harness, the service alone), logging to its own file.
struct Server {
  std::string service;  // "identity", "billing", "questions"
  pid_t pid = -1;
  std::string log;
  std::unique_ptr<suite::harness::Suite> suite;

  std::string address() const { return suite->addr(service); }
  std::string grpc_service() const {
    if (service == "identity") return "identity.v1.IdentityService";
    if (service == "billing") return "billing.v1.BillingService";
    return "questions.v1.QuestionBankService";
  }
  int Stop() { return suite->Stop(service, 0, absl::Seconds(20)); }
};

// Starts `service` without waiting for SERVING (the guard may keep it NOT_SERVING); its log is
// <outputs>/<log_name>/<service>.log, fresh.
Server StartServer(const TestDatabase& db, const std::string& service,
                   const std::string& log_name) {
  Server s;
  s.service = service;
  suite::harness::SuiteOptions o = suite::harness::TestOptions(
      [&db](const std::string& role) { return db.UrlAs(role); }, kAdminEmail, kAdminPassword,
      "whsec_schema_guard");
  o.logs_dir = absl::StrCat(OutputDir(), "/", log_name);
  std::error_code ignored;
  fs::create_directories(o.logs_dir, ignored);
  s.log = absl::StrCat(o.logs_dir, "/", service, ".log");
  fs::remove(s.log, ignored);
  o.replicas = {{service, 1}};
  o.trusted_peers = "";
  o.env["{SVC}_GRPC_DRAIN_TIMEOUT"] = "1s";
  // Callers of other services: nothing listens there, which the guard does not care about.
  o.env["IDENTITY_ADDR"] = "127.0.0.1:1";
  o.env["BILLING_ADDR"] = "127.0.0.1:1";
  s.suite = std::make_unique<suite::harness::Suite>(o);
  if (s.suite->StartReplica(service, 0, {}, /*wait=*/false).ok()) {
    s.pid = s.suite->process(service).pid();
  }
  return s;
}

// Health of `server` stays `want` over `period` (asked every 100 ms).
bool StaysAt(const Server& server, HealthCheckResponse::ServingStatus want,
             absl::Duration period) {
  const absl::Time end = absl::Now() + period;
  while (absl::Now() < end) {
    if (WaitForHealth(server.address(), server.grpc_service(), want, absl::Seconds(1)) != want) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return true;
}

TEST(SchemaGuardTest, AServerIsNotServingUntilTheDatabaseHasEveryMigrationOfItsBuild) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<Migrator> migrator = NewMigrator(**db, "migrations");
  ASSERT_NE(migrator, nullptr);
  // The newest migration overall belongs to the last owner in apply order (questions): roll it
  // back, as a database the migration job has not yet reached would be.
  auto rolled_back = migrator->Down(1);
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.status();
  ASSERT_EQ(*rolled_back, 1);
  auto report = migrator->Status();
  ASSERT_TRUE(report.ok()) << report.status();
  std::string missing;
  for (const auto& m : report->migrations) {
    if (m.state == suite::db::migrate::MigrationState::kPending) {
      missing = absl::StrCat(m.owner, "/", m.version, "_", m.name);
    }
  }
  ASSERT_EQ(report->pending, 1) << report->ToString();
  ASSERT_EQ(missing.rfind("questions/", 0), 0u) << missing;

  Server questions = StartServer(**db, "questions", "questions_behind");
  ASSERT_GT(questions.pid, 0);
  EXPECT_EQ(WaitForHealth(questions.address(), questions.grpc_service(),
                          HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(WaitForHealth(questions.address(), "", HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  // Probed every 100 ms, it stays down, and says why in one line (not one per probe).
  EXPECT_TRUE(StaysAt(questions, HealthCheckResponse::NOT_SERVING, absl::Seconds(1)));
  std::vector<nlohmann::json> lines = LogEvents(questions.log, "schema.migration_missing");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value("severity", ""), "ERROR");
  EXPECT_EQ(lines[0].value("service", ""), "questions");
  EXPECT_EQ(lines[0].value("migration", ""), missing);
  EXPECT_EQ(lines[0]["missing"], nlohmann::json::array({missing}));

  // Another service of the same database has everything it needs and serves.
  Server identity = StartServer(**db, "identity", "identity_behind");
  ASSERT_GT(identity.pid, 0);
  EXPECT_EQ(WaitForHealth(identity.address(), identity.grpc_service(),
                          HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);
  EXPECT_TRUE(LogEvents(identity.log, "schema.migration_missing").empty());

  // The migration job runs: the waiting replica comes up by itself.
  auto applied = migrator->Up();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 1);
  EXPECT_EQ(WaitForHealth(questions.address(), questions.grpc_service(),
                          HealthCheckResponse::SERVING),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(LogEvents(questions.log, "schema.migrations_present").size(), 1u);

  EXPECT_EQ(questions.Stop(), 0);
  EXPECT_EQ(identity.Stop(), 0);
}

TEST(SchemaGuardTest, AServerWhoseRoleCannotReadTheHistoryIsNotServingAndSaysWhy) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  {
    pqxx::connection owner((*db)->url_owner());
    pqxx::work tx(owner);
    tx.exec0("REVOKE SELECT ON migrate.history FROM billing_service");
    tx.commit();
  }
  Server billing = StartServer(**db, "billing", "billing_no_grant");
  ASSERT_GT(billing.pid, 0);
  EXPECT_EQ(WaitForHealth(billing.address(), billing.grpc_service(),
                          HealthCheckResponse::NOT_SERVING),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(StaysAt(billing, HealthCheckResponse::NOT_SERVING, absl::Seconds(1)));
  std::vector<nlohmann::json> lines = LogEvents(billing.log, "schema.check_failed");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].value("status", "").find("PERMISSION_DENIED"), std::string::npos)
      << lines[0].dump();
  EXPECT_EQ(billing.Stop(), 0);
}

// A copy of the repository's migrations plus one expand migration per service owner, as the
// next build would ship them: a nullable column and an index built CONCURRENTLY.
std::string MigrationsWithNextBuildsExpand() {
  const fs::path dir = fs::path(OutputDir()) / "migrations_next";
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::copy("migrations", dir, fs::copy_options::recursive);
  const std::map<std::string, std::string> tables = {{"identity", "identity.users"},
                                                     {"billing", "billing.stripe_events"},
                                                     {"questions", "questions.questions"}};
  for (const auto& [owner, table] : tables) {
    const std::string index = absl::StrCat(owner, "_next_build_note_idx");
    std::ofstream(dir / owner / "29991231235900_add_next_build_note.sql")
        << "-- +migrate NoTransaction\n"
        << "-- +migrate Up\n"
        << "ALTER TABLE " << table << " ADD COLUMN IF NOT EXISTS next_build_note text;\n"
        << "CREATE INDEX CONCURRENTLY IF NOT EXISTS " << index << " ON " << table
        << " (next_build_note);\n"
        << "-- +migrate Down\n"
        << "DROP INDEX CONCURRENTLY IF EXISTS " << owner << "." << index << ";\n"
        << "ALTER TABLE " << table << " DROP COLUMN IF EXISTS next_build_note;\n";
  }
  return dir.string();
}

TEST(SchemaGuardTest, EveryServerServesADatabaseAheadByANewerBuildsExpandMigrations) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<Migrator> next = NewMigrator(**db, MigrationsWithNextBuildsExpand());
  ASSERT_NE(next, nullptr);
  auto applied = next->Up();
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(*applied, 3);

  std::vector<Server> servers;
  for (const std::string service : {"identity", "billing", "questions"}) {
    servers.push_back(StartServer(**db, service, service + "_ahead"));
    ASSERT_GT(servers.back().pid, 0);
  }
  for (Server& s : servers) {
    EXPECT_EQ(WaitForHealth(s.address(), s.grpc_service(), HealthCheckResponse::SERVING),
              HealthCheckResponse::SERVING)
        << s.service;
    EXPECT_TRUE(StaysAt(s, HealthCheckResponse::SERVING, absl::Milliseconds(500))) << s.service;
    EXPECT_TRUE(LogEvents(s.log, "schema.migration_missing").empty()) << s.service;
    std::vector<nlohmann::json> ahead = LogEvents(s.log, "schema.ahead");
    ASSERT_EQ(ahead.size(), 1u) << s.service;
    EXPECT_EQ(ahead[0]["unknown"],
              nlohmann::json::array({s.service + "/29991231235900_add_next_build_note"}));
  }

  // The old code wrote to the widened table (the bootstrap admin is a row of identity.users,
  // inserted at start) and reads it back: a login finds the user and writes a session.
  EXPECT_EQ(LogEvents(servers[0].log, "bootstrap_admin.created").size(), 1u);
  auto identity = identity::v1::IdentityService::NewStub(
      grpc::CreateChannel(servers[0].address(), grpc::InsecureChannelCredentials()));
  identity::v1::LoginRequest login;
  login.set_email(kAdminEmail);
  login.set_password(kAdminPassword);
  identity::v1::LoginResponse session;
  grpc::ClientContext c1;
  c1.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  grpc::Status s = identity->Login(&c1, login, &session);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  identity::v1::ValidateSessionRequest validate;
  validate.set_session_token(session.session_token());
  identity::v1::ValidateSessionResponse who;
  grpc::ClientContext c2;
  c2.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  s = identity->ValidateSession(&c2, validate, &who);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();

  for (Server& server : servers) EXPECT_EQ(server.Stop(), 0) << server.service;
}

}  // namespace

// A rolling upgrade of the whole suite under load, with zero failed calls: two replicas of each
// service (real binaries) on one PostgreSQL, a steady load of writes and reads on all three,
// and every replica in turn replaced (SIGTERM -> lame duck -> drain -> a new process on the
// same port) while a newer build's expand migration (a nullable column and an index built
// CONCURRENTLY, test-only) runs. Clients and the services' own channels balance over both
// replicas and watch health (rpc/tls.h kReplicatedServiceConfig). Prints the counts.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/billing/domain/stripe_signature.h"
#include "shared/db/migrate/migrator.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/server/tls.h"
#include "shared/rpc/testing/server_process.h"
#include "tests/harness/suite.h"

namespace {

namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckResponse;
using suite::db::testing::TestDatabase;
using suite::rpc::testing::WaitForHealth;

constexpr char kAdminEmail[] = "root@example.com";
constexpr char kAdminPassword[] = "the operator's long secret";
constexpr char kWebhookSecret[] = "whsec_rolling";

std::string OutputDir() {
  const char* dir = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir == nullptr) dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// "ipv4:127.0.0.1:P1,127.0.0.1:P2": both replicas, as a headless Service resolves.
std::string Target(const std::vector<int>& ports) {
  std::string t = "ipv4:";
  for (size_t i = 0; i < ports.size(); ++i) {
    absl::StrAppend(&t, i > 0 ? "," : "", "127.0.0.1:", ports[i]);
  }
  return t;
}

std::shared_ptr<grpc::Channel> BalancedChannel(const std::vector<int>& ports) {
  auto channel = suite::rpc::MakeChannel(Target(ports), suite::rpc::ClientTlsConfig());
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

// Two replicas of each service (tests/harness), each caller balancing over both replicas of
// what it calls, restartable one at a time.
class Replicas {
 public:
  explicit Replicas(const TestDatabase& db) {
    suite::harness::SuiteOptions o = suite::harness::TestOptions(
        [&db](const std::string& role) { return db.UrlAs(role); }, kAdminEmail, kAdminPassword,
        kWebhookSecret);
    o.logs_dir = OutputDir();
    o.replicas = {{"identity", 2}, {"billing", 2}, {"questions", 2}};
    o.peers = suite::harness::Peers::kAllReplicas;
    o.trusted_peers = "";
    o.serving_timeout = absl::Seconds(30);
    // Clients see NOT_SERVING through their health watch within milliseconds; a second covers
    // a loaded machine. The drain then finds nothing new arriving.
    o.env["{SVC}_GRPC_LAME_DUCK"] = "1s";
    o.env["{SVC}_GRPC_DRAIN_TIMEOUT"] = "5s";
    o.service_env["questions"] = {{"QUESTIONS_FREE_QUOTA", "0"}};
    suite_ = std::make_unique<suite::harness::Suite>(o);
    started_ = suite_->Start();
    for (const std::string service : {"identity", "billing", "questions"}) {
      for (int r = 0; r < 2; ++r) ports_[service].push_back(suite_->ports(service, r).grpc);
    }
  }

  const std::vector<int>& ports(const std::string& service) { return ports_[service]; }

  bool WaitServing(const std::string& service, int r) {
    return started_.ok() &&
           WaitForHealth(absl::StrCat("127.0.0.1:", ports_[service][r]), "",
                         HealthCheckResponse::SERVING, absl::Seconds(30)) ==
               HealthCheckResponse::SERVING;
  }

  // Replace: SIGTERM (lame duck, drain, exit 0), then the new process on the same port, until
  // it is SERVING. Returns the old process's exit code (-2: the new one did not serve).
  int Replace(const std::string& service, int r) {
    absl::StatusOr<int> code = suite_->Restart(service, r, {}, absl::Seconds(30));
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -2;
  }

 private:
  std::unique_ptr<suite::harness::Suite> suite_;
  absl::Status started_;
  std::map<std::string, std::vector<int>> ports_;
};

struct Counts {
  int calls = 0;
  int ok = 0;
  std::map<grpc::StatusCode, int> failed;
  std::vector<std::string> failures;  // the first few, for the report
};

// Steady writes and reads on the three services, every outcome counted and every
// acknowledged write remembered.
class Load {
 public:
  Load(const std::vector<int>& identity, const std::vector<int>& billing,
       const std::vector<int>& questions, std::string admin_token)
      : identity_(::identity::v1::IdentityService::NewStub(BalancedChannel(identity))),
        billing_(::billing::v1::BillingService::NewStub(BalancedChannel(billing))),
        questions_(::questions::v1::QuestionBankService::NewStub(BalancedChannel(questions))),
        token_(std::move(admin_token)) {}
  ~Load() { Stop(); }

  void Start() {
    running_ = true;
    threads_.emplace_back([this] { Loop([this](int n) { IdentityStep(n); }); });
    threads_.emplace_back([this] { Loop([this](int n) { BillingStep(n); }); });
    threads_.emplace_back([this] { Loop([this](int n) { QuestionsStep(n); }); });
  }
  void Stop() {
    running_ = false;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::map<std::string, Counts> counts() {
    absl::MutexLock lock(&mu_);
    return counts_;
  }
  std::vector<std::string> acknowledged(const std::string& what) {
    absl::MutexLock lock(&mu_);
    return acknowledged_[what];
  }

 private:
  void Loop(const std::function<void(int)>& step) {
    for (int n = 0; running_; ++n) {
      step(n);
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  void Record(const std::string& rpc, const grpc::Status& s) {
    absl::MutexLock lock(&mu_);
    Counts& c = counts_[rpc];
    ++c.calls;
    if (s.ok()) {
      ++c.ok;
    } else {
      ++c.failed[s.error_code()];
      if (c.failures.size() < 5) {
        c.failures.push_back(absl::StrCat(s.error_code(), " ", s.error_message()));
      }
    }
  }
  void Acknowledge(const std::string& what, const std::string& id) {
    absl::MutexLock lock(&mu_);
    acknowledged_[what].push_back(id);
  }

  static void Deadline(grpc::ClientContext* ctx) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  }

  void IdentityStep(int n) {
    ::identity::v1::CreateUserRequest req;
    req.set_email(absl::StrCat("roll-", n, "-", absl::ToUnixMicros(absl::Now()), "@example.com"));
    req.set_password("correct horse battery staple");
    ::identity::v1::CreateUserResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status s = identity_->CreateUser(&ctx, req, &resp);
    Record("identity.CreateUser", s);
    if (s.ok()) Acknowledge("users", resp.user().user_id());
    ::identity::v1::ValidateSessionRequest validate;
    validate.set_session_token(token_);
    ::identity::v1::ValidateSessionResponse who;
    grpc::ClientContext ctx2;
    Deadline(&ctx2);
    Record("identity.ValidateSession", identity_->ValidateSession(&ctx2, validate, &who));
  }

  void BillingStep(int n) {
    const std::string event_id =
        absl::StrCat("evt_roll_", n, "_", absl::ToUnixMicros(absl::Now()));
    const std::string payload = absl::StrCat(
        R"({"id":")", event_id, R"(","object":"event","type":"customer.created",)",
        R"("created":1700000000,"livemode":false,"api_version":"2024-06-20",)",
        R"("data":{"object":{"id":"cus_)", event_id, R"(","object":"customer"}}})");
    const int64_t t = absl::ToUnixSeconds(absl::Now());
    ::billing::v1::IngestStripeEventRequest req;
    req.set_payload(payload);
    req.set_stripe_signature(absl::StrCat(
        "t=", t, ",v1=", ::suite::billing::ComputeStripeSignature(kWebhookSecret, t, payload)));
    ::billing::v1::IngestStripeEventResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status s = billing_->IngestStripeEvent(&ctx, req, &resp);
    Record("billing.IngestStripeEvent", s);
    if (s.ok()) Acknowledge("stripe_events", event_id);
    ::billing::v1::ListStripeEventsRequest list;
    list.set_page_size(5);
    ::billing::v1::ListStripeEventsResponse events;
    grpc::ClientContext ctx2;
    Deadline(&ctx2);
    ctx2.AddMetadata("authorization", "Bearer " + token_);
    Record("billing.ListStripeEvents", billing_->ListStripeEvents(&ctx2, list, &events));
  }

  void QuestionsStep(int n) {
    ::questions::v1::CreateQuestionRequest req;
    req.set_stem(absl::StrCat("Rolling question ", n, "?"));
    req.set_difficulty(::questions::v1::QUESTION_DIFFICULTY_EASY);
    auto* a = req.add_choices();
    a->set_text("yes");
    a->set_is_correct(true);
    req.add_choices()->set_text("no");
    ::questions::v1::CreateQuestionResponse resp;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ctx.AddMetadata("authorization", "Bearer " + token_);
    grpc::Status s = questions_->CreateQuestion(&ctx, req, &resp);
    Record("questions.CreateQuestion", s);
    if (!s.ok()) return;
    Acknowledge("questions", resp.question().id());
    ::questions::v1::GetQuestionRequest get;
    get.set_question_id(resp.question().id());
    ::questions::v1::GetQuestionResponse got;
    grpc::ClientContext ctx2;
    Deadline(&ctx2);
    ctx2.AddMetadata("authorization", "Bearer " + token_);
    Record("questions.GetQuestion", questions_->GetQuestion(&ctx2, get, &got));
  }

  std::unique_ptr<::identity::v1::IdentityService::Stub> identity_;
  std::unique_ptr<::billing::v1::BillingService::Stub> billing_;
  std::unique_ptr<::questions::v1::QuestionBankService::Stub> questions_;
  const std::string token_;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::map<std::string, Counts> counts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> acknowledged_ ABSL_GUARDED_BY(mu_);
};

// The repository's migrations plus the next build's expand migration for each service owner:
// a nullable column, then an index built CONCURRENTLY (not a file of migrations/).
std::string MigrationsWithExpand() {
  const fs::path dir = fs::path(OutputDir()) / "migrations_expand";
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::copy("migrations", dir, fs::copy_options::recursive);
  const std::map<std::string, std::string> tables = {{"identity", "identity.users"},
                                                     {"billing", "billing.stripe_events"},
                                                     {"questions", "questions.questions"}};
  for (const auto& [owner, table] : tables) {
    const std::string index = absl::StrCat(owner, "_rolling_note_idx");
    std::ofstream(dir / owner / "29991231235900_add_rolling_note.sql")
        << "-- +migrate NoTransaction\n-- +migrate Up\n"
        << "ALTER TABLE " << table << " ADD COLUMN IF NOT EXISTS rolling_note text;\n"
        << "CREATE INDEX CONCURRENTLY IF NOT EXISTS " << index << " ON " << table
        << " (rolling_note);\n"
        << "-- +migrate Down\n"
        << "DROP INDEX CONCURRENTLY IF EXISTS " << owner << "." << index << ";\n"
        << "ALTER TABLE " << table << " DROP COLUMN IF EXISTS rolling_note;\n";
  }
  return dir.string();
}

std::string AdminToken(const std::vector<int>& identity_ports) {
  auto stub = ::identity::v1::IdentityService::NewStub(BalancedChannel(identity_ports));
  ::identity::v1::LoginRequest req;
  req.set_email(kAdminEmail);
  req.set_password(kAdminPassword);
  ::identity::v1::LoginResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  grpc::Status s = stub->Login(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.session_token();
}

TEST(RollingUpgradeTest, EveryReplicaReplacedUnderLoadDuringAnExpandMigrationFailsNoCall) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  Replicas replicas(**db);
  for (const std::string service : {"identity", "billing", "questions"}) {
    for (int r = 0; r < 2; ++r) ASSERT_TRUE(replicas.WaitServing(service, r)) << service << r;
  }
  Load load(replicas.ports("identity"), replicas.ports("billing"), replicas.ports("questions"),
            AdminToken(replicas.ports("identity")));
  load.Start();
  absl::SleepFor(absl::Seconds(2));

  std::thread migration;
  absl::Status migrated = absl::UnknownError("not run");
  int replaced = 0;
  for (const std::string service : {"identity", "billing", "questions"}) {
    for (int r = 0; r < 2; ++r) {
      if (service == "billing" && r == 0) {
        // The expand migration runs while the next replicas are replaced.
        migration = std::thread([&] {
          suite::db::migrate::MigratorOptions options;
          options.database_url = (*db)->url_owner();
          options.migrations_dir = MigrationsWithExpand();
          auto migrator = suite::db::migrate::Migrator::Create(options);
          migrated = migrator.ok() ? (*migrator)->Up().status() : migrator.status();
        });
      }
      EXPECT_EQ(replicas.Replace(service, r), 0) << service << " replica " << r;
      ASSERT_TRUE(replicas.WaitServing(service, r)) << service << " replica " << r;
      ++replaced;
      // Every client reconnects to the new process before its twin goes.
      absl::SleepFor(absl::Seconds(2));
    }
  }
  migration.join();
  load.Stop();
  EXPECT_TRUE(migrated.ok()) << migrated;

  int total = 0;
  int failed = 0;
  int cancelled = 0;
  std::printf("rolling upgrade: %d replicas replaced\n", replaced);
  for (const auto& [rpc, c] : load.counts()) {
    int f = c.calls - c.ok;
    total += c.calls;
    failed += f;
    auto it = c.failed.find(grpc::StatusCode::CANCELLED);
    if (it != c.failed.end()) cancelled += it->second;
    std::printf("  %-28s calls %5d  ok %5d  failed %d\n", rpc.c_str(), c.calls, c.ok, f);
    for (const std::string& failure : c.failures) std::printf("    %s\n", failure.c_str());
  }

  // Every acknowledged write is in the database.
  pqxx::connection admin((*db)->url());
  pqxx::nontransaction tx(admin);
  const std::map<std::string, std::string> lookups = {
      {"users", "SELECT count(*) FROM identity.users WHERE id = $1::uuid"},
      {"stripe_events", "SELECT count(*) FROM billing.stripe_events WHERE stripe_event_id = $1"},
      {"questions", "SELECT count(*) FROM questions.questions WHERE id = $1::uuid"}};
  int acknowledged = 0;
  int lost = 0;
  for (const auto& [what, sql] : lookups) {
    for (const std::string& id : load.acknowledged(what)) {
      ++acknowledged;
      if (tx.exec_params1(sql, id)[0].as<int>() != 1) ++lost;
    }
  }
  std::printf("  total calls %d, failed %d, cancelled %d; acknowledged writes %d, lost %d\n",
              total, failed, cancelled, acknowledged, lost);
  EXPECT_GT(total, 100);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(cancelled, 0);
  EXPECT_GT(acknowledged, 30);
  EXPECT_EQ(lost, 0);
  // The expand migration is in place, and the old build served on it.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM migrate.history WHERE version = 29991231235900")[0]
                .as<int>(),
            3);
}

}  // namespace

// The migrator against a real PostgreSQL, with migration trees written by each test.
#include "shared/db/migrate/migrator.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/base/sha256.h"
#include "shared/db/migrate/parser.h"
#include "shared/db/testing/test_database.h"

namespace suite::db::migrate {
namespace {

namespace fs = std::filesystem;
using ::suite::db::testing::TestDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh directory for one test's migration tree.
std::string NewTree() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") /
                       absl::StrCat("tree_", getpid(), "_", counter.fetch_add(1));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void Write(const std::string& tree, const std::string& rel, const std::string& contents) {
  const fs::path path = fs::path(tree) / rel;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::string Migration(const std::string& up, const std::string& down) {
  return absl::StrCat("-- +migrate Up\n", up, "\n-- +migrate Down\n", down, "\n");
}

std::string Table(const std::string& name) {
  return Migration(absl::StrCat("CREATE TABLE ", name, " (id int PRIMARY KEY);"),
                   absl::StrCat("DROP TABLE ", name, ";"));
}

struct Fixture {
  std::unique_ptr<TestDatabase> db;
  std::string tree;
  std::vector<std::string> log;
  absl::Mutex mu;

  std::unique_ptr<Migrator> Make(absl::Duration lock_timeout = absl::Seconds(30)) {
    MigratorOptions options;
    options.database_url = db->url();
    options.migrations_dir = tree;
    options.lock_timeout = lock_timeout;
    options.lock_poll_interval = absl::Milliseconds(20);
    options.log = [this](absl::string_view line) {
      absl::MutexLock lock(&mu);
      log.emplace_back(line);
    };
    auto migrator = Migrator::Create(options);
    EXPECT_TRUE(migrator.ok()) << migrator.status();
    return migrator.ok() ? *std::move(migrator) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db->url());
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int64_t>();
  }

  bool Exists(const std::string& relation) {
    pqxx::connection conn(db->url());
    pqxx::nontransaction tx(conn);
    return !tx.exec_params1("SELECT to_regclass($1) IS NULL", relation)[0].as<bool>();
  }

  // Only the owner/version part of each log line ("applied core/2024..._x (3 ms)").
  std::vector<std::string> Logged() {
    absl::MutexLock lock(&mu);
    std::vector<std::string> out;
    for (const std::string& line : log) out.push_back(line.substr(0, line.find(" (")));
    log.clear();
    return out;
  }
};

std::unique_ptr<Fixture> NewFixture() {
  auto f = std::make_unique<Fixture>();
  auto db = TestDatabase::CreateEmpty();
  EXPECT_TRUE(db.ok()) << db.status();
  if (db.ok()) f->db = *std::move(db);
  f->tree = NewTree();
  return f;
}

TEST(MigratorTest, UpAppliesCoreFirstThenOwnersAlphabeticallyAndRecordsChecksums) {
  auto f = NewFixture();
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  Write(f->tree, "alpha/20240301000000_create_alpha_more.sql", Table("alpha_more"));
  Write(f->tree, "alpha/20240201000000_create_alpha_things.sql", Table("alpha_things"));
  Write(f->tree, "core/20240501000000_create_core_things.sql", Table("core_things"));
  Write(f->tree, "alpha/BUILD", "# not a migration: ignored\n");
  auto m = f->Make();
  ASSERT_NE(m, nullptr);

  auto applied = m->Up();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 4);
  EXPECT_THAT(f->Logged(), ElementsAre("applied core/20240501000000_create_core_things",
                                       "applied alpha/20240201000000_create_alpha_things",
                                       "applied alpha/20240301000000_create_alpha_more",
                                       "applied beta/20240101000000_create_beta_things"));
  EXPECT_TRUE(f->Exists("alpha_more"));
  EXPECT_EQ(f->Count(absl::StrCat("SELECT count(*) FROM migrate.history WHERE owner = 'beta' "
                                  "AND version = 20240101000000 AND name = "
                                  "'create_beta_things' AND checksum = '",
                                  Sha256Hex(Table("beta_things")), "' AND execution_ms >= 0")),
            1);

  auto again = m->Up();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 4);
}

TEST(MigratorTest, StatusReportsPendingBeforeAndCleanAfterUp) {
  auto f = NewFixture();
  Write(f->tree, "core/20240101000000_create_core_things.sql", Table("core_things"));
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  auto m = f->Make();
  ASSERT_NE(m, nullptr);

  auto before = m->Status();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->pending, 2);
  EXPECT_FALSE(before->Clean());
  EXPECT_FALSE(f->Exists("migrate.history")) << "status must not change the database";

  ASSERT_TRUE(m->Up().ok());
  auto after = m->Status();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->Clean());
  EXPECT_EQ(after->applied, 2);
  ASSERT_EQ(after->migrations.size(), 2u);
  EXPECT_EQ(after->migrations[0].owner, "core");
  EXPECT_EQ(after->migrations[0].state, MigrationState::kApplied);
  EXPECT_FALSE(after->migrations[0].applied_at.empty());
  EXPECT_THAT(after->ToString(), HasSubstr("applied  core/20240101000000_create_core_things  ("));
  EXPECT_THAT(after->ToString(), HasSubstr("2 applied, 0 pending, 0 problems"));
}

TEST(MigratorTest, AnEditedAppliedFileIsRefused) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  ASSERT_TRUE(f->Make()->Up().ok());
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql",
        Table("alpha_things") + "-- a harmless-looking edit\n");
  Write(f->tree, "alpha/20240201000000_create_alpha_more.sql", Table("alpha_more"));
  auto m = f->Make();
  ASSERT_NE(m, nullptr);

  auto status = m->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->problems, 1);
  EXPECT_EQ(status->migrations[0].state, MigrationState::kProblem);
  EXPECT_THAT(status->migrations[0].problem, HasSubstr("changed after it was applied"));

  auto up = m->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(up.status().message()),
              HasSubstr("20240101000000_create_alpha_things.sql changed after it was applied"));
  EXPECT_FALSE(f->Exists("alpha_more")) << "nothing may be applied while a problem stands";
}

TEST(MigratorTest, DownRefusesToRollBackAnEditedFile) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  ASSERT_TRUE(f->Make()->Up().ok());
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql",
        Migration("CREATE TABLE alpha_things (id int PRIMARY KEY);", "SELECT 1;"));
  auto down = f->Make()->Down(1);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(down.status().message()), HasSubstr("changed after it was applied"));
  EXPECT_TRUE(f->Exists("alpha_things"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 1);
}

TEST(MigratorTest, AnAppliedVersionWithoutFileIsRefused) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  Write(f->tree, "alpha/20240201000000_create_alpha_more.sql", Table("alpha_more"));
  ASSERT_TRUE(f->Make()->Up().ok());
  fs::remove(fs::path(f->tree) / "alpha/20240201000000_create_alpha_more.sql");
  auto m = f->Make();
  ASSERT_NE(m, nullptr);

  auto status = m->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->problems, 1);
  EXPECT_THAT(status->ToString(),
              HasSubstr("alpha/20240201000000_create_alpha_more is recorded as applied but no "
                        "file has this version"));
  EXPECT_EQ(m->Up().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->Down(1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(f->Exists("alpha_more"));
}

TEST(MigratorTest, APendingFileOlderThanTheNewestAppliedIsRefused) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240201000000_create_alpha_things.sql", Table("alpha_things"));
  ASSERT_TRUE(f->Make()->Up().ok());
  Write(f->tree, "alpha/20240101000000_create_alpha_older.sql", Table("alpha_older"));
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  auto m = f->Make();
  ASSERT_NE(m, nullptr);

  auto up = m->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(up.status().message()),
              HasSubstr("20240101000000_create_alpha_older.sql is pending but older than "
                        "alpha/20240201000000"));
  EXPECT_FALSE(f->Exists("alpha_older"));
  EXPECT_FALSE(f->Exists("beta_things")) << "nothing may be applied while a problem stands";
  auto status = m->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->problems, 1);
  EXPECT_EQ(status->pending, 1);
}

TEST(MigratorTest, AFailingMigrationLeavesNoTraceAndTheCorrectedRunSucceeds) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  const std::string broken =
      "-- +migrate Up\n"                                          // 1
      "CREATE TABLE alpha_partial (id int);\n"                    // 2
      "INSERT INTO alpha_things VALUES (1);\n"                    // 3
      "CREATE INDEX alpha_partial_idx\n"                          // 4
      "  ON alpha_partial (no_such_column);\n"                    // 5
      "-- +migrate Down\n"                                        // 6
      "DROP TABLE alpha_partial;\n";
  Write(f->tree, "alpha/20240201000000_create_alpha_partial.sql", broken);
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  auto up = f->Make()->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kInternal);  // 42703 undefined_column
  EXPECT_THAT(std::string(up.status().message()),
              HasSubstr("alpha/20240201000000_create_alpha_partial.sql:4: "));
  EXPECT_THAT(std::string(up.status().message()), HasSubstr("no_such_column"));
  // The earlier migration stays; the failed one left nothing; later ones did not run.
  EXPECT_TRUE(f->Exists("alpha_things"));
  EXPECT_FALSE(f->Exists("alpha_partial"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM alpha_things"), 0);
  EXPECT_FALSE(f->Exists("beta_things"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 1);

  std::string fixed = broken;
  fixed.replace(fixed.find("no_such_column"), 14, "id");
  Write(f->tree, "alpha/20240201000000_create_alpha_partial.sql", fixed);
  auto rerun = f->Make()->Up();
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(*rerun, 2);
  EXPECT_EQ(f->Count("SELECT count(*) FROM alpha_things"), 1);
  EXPECT_TRUE(f->Exists("alpha_partial_idx"));
  EXPECT_TRUE(f->Exists("beta_things"));
}

TEST(MigratorTest, BadNamesAndMalformedFilesAreRefusedBeforeAnythingIsApplied) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  Write(f->tree, "alpha/20240102000000_Create_alpha_bad.sql", Table("alpha_bad"));
  Write(f->tree, "beta/20240101000000_create_beta_things.sql",
        "-- +migrate Up\nCREATE TABLE beta_things (id int);\n-- +migrate Sideways\n");
  Write(f->tree, "beta/20240101000000_create_beta_twice.sql", Table("beta_twice"));
  Write(f->tree, "Gamma/20240101000000_create_gamma_things.sql", Table("gamma_things"));
  MigratorOptions options;
  options.database_url = f->db->url();
  options.migrations_dir = f->tree;
  auto m = Migrator::Create(options);
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(m.status().message());
  EXPECT_THAT(message, HasSubstr("alpha/20240102000000_Create_alpha_bad.sql:1: bad migration "
                                 "file name"));
  EXPECT_THAT(message, HasSubstr("beta/20240101000000_create_beta_things.sql:3: unknown marker"));
  EXPECT_THAT(message, HasSubstr("Gamma/20240101000000_create_gamma_things.sql:1: bad owner"));
  EXPECT_FALSE(f->Exists("alpha_things"));
  EXPECT_FALSE(f->Exists("migrate.history"));

  // Duplicate versions within one owner are refused too (once the other files are fine).
  fs::remove_all(fs::path(f->tree) / "Gamma");
  fs::remove(fs::path(f->tree) / "alpha/20240102000000_Create_alpha_bad.sql");
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  auto dup = Migrator::Create(options);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dup.status().message()),
              HasSubstr("version 20240101000000 is already used by"));
  options.migrations_dir = f->tree + "/missing";
  EXPECT_EQ(Migrator::Create(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(MigratorTest, DownRollsBackNewestFirstAcrossOwnersInReverseOrder) {
  auto f = NewFixture();
  Write(f->tree, "core/20240601000000_create_core_things.sql", Table("core_things"));
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  Write(f->tree, "alpha/20240201000000_create_alpha_more.sql", Table("alpha_more"));
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  auto m = f->Make();
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Up().ok());
  f->Logged();

  EXPECT_EQ(m->Down(0).status().code(), absl::StatusCode::kInvalidArgument);
  auto two = m->Down(2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, 2);
  EXPECT_THAT(f->Logged(), ElementsAre("rolled back beta/20240101000000_create_beta_things",
                                       "rolled back alpha/20240201000000_create_alpha_more"));
  EXPECT_FALSE(f->Exists("beta_things"));
  EXPECT_FALSE(f->Exists("alpha_more"));
  EXPECT_TRUE(f->Exists("alpha_things"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 2);

  auto rest = m->Down(10);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, 2);
  EXPECT_FALSE(f->Exists("core_things"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 0);
  auto none = m->Down(1);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
}

// Two runners started together (as several pods would be): the second waits for the lock,
// then finds everything applied. The INSERT proves the file ran once.
TEST(MigratorTest, TwoConcurrentRunnersApplyEachFileOnce) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_runs.sql",
        Migration("CREATE TABLE alpha_runs (n int);", "DROP TABLE alpha_runs;"));
  Write(f->tree, "alpha/20240201000000_insert_alpha_run.sql",
        Migration("INSERT INTO alpha_runs VALUES (1);\nSELECT pg_sleep(0.3);",
                  "DELETE FROM alpha_runs;"));
  Write(f->tree, "beta/20240101000000_create_beta_things.sql", Table("beta_things"));
  auto first = f->Make();
  auto second = f->Make();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);

  absl::StatusOr<int> a = 0, b = 0;
  std::thread ta([&] { a = first->Up(); });
  std::thread tb([&] { b = second->Up(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a + *b, 3);
  EXPECT_TRUE(*a == 0 || *b == 0) << "one runner applies everything, the other nothing";
  EXPECT_EQ(f->Count("SELECT count(*) FROM alpha_runs"), 1);
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 3);
}

// A NoTransaction CREATE INDEX CONCURRENTLY waits for every transaction holding a snapshot.
// A second runner polling for the lock holds none, so the build completes while it waits.
TEST(MigratorTest, ConcurrentIndexBuildCompletesWhileAnotherRunnerWaits) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_items.sql",
        Migration("CREATE TABLE alpha_items (id int);\n"
                  "INSERT INTO alpha_items SELECT generate_series(1, 1000);",
                  "DROP TABLE alpha_items;"));
  Write(f->tree, "alpha/20240201000000_add_alpha_items_index.sql",
        "-- +migrate Up\n"
        "-- +migrate NoTransaction\n"
        "SELECT pg_sleep(0.5);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS alpha_items_id_idx ON alpha_items (id);\n"
        "-- +migrate Down\n"
        "DROP INDEX CONCURRENTLY IF EXISTS alpha_items_id_idx;\n");
  auto first = f->Make(absl::Seconds(20));
  auto second = f->Make(absl::Seconds(20));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);

  absl::StatusOr<int> a = 0, b = 0;
  std::thread ta([&] { a = first->Up(); });
  absl::SleepFor(absl::Milliseconds(150));  // `first` holds the lock and sleeps before CIC
  std::thread tb([&] { b = second->Up(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, 2);
  EXPECT_EQ(*b, 0) << "the second runner waited, then found everything applied";
  EXPECT_EQ(f->Count("SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid = "
                     "'alpha_items_id_idx'::regclass"),
            1);
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 2);

  // Its Down runs outside a transaction too (DROP INDEX CONCURRENTLY requires it).
  auto down = first->Down(1);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_FALSE(f->Exists("alpha_items_id_idx"));
}

// A NoTransaction file keeps what ran before its failing statement and has no history row;
// written idempotently, the corrected file completes on the next run.
TEST(MigratorTest, AFailedNoTransactionFileIsFinishedByTheNextRun) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_items.sql",
        Migration("CREATE TABLE alpha_items (id int, code text);", "DROP TABLE alpha_items;"));
  const std::string broken =
      "-- +migrate Up\n"
      "-- +migrate NoTransaction\n"
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS alpha_items_id_idx ON alpha_items (id);\n"
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS alpha_items_code_idx ON alpha_items (kode);\n"
      "-- +migrate Down\n"
      "DROP INDEX CONCURRENTLY IF EXISTS alpha_items_code_idx;\n"
      "DROP INDEX CONCURRENTLY IF EXISTS alpha_items_id_idx;\n";
  Write(f->tree, "alpha/20240201000000_add_alpha_items_indexes.sql", broken);
  auto up = f->Make()->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(up.status().message()),
              HasSubstr("20240201000000_add_alpha_items_indexes.sql:4: "));
  EXPECT_TRUE(f->Exists("alpha_items_id_idx"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 1);

  std::string fixed = broken;
  fixed.replace(fixed.find("(kode)"), 6, "(code)");
  Write(f->tree, "alpha/20240201000000_add_alpha_items_indexes.sql", fixed);
  auto rerun = f->Make()->Up();
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  EXPECT_EQ(*rerun, 1);
  EXPECT_TRUE(f->Exists("alpha_items_code_idx"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 2);
}

TEST(MigratorTest, UpGivesUpWithDeadlineExceededWhileAnotherRunnerHoldsTheLock) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  pqxx::connection holder(f->db->url());
  {
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_lock($1)", Migrator::kAdvisoryLockKey);
  }
  auto m = f->Make(absl::Milliseconds(300));
  ASSERT_NE(m, nullptr);
  auto up = m->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(f->Exists("alpha_things"));
}

// If the lock's connection dies, the server has released the lock and another runner may
// start: this runner must not commit what it was applying. Only this test's database: the tests
// run in parallel on one cluster, and other processes hold advisory locks of their own there (a
// migrator, the test template's builder), whose connections must not be killed from here.
TEST(MigratorTest, ALostLockStopsTheRunnerBeforeItCommits) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql",
        Migration("CREATE TABLE alpha_things (id int);\n"
                  "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks\n"
                  " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()\n"
                  "   AND database = (SELECT oid FROM pg_database\n"
                  "                    WHERE datname = current_database());",
                  "DROP TABLE alpha_things;"));
  // Stands for another test process: its lock, in its own database, must survive.
  auto other = NewFixture();
  pqxx::connection bystander(other->db->url());
  pqxx::nontransaction(bystander).exec_params("SELECT pg_advisory_lock($1)",
                                              Migrator::kAdvisoryLockKey);

  auto up = f->Make()->Up();
  EXPECT_EQ(up.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(up.status().message()), HasSubstr("lost the migration lock"));
  EXPECT_FALSE(f->Exists("alpha_things"));
  EXPECT_EQ(f->Count("SELECT count(*) FROM migrate.history"), 0);
  EXPECT_NO_THROW(pqxx::nontransaction(bystander).exec1("SELECT 1"));
}

TEST(MigratorTest, VerifyReportsAnOwnerWithoutDeclaredSchema) {
  auto f = NewFixture();
  Write(f->tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  auto m = f->Make();
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Up().ok());
  auto diffs = m->Verify({});
  ASSERT_TRUE(diffs.ok()) << diffs.status();
  ASSERT_EQ(diffs->size(), 1u);
  EXPECT_EQ((*diffs)[0].owner, "alpha");
  ASSERT_EQ((*diffs)[0].differences.size(), 1u);
  EXPECT_THAT((*diffs)[0].differences[0].message, HasSubstr("no declared schema"));
}

TEST(MigratorTest, UnreachableDatabaseIsUnavailable) {
  const std::string tree = NewTree();
  Write(tree, "alpha/20240101000000_create_alpha_things.sql", Table("alpha_things"));
  MigratorOptions options;
  options.database_url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2";
  options.migrations_dir = tree;
  auto m = Migrator::Create(options);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->Status().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*m)->Up().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace suite::db::migrate

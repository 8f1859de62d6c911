// The `migrate` command: exit codes and output, in process and through the built binary.
#include "shared/db/migrate/command.h"

#include <sys/wait.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/schemas.h"
#include "pqxx/pqxx"
#include "shared/db/migrate/loader.h"
#include "shared/db/testing/test_database.h"

namespace suite::db::migrate {
namespace {

using ::suite::db::testing::TestDatabase;
using ::testing::HasSubstr;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome RunCommand(const std::vector<std::string>& args, const std::string& url) {
  MigratorOptions options;
  options.database_url = url;
  options.migrations_dir = "migrations";  // //migrations:sql_files in the runfiles
  std::ostringstream out, err;
  const int code =
      RunMigrateCommand(args, options, suite::migrations::AllSchemas(), out, err);
  return Outcome{code, out.str(), err.str()};
}

TEST(MigrateCommandTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"sideways"}, {"down", "0"}, {"down", "x"}, {"status", "extra"}, {"up", "1"}}) {
    Outcome run = RunCommand(args, "postgresql://unused@127.0.0.1:1/none");
    EXPECT_EQ(run.code, 2) << (args.empty() ? "" : args[0]);
    EXPECT_THAT(run.err, HasSubstr("usage: migrate"));
  }
}

TEST(MigrateCommandTest, StatusExitsOneWhilePendingAndZeroOnceUpHasRun) {
  auto db = TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  Outcome pending = RunCommand({"status"}, (*db)->url());
  EXPECT_EQ(pending.code, 1);
  EXPECT_THAT(pending.out, HasSubstr("pending  core/20240101000000_create_core_schema"));
  EXPECT_THAT(pending.out, HasSubstr("0 applied, "));

  Outcome up = RunCommand({"up"}, (*db)->url());
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_THAT(up.out, HasSubstr("applied core/20240101000000_create_core_schema ("));
  EXPECT_THAT(up.out, HasSubstr("up: applied "));

  Outcome clean = RunCommand({"status"}, (*db)->url());
  EXPECT_EQ(clean.code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, HasSubstr(" pending, 0 problems"));
  EXPECT_THAT(clean.out, HasSubstr("0 pending"));

  Outcome again = RunCommand({"up"}, (*db)->url());
  EXPECT_EQ(again.code, 0);
  EXPECT_THAT(again.out, HasSubstr("nothing to apply"));
}

TEST(MigrateCommandTest, VerifyExitsOneOnADifferenceAndNamesIt) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  Outcome ok = RunCommand({"verify"}, (*db)->url_owner());
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("match their declared schema"));

  {
    pqxx::connection conn((*db)->url());
    pqxx::nontransaction tx(conn);
    tx.exec0("DROP FUNCTION core.set_updated_at() CASCADE");
  }
  Outcome differs = RunCommand({"verify"}, (*db)->url_owner());
  EXPECT_EQ(differs.code, 1);
  EXPECT_THAT(differs.out, HasSubstr("core: core.set_updated_at: "));
}

TEST(MigrateCommandTest, DownThenStatusShowsThePendingMigrationAndFailsUpOnAProblem) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  auto files = LoadMigrations("migrations");
  ASSERT_TRUE(files.ok()) << files.status();
  const MigrationFile& newest = files->back();
  const std::string label = absl::StrCat(newest.owner, "/", newest.version, "_", newest.name);
  Outcome down = RunCommand({"down"}, (*db)->url_owner());
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_THAT(down.out, HasSubstr("rolled back " + label));
  Outcome status = RunCommand({"status"}, (*db)->url_owner());
  EXPECT_EQ(status.code, 1);
  EXPECT_THAT(status.out, HasSubstr("pending  " + label));

  {
    pqxx::connection conn((*db)->url());
    pqxx::nontransaction tx(conn);
    tx.exec0("UPDATE migrate.history SET checksum = 'edited'");
  }
  Outcome up = RunCommand({"up"}, (*db)->url_owner());
  EXPECT_EQ(up.code, 1);
  EXPECT_THAT(up.err, HasSubstr("FAILED_PRECONDITION: refusing to migrate up"));
  EXPECT_THAT(up.err, HasSubstr("changed after it was applied"));
}

// The built binary, as operators and the migration Job run it.
int RunBinary(const std::string& args) {
  const std::string command =
      absl::StrCat("migrations/migrate --migrations_dir=migrations ", args,
                   " >/dev/null 2>&1");
  const int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

TEST(MigrateBinaryTest, ExitCodesFollowTheDatabaseState) {
  auto migrated = TestDatabase::CreateMigrated();
  auto empty = TestDatabase::CreateEmpty();
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(RunBinary("--database_url=" + (*migrated)->url_owner() + " status"), 0);
  EXPECT_EQ(RunBinary("--database_url=" + (*migrated)->url_owner() + " verify"), 0);
  EXPECT_EQ(RunBinary("--database_url=" + (*empty)->url() + " status"), 1);
  EXPECT_EQ(RunBinary("--database_url=" + (*empty)->url() + " bogus"), 2);
  EXPECT_EQ(RunBinary("--database_url=" + (*empty)->url() + " up"), 0);
  EXPECT_EQ(RunBinary("--database_url=" + (*empty)->url() + " status"), 0);
}

}  // namespace
}  // namespace suite::db::migrate

// The repository's migrations (migrations/) on a real PostgreSQL: a clean state after a fresh
// migration, the up/down/up round trip, and the least-privilege model with
// two service owners that follow migrations/README.md (testdata/least_privilege/).
#include <atomic>
#include <iostream>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migrations/schemas.h"
#include "pqxx/pqxx"
#include "shared/db/errors.h"
#include "shared/db/migrate/loader.h"
#include "shared/db/migrate/migrator.h"
#include "shared/db/testing/test_database.h"

namespace suite::db::migrate {
namespace {

namespace fs = std::filesystem;
using ::suite::db::testing::SqlStateOfRunning;
using ::suite::db::testing::TestDatabase;
using ::testing::HasSubstr;

// Where //migrations:sql_files and the fixtures appear in the test's runfiles (its cwd).
constexpr char kRepositoryMigrations[] = "migrations";
constexpr char kLeastPrivilegeFixtures[] = "shared/db/migrate/testdata/least_privilege";

// The repository's core migrations plus the two fixture service owners, in one tree.
std::string LeastPrivilegeTree() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") /
                       absl::StrCat("lp_", getpid(), "_", counter.fetch_add(1));
  fs::remove_all(dir);
  fs::create_directories(dir / "core");
  for (const auto& entry : fs::directory_iterator(fs::path(kRepositoryMigrations) / "core")) {
    if (entry.path().extension() == ".sql") {
      fs::copy_file(entry.path(), dir / "core" / entry.path().filename());
    }
  }
  fs::copy(kLeastPrivilegeFixtures, dir, fs::copy_options::recursive);
  return dir.string();
}

std::unique_ptr<Migrator> MakeMigrator(const std::string& url, const std::string& dir) {
  MigratorOptions options;
  options.database_url = url;
  options.migrations_dir = dir;
  auto migrator = Migrator::Create(options);
  EXPECT_TRUE(migrator.ok()) << migrator.status();
  return migrator.ok() ? *std::move(migrator) : nullptr;
}

// Everything the migrations decide, read from the catalog, one sorted line per fact.
std::vector<std::string> CatalogSnapshot(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  std::vector<std::string> out;
  for (const pqxx::row& r : tx.exec(R"sql(
      SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' ||
             data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
        FROM information_schema.columns
       WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
      UNION ALL
      SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname <> 'pg_catalog'
      UNION ALL
      SELECT 'function ' || p.oid::regprocedure::text || ' ' || pg_get_userbyid(p.proowner) ||
             ' ' || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '-')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      UNION ALL
      SELECT 'schema ' || nspname || ' ' || pg_get_userbyid(nspowner) || ' ' ||
             coalesce(nspacl::text, '-')
        FROM pg_namespace
       WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
      UNION ALL
      SELECT 'relation ' || c.oid::regclass::text || ' ' || c.relkind::text || ' ' ||
             pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '-')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
      UNION ALL
      SELECT 'extension ' || extname || ' ' || pg_get_userbyid(extowner) FROM pg_extension
      UNION ALL
      SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgfoid::regproc
        FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL
      SELECT 'default_acl ' || coalesce(defaclnamespace::regnamespace::text, '-') || ' ' ||
             defaclobjtype::text || ' ' || defaclacl::text
        FROM pg_default_acl
      UNION ALL
      SELECT 'membership ' || roleid::regrole::text || ' ' || member::regrole::text
        FROM pg_auth_members WHERE member::regrole::text LIKE '%\_service'
      UNION ALL
      SELECT 'role ' || r || ' create_db=' || has_database_privilege(r, current_database(),
             'CREATE') || ' create_public=' || has_schema_privilege(r, 'public', 'CREATE')
        FROM unnest(ARRAY['identity_service', 'billing_service', 'questions_service']) r
      ORDER BY 1)sql")) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

TEST(RepositoryMigrationsTest, AFreshlyMigratedDatabaseHasACleanStatus) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  auto m = MakeMigrator((*db)->url_owner(), kRepositoryMigrations);
  ASSERT_NE(m, nullptr);
  auto report = m->Status();
  ASSERT_TRUE(report.ok()) << report.status();
  std::cout << report->ToString();
  EXPECT_TRUE(report->Clean()) << report->ToString();
  EXPECT_EQ(report->applied, static_cast<int>(m->migrations().size()));
  EXPECT_GE(report->applied, 2);
  EXPECT_EQ(report->migrations.front().owner, "core");
}

TEST(RepositoryMigrationsTest, VerifyFindsEveryOwnerSchemaAsDeclared) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  auto m = MakeMigrator((*db)->url_owner(), kRepositoryMigrations);
  ASSERT_NE(m, nullptr);
  auto clean = m->Verify(suite::migrations::AllSchemas());
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_TRUE(clean->empty()) << FormatOwnerDifferences(*clean);

  // The check can fail: drop what core must provide (with the triggers that use it).
  EXPECT_EQ(SqlStateOfRunning((*db)->url(), "DROP FUNCTION core.set_updated_at() CASCADE"), "");
  auto broken = m->Verify(suite::migrations::AllSchemas());
  ASSERT_TRUE(broken.ok()) << broken.status();
  ASSERT_FALSE(broken->empty());
  EXPECT_EQ(broken->front().owner, "core");
  ASSERT_EQ(broken->front().differences.size(), 1u);
  EXPECT_EQ(broken->front().differences[0].object, "core.set_updated_at");
}

TEST(RepositoryMigrationsTest, OwnersRunAsTheOwnerRoleAndOwnTheirObjects) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'core'")
                [0]
                .as<std::string>(),
            "suite_owner");
  EXPECT_EQ(tx.exec1("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = "
                     "current_database()")[0]
                .as<std::string>(),
            "suite_owner");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_roles WHERE rolname IN ('identity_service', "
                     "'billing_service', 'questions_service') AND rolcanlogin AND NOT rolsuper "
                     "AND NOT rolcreaterole AND NOT rolcreatedb")[0]
                .as<int>(),
            3);
}

// Every .sql file under the source tree's migrations/ must reach the tests through
// //migrations:sql_files; a new owner that forgets to add its :sql there fails here.
TEST(RepositoryMigrationsTest, EveryMigrationFileIsInTheSqlFilesFilegroup) {
  const char* root = std::getenv("SUITE_REPO_ROOT");
  if (root == nullptr || *root == '\0') GTEST_SKIP() << "SUITE_REPO_ROOT not set (tools/test sets it)";
  auto list = [](const fs::path& dir) {
    std::set<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".sql") {
        files.insert(entry.path().lexically_relative(dir).string());
      }
    }
    return files;
  };
  EXPECT_EQ(list(fs::path(root) / "migrations"), list(kRepositoryMigrations));
}

TEST(RoundTripTest, UpDownUpLeavesTheSchemaIdentical) {
  const std::string tree = LeastPrivilegeTree();
  auto db = TestDatabase::CreateMigrated(tree);
  ASSERT_TRUE(db.ok()) << db.status();
  auto m = MakeMigrator((*db)->url_owner(), tree);
  ASSERT_NE(m, nullptr);
  const std::vector<std::string> migrated = CatalogSnapshot((*db)->url());
  ASSERT_THAT(migrated, ::testing::Contains(HasSubstr("index CREATE UNIQUE INDEX users_email_key")));

  auto down = m->Down(100);
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(*down, static_cast<int>(m->migrations().size()));
  const std::vector<std::string> empty = CatalogSnapshot((*db)->url());
  for (const std::string& line : empty) {
    if (absl::StartsWith(line, "role ")) continue;  // roles are cluster-wide, see the core SQL
    EXPECT_THAT(line, ::testing::Not(HasSubstr("identity"))) << "Down left something behind";
    EXPECT_THAT(line, ::testing::Not(HasSubstr("billing."))) << "Down left something behind";
    EXPECT_THAT(line, ::testing::Not(HasSubstr("core"))) << "Down left something behind";
    EXPECT_THAT(line, ::testing::Not(HasSubstr("pgcrypto"))) << "Down left something behind";
    EXPECT_THAT(line, ::testing::Not(HasSubstr("default_acl"))) << "Down left something behind";
  }

  auto up = m->Up();
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(*up, static_cast<int>(m->migrations().size()));
  EXPECT_EQ(CatalogSnapshot((*db)->url()), migrated);
}

class LeastPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateMigrated(LeastPrivilegeTree());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(LeastPrivilegeTest, AServiceRoleIsDeniedDdl) {
  const std::string identity = db_->UrlAs("identity_service");
  for (const char* ddl : {
           "CREATE TABLE identity.extra (id int)",
           "CREATE TABLE public.extra (id int)",
           "CREATE TABLE core.extra (id int)",
           "CREATE TABLE extra (id int)",
           "CREATE SCHEMA extra",
           "CREATE INDEX users_extra_idx ON identity.users (created_at)",
           "ALTER TABLE identity.users ADD COLUMN extra text",
           "DROP TABLE identity.users",
           "TRUNCATE identity.users",
           "CREATE FUNCTION public.extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
           "CREATE OR REPLACE FUNCTION core.set_updated_at() RETURNS trigger LANGUAGE plpgsql "
           "AS 'BEGIN RETURN NEW; END'",
       }) {
    EXPECT_EQ(SqlStateOfRunning(identity, ddl), "42501") << ddl;
  }
}

TEST_F(LeastPrivilegeTest, AServiceRoleIsDeniedAnotherOwnersTables) {
  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("billing_service"), "SELECT * FROM identity.users"),
            "42501");
  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("identity_service"),
                              "SELECT * FROM billing.transactions"),
            "42501");
  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("questions_service"), "SELECT * FROM identity.users"),
            "42501");
}

// The schema guard (schema_guard.h) reads which migrations are applied; nothing else of schema
// migrate is open to a service, and the history may not be changed.
TEST_F(LeastPrivilegeTest, AServiceRoleMayReadButNotChangeTheMigrationHistory) {
  for (const char* role : {"identity_service", "billing_service", "questions_service"}) {
    EXPECT_EQ(SqlStateOfRunning(db_->UrlAs(role), "SELECT owner, version FROM migrate.history"),
              "")
        << role;
    EXPECT_EQ(SqlStateOfRunning(db_->UrlAs(role), "DELETE FROM migrate.history"), "42501")
        << role;
    EXPECT_EQ(SqlStateOfRunning(db_->UrlAs(role),
                                "INSERT INTO migrate.history (owner, version, name, checksum, "
                                "execution_ms) VALUES ('identity', 1, 'x', 'y', 0)"),
              "42501")
        << role;
    EXPECT_EQ(SqlStateOfRunning(db_->UrlAs(role), "CREATE TABLE migrate.extra (id int)"),
              "42501")
        << role;
  }
}

TEST_F(LeastPrivilegeTest, AServiceRoleMayReadAndWriteItsOwnTables) {
  pqxx::connection conn(db_->UrlAs("identity_service"));
  pqxx::work tx(conn);
  const std::string id =
      tx.exec1("INSERT INTO identity.users (email, updated_at) "
               "VALUES ('a@example.com', now() - interval '1 day') RETURNING id")[0]
          .as<std::string>();
  // The core trigger keeps updated_at current for the service's writes.
  EXPECT_TRUE(tx.exec_params1("UPDATE identity.users SET email = 'b@example.com' WHERE id = $1 "
                              "RETURNING updated_at > now() - interval '1 minute'",
                              id)[0]
                  .as<bool>());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM identity.users")[0].as<int>(), 1);
  tx.exec_params0("DELETE FROM identity.users WHERE id = $1", id);
  tx.commit();

  EXPECT_EQ(SqlStateOfRunning(db_->UrlAs("billing_service"),
                              "INSERT INTO billing.transactions (user_id, amount_cents) "
                              "VALUES (gen_random_uuid(), 100)"),
            "");
}

}  // namespace
}  // namespace suite::db::migrate

// The identity migrations produce exactly the schema that migrations/identity/schema.cc
// declares, and the service role may use it (DML) but not change it (DDL).
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "migrations/identity/schema.h"
#include "shared/db/schema/schema_check.h"
#include "shared/db/testing/test_database.h"

namespace {

using suite::db::testing::TestDatabase;

TEST(IdentitySchemaTest, MigratedDatabaseMatchesDeclaredSchema) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  auto diffs = suite::db::schema::CheckSchema((*db)->url(), suite::migrations::IdentitySchema());
  ASSERT_TRUE(diffs.ok()) << diffs.status();
  EXPECT_TRUE(diffs->empty()) << suite::db::schema::FormatDifferences(*diffs);
}

TEST(IdentitySchemaTest, BuiltInRolesExist) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->UrlAs("identity_service"));
  pqxx::work tx(conn);
  pqxx::result r = tx.exec("SELECT key FROM identity.roles ORDER BY key");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][0].as<std::string>(), "admin");
  EXPECT_EQ(r[1][0].as<std::string>(), "author");
  EXPECT_EQ(r[2][0].as<std::string>(), "member");
}

TEST(IdentitySchemaTest, EmailIsUniqueCaseInsensitively) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->UrlAs("identity_service"));
  pqxx::work tx(conn);
  tx.exec("INSERT INTO identity.users (email) VALUES ('a@example.com')");
  EXPECT_THROW(tx.exec("INSERT INTO identity.users (email) VALUES ('A@Example.COM')"),
               pqxx::unique_violation);
}

TEST(IdentitySchemaTest, GlobalRoleGrantCannotBeDuplicated) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->UrlAs("identity_service"));
  pqxx::work tx(conn);
  pqxx::row u = tx.exec1("INSERT INTO identity.users (email) VALUES ('a@example.com') RETURNING id");
  tx.exec_params("INSERT INTO identity.role_assignments (user_id, role_key) VALUES ($1, 'member')",
                 u[0].as<std::string>());
  EXPECT_THROW(tx.exec_params(
                   "INSERT INTO identity.role_assignments (user_id, role_key) VALUES ($1, 'member')",
                   u[0].as<std::string>()),
               pqxx::unique_violation);
}

TEST(IdentitySchemaTest, UnknownStatusIsRejected) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->UrlAs("identity_service"));
  pqxx::work tx(conn);
  EXPECT_THROW(tx.exec("INSERT INTO identity.users (email, status) VALUES ('a@b.c', 'banned')"),
               pqxx::check_violation);
}

TEST(IdentitySchemaTest, ServiceRoleCannotChangeTheSchema) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->UrlAs("identity_service"));
  pqxx::work tx(conn);
  EXPECT_THROW(tx.exec("ALTER TABLE identity.users ADD COLUMN x int"), pqxx::insufficient_privilege);
}

}  // namespace

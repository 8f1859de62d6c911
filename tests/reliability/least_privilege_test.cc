// Least privilege on the real, fully migrated schemas: connected as each service role, every
// table of every other owner (the other services, core, migrate) is denied to SELECT, INSERT,
// UPDATE and DELETE (SQLSTATE 42501), and on its own tables DDL (DROP, ALTER, TRUNCATE,
// CREATE in its schema or a new schema, CREATE INDEX) is denied too, while plain reads of its
// own tables work. The tables are read from the catalog, so a new table is covered at once.
// (The migrator's own test proves the same on a small fixture tree: shared/db/migrate.)
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "shared/db/errors.h"
#include "shared/db/testing/test_database.h"

namespace suite::reliability {
namespace {

// SqlStateOf runs `sql` alone and returns "" on success, else the SQLSTATE.
std::string SqlStateOf(pqxx::connection& conn, const std::string& sql) {
  try {
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.abort();  // never keep what a probe did
    return "";
  } catch (const std::exception& e) {
    // libpqxx 6 leaves sql_error::sqlstate() empty for some errors; shared/db reads it.
    return suite::db::SqlStateOf(suite::db::StatusFromException(e)).value_or("none");
  }
}

struct TableRef {
  std::string schema, name;
  std::string quoted() const { return absl::StrCat(schema, ".", name); }
};

TEST(LeastPrivilegeTest, EachServiceRoleIsDeniedOtherOwnersTablesAndAllDdlOnTheRealSchemas) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<TableRef> tables;
  {
    pqxx::connection conn((*db)->url());
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec(
             "SELECT quote_ident(table_schema), quote_ident(table_name) FROM "
             "information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
             "('pg_catalog', 'information_schema') ORDER BY 1, 2")) {
      tables.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    }
  }
  ASSERT_GT(tables.size(), 15u);
  int probes = 0;
  for (const std::string service : {"identity", "billing", "questions"}) {
    pqxx::connection conn((*db)->UrlAs(service + "_service"));
    {
      pqxx::nontransaction who(conn);
      ASSERT_EQ(who.exec1("SELECT current_user")[0].as<std::string>(), service + "_service");
    }
    int own = 0;
    for (const TableRef& t : tables) {
      if (t.schema == service) {
        ++own;
        EXPECT_EQ(SqlStateOf(conn, "SELECT count(*) FROM " + t.quoted()), "")
            << service << " cannot read its own " << t.quoted();
        for (const std::string& ddl :
             {"DROP TABLE " + t.quoted(), "TRUNCATE " + t.quoted(),
              "ALTER TABLE " + t.quoted() + " ADD COLUMN extra text",
              "CREATE INDEX extra_idx ON " + t.quoted() + " ((1))"}) {
          // (GRANT without the grant option is no error in PostgreSQL, only a warning that
          // nothing was granted, so it is not probed here.)
          EXPECT_EQ(SqlStateOf(conn, ddl), "42501") << service << ": " << ddl;
          ++probes;
        }
        continue;
      }
      if (t.schema == "migrate" && t.name == "history") {
        // Readable by every service, for the schema guard (shared/db/migrate/schema_guard.h),
        // which compares it with the migrations the build needs; never writable.
        EXPECT_EQ(SqlStateOf(conn, "SELECT owner, version FROM migrate.history"), "")
            << service;
        for (const std::string& dml :
             {std::string("INSERT INTO migrate.history DEFAULT VALUES"),
              std::string("UPDATE migrate.history SET owner = owner WHERE false"),
              std::string("DELETE FROM migrate.history WHERE false")}) {
          EXPECT_EQ(SqlStateOf(conn, dml), "42501") << service << ": " << dml;
          ++probes;
        }
        continue;
      }
      for (const std::string& dml :
           {"SELECT 1 FROM " + t.quoted() + " LIMIT 1",
            "INSERT INTO " + t.quoted() + " DEFAULT VALUES",
            "UPDATE " + t.quoted() + " SET id = id WHERE false",
            "DELETE FROM " + t.quoted() + " WHERE false"}) {
        EXPECT_EQ(SqlStateOf(conn, dml), "42501") << service << ": " << dml;
        ++probes;
      }
    }
    EXPECT_GT(own, 0) << service;
    for (const std::string& ddl :
         {"CREATE TABLE " + service + ".extra (id int)", std::string("CREATE SCHEMA extra"),
          std::string("CREATE TABLE public.extra (id int)"),
          std::string("CREATE ROLE extra"),
          "CREATE FUNCTION " + service + ".extra() RETURNS int LANGUAGE sql AS 'SELECT 1'"}) {
      EXPECT_EQ(SqlStateOf(conn, ddl), "42501") << service << ": " << ddl;
      ++probes;
    }
  }
  std::printf("%zu tables, %d denied probes\n", tables.size(), probes);
}

}  // namespace
}  // namespace suite::reliability

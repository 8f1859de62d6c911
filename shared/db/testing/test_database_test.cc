#include "shared/db/testing/test_database.h"

#include "gtest/gtest.h"
#include "pqxx/pqxx"

namespace suite::db::testing {
namespace {

TEST(TestDatabaseTest, EachDatabaseIsSeparateAndEmpty) {
  auto first = TestDatabase::CreateEmpty();
  auto second = TestDatabase::CreateEmpty();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*first)->name(), (*second)->name());

  pqxx::connection conn((*first)->url());
  pqxx::work tx(conn);
  tx.exec0("CREATE TABLE marker (id int)");
  tx.commit();

  pqxx::connection other((*second)->url());
  pqxx::work read(other);
  EXPECT_EQ(read.exec1("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'")[0].as<int>(),
            0);
}

TEST(TestDatabaseTest, DestructorDropsTheDatabase) {
  std::string name;
  {
    auto db = TestDatabase::CreateEmpty();
    ASSERT_TRUE(db.ok()) << db.status();
    name = (*db)->name();
    pqxx::connection held_open((*db)->url());  // dropping must not wait for this
  }
  auto admin = TestDatabase::AdminUrl();
  ASSERT_TRUE(admin.ok());
  pqxx::connection conn(*admin);
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0]
                .as<int>(),
            0);
}

TEST(TestDatabaseTest, SqlStateOfRunningIsEmptyOnCommitAndTheSqlStateOnFailure) {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(SqlStateOfRunning((*db)->url(), "CREATE TABLE public.t (id int PRIMARY KEY)"), "");
  EXPECT_EQ(SqlStateOfRunning((*db)->url(), "INSERT INTO public.t VALUES (1)"), "");
  EXPECT_EQ(SqlStateOfRunning((*db)->url(), "INSERT INTO public.t VALUES (1)"), "23505");
  // A missing privilege, which libpqxx 6 reports without a sqlstate of its own.
  EXPECT_EQ(SqlStateOfRunning((*db)->UrlAs("billing_service"), "SELECT * FROM public.t"), "42501");
}

}  // namespace
}  // namespace suite::db::testing

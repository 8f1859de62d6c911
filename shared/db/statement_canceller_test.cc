// StatementCanceller against a real PostgreSQL: a statement still running at its deadline is
// cancelled; one that ended first is left alone, and so is the connection's next statement.
#include "shared/db/statement_canceller.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/time/clock.h"
#include "pqxx/pqxx"
#include "shared/db/testing/test_database.h"

namespace suite::db {
namespace {

using ::suite::db::testing::TestDatabase;

TEST(StatementCancellerTest, AStatementStillRunningAtItsDeadlineIsCancelled) {
  auto db = TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->url());
  StatementCanceller canceller;
  const absl::Time start = absl::Now();
  std::string sqlstate;
  StatementCanceller::Watch watch(canceller, conn, start + absl::Milliseconds(100));
  try {
    pqxx::nontransaction(conn).exec("SELECT pg_sleep(5)");
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
  }
  EXPECT_TRUE(watch.Cancelled());
  EXPECT_EQ(sqlstate, "57014");  // query_canceled
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(StatementCancellerTest, AStatementOfAnAbandonedRequestIsCancelled) {
  auto db = TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->url());
  StatementCanceller canceller;
  const absl::Time start = absl::Now();
  auto gone = [&] { return absl::Now() - start > absl::Milliseconds(100); };  // any thread
  ScopedRequestDeadline request(absl::InfiniteFuture(), gone);
  std::string sqlstate;
  StatementCanceller::Watch watch(canceller, conn, absl::InfiniteFuture(), &request);
  try {
    pqxx::nontransaction(conn).exec("SELECT pg_sleep(5)");
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
  }
  EXPECT_TRUE(watch.Cancelled());
  EXPECT_EQ(sqlstate, "57014");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(StatementCancellerTest, AStatementThatEndsFirstIsLeftAloneAndSoIsTheNextOne) {
  auto db = TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  pqxx::connection conn((*db)->url());
  StatementCanceller canceller;
  {
    StatementCanceller::Watch watch(canceller, conn, absl::Now() + absl::Milliseconds(100));
    pqxx::nontransaction(conn).exec("SELECT 1");
    EXPECT_FALSE(watch.Cancelled());
  }
  // Past the first statement's deadline, an unwatched statement runs to its end.
  EXPECT_NO_THROW(pqxx::nontransaction(conn).exec("SELECT pg_sleep(0.3)"));
  // No deadline, nothing registered.
  StatementCanceller::Watch unbounded(canceller, conn, absl::InfiniteFuture());
  EXPECT_NO_THROW(pqxx::nontransaction(conn).exec("SELECT 1"));
  EXPECT_FALSE(unbounded.Cancelled());
}

}  // namespace
}  // namespace suite::db

// Batched read statements against a real PostgreSQL: each batch size has its statement, a
// batch runs the smallest that holds it (padded), sizes out of range are refused, and a
// statement settles on one generic plan, which is why they exist.
#include "shared/db/batched_read_statement.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/db/transaction.h"

namespace suite::db {
namespace {

using ::suite::db::testing::TestDatabase;

constexpr int kMaxBatch = 5;

TEST(BatchedReadStatementTest, SizesDoubleUpToTheLimit) {
  EXPECT_EQ(BatchSizes(1), std::vector<int>({1}));
  EXPECT_EQ(BatchSizes(5), std::vector<int>({1, 2, 4, 5}));
  EXPECT_EQ(BatchSizes(16), std::vector<int>({1, 2, 4, 8, 16}));
  EXPECT_EQ(BatchedStatementName("lookup", 1), "lookup");
  EXPECT_EQ(BatchedStatementName("lookup", 8), "lookup_x8");
  EXPECT_EQ(KeyRows(2, "uuid", "k", "id"), "(VALUES ($1::uuid), ($2::uuid)) AS k(id)");
  EXPECT_EQ(KeyRows(1, "uuid", "k", "id"), "(SELECT $1::uuid AS id) AS k");
}

class BatchedReadStatementDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateEmpty();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    {
      pqxx::connection conn(db_->url());
      pqxx::nontransaction tx(conn);
      tx.exec("CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)");
      tx.exec(
          "INSERT INTO kv SELECT 'k' || i, 'v' || i FROM "
          "generate_series(1, 10) i");
    }
    pool_ = NewPool(/*prepared=*/true);
    ASSERT_TRUE(pool_
                    ->RegisterStatement("plans",
                                        "SELECT generic_plans, custom_plans FROM "
                                        "pg_prepared_statements WHERE name = $1")
                    .ok());
  }

  // A one-connection pool (its prepared statements are the ones inspected) with the batched
  // read "kv_read" registered; `prepared` false sends it as one-shot parameterized statements
  // (the PgBouncer mode).
  std::unique_ptr<ConnectionPool> NewPool(bool prepared) {
    PoolConfig config;
    config.database_url = db_->url();
    config.pool_size = 1;
    config.prepared_statements = prepared;
    auto pool = ConnectionPool::Create(config);
    EXPECT_TRUE(pool.ok()) << pool.status();
    EXPECT_TRUE(RegisterBatchedRead(
                    **pool, "kv_read", "text", "q", "k",
                    [](absl::string_view keys) {
                      return absl::StrCat("SELECT kv.k, kv.v FROM ", keys,
                                          " JOIN kv ON kv.k = q.k");
                    },
                    kMaxBatch)
                    .ok());
    return *std::move(pool);
  }

  // The distinct keys found by one ExecBatched of `keys` on `pool` (pool_ when null), sorted;
  // or its status.
  absl::StatusOr<std::vector<std::string>> Read(const std::vector<std::string>& keys,
                                                ConnectionPool* pool = nullptr) {
    return RunInTransaction<std::vector<std::string>>(
        pool != nullptr ? *pool : *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<std::vector<std::string>> {
          SUITE_ASSIGN_OR_RETURN(pqxx::result rows, ExecBatched(tx, "kv_read", keys, kMaxBatch));
          std::vector<std::string> found;
          for (const pqxx::row& r : rows) found.push_back(r[0].as<std::string>());
          std::sort(found.begin(), found.end());
          found.erase(std::unique(found.begin(), found.end()), found.end());
          return found;
        });
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_F(BatchedReadStatementDbTest, EveryBatchSizeReadsExactlyItsKeys) {
  const std::vector<std::string> all = {"k1", "k2", "k3", "k4", "k5"};
  for (size_t n = 1; n <= all.size(); ++n) {
    std::vector<std::string> keys(all.begin(), all.begin() + n);
    absl::StatusOr<std::vector<std::string>> found = Read(keys);
    ASSERT_TRUE(found.ok()) << n << ": " << found.status();
    EXPECT_EQ(*found, keys) << n;
  }
  absl::StatusOr<std::vector<std::string>> some_missing = Read({"k9", "absent", "k10"});
  ASSERT_TRUE(some_missing.ok()) << some_missing.status();
  EXPECT_EQ(*some_missing, std::vector<std::string>({"k10", "k9"}));
}

TEST_F(BatchedReadStatementDbTest, EveryBatchSizeReadsItsKeysWithoutPreparedStatementsToo) {
  std::unique_ptr<ConnectionPool> unprepared = NewPool(/*prepared=*/false);
  const std::vector<std::string> all = {"k1", "k2", "k3", "k4", "k5"};
  for (size_t n = 1; n <= all.size(); ++n) {
    std::vector<std::string> keys(all.begin(), all.begin() + n);
    absl::StatusOr<std::vector<std::string>> found = Read(keys, unprepared.get());
    ASSERT_TRUE(found.ok()) << n << ": " << found.status();
    EXPECT_EQ(*found, keys) << n;
  }
}

TEST_F(BatchedReadStatementDbTest, NoKeysOrMoreThanTheLimitIsRefusedBeforeAnythingIsSent) {
  EXPECT_EQ(Read({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Read({"k1", "k2", "k3", "k4", "k5", "k6"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BatchedReadStatementDbTest, AStatementRunOftenKeepsOneGenericPlan) {
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(Read({"k1", "k2", "k3"}).ok());  // the _x4 statement
  auto plans = RunInTransaction<std::pair<int, int>>(
      *pool_, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<std::pair<int, int>> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                               tx.ExecOne("plans", BatchedStatementName("kv_read", 4)));
        return std::make_pair(row[0].as<int>(), row[1].as<int>());
      });
  ASSERT_TRUE(plans.ok()) << plans.status();
  EXPECT_GE(plans->first, 6) << "generic plans";  // PostgreSQL tries 5 custom plans first
  EXPECT_LE(plans->second, 5) << "custom plans";
}

}  // namespace
}  // namespace suite::db

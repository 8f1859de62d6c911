#include "shared/db/transaction.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/base/request_deadline.h"
#include "shared/db/errors.h"
#include "shared/db/testing/test_database.h"

namespace suite::db {
namespace {

using ::suite::db::testing::TestDatabase;

// Lets `n` threads wait for each other, with a timeout so that a broken test fails, not hangs.
class Barrier {
 public:
  explicit Barrier(int n) : waiting_for_(n) {}
  bool ArriveAndWait() {
    absl::MutexLock lock(&mu_);
    --waiting_for_;
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](int* n) { return *n <= 0; }, &waiting_for_),
                                absl::Seconds(10));
  }

 private:
  absl::Mutex mu_;
  int waiting_for_ ABSL_GUARDED_BY(mu_);
};

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateEmpty();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)");
    tx.exec("INSERT INTO items VALUES (1, 0), (2, 0)");
    tx.exec("CREATE TABLE log (v int NOT NULL)");
    tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(db_->name()),
                         " SET deadlock_timeout = '100ms'"));
    tx.exec(
        "CREATE FUNCTION always_conflict() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$");
    pool_ = NewPool(/*prepared=*/true, /*size=*/4);
  }

  std::unique_ptr<ConnectionPool> NewPool(
      bool prepared, int size, absl::Duration statement_timeout = absl::Milliseconds(300)) {
    PoolConfig config;
    config.database_url = db_->url();
    config.pool_size = size;
    config.prepared_statements = prepared;
    config.statement_timeout = statement_timeout;
    auto pool = ConnectionPool::Create(config);
    EXPECT_TRUE(pool.ok()) << pool.status();
    for (const auto& [name, sql] : std::vector<std::pair<const char*, const char*>>{
             {"get", "SELECT v FROM items WHERE id = $1"},
             {"all", "SELECT id, v FROM items ORDER BY id"},
             {"set", "UPDATE items SET v = $2 WHERE id = $1"},
             {"insert", "INSERT INTO items VALUES ($1, $2)"},
             {"count_log", "SELECT count(*) FROM log"},
             {"log", "INSERT INTO log VALUES ($1)"},
             {"sleep", "SELECT pg_sleep($1)"},
             {"conflict", "SELECT always_conflict()"},
             {"setting", "SELECT current_setting($1)"},
             {"set_for_session", "SELECT set_config($1, $2, false)"},
             {"pid", "SELECT pg_backend_pid()"},
             {"xact_start", "SELECT transaction_timestamp()::text"},
             {"locking_get", "SELECT v FROM items WHERE id = $1 FOR UPDATE"},
             {"quoted_get", "-- a comment: UPDATE\nSELECT v FROM items WHERE 'DELETE' <> $1"}}) {
      EXPECT_TRUE((*pool)->RegisterStatement(name, sql).ok());
    }
    return *std::move(pool);
  }

  int ValueOf(int id) {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    return tx.exec_params1("SELECT v FROM items WHERE id = $1", id)[0].as<int>();
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

// The request's deadline (set for handler bodies by //shared/rpc's RunBlocking) bounds the
// transaction: a statement gets only the time left, with or without prepared statements.
TEST_F(TransactionTest, AStatementGetsOnlyTheTimeLeftBeforeTheRequestDeadline) {
  for (bool prepared : {true, false}) {
    auto pool = NewPool(prepared, 2, /*statement_timeout=*/absl::Seconds(10));
    const absl::Time start = absl::Now();
    absl::Status status;
    {
      ScopedRequestDeadline deadline(start + absl::Milliseconds(250));
      status = RunInTransaction(*pool, {}, [](Transaction& tx) -> absl::Status {
        return tx.Exec("sleep", 3).status();
      });
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << prepared << ": " << status;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << prepared;
  }
}

// Behind PgBouncer in transaction mode (prepared statements off) a server connection may
// carry another client's session settings, so each transaction sets the statement timeout
// and JIT itself. Simulated here by turning both back on for the session in between.
TEST_F(TransactionTest, WithoutPreparedStatementsEachTransactionSetsItsTimeoutAndNoJit) {
  auto pool = NewPool(/*prepared=*/false, 1, /*statement_timeout=*/absl::Seconds(7));
  absl::Status changed = RunInTransaction(*pool, {}, [](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.Exec("set_for_session", "jit", "on").status());
    return tx.Exec("set_for_session", "statement_timeout", "0").status();
  });
  ASSERT_TRUE(changed.ok()) << changed;
  absl::StatusOr<std::string> settings = RunInTransaction<std::string>(
      *pool, ReadOnly(), [](Transaction& tx) -> absl::StatusOr<std::string> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row jit, tx.ExecOne("setting", "jit"));
        SUITE_ASSIGN_OR_RETURN(pqxx::row timeout, tx.ExecOne("setting", "statement_timeout"));
        return absl::StrCat(jit[0].as<std::string>(), " ", timeout[0].as<std::string>());
      });
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(*settings, "off 7s");
}

TEST_F(TransactionTest, ATransactionWhoseRequestDeadlinePassesBeforeCommitIsRolledBack) {
  absl::Status status;
  {
    ScopedRequestDeadline deadline(absl::Now() + absl::Milliseconds(100));
    status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
      SUITE_RETURN_IF_ERROR(tx.Exec("set", 1, 42).status());
      absl::SleepFor(absl::Milliseconds(200));  // the caller has given up meanwhile
      return absl::OkStatus();
    });
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_NE(status.message().find("before commit"), absl::string_view::npos) << status;
  EXPECT_EQ(ValueOf(1), 0);
}

TEST_F(TransactionTest, ATransactionWhoseRequestIsAbandonedBeforeCommitIsRolledBack) {
  bool gone = false;
  absl::Status status;
  {
    ScopedRequestDeadline request(absl::InfiniteFuture(), [&] { return gone; });
    status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
      SUITE_RETURN_IF_ERROR(tx.Exec("set", 1, 42).status());
      gone = true;  // the client cancels while the body still runs
      return absl::OkStatus();
    });
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(ValueOf(1), 0);
}

TEST_F(TransactionTest, ARequestDeadlineAlreadyPassedRunsNothing) {
  bool ran = false;
  absl::Status status;
  {
    ScopedRequestDeadline deadline(absl::Now() - absl::Milliseconds(1));
    status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
      ran = true;
      return tx.Exec("set", 1, 42).status();
    });
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_FALSE(ran);
  EXPECT_EQ(ValueOf(1), 0);
}

// A request deadline costs the statements nothing on the wire (the statement timeout stays
// the configured one); a connection whose statement was cancelled is not reused, since a late
// cancel request could still reach it.
TEST_F(TransactionTest, ARequestDeadlineCostsNoRoundTripAndACancelledConnectionIsNotReused) {
  auto pool = NewPool(/*prepared=*/true, 1, /*statement_timeout=*/absl::Seconds(10));
  auto backend_and_timeout = [&](absl::Duration left) {
    ScopedRequestDeadline deadline(absl::Now() + left);
    return RunInTransaction<std::string>(
        *pool, {}, [](Transaction& tx) -> absl::StatusOr<std::string> {
          SUITE_ASSIGN_OR_RETURN(pqxx::row pid, tx.ExecOne("pid"));
          SUITE_ASSIGN_OR_RETURN(pqxx::row timeout, tx.ExecOne("setting", "statement_timeout"));
          return absl::StrCat(pid[0].as<std::string>(), " ", timeout[0].as<std::string>());
        });
  };
  absl::StatusOr<std::string> before = backend_and_timeout(absl::Seconds(2));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(absl::EndsWith(*before, " 10s")) << *before;

  absl::Status cancelled;
  {
    ScopedRequestDeadline deadline(absl::Now() + absl::Milliseconds(100));
    cancelled = RunInTransaction(*pool, {}, [](Transaction& tx) -> absl::Status {
      return tx.Exec("sleep", 3).status();
    });
  }
  EXPECT_EQ(cancelled.code(), absl::StatusCode::kDeadlineExceeded) << cancelled;

  absl::StatusOr<std::string> after = backend_and_timeout(absl::Seconds(2));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(absl::EndsWith(*after, " 10s")) << *after;
  EXPECT_NE(before->substr(0, before->find(' ')), after->substr(0, after->find(' ')))
      << "the cancelled connection was reused";
}

TEST_F(TransactionTest, CommitsWhenBodyReturnsOk) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    return tx.Exec("set", 1, 42).status();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ValueOf(1), 42);
}

TEST_F(TransactionTest, RollsBackWhenBodyFails) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.Exec("set", 1, 42).status());
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ValueOf(1), 0);
}

TEST_F(TransactionTest, SwallowedStatementErrorStillRollsBack) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.Exec("set", 1, 42).status());
    absl::Status duplicate = tx.Exec("insert", 1, 7).status();  // ignored by the body
    EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
    // The transaction is aborted; later statements report the first error.
    EXPECT_EQ(tx.Exec("get", 2).status().code(), absl::StatusCode::kAlreadyExists);
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ValueOf(1), 0);
}

TEST_F(TransactionTest, ThrowingBodyIsInternalAndRolledBack) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.Exec("set", 1, 42).status());
    throw std::runtime_error("bug");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ValueOf(1), 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(TransactionTest, ExecOneAndMaybeOneReportRowCounts) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    auto one = tx.ExecOne("get", 1);
    EXPECT_TRUE(one.ok()) << one.status();
    if (one.ok()) {
      EXPECT_EQ((*one)[0].as<int>(), 0);
    }
    EXPECT_EQ(tx.ExecOne("get", 99).status().code(), absl::StatusCode::kNotFound);
    auto none = tx.ExecMaybeOne("get", 99);
    EXPECT_TRUE(none.ok() && !none->has_value());
    EXPECT_EQ(tx.ExecMaybeOne("all").status().code(), absl::StatusCode::kInternal);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(TransactionTest, UnregisteredStatementIsNotFound) {
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    return tx.Exec("DROP TABLE items").status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
}

TEST_F(TransactionTest, ValueVariantReturnsTheBodysValue) {
  absl::StatusOr<int> value = RunInTransaction<int>(
      *pool_, {}, [](Transaction& tx) -> absl::StatusOr<int> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("get", 2));
        return row[0].as<int>() + 5;
      });
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 5);
  absl::StatusOr<int> missing = RunInTransaction<int>(
      *pool_, {}, [](Transaction& tx) -> absl::StatusOr<int> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("get", 99));
        return row[0].as<int>();
      });
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TransactionTest, ModeAndIsolationAreApplied) {
  TxOptions options;
  options.mode = TxMode::kReadOnly;
  options.isolation = Isolation::kSerializable;
  absl::Status status = RunInTransaction(*pool_, options, [](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(pqxx::row iso, tx.ExecOne("setting", "transaction_isolation"));
    EXPECT_EQ(iso[0].as<std::string>(), "serializable");
    SUITE_ASSIGN_OR_RETURN(pqxx::row ro, tx.ExecOne("setting", "transaction_read_only"));
    EXPECT_EQ(ro[0].as<std::string>(), "on");
    return tx.Exec("set", 1, 42).status();  // 25006 read_only_sql_transaction
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(SqlStateOf(status), "25006");
  options.mode = TxMode::kReadWrite;
  options.isolation = Isolation::kRepeatableRead;
  status = RunInTransaction(*pool_, options, [](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(pqxx::row iso, tx.ExecOne("setting", "transaction_isolation"));
    EXPECT_EQ(iso[0].as<std::string>(), "repeatable read");
    return tx.Exec("set", 1, 42).status();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(ValueOf(1), 42);
}

TEST_F(TransactionTest, PreparedOnAndOffGiveTheSameResults) {
  std::vector<std::string> results[2];
  for (bool prepared : {true, false}) {
    auto pool = NewPool(prepared, 1);
    absl::Status status = RunInTransaction(*pool, {}, [&](Transaction& tx) -> absl::Status {
      SUITE_RETURN_IF_ERROR(tx.Exec("set", 2, prepared ? 10 : 20).status());
      SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("all"));
      for (const auto& row : rows) {
        results[prepared].push_back(absl::StrCat(row[0].as<int>(), "=", row[1].as<int>() % 10));
      }
      SUITE_ASSIGN_OR_RETURN(pqxx::row timeout, tx.ExecOne("setting", "statement_timeout"));
      EXPECT_EQ(timeout[0].as<std::string>(), "300ms");
      return absl::OkStatus();
    });
    ASSERT_TRUE(status.ok()) << status;
    // Prepared mode really prepares on the server; the other mode never does.
    auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(lease.ok());
    pqxx::nontransaction tx(lease->connection());
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_prepared_statements")[0].as<int>(),
              prepared ? 3 : 0);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[1], (std::vector<std::string>{"1=0", "2=0"}));
}

// A statement planned per call runs as an unnamed statement even with prepared statements
// on: the connection never prepares it (so no generic plan can take over), and it still gets
// the statement timeout and the same results.
TEST_F(TransactionTest, AStatementPlannedPerCallIsNeverPreparedButRunsTheSame) {
  auto pool = NewPool(/*prepared=*/true, 1);
  ASSERT_TRUE(pool->RegisterStatement("get_per_call", "SELECT v FROM items WHERE id = $1",
                                      Planning::kPerCall)
                  .ok());
  ASSERT_TRUE(
      pool->RegisterStatement("setting_per_call", "SELECT current_setting($1)", Planning::kPerCall)
          .ok());
  ASSERT_TRUE(pool->RegisterStatement("activity_per_call",
                                      "SELECT query FROM pg_stat_activity WHERE pid = "
                                      "pg_backend_pid()",
                                      Planning::kPerCall)
                  .ok());
  absl::Status status = RunInTransaction(*pool, {}, [&](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.Exec("set", 2, 7).status());
    for (int i = 0; i < 7; ++i) {  // past the five runs after which a generic plan may be used
      SUITE_ASSIGN_OR_RETURN(pqxx::row per_call, tx.ExecOne("get_per_call", 2));
      SUITE_ASSIGN_OR_RETURN(pqxx::row prepared, tx.ExecOne("get", 2));
      EXPECT_EQ(per_call[0].as<int>(), 7);
      EXPECT_EQ(prepared[0].as<int>(), 7);
    }
    SUITE_ASSIGN_OR_RETURN(pqxx::row timeout, tx.ExecOne("setting_per_call", "statement_timeout"));
    EXPECT_EQ(timeout[0].as<std::string>(), "300ms");
    // The server's view of the unnamed statement still names it.
    SUITE_ASSIGN_OR_RETURN(pqxx::row activity, tx.ExecOne("activity_per_call"));
    EXPECT_TRUE(absl::StartsWith(activity[0].as<std::string>(), "/* activity_per_call */ SELECT"))
        << activity[0].as<std::string>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(lease.ok());
  pqxx::nontransaction tx(lease->connection());
  std::vector<std::string> prepared;
  for (const auto& row : tx.exec("SELECT name FROM pg_prepared_statements ORDER BY name")) {
    prepared.push_back(row[0].as<std::string>());
  }
  EXPECT_EQ(prepared, (std::vector<std::string>{"get", "set"}));
}

TEST_F(TransactionTest, StatementTimeoutIsDeadlineExceededInBothModes) {
  for (bool prepared : {true, false}) {
    auto pool = NewPool(prepared, 1);
    const absl::Time start = absl::Now();
    absl::Status status = RunInTransaction(*pool, {}, [](Transaction& tx) -> absl::Status {
      return tx.Exec("sleep", 5).status();
    });
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << prepared;
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  }
}

// Two serializable transactions that each count the log and append the count: run at the
// same time, PostgreSQL aborts one with 40001; the runner reruns it and both commit, so the
// log holds 0 and 1, as if they had run one after the other.
TEST_F(TransactionTest, RetriesARealSerializationFailure) {
  Barrier both_read(2);
  std::atomic<int> runs{0};
  TxOptions options;
  options.isolation = Isolation::kSerializable;
  auto body = [&](Transaction& tx) -> absl::Status {
    ++runs;
    SUITE_ASSIGN_OR_RETURN(pqxx::row count, tx.ExecOne("count_log"));
    if (tx.attempt() == 1) {
      EXPECT_TRUE(both_read.ArriveAndWait());
    }
    return tx.Exec("log", count[0].as<int>()).status();
  };
  absl::Status first, second;
  std::thread other([&] { second = RunInTransaction(*pool_, options, body); });
  first = RunInTransaction(*pool_, options, body);
  other.join();
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_TRUE(second.ok()) << second;
  EXPECT_EQ(runs.load(), 3);
  pqxx::connection conn(db_->url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT string_agg(v::text, ',' ORDER BY v) FROM log")[0].as<std::string>(),
            "0,1");
}

TEST_F(TransactionTest, RetriesARealDeadlock) {
  Barrier both_locked(2);
  std::atomic<int> runs{0};
  auto body_for = [&](int first, int second) {
    return [&, first, second](Transaction& tx) -> absl::Status {
      ++runs;
      SUITE_RETURN_IF_ERROR(tx.Exec("set", first, first).status());
      if (tx.attempt() == 1) {
        EXPECT_TRUE(both_locked.ArriveAndWait());
      }
      return tx.Exec("set", second, first).status();
    };
  };
  absl::Status a, b;
  std::thread other([&] { b = RunInTransaction(*pool_, {}, body_for(2, 1)); });
  a = RunInTransaction(*pool_, {}, body_for(1, 2));
  other.join();
  EXPECT_TRUE(a.ok()) << a;
  EXPECT_TRUE(b.ok()) << b;
  EXPECT_EQ(runs.load(), 3);
  // Whichever committed last wrote both rows.
  EXPECT_EQ(ValueOf(1), ValueOf(2));
}

TEST_F(TransactionTest, AttemptsAreBounded) {
  int runs = 0;
  TxOptions options;
  options.max_attempts = 3;
  absl::Status status = RunInTransaction(*pool_, options, [&](Transaction& tx) -> absl::Status {
    ++runs;
    return tx.Exec("conflict").status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlStateOf(status), "40001");
  EXPECT_EQ(runs, 3);
}

TEST_F(TransactionTest, DeadlineStopsRetries) {
  int runs = 0;
  TxOptions options;
  options.max_attempts = 1000;
  options.deadline = absl::Now() + absl::Milliseconds(300);
  absl::Status status = RunInTransaction(*pool_, options, [&](Transaction& tx) -> absl::Status {
    ++runs;
    return tx.Exec("conflict").status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_GT(runs, 1);
  EXPECT_LT(runs, 20);
  EXPECT_LT(absl::Now(), options.deadline + absl::Milliseconds(200));
}

TEST_F(TransactionTest, NonRetryableErrorsRunOnce) {
  int runs = 0;
  absl::Status status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    ++runs;
    return tx.Exec("insert", 1, 1).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(runs, 1);
}

TEST_F(TransactionTest, BrokenConnectionMidTransactionIsUnavailableAndReplaced) {
  pqxx::connection admin(db_->url());
  absl::Status status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(pqxx::row pid, tx.ExecOne("pid"));
    pqxx::nontransaction kill(admin);
    kill.exec_params("SELECT pg_terminate_backend($1)", pid[0].as<int>());
    return tx.Exec("set", 1, 42).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool_->Stats().discarded, 1);
  EXPECT_EQ(pool_->Stats().open, 0);
  status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    return tx.Exec("set", 1, 42).status();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(ValueOf(1), 42);
}

// A read-write transaction that lands on a read-only server (a standby that a failover
// demoted, with the connection made before) is UNAVAILABLE and its connection is dropped, so
// the caller's retry gets a new connection, which libpq's target_session_attrs=read-write
// points at the primary. default_transaction_read_only makes the server refuse the write with
// the same SQLSTATE (25006) a hot standby does. In a READ ONLY transaction the refusal is the
// caller's bug: INTERNAL, connection kept.
TEST_F(TransactionTest, AWriteRefusedAsReadOnlyIsUnavailableAndItsConnectionReplaced) {
  pqxx::connection admin(db_->url());
  pqxx::nontransaction(admin).exec(absl::StrCat(
      "ALTER DATABASE ", admin.quote_name(db_->name()), " SET default_transaction_read_only = on"));
  absl::Status status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    return tx.Exec("set", 1, 7).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(SqlStateOf(status), "25006");
  EXPECT_EQ(pool_->Stats().discarded, 1);
  EXPECT_EQ(pool_->Stats().open, 0);

  status = RunInTransaction(*pool_, ReadOnly(), [](Transaction& tx) -> absl::Status {
    return tx.Exec("set", 1, 7).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_EQ(pool_->Stats().discarded, 1);

  pqxx::nontransaction(admin).exec(absl::StrCat(
      "ALTER DATABASE ", admin.quote_name(db_->name()), " RESET default_transaction_read_only"));
  pool_ = NewPool(/*prepared=*/true, /*size=*/4);  // sessions made after the reset
  status = RunInTransaction(*pool_, {}, [](Transaction& tx) -> absl::Status {
    return tx.Exec("set", 1, 7).status();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(ValueOf(1), 7);
}

// A commit whose connection dies under it may or may not have happened: UNKNOWN, and the
// body is not run again (it might apply twice).
TEST_F(TransactionTest, CommitWithUnknownOutcomeIsNotRetried) {
  pqxx::connection admin(db_->url());
  int runs = 0;
  absl::Status status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    ++runs;
    SUITE_RETURN_IF_ERROR(tx.Exec("log", 1).status());
    SUITE_ASSIGN_OR_RETURN(pqxx::row pid, tx.ExecOne("pid"));
    pqxx::nontransaction kill(admin);
    kill.exec_params("SELECT pg_terminate_backend($1)", pid[0].as<int>());
    absl::SleepFor(absl::Milliseconds(50));
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(pool_->Stats().discarded, 1);
}

TEST_F(TransactionTest, KilledIdleBackendsAreReplacedOnNextUse) {
  {  // open two connections, then let them idle
    auto a = pool_->Checkout(absl::Now() + absl::Seconds(5));
    auto b = pool_->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(a.ok() && b.ok());
  }
  pqxx::connection admin(db_->url());
  pqxx::nontransaction kill(admin);
  EXPECT_EQ(kill.exec_params1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = $1 AND pid <> pg_backend_pid()",
                              db_->name())[0]
                .as<int>(),
            2);
  absl::SleepFor(absl::Milliseconds(50));
  for (int i = 0; i < 3; ++i) {
    absl::Status status = RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
      return tx.Exec("set", 1, i).status();
    });
    EXPECT_TRUE(status.ok()) << status;
  }
  EXPECT_EQ(pool_->Stats().discarded, 2);
  EXPECT_EQ(ValueOf(1), 2);
}

// No BEGIN: each statement is its own transaction, so two statements get two transaction
// start times, and a read sees what was committed just before it.
TEST_F(TransactionTest, AutocommitReadRunsEachStatementOnItsOwn) {
  absl::Status status =
      RunInTransaction(*pool_, AutocommitRead(), [&](Transaction& tx) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(pqxx::row first, tx.ExecOne("xact_start"));
        absl::SleepFor(absl::Milliseconds(5));
        SUITE_ASSIGN_OR_RETURN(pqxx::row second, tx.ExecOne("xact_start"));
        EXPECT_NE(first[0].as<std::string>(), second[0].as<std::string>());
        SUITE_ASSIGN_OR_RETURN(pqxx::row ro, tx.ExecOne("setting", "transaction_read_only"));
        EXPECT_EQ(ro[0].as<std::string>(), "off");  // the guard is the client's, not the server's
        SUITE_ASSIGN_OR_RETURN(pqxx::row before, tx.ExecOne("get", 1));
        EXPECT_EQ(before[0].as<int>(), 0);
        {
          pqxx::connection other(db_->url());
          pqxx::work write(other);
          write.exec("UPDATE items SET v = 7 WHERE id = 1");
          write.commit();
        }
        SUITE_ASSIGN_OR_RETURN(pqxx::row after, tx.ExecOne("get", 1));
        EXPECT_EQ(after[0].as<int>(), 7);
        return absl::OkStatus();
      });
  EXPECT_TRUE(status.ok()) << status;
  // The same body in a READ ONLY transaction sees one transaction start.
  TxOptions read_only;
  read_only.mode = TxMode::kReadOnly;
  status = RunInTransaction(*pool_, read_only, [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(pqxx::row first, tx.ExecOne("xact_start"));
    absl::SleepFor(absl::Milliseconds(5));
    SUITE_ASSIGN_OR_RETURN(pqxx::row second, tx.ExecOne("xact_start"));
    EXPECT_EQ(first[0].as<std::string>(), second[0].as<std::string>());
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(TransactionTest, AutocommitReadRefusesWritesAndLockingReadsBeforeSendingThem) {
  for (bool prepared : {true, false}) {
    auto pool = NewPool(prepared, 1);
    for (const std::string name : {"set", "insert", "log", "locking_get"}) {
      int runs = 0;
      absl::Status status =
          RunInTransaction(*pool, AutocommitRead(), [&](Transaction& tx) -> absl::Status {
            ++runs;
            if (name == "set") return tx.Exec(name, 1, 42).status();
            if (name == "insert") return tx.Exec(name, 3, 42).status();
            return tx.Exec(name, 1).status();
          });
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << name << " " << prepared;
      EXPECT_EQ(runs, 1) << name;
    }
    // Keywords inside comments and literals do not count.
    absl::Status status = RunInTransaction(
        *pool, AutocommitRead(),
        [&](Transaction& tx) -> absl::Status { return tx.Exec("quoted_get", "x").status(); });
    EXPECT_TRUE(status.ok()) << status;
  }
  EXPECT_EQ(ValueOf(1), 0);
  pqxx::connection conn(db_->url());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM log")[0].as<int>(), 0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM items")[0].as<int>(), 2);
}

TEST_F(TransactionTest, AutocommitReadKeepsTheStatementTimeoutInBothModes) {
  for (bool prepared : {true, false}) {
    auto pool = NewPool(prepared, 1);
    const absl::Time start = absl::Now();
    absl::Status status = RunInTransaction(
        *pool, AutocommitRead(),
        [](Transaction& tx) -> absl::Status { return tx.Exec("sleep", 5).status(); });
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << prepared;
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
    status = RunInTransaction(*pool, AutocommitRead(), [&](Transaction& tx) -> absl::Status {
      SUITE_ASSIGN_OR_RETURN(pqxx::row timeout, tx.ExecOne("setting", "statement_timeout"));
      EXPECT_EQ(timeout[0].as<std::string>(), "300ms");
      // Without prepared statements the mode falls back to a READ ONLY transaction.
      SUITE_ASSIGN_OR_RETURN(pqxx::row ro, tx.ExecOne("setting", "transaction_read_only"));
      EXPECT_EQ(ro[0].as<std::string>(), prepared ? "off" : "on");
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
  }
}

TEST_F(TransactionTest, AutocommitReadReplacesKilledIdleConnections) {
  {  // open two connections, then let them idle
    auto a = pool_->Checkout(absl::Now() + absl::Seconds(5));
    auto b = pool_->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(a.ok() && b.ok());
  }
  pqxx::connection admin(db_->url());
  pqxx::nontransaction kill(admin);
  EXPECT_EQ(kill.exec_params1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = $1 AND pid <> pg_backend_pid()",
                              db_->name())[0]
                .as<int>(),
            2);
  absl::SleepFor(absl::Milliseconds(50));
  int runs = 0;
  absl::StatusOr<int> value =
      RunInTransaction<int>(*pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<int> {
        ++runs;
        SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("get", 2));
        return row[0].as<int>();
      });
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 0);
  EXPECT_EQ(runs, 3);  // two dead connections, then a new one
  EXPECT_EQ(pool_->Stats().discarded, 2);
}

TEST_F(TransactionTest, AutocommitReadRerunsABodyWhoseConnectionBroke) {
  pqxx::connection admin(db_->url());
  int runs = 0;
  absl::StatusOr<int> value =
      RunInTransaction<int>(*pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<int> {
        ++runs;
        SUITE_ASSIGN_OR_RETURN(pqxx::row pid, tx.ExecOne("pid"));
        if (runs == 1) {
          pqxx::nontransaction kill(admin);
          kill.exec_params("SELECT pg_terminate_backend($1)", pid[0].as<int>());
          absl::SleepFor(absl::Milliseconds(50));
        }
        SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("get", 1));
        return row[0].as<int>();
      });
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(pool_->Stats().discarded, 1);
}

TEST_F(TransactionTest, ExhaustedPoolIsResourceExhausted) {
  auto pool = NewPool(true, 1);
  auto held = pool->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(held.ok());
  TxOptions options;
  options.deadline = absl::Now() + absl::Milliseconds(100);
  int runs = 0;
  absl::Status status = RunInTransaction(*pool, options, [&](Transaction&) -> absl::Status {
    ++runs;
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace suite::db

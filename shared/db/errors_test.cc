// Each SQLSTATE mapping of errors.h, triggered for real against PostgreSQL through libpqxx.
#include "shared/db/errors.h"

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/testing/test_database.h"

namespace suite::db {
namespace {

using ::suite::db::testing::TestDatabase;

class ErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateEmpty();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    conn_ = std::make_unique<pqxx::connection>(db_->url());
    pqxx::nontransaction tx(*conn_);
    tx.exec("CREATE TABLE parent (id int PRIMARY KEY)");
    tx.exec(
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id), "
        "qty int CHECK (qty > 0))");
    tx.exec("INSERT INTO parent VALUES (1)");
    tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(db_->name()),
                         " SET deadlock_timeout = '100ms'"));
  }

  // Runs `work` in a transaction on `conn` and maps what it throws.
  static absl::Status Run(pqxx::connection& conn, const std::function<void(pqxx::work&)>& work) {
    try {
      pqxx::work tx(conn);
      work(tx);
      tx.commit();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return StatusFromException(e);
    }
  }
  absl::Status Run(const std::function<void(pqxx::work&)>& work) { return Run(*conn_, work); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<pqxx::connection> conn_;
};

void ExpectMapped(const absl::Status& status, absl::StatusCode code, const std::string& state) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(SqlStateOf(status).value_or("none"), state) << status;
}

TEST_F(ErrorsTest, UniqueViolationIsAlreadyExists) {
  ExpectMapped(Run([](pqxx::work& tx) { tx.exec_params("INSERT INTO parent VALUES ($1)", 1); }),
               absl::StatusCode::kAlreadyExists, "23505");
}

TEST_F(ErrorsTest, ForeignKeyViolationIsFailedPrecondition) {
  ExpectMapped(Run([](pqxx::work& tx) {
                 tx.exec_params("INSERT INTO child (id, parent_id) VALUES ($1, $2)", 1, 99);
               }),
               absl::StatusCode::kFailedPrecondition, "23503");
}

TEST_F(ErrorsTest, NotNullViolationIsInvalidArgument) {
  ExpectMapped(Run([](pqxx::work& tx) {
                 tx.exec_params("INSERT INTO child (id, parent_id) VALUES ($1, NULL)", 1);
               }),
               absl::StatusCode::kInvalidArgument, "23502");
}

TEST_F(ErrorsTest, CheckViolationIsInvalidArgument) {
  ExpectMapped(Run([](pqxx::work& tx) {
                 tx.exec_params("INSERT INTO child VALUES ($1, $2, $3)", 1, 1, 0);
               }),
               absl::StatusCode::kInvalidArgument, "23514");
}

TEST_F(ErrorsTest, BadInputIsInvalidArgument) {
  ExpectMapped(Run([](pqxx::work& tx) { tx.exec_params("SELECT $1::int", "abc"); }),
               absl::StatusCode::kInvalidArgument, "22P02");
}

TEST_F(ErrorsTest, SerializationFailureIsAbortedAndRetryable) {
  pqxx::connection other(db_->url());
  absl::Status status;
  try {
    pqxx::transaction<pqxx::serializable> tx(other);
    tx.exec("SELECT * FROM parent");  // takes the snapshot
    pqxx::nontransaction(*conn_).exec("UPDATE parent SET id = 2 WHERE id = 1");
    tx.exec("UPDATE parent SET id = 3 WHERE id = 1");  // row changed after the snapshot
  } catch (const std::exception& e) {
    status = StatusFromException(e);
  }
  ExpectMapped(status, absl::StatusCode::kAborted, "40001");
  EXPECT_TRUE(IsRetryable(status));
}

TEST_F(ErrorsTest, DeadlockIsAbortedAndRetryable) {
  pqxx::nontransaction(*conn_).exec("INSERT INTO parent VALUES (2)");
  pqxx::connection first_conn(db_->url()), second_conn(db_->url());
  pqxx::work first(first_conn), second(second_conn);
  first.exec("UPDATE parent SET id = 11 WHERE id = 1");
  second.exec("UPDATE parent SET id = 12 WHERE id = 2");
  absl::Status from_thread, from_main;
  std::thread blocked([&] {
    try {
      first.exec("UPDATE parent SET id = 22 WHERE id = 2");  // waits for `second`
    } catch (const std::exception& e) {
      from_thread = StatusFromException(e);
    }
  });
  absl::SleepFor(absl::Milliseconds(50));
  try {
    second.exec("UPDATE parent SET id = 21 WHERE id = 1");  // closes the cycle
  } catch (const std::exception& e) {
    from_main = StatusFromException(e);
  }
  // One of the two is chosen as the victim; the other then goes through.
  const absl::Status& victim = from_main.ok() ? from_thread : from_main;
  if (!from_main.ok()) second.abort();
  blocked.join();
  EXPECT_NE(from_main.ok(), from_thread.ok());
  ExpectMapped(victim, absl::StatusCode::kAborted, "40P01");
  EXPECT_TRUE(IsRetryable(victim));
}

TEST_F(ErrorsTest, StatementTimeoutIsDeadlineExceeded) {
  ExpectMapped(Run([](pqxx::work& tx) {
                 tx.exec("SET LOCAL statement_timeout = '50ms'");
                 tx.exec("SELECT pg_sleep(2)");
               }),
               absl::StatusCode::kDeadlineExceeded, "57014");
}

TEST_F(ErrorsTest, InsufficientPrivilegeIsPermissionDenied) {
  const std::string role = absl::StrCat("limited_", db_->name());
  const std::string quoted = conn_->quote_name(role);
  pqxx::nontransaction(*conn_).exec("CREATE ROLE " + quoted + " NOLOGIN");
  absl::Status status = Run([&](pqxx::work& tx) {
    tx.exec("SET LOCAL ROLE " + quoted);
    tx.exec("SELECT * FROM parent");
  });
  pqxx::nontransaction(*conn_).exec("DROP ROLE " + quoted);
  ExpectMapped(status, absl::StatusCode::kPermissionDenied, "42501");
  EXPECT_FALSE(IsRetryable(status));
}

// pg_terminate_backend sends 57P01 and closes the socket; libpqxx 6 reports that as
// broken_connection (no SQLSTATE survives), which maps to UNAVAILABLE as 57P01 itself does.
TEST_F(ErrorsTest, TerminatedBackendIsUnavailable) {
  pqxx::connection victim(db_->url());
  const int pid = victim.backendpid();
  pqxx::nontransaction(*conn_).exec_params("SELECT pg_terminate_backend($1)", pid);
  absl::SleepFor(absl::Milliseconds(50));
  absl::Status status = Run(victim, [](pqxx::work& tx) { tx.exec("SELECT 1"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_FALSE(IsRetryable(status));
  EXPECT_EQ(StatusFromSqlState("57P01", "x").code(), absl::StatusCode::kUnavailable);
}

TEST_F(ErrorsTest, UnreachableServerIsUnavailable) {
  absl::Status status;
  try {
    pqxx::connection conn("postgresql://postgres@127.0.0.1:1/x?connect_timeout=2");
  } catch (const std::exception& e) {
    status = StatusFromException(e);
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(ErrorsTest, InDoubtCommitIsUnknown) {
  pqxx::connection victim(db_->url());
  absl::Status status = Run(victim, [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO parent VALUES ($1)", 5);
    pqxx::nontransaction(*conn_).exec_params("SELECT pg_terminate_backend($1)",
                                             victim.backendpid());
    absl::SleepFor(absl::Milliseconds(50));
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_FALSE(IsRetryable(status));
}

TEST_F(ErrorsTest, OtherSqlErrorsAreInternalWithTheirSqlState) {
  ExpectMapped(Run([](pqxx::work& tx) { tx.exec("SELECT * FROM no_such_table"); }),
               absl::StatusCode::kInternal, "42P01");
}

// SQLSTATEs that are hard to provoke on a test server, raised by the server itself.
TEST_F(ErrorsTest, RaisedSqlStatesMapByCode) {
  auto raise = [&](const std::string& state) {
    return Run([&](pqxx::work& tx) {
      tx.exec_params("SELECT raise_state($1)", state);
    });
  };
  pqxx::nontransaction(*conn_).exec(
      "CREATE FUNCTION raise_state(s text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
      "RAISE EXCEPTION 'raised' USING ERRCODE = s; END $$");
  ExpectMapped(raise("53300"), absl::StatusCode::kResourceExhausted, "53300");
  ExpectMapped(raise("53200"), absl::StatusCode::kResourceExhausted, "53200");
  ExpectMapped(raise("57P01"), absl::StatusCode::kUnavailable, "57P01");
  ExpectMapped(raise("57P03"), absl::StatusCode::kUnavailable, "57P03");
  ExpectMapped(raise("40001"), absl::StatusCode::kAborted, "40001");
  ExpectMapped(raise("40P01"), absl::StatusCode::kAborted, "40P01");
  ExpectMapped(raise("40003"), absl::StatusCode::kUnknown, "none");
  ExpectMapped(raise("08006"), absl::StatusCode::kUnavailable, "none");
  ExpectMapped(raise("P0001"), absl::StatusCode::kInternal, "P0001");
}

TEST_F(ErrorsTest, NonSqlExceptionsAreInternal) {
  ExpectMapped(Run([](pqxx::work& tx) { tx.exec("SELECT 'abc'")[0][0].as<int>(); }),
               absl::StatusCode::kInternal, "none");
  ExpectMapped(StatusFromException(std::runtime_error("boom")), absl::StatusCode::kInternal,
               "none");
}

TEST_F(ErrorsTest, MessagesDoNotLeakValues) {
  absl::Status status =
      Run([](pqxx::work& tx) { tx.exec_params("INSERT INTO parent VALUES ($1)", 1); });
  EXPECT_EQ(status.message().find("(id)=(1)"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace suite::db

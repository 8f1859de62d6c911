// PgBouncer 1.18 (Debian's package) in transaction-pooling mode in front of the test
// PostgreSQL, with //shared/db's pool and transactions on top.
//
// Why DB_PREPARED_STATEMENTS exists: in transaction mode consecutive transactions of one client
// connection may run on different server connections, and one server connection serves many
// clients in turn. A server-side prepared statement lives in one server session, so a client
// that prepared "x" finds it missing on the next server, or another client's PREPARE of "x"
// collides with it. PgBouncer learned to carry prepared statements only in 1.21. With
// prepared statements off, the pool sends every named statement as a one-shot parameterized
// query (exec_params) and sets statement_timeout per transaction, which works through
// PgBouncer; these tests prove both the failure and the fix.
//
// The test starts its own pgbouncer on a free port. PgBouncer refuses to run as root, so when
// the test runs as root (as tools/test does here) the child process switches to the
// `postgres` user first; hence tags = ["no-sandbox"].
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/config.h"
#include "shared/db/errors.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/db/transaction.h"
#include "shared/rpc/testing/server_process.h"

namespace suite {
namespace {

using db::ConnectionPool;
using db::PoolConfig;
using db::RunInTransaction;
using db::Transaction;
using db::TxOptions;

// host and port of the cluster behind SUITE_TEST_PG_URL.
struct Upstream {
  std::string host;
  std::string port;
};

absl::StatusOr<Upstream> UpstreamFromEnv() {
  const char* url = std::getenv("SUITE_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    return absl::FailedPreconditionError("SUITE_TEST_PG_URL is not set: run through tools/test");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url, &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "unparsable";
    PQfreemem(error);
    return absl::InvalidArgumentError(absl::StrCat("SUITE_TEST_PG_URL: ", message));
  }
  Upstream upstream{"127.0.0.1", "5432"};
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string(o->keyword) == "host") upstream.host = o->val;
    if (std::string(o->keyword) == "port") upstream.port = o->val;
  }
  PQconninfoFree(options);
  return upstream;
}

// A pgbouncer process in transaction mode, stopped (SIGTERM, then waited for) on destruction.
class PgBouncer {
 public:
  // Start writes the configuration into a fresh directory and starts pgbouncer with at most
  // `server_connections` server connections per database/user pair. The port is one the kernel
  // just handed out; another process may take it before pgbouncer binds it (pgbouncer then
  // exits at once), so a start that ends that way is tried again on a new port.
  static absl::StatusOr<std::unique_ptr<PgBouncer>> Start(int server_connections) {
    absl::StatusOr<std::unique_ptr<PgBouncer>> bouncer;
    for (int attempt = 0; attempt < 5; ++attempt) {
      bouncer = StartOnce(server_connections);
      if (bouncer.ok() || !absl::IsAborted(bouncer.status())) break;
    }
    return bouncer;
  }

  ~PgBouncer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::remove((dir_ + "/users.txt").c_str());
      std::remove((dir_ + "/pgbouncer.ini").c_str());
      std::remove(LogPath().c_str());
      rmdir(dir_.c_str());
    }
  }

  int port() const { return port_; }
  // A URL for `database` through pgbouncer, as the superuser.
  std::string UrlFor(const std::string& database) const {
    return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database,
                        "?connect_timeout=5");
  }

 private:
  PgBouncer() = default;

  // One start on one port; Aborted (with pgbouncer's log) when pgbouncer exits before it answers.
  static absl::StatusOr<std::unique_ptr<PgBouncer>> StartOnce(int server_connections) {
    absl::StatusOr<Upstream> upstream = UpstreamFromEnv();
    if (!upstream.ok()) return upstream.status();
    std::unique_ptr<PgBouncer> self(new PgBouncer());
    char dir_template[] = "/tmp/suite-pgbouncer-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp failed");
    self->dir_ = dir_template;
    self->port_ = rpc::testing::FreeLoopbackPort();
    if (self->port_ <= 0) return absl::UnavailableError("no free port");
    std::ofstream(self->dir_ + "/users.txt") << "\"postgres\" \"\"\n";
    std::ofstream(self->dir_ + "/pgbouncer.ini")
        << "[databases]\n"
        << "* = host=" << upstream->host << " port=" << upstream->port << "\n"
        << "[pgbouncer]\n"
        << "listen_addr = 127.0.0.1\n"
        << "listen_port = " << self->port_ << "\n"
        << "unix_socket_dir =\n"
        << "auth_type = trust\n"
        << "auth_file = " << self->dir_ << "/users.txt\n"
        << "pool_mode = transaction\n"
        << "default_pool_size = " << server_connections << "\n"
        << "max_client_conn = 200\n"
        << "logfile = " << self->LogPath() << "\n"
        << "ignore_startup_parameters = extra_float_digits\n";

    uid_t uid = 0;
    gid_t gid = 0;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) return absl::FailedPreconditionError("no postgres user to run as");
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      // pgbouncer, running as postgres, reads the configuration and writes its log here.
      if (chown(self->dir_.c_str(), uid, gid) != 0) return absl::InternalError("chown failed");
    }
    const std::string config = self->dir_ + "/pgbouncer.ini";
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      if (uid != 0 && (setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
      execl("/usr/sbin/pgbouncer", "pgbouncer", "-q", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    self->pid_ = pid;
    // Ready when it accepts a connection and forwards it to PostgreSQL.
    absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        self->pid_ = -1;
        return absl::AbortedError(absl::StrCat("pgbouncer exited with status ", status, ": ",
                                               self->ReadLog()));
      }
      try {
        pqxx::connection conn(self->UrlFor("postgres"));
        pqxx::nontransaction(conn).exec("SELECT 1");
        return self;
      } catch (const std::exception&) {
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    return absl::DeadlineExceededError("pgbouncer did not come up");
  }

  std::string LogPath() const { return dir_ + "/pgbouncer.log"; }
  std::string ReadLog() const {
    std::ifstream log(LogPath());
    return std::string(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The statements the tests run by name, as storage code would register them.
absl::Status RegisterStatements(ConnectionPool& pool) {
  for (const auto& [name, sql] : std::map<std::string, std::string>{
           {"counter_bump", "UPDATE counters SET value = value + $1 WHERE id = $2 RETURNING value"},
           {"event_insert", "INSERT INTO events (thread, seq) VALUES ($1, $2)"},
           {"event_count", "SELECT count(*) FROM events WHERE thread = $1"},
           {"backend_pid", "SELECT pg_backend_pid()"},
           {"sleep", "SELECT pg_sleep($1)"},
       }) {
    absl::Status status = pool.RegisterStatement(name, sql);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

class PgBouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = db::testing::TestDatabase::CreateEmpty();
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    pqxx::connection direct(database_->url());
    pqxx::work tx(direct);
    tx.exec("CREATE TABLE counters (id int PRIMARY KEY, value bigint NOT NULL)");
    tx.exec("INSERT INTO counters VALUES (1, 0)");
    tx.exec("CREATE TABLE events (thread int NOT NULL, seq int NOT NULL, PRIMARY KEY (thread, seq))");
    tx.commit();
  }
  void TearDown() override {
    bouncer_.reset();  // before the database is dropped
    database_.reset();
  }

  void StartBouncer(int server_connections) {
    auto bouncer = PgBouncer::Start(server_connections);
    ASSERT_TRUE(bouncer.ok()) << bouncer.status();
    bouncer_ = *std::move(bouncer);
  }

  // A pool through pgbouncer, configured the way a service reads it from its environment.
  std::unique_ptr<ConnectionPool> PoolThroughBouncer(bool prepared, int size) {
    auto config = PoolConfig::FromLookup([&](absl::string_view name) -> absl::optional<std::string> {
      if (name == "DATABASE_URL") return bouncer_->UrlFor(database_->name());
      if (name == "DB_PREPARED_STATEMENTS") return prepared ? "true" : "false";
      if (name == "DB_POOL_SIZE") return absl::StrCat(size);
      if (name == "DB_STATEMENT_TIMEOUT_MS") return "300";
      return absl::nullopt;
    });
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    EXPECT_EQ(config->prepared_statements, prepared);
    auto pool = ConnectionPool::Create(*config);
    EXPECT_TRUE(pool.ok()) << pool.status();
    if (!pool.ok()) return nullptr;
    EXPECT_TRUE(RegisterStatements(**pool).ok());
    return *std::move(pool);
  }

  // One transaction that uses a named statement.
  static absl::Status Bump(ConnectionPool& pool) {
    return RunInTransaction(pool, TxOptions(), [](Transaction& tx) -> absl::Status {
      absl::StatusOr<pqxx::row> row = tx.ExecOne("counter_bump", 1, 1);
      return row.status();
    });
  }

  std::unique_ptr<db::testing::TestDatabase> database_;
  std::unique_ptr<PgBouncer> bouncer_;
};

TEST_F(PgBouncerTest, ManyTransactionsFromSeveralThreadsWorkWithPreparedStatementsOff) {
  // Fewer server connections than client connections: transactions must share them.
  ASSERT_NO_FATAL_FAILURE(StartBouncer(/*server_connections=*/2));
  std::unique_ptr<ConnectionPool> pool = PoolThroughBouncer(/*prepared=*/false, /*size=*/6);
  ASSERT_NE(pool, nullptr);

  constexpr int kThreads = 6;
  constexpr int kTransactionsPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTransactionsPerThread; ++i) {
        absl::Status status = RunInTransaction(*pool, TxOptions(), [&](Transaction& tx) {
          absl::StatusOr<pqxx::result> inserted = tx.Exec("event_insert", t, i);
          if (!inserted.ok()) return inserted.status();
          absl::StatusOr<pqxx::row> bumped = tx.ExecOne("counter_bump", 1, 1);
          return bumped.status();
        });
        if (!status.ok()) {
          ADD_FAILURE() << "thread " << t << " transaction " << i << ": " << status;
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  // Every transaction committed exactly once, and the reads go through PgBouncer too.
  for (int t = 0; t < kThreads; ++t) {
    absl::StatusOr<int64_t> count = RunInTransaction<int64_t>(
        *pool, TxOptions(), [&](Transaction& tx) -> absl::StatusOr<int64_t> {
          absl::StatusOr<pqxx::row> row = tx.ExecOne("event_count", t);
          if (!row.ok()) return row.status();
          return (*row)[0].as<int64_t>();
        });
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, kTransactionsPerThread);
  }
  pqxx::connection direct(database_->url());
  EXPECT_EQ(pqxx::work(direct).exec1("SELECT value FROM counters WHERE id = 1")[0].as<int64_t>(),
            kThreads * kTransactionsPerThread);
  // PgBouncer really was in between: PostgreSQL saw at most its two server connections for
  // this database while the pool held six client connections.
  EXPECT_GE(pool->Stats().open, 2);
  EXPECT_LE(pqxx::work(direct)
                .exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                              "pid <> pg_backend_pid()",
                              database_->name())[0]
                .as<int>(),
            2);
}

TEST_F(PgBouncerTest, ClientConnectionsShareFewerServerSessions) {
  // The premise of the whole problem: four client connections, two server sessions, so client
  // connections take turns on server sessions between transactions.
  ASSERT_NO_FATAL_FAILURE(StartBouncer(/*server_connections=*/2));
  std::unique_ptr<ConnectionPool> pool = PoolThroughBouncer(/*prepared=*/false, /*size=*/4);
  ASSERT_NE(pool, nullptr);
  {
    // Open all four client connections (PgBouncer accepts them without a server session).
    std::vector<ConnectionPool::Lease> leases;
    for (int i = 0; i < 4; ++i) {
      auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
      ASSERT_TRUE(lease.ok()) << lease.status();
      leases.push_back(*std::move(lease));
    }
  }
  ASSERT_EQ(pool->Stats().open, 4);
  std::set<int> backends;
  absl::Mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        absl::StatusOr<int> pid = RunInTransaction<int>(
            *pool, TxOptions(), [](Transaction& tx) -> absl::StatusOr<int> {
              absl::StatusOr<pqxx::row> row = tx.ExecOne("backend_pid");
              if (!row.ok()) return row.status();
              return (*row)[0].as<int>();
            });
        ASSERT_TRUE(pid.ok()) << pid.status();
        absl::MutexLock lock(&mu);
        backends.insert(*pid);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(pool->Stats().open, 4);
  EXPECT_GE(backends.size(), 1u);
  EXPECT_LE(backends.size(), 2u) << "more server sessions than PgBouncer's pool allows";
}

TEST_F(PgBouncerTest, StatementTimeoutStillAppliesPerTransaction) {
  // A session-level SET would not follow the client to the next server session; the pool sets
  // statement_timeout inside each transaction when prepared statements are off.
  ASSERT_NO_FATAL_FAILURE(StartBouncer(/*server_connections=*/1));
  std::unique_ptr<ConnectionPool> pool = PoolThroughBouncer(/*prepared=*/false, /*size=*/2);
  ASSERT_NE(pool, nullptr);
  absl::Status status = RunInTransaction(*pool, TxOptions(), [](Transaction& tx) {
    return tx.Exec("sleep", 2.0).status();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  // And the connection is usable again afterwards.
  EXPECT_TRUE(Bump(*pool).ok());
}

TEST_F(PgBouncerTest, WithPreparedStatementsOnTwoClientsCollideOnOneServerSession) {
  // This is why DB_PREPARED_STATEMENTS=false exists. Two pools (two client connections), one
  // server connection: the first client's PREPARE of "counter_bump" stays in that server
  // session, and the second client's PREPARE of the same name there fails (42P05) — or, had
  // the first landed elsewhere, its next EXECUTE would find no such statement (26000).
  ASSERT_NO_FATAL_FAILURE(StartBouncer(/*server_connections=*/1));
  std::unique_ptr<ConnectionPool> first = PoolThroughBouncer(/*prepared=*/true, /*size=*/1);
  std::unique_ptr<ConnectionPool> second = PoolThroughBouncer(/*prepared=*/true, /*size=*/1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(Bump(*first).ok());
  absl::Status collided = Bump(*second);
  std::cout << "with prepared statements through PgBouncer: " << collided << "\n";
  EXPECT_FALSE(collided.ok());
  EXPECT_EQ(collided.code(), absl::StatusCode::kInternal) << collided;
  // 42P05 duplicate_prepared_statement.
  EXPECT_EQ(db::SqlStateOf(collided).value_or(""), "42P05") << collided;
}

TEST_F(PgBouncerTest, WithPreparedStatementsOffTheSameTwoClientsWork) {
  // The mirror image of the test above, with the switch off: same topology, no failure.
  ASSERT_NO_FATAL_FAILURE(StartBouncer(/*server_connections=*/1));
  std::unique_ptr<ConnectionPool> first = PoolThroughBouncer(/*prepared=*/false, /*size=*/1);
  std::unique_ptr<ConnectionPool> second = PoolThroughBouncer(/*prepared=*/false, /*size=*/1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Bump(*first).ok());
    ASSERT_TRUE(Bump(*second).ok());
  }
  pqxx::connection direct(database_->url());
  EXPECT_EQ(pqxx::work(direct).exec1("SELECT value FROM counters WHERE id = 1")[0].as<int64_t>(),
            20);
}

}  // namespace
}  // namespace suite

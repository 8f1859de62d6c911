#include "shared/db/pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/testing/test_database.h"

namespace suite::db {
namespace {

using ::suite::db::testing::TestDatabase;

std::unique_ptr<TestDatabase> NewDatabase() {
  auto db = TestDatabase::CreateEmpty();
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

std::unique_ptr<ConnectionPool> NewPool(const std::string& url, int size) {
  PoolConfig config;
  config.database_url = url;
  config.pool_size = size;
  config.statement_timeout = absl::Milliseconds(1500);
  auto pool = ConnectionPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

// A TCP port on 127.0.0.1 that nothing listens on: bound once, then released.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int BackendPid(ConnectionPool::Lease& lease) { return lease.connection().backendpid(); }

// Ends backend `pid` from a separate superuser connection.
void Terminate(const TestDatabase& db, int pid) {
  pqxx::connection admin(db.url());
  pqxx::nontransaction tx(admin);
  EXPECT_TRUE(tx.exec_params1("SELECT pg_terminate_backend($1)", pid)[0].as<bool>());
}

TEST(ConnectionPoolTest, CreateRejectsBadConfig) {
  PoolConfig config;
  EXPECT_EQ(ConnectionPool::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.database_url = "postgresql://127.0.0.1/x";
  config.pool_size = 0;
  EXPECT_EQ(ConnectionPool::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConnectionPoolTest, CreateConnectsLazilyEvenWhenDatabaseIsDown) {
  auto pool = NewPool(absl::StrCat("postgresql://postgres@127.0.0.1:", ClosedPort(), "/x"), 2);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->Stats().open, 0);
}

TEST(ConnectionPoolTest, UnreachableDatabaseIsUnavailableQuickly) {
  auto pool = NewPool(absl::StrCat("postgresql://postgres@127.0.0.1:", ClosedPort(), "/x"), 2);
  ASSERT_NE(pool, nullptr);
  const absl::Time start = absl::Now();
  auto lease = pool->Checkout(start + absl::Seconds(5));
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_FALSE(pool->Healthy());
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.open, 0);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.connect_failures, 2);
}

TEST(ConnectionPoolTest, ConcurrentCheckoutsNeverExceedPoolSize) {
  auto db = NewDatabase();
  ASSERT_NE(db, nullptr);
  auto pool = NewPool(db->url(), 4);
  ASSERT_NE(pool, nullptr);
  constexpr int kThreads = 16, kCheckouts = 10;
  std::atomic<int> holding{0}, max_holding{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCheckouts; ++i) {
        auto lease = pool->Checkout(absl::Now() + absl::Seconds(10));
        if (!lease.ok()) continue;
        const int now = ++holding;
        int seen = max_holding.load();
        while (now > seen && !max_holding.compare_exchange_weak(seen, now)) {
        }
        EXPECT_LE(pool->Stats().in_use, 4);
        // Holding each connection for a few milliseconds makes the threads overlap.
        pqxx::nontransaction tx(lease->connection());
        if (tx.exec1("SELECT 1 FROM pg_sleep(0.005)")[0].as<int>() == 1) ++ok;
        --holding;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * kCheckouts);
  EXPECT_LE(max_holding.load(), 4);
  EXPECT_GE(max_holding.load(), 2);  // the pool really was shared concurrently
  const PoolStats stats = pool->Stats();
  EXPECT_LE(stats.open, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.idle, stats.open);
  EXPECT_EQ(stats.checkouts, kThreads * kCheckouts);
  EXPECT_EQ(stats.exhausted, 0);
}

// Tests that start from a pool of one connection, checked out and held by the test.
class HeldPoolOfOneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = NewDatabase();
    ASSERT_NE(db_, nullptr);
    pool_ = NewPool(db_->url(), 1);
    ASSERT_NE(pool_, nullptr);
    auto held = pool_->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(held.ok()) << held.status();
    held_ = std::make_unique<ConnectionPool::Lease>(*std::move(held));
    held_pid_ = BackendPid(*held_);
  }

  // Gives the held connection back to the pool.
  void ReturnHeld() { held_.reset(); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<ConnectionPool::Lease> held_;  // declared last: returned first
  int held_pid_ = 0;
};

TEST_F(HeldPoolOfOneTest, CheckoutIsResourceExhaustedAtDeadlineWhenAllBusy) {
  const absl::Time start = absl::Now();
  auto second = pool_->Checkout(start + absl::Milliseconds(100));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_TRUE(pool_->Healthy());  // busy is not down
  const PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.in_use, 1);
  EXPECT_GE(stats.exhausted, 1);
  EXPECT_GE(stats.total_wait, absl::Milliseconds(100));
  EXPECT_EQ(stats.waiting, 0);  // the timed-out checkouts left the queue
}

// Blocks until `pool` has `n` checkouts queued.
void AwaitWaiting(const ConnectionPool& pool, int n) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (pool.Stats().waiting < n && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(pool.Stats().waiting, n);
}

TEST_F(HeldPoolOfOneTest, WaitersAreServedInArrivalOrderAndNoLaterCheckoutJumpsTheQueue) {
  constexpr int kWaiters = 3;
  absl::Mutex mu;
  std::vector<int> served;
  absl::Notification first_may_return;
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      auto lease = pool_->Checkout(absl::Now() + absl::Seconds(10));
      ASSERT_TRUE(lease.ok()) << lease.status();
      {
        absl::MutexLock lock(&mu);
        served.push_back(i);
      }
      first_may_return.WaitForNotification();
    });
    AwaitWaiting(*pool_, i + 1);  // queue them one after another
  }

  // The returning thread checks out again at once, as a handler thread does when it takes
  // its next call: the connection is already the oldest waiter's.
  ReturnHeld();
  auto jumped = pool_->Checkout(absl::Now());
  EXPECT_EQ(jumped.status().code(), absl::StatusCode::kResourceExhausted);

  first_may_return.Notify();
  for (auto& waiter : waiters) waiter.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(served, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(pool_->Stats().waiting, 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(HeldPoolOfOneTest, ABrokenConnectionsSlotGoesToTheWaitingCheckout) {
  held_->MarkBroken();
  absl::StatusOr<ConnectionPool::Lease> waited = absl::UnknownError("not run");
  std::thread waiter([&] { waited = pool_->Checkout(absl::Now() + absl::Seconds(10)); });
  AwaitWaiting(*pool_, 1);
  ReturnHeld();
  waiter.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_FALSE(waited->reused());  // a new connection in the closed one's place
  EXPECT_NE(BackendPid(*waited), held_pid_);
  const PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.open, 1);
  EXPECT_EQ(stats.in_use, 1);
  EXPECT_EQ(stats.discarded, 1);
}

TEST_F(HeldPoolOfOneTest, WaitingCheckoutGetsTheReturnedConnection) {
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(50));
    ReturnHeld();
  });
  auto waited = pool_->Checkout(absl::Now() + absl::Seconds(5));
  releaser.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_TRUE(waited->reused());
  EXPECT_EQ(BackendPid(*waited), held_pid_);
}

TEST_F(HeldPoolOfOneTest, BrokenLeaseIsDiscardedAndReplaced) {
  held_->MarkBroken();
  ReturnHeld();
  EXPECT_EQ(pool_->Stats().open, 0);
  EXPECT_EQ(pool_->Stats().discarded, 1);
  auto next = pool_->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->reused());
  EXPECT_NE(BackendPid(*next), held_pid_);
}

// The URL of a high-availability pair lists every node and asks libpq for the read-write one
// (target_session_attrs=read-write): the pool opens each connection from that URL, so a
// connection goes to whichever listed node accepts writes now, past a node that is down. The
// pool's own connect_timeout is added to the URL's parameters, not in place of them.
TEST(ConnectionPoolTest, AMultiHostUrlConnectsToTheNodeThatAcceptsWrites) {
  auto db = NewDatabase();
  ASSERT_NE(db, nullptr);
  std::string url = db->url();
  const size_t at = url.find('@');
  ASSERT_NE(at, std::string::npos) << url;
  url.insert(at + 1, absl::StrCat("127.0.0.1:", ClosedPort(), ","));
  url += absl::StrContains(url, "?") ? "&" : "?";
  url += "target_session_attrs=read-write";
  auto pool = NewPool(url, 2);
  ASSERT_NE(pool, nullptr);
  auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  pqxx::nontransaction tx(lease->connection());
  EXPECT_EQ(tx.exec1("SELECT current_database()")[0].as<std::string>(), db->name());
  EXPECT_EQ(tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>(), false);
  EXPECT_TRUE(pool->Healthy());
}

TEST(ConnectionPoolTest, TerminatedBackendIsDetectedAndReplaced) {
  auto db = NewDatabase();
  ASSERT_NE(db, nullptr);
  auto pool = NewPool(db->url(), 2);
  ASSERT_NE(pool, nullptr);
  int pid = 0;
  {
    auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(lease.ok()) << lease.status();
    pid = BackendPid(*lease);
  }
  Terminate(*db, pid);
  // The ping meets the dead idle connection first, discards it and succeeds on a new one.
  EXPECT_TRUE(pool->Ping(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(pool->Stats().discarded, 1);
  EXPECT_EQ(pool->Stats().open, 1);
  auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_NE(BackendPid(*lease), pid);
}

TEST_F(HeldPoolOfOneTest, DeadConnectionReturnedIsNotReused) {
  Terminate(*db_, held_pid_);
  try {
    pqxx::nontransaction tx(held_->connection());
    tx.exec("SELECT 1");
    ADD_FAILURE() << "a terminated backend answered";
  } catch (const pqxx::broken_connection&) {
  }
  ReturnHeld();  // not marked broken by hand: the pool sees is_open() == false on return
  EXPECT_EQ(pool_->Stats().discarded, 1);
  EXPECT_TRUE(pool_->Ping(absl::Now() + absl::Seconds(5)).ok());
}

TEST(ConnectionPoolTest, EachConnectionGetsTheStatementTimeoutAndNoJit) {
  auto db = NewDatabase();
  ASSERT_NE(db, nullptr);
  auto pool = NewPool(db->url(), 1);
  ASSERT_NE(pool, nullptr);
  auto lease = pool->Checkout(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  pqxx::nontransaction tx(lease->connection());
  EXPECT_EQ(tx.exec1("SHOW statement_timeout")[0].as<std::string>(), "1500ms");
  EXPECT_EQ(tx.exec1("SHOW jit")[0].as<std::string>(), "off");
}

TEST(ConnectionPoolTest, StatementRegistryRejectsConflictsAndUnknownNames) {
  auto pool = NewPool("postgresql://127.0.0.1/unused", 1);
  ASSERT_NE(pool, nullptr);
  EXPECT_TRUE(pool->RegisterStatement("one", "SELECT 1").ok());
  EXPECT_TRUE(pool->RegisterStatement("one", "SELECT 1").ok());
  EXPECT_EQ(pool->RegisterStatement("one", "SELECT 2").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(pool->RegisterStatement("one", "SELECT 1", Planning::kPerCall).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(pool->RegisterStatement("three", "SELECT 3", Planning::kPerCall).ok());
  EXPECT_TRUE(pool->RegisterStatement("three", "SELECT 3", Planning::kPerCall).ok());
  EXPECT_EQ(pool->RegisterStatement("a*/b", "SELECT 4", Planning::kPerCall).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool->RegisterStatement("", "SELECT 2").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool->RegisterStatement("two", "").code(), absl::StatusCode::kInvalidArgument);
  auto found = pool->FindStatement("one");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->sql, "SELECT 1");
  EXPECT_EQ(pool->FindStatement("two").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace suite::db

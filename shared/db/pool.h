// A bounded pool of libpqxx connections shared by one process.
//
// Storage code does not use the pool directly: it runs its work through RunInTransaction
// (transaction.h), which checks a connection out, runs named statements on it and returns it.
// The pool owns the registry of named statements, so that the same call site runs a
// server-side prepared statement or, with prepared statements switched off (PgBouncer in
// transaction mode), the same SQL through exec_params.
//
//   SUITE_ASSIGN_OR_RETURN(auto pool, ConnectionPool::Create(config));
//   SUITE_RETURN_IF_ERROR(pool->RegisterStatement(
//       "user_by_id", "SELECT email FROM identity.users WHERE id = $1"));
//   ...
//   if (!pool->Healthy()) health.SetServingStatus(NOT_SERVING);
//
// Connections are opened lazily, on the first checkout that finds no idle one: Create never
// touches the database, so a process starts even while the database is momentarily down,
// and reports UNAVAILABLE on use (and Healthy() == false) until it is back.
//
// Thread-safe. The pool must outlive every Lease taken from it.
#ifndef SUITE_SHARED_DB_POOL_H_
#define SUITE_SHARED_DB_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/connection"
#include "shared/db/config.h"

namespace suite::db {

// A snapshot of the pool's counters, for metrics and health.
struct PoolStats {
  int size = 0;    // the configured maximum
  int open = 0;    // connections open or being opened
  int in_use = 0;  // checked out (or being opened for a checkout)
  int idle = 0;
  int waiting = 0;  // checkouts queued for a connection
  int64_t checkouts = 0;          // successful checkouts
  int64_t exhausted = 0;          // checkouts that timed out with every connection busy
  int64_t connect_failures = 0;   // connection attempts that failed
  int64_t discarded = 0;          // broken connections closed and left to be replaced
  absl::Duration total_wait = absl::ZeroDuration();  // summed time checkouts waited
};

// How a registered statement is planned.
enum class Planning {
  // Prepared once per connection; after a few runs PostgreSQL may settle on one generic plan
  // for all arguments. Right for almost every statement: no parse or plan per call.
  kPrepared,
  // Planned with its arguments on every call (an unnamed statement, through exec_params), at
  // the cost of a parse and a plan each time: for a statement whose best plan depends on the
  // values, such as a prefix search that is rare for one argument and matches half the table
  // for another, where any single generic plan is slow for some of them. Its SQL starts with
  // a /* name */ comment, so that the server's logs and pg_stat_activity still name it.
  kPerCall,
};

// A named statement: its registry name, its SQL with $1.. placeholders (as sent: with the
// name's comment in front when planned per call), how it is planned.
struct Statement {
  std::string name;
  std::string sql;
  Planning planning = Planning::kPrepared;
};

class ConnectionPool {
 public:
  // A checked-out connection; gives it back to the pool when destroyed. Movable, not
  // copyable, used by one thread at a time.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    // connection is the leased connection. Precondition: the lease was not moved from.
    pqxx::connection& connection() { return *conn_; }
    // MarkBroken makes the pool close this connection instead of reusing it (call it after
    // pqxx::broken_connection or anything that leaves the session in an unknown state).
    void MarkBroken() { broken_ = true; }
    // reused is true when the connection served an earlier lease: it may have died while idle
    // (server restart, pg_terminate_backend) without the client noticing yet.
    bool reused() const { return reused_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn, bool reused)
        : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
    void Release();

    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<pqxx::connection> conn_;
    bool reused_ = false;
    bool broken_ = false;
  };

  // Create makes a pool that opens connections lazily (see above). Returns INVALID_ARGUMENT
  // for an empty URL or a pool size below 1; never contacts the database.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(PoolConfig config);

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  // Closes idle connections. Precondition: no Lease is outstanding.
  ~ConnectionPool() = default;

  // RegisterStatement adds a named statement that transactions may run by name. Each
  // connection prepares it lazily, on its first use there (kPrepared), or plans it on every
  // call (kPerCall). Registering the same name with the same SQL and planning again is a
  // no-op. Returns INVALID_ARGUMENT for an empty name or SQL and ALREADY_EXISTS if the name is
  // taken by other SQL or planning. Thread-safe; may be called at any time.
  absl::Status RegisterStatement(absl::string_view name, absl::string_view sql,
                                 Planning planning = Planning::kPrepared);

  // FindStatement returns the registered statement, or NOT_FOUND. The pointer stays valid
  // for the pool's lifetime. Thread-safe.
  absl::StatusOr<const Statement*> FindStatement(absl::string_view name) const;

  // Checkout hands out an idle connection, opens a new one while fewer than pool_size are
  // open, or waits for one to be returned until `deadline`. Waiting checkouts are served
  // first come, first served: a returned connection goes to the oldest of them, never to a
  // checkout that arrives later (such as the returning thread's next one), so a wait is
  // bounded by the checkouts ahead of it. Returns RESOURCE_EXHAUSTED when the deadline passes
  // with every connection busy, and UNAVAILABLE at once when a new connection cannot be
  // opened (database down or unreachable). Opening one connection waits at most
  // min(connect_timeout, time to deadline), but never less than libpq's 2 s minimum.
  // Thread-safe.
  absl::StatusOr<Lease> Checkout(absl::Time deadline);

  // Ping runs `SELECT 1` on a pooled connection. Returns OK, or the checkout's error, or
  // UNAVAILABLE when the database does not answer. Thread-safe.
  absl::Status Ping(absl::Time deadline);

  // Healthy is a cheap readiness probe: true when the database answers a ping within
  // min(checkout_timeout, 1 s), or when every connection is busy (the database is serving
  // them). Thread-safe.
  bool Healthy();

  // Stats returns a consistent snapshot of the counters. Thread-safe.
  PoolStats Stats() const;

  const PoolConfig& config() const { return config_; }

 private:
  explicit ConnectionPool(PoolConfig config) : config_(std::move(config)) {}

  // A checkout queued behind others; Return grants it a connection (or a slot to open one)
  // in arrival order.
  struct Waiter {
    bool granted = false;
    std::unique_ptr<pqxx::connection> conn;  // null when granted a slot to open
  };

  bool CanCheckOut() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < config_.pool_size;
  }
  // TakeFreeSlot counts a checkout and returns an idle connection, or null after reserving
  // a slot for a new one. Precondition: CanCheckOut().
  std::unique_ptr<pqxx::connection> TakeFreeSlot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // GrantFreeSlots hands what is free to the waiting checkouts, oldest first.
  void GrantFreeSlots() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(absl::Time deadline) const;
  void Return(std::unique_ptr<pqxx::connection> conn, bool broken);

  const PoolConfig config_;

  mutable absl::Mutex statements_mu_;
  std::map<std::string, Statement, std::less<>> statements_ ABSL_GUARDED_BY(statements_mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  std::deque<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  PoolStats counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_POOL_H_

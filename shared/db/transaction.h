// Transactions for storage code: named statements, statuses instead of exceptions, retries.
//
// Storage code never touches raw pqxx connections or transactions. It runs a function inside
// RunInTransaction, which checks a connection out of the pool, begins a transaction in the
// requested mode, commits when the function returns OK, rolls back otherwise, and retries the
// whole function when PostgreSQL aborted it for a serialization failure or a deadlock
// (40001, 40P01). Statements are named and registered with the pool beforehand, so every
// query is parameterized:
//
//   absl::StatusOr<std::string> EmailOf(ConnectionPool& pool, const std::string& id) {
//     return RunInTransaction<std::string>(
//         pool, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<std::string> {
//           SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("user_email_by_id", id));
//           return row[0].as<std::string>();
//         });
//   }
//
// The function may run several times, so it must not have side effects outside the
// transaction other than ones that are safe to repeat.
//
// Hot single reads can skip BEGIN/COMMIT (one round trip instead of three):
//
//   return RunInTransaction<std::string>(pool, AutocommitRead(), ...same body...);
//
// See TxMode::kAutocommitRead for when that is safe.
#ifndef SUITE_SHARED_DB_TRANSACTION_H_
#define SUITE_SHARED_DB_TRANSACTION_H_

#include <exception>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "pqxx/result"
#include "pqxx/row"
#include "pqxx/transaction_base"
#include "shared/base/request_deadline.h"
#include "shared/base/status_macros.h"
#include "shared/db/pool.h"
#include "shared/db/statement_canceller.h"

namespace suite::db {

enum class TxMode {
  kReadOnly,
  kReadWrite,
  // kAutocommitRead runs each statement of the body on its own, in autocommit (a
  // pqxx::nontransaction): no BEGIN and no COMMIT, so a one-statement read costs one round
  // trip instead of three. Retries, deadline, error mapping, statement timeout and the
  // replacement of broken connections are those of the other modes.
  //
  // Safe for: one read statement (at READ COMMITTED a statement is its own snapshot, so a
  // READ ONLY transaction around it buys nothing), or several reads that need no common
  // snapshot (each sees the data committed when it starts; a write committed between them
  // may be seen by the second and not the first). Not for: reads that must agree with each
  // other, locking reads (FOR UPDATE / FOR SHARE), writes. `isolation` is ignored.
  //
  // Writes are refused on the client: Exec returns FAILED_PRECONDITION, before sending
  // anything, for a registered statement whose SQL is not a plain read (its first keyword
  // is not SELECT / WITH / VALUES / TABLE, or it contains INSERT, UPDATE, DELETE, MERGE,
  // TRUNCATE, INTO, LOCK, SHARE, COPY, CALL). A SELECT of a function with side effects is
  // not detected: such a write would autocommit. Do not register those for this mode.
  //
  // Because nothing is sent before the body's first statement, a connection that died while
  // idle fails there (UNAVAILABLE) rather than at BEGIN; the body is then rerun on another
  // connection (reads are safe to repeat), at most pool_size times, as for a failed BEGIN.
  // A connection that breaks later in the body is treated the same way.
  //
  // Without prepared statements (e.g. behind PgBouncer in transaction mode) the statement
  // timeout can only be set per transaction, so this mode then runs as kReadOnly at READ
  // COMMITTED (same results, three round trips).
  kAutocommitRead,
};
enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  TxMode mode = TxMode::kReadWrite;
  Isolation isolation = Isolation::kReadCommitted;
  // No retry starts after this; each checkout waits until min(deadline, now +
  // checkout_timeout). The default leaves only the pool's checkout timeout. The deadline in
  // force is the earlier of this and the thread's request deadline
  // (//shared/base:request_deadline, set for every handler body): a statement still running
  // at it is cancelled (StatementCanceller), and a transaction whose deadline passes before
  // it commits is rolled back; both are DEADLINE_EXCEEDED. One whose request is abandoned
  // (the call cancelled) before it commits is rolled back with CANCELLED.
  absl::Time deadline = absl::InfiniteFuture();
  // How many times the function may run in all (values below 1 count as 1).
  int max_attempts = 5;
};

// The two modes storage code asks for besides the default (kReadWrite at READ COMMITTED):
// a READ ONLY transaction, and kAutocommitRead for a hot single-statement read.
TxOptions ReadOnly();
TxOptions AutocommitRead();

// One attempt of a transaction, handed to the function given to RunInTransaction. Not
// thread-safe; valid only during that call.
//
// After any failed statement PostgreSQL aborts the transaction: every later Exec returns
// the first error again, and the runner rolls back even if the function returns OK.
class Transaction {
 public:
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Exec runs the registered statement `statement_name` with `params` bound to $1, $2, ...
  // (a server-side prepared statement, or exec_params when prepared statements are off or
  // the statement is planned per call).
  // Returns NOT_FOUND for an unregistered name, the mapped status of errors.h for a database
  // error (e.g. ALREADY_EXISTS, ABORTED, DEADLINE_EXCEEDED for the statement timeout,
  // UNAVAILABLE when the connection broke or, in a kReadWrite transaction, when the server
  // turned out to be a read-only standby; the connection is then replaced).
  template <typename... Args>
  [[nodiscard]] absl::StatusOr<pqxx::result> Exec(absl::string_view statement_name,
                                                  const Args&... params) {
    SUITE_RETURN_IF_ERROR(failure_);
    absl::StatusOr<const Statement*> statement = Resolve(statement_name);
    if (!statement.ok()) return statement.status();
    // Still running at the deadline or when the call is cancelled: cancelled (57014,
    // DEADLINE_EXCEEDED), and the connection, which a late cancel request could still reach,
    // is not reused.
    StatementCanceller::Watch watch(StatementCanceller::Global(), lease_.connection(), deadline_,
                                    CurrentRequestScope());
    try {
      pqxx::result result = Prepares(**statement)
                                ? tx_->exec_prepared((*statement)->name, params...)
                                : tx_->exec_params((*statement)->sql, params...);
      if (watch.Cancelled()) lease_.MarkBroken();
      return result;
    } catch (const std::exception& e) {
      if (watch.Cancelled()) lease_.MarkBroken();
      return Fail(e);
    }
  }

  // ExecOne is Exec for statements that yield exactly one row. Returns NOT_FOUND when there
  // is none, INTERNAL when there are several, and Exec's errors.
  template <typename... Args>
  [[nodiscard]] absl::StatusOr<pqxx::row> ExecOne(absl::string_view statement_name,
                                                  const Args&... params) {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row, ExecMaybeOne(statement_name, params...));
    if (!row.has_value()) return absl::NotFoundError("no matching row");
    return *std::move(row);
  }

  // ExecMaybeOne is Exec for statements that yield at most one row: nullopt when there is
  // none, INTERNAL when there are several, and Exec's errors.
  template <typename... Args>
  [[nodiscard]] absl::StatusOr<absl::optional<pqxx::row>> ExecMaybeOne(
      absl::string_view statement_name, const Args&... params) {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows, Exec(statement_name, params...));
    if (rows.size() > 1) {
      return absl::InternalError(
          absl::StrCat("statement ", statement_name, " returned ", rows.size(), " rows"));
    }
    if (rows.empty()) return absl::optional<pqxx::row>();
    return absl::optional<pqxx::row>(rows[0]);
  }

  // attempt is 1 on the first run of the function, 2 on its first retry, and so on.
  int attempt() const { return attempt_; }

 private:
  friend absl::Status RunInTransaction(ConnectionPool&, const TxOptions&,
                                       const std::function<absl::Status(Transaction&)>&);

  Transaction(ConnectionPool& pool, ConnectionPool::Lease lease, int attempt)
      : pool_(pool), lease_(std::move(lease)), prepared_(pool.config().prepared_statements),
        attempt_(attempt) {}

  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(ConnectionPool& pool,
                                                           ConnectionPool::Lease lease,
                                                           const TxOptions& options, int attempt);
  absl::StatusOr<const Statement*> Resolve(absl::string_view statement_name);
  // Prepares: whether `statement` runs as a server-side prepared statement on this connection.
  bool Prepares(const Statement& statement) const {
    return prepared_ && statement.planning == Planning::kPrepared;
  }
  // Fail records a database error, marks the connection broken when it is, and returns it.
  absl::Status Fail(const std::exception& e);
  absl::Status Commit();
  void Rollback();

  ConnectionPool& pool_;
  ConnectionPool::Lease lease_;            // declared before tx_: the transaction ends first
  std::unique_ptr<pqxx::transaction_base> tx_;
  const bool prepared_;
  bool reads_only_ = false;  // kAutocommitRead: refuse statements that are not plain reads
  bool writes_ = false;      // kReadWrite: a read-only refusal means the server is a standby
  absl::Time deadline_ = absl::InfiniteFuture();  // TxOptions.deadline in force
  const int attempt_;
  absl::Status failure_;
};

// RunInTransaction runs `body` in a transaction on a pooled connection with `options`:
// commits when it returns OK, rolls back and returns its status otherwise. ABORTED from
// PostgreSQL (serialization failure, deadlock; see IsRetryable) reruns `body` in a new
// transaction after a jittered exponential pause, up to options.max_attempts runs and never
// past options.deadline; the last ABORTED is returned when they run out. Other errors:
// the checkout's RESOURCE_EXHAUSTED / UNAVAILABLE, UNAVAILABLE when the connection breaks
// (it is replaced), UNKNOWN when it broke during COMMIT (never retried: the commit may have
// happened), INTERNAL when `body` throws, FAILED_PRECONDITION for a statement that is not a
// plain read under kAutocommitRead, DEADLINE_EXCEEDED once the deadline (see TxOptions) has
// passed before it began or before COMMIT, or a statement was cancelled at it; CANCELLED
// when the request was abandoned before COMMIT.
// Thread-safe (each call uses its own connection).
absl::Status RunInTransaction(ConnectionPool& pool, const TxOptions& options,
                              const std::function<absl::Status(Transaction&)>& body);

// RunInTransaction<T> is the same for a function that returns a value, e.g.
// RunInTransaction<int64_t>(pool, options, [&](Transaction& tx) -> absl::StatusOr<int64_t> {..}).
template <typename T>
absl::StatusOr<T> RunInTransaction(ConnectionPool& pool, const TxOptions& options,
                                   const std::function<absl::StatusOr<T>(Transaction&)>& body) {
  absl::optional<T> value;
  SUITE_RETURN_IF_ERROR(RunInTransaction(pool, options, [&](Transaction& tx) -> absl::Status {
    absl::StatusOr<T> result = body(tx);
    if (!result.ok()) return result.status();
    value.emplace(*std::move(result));
    return absl::OkStatus();
  }));
  return *std::move(value);
}

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_TRANSACTION_H_

#include "shared/db/transaction.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "pqxx/nontransaction"
#include "pqxx/transaction"
#include "shared/base/request_deadline.h"
#include "shared/db/errors.h"

namespace suite::db {
namespace {

template <pqxx::isolation_level kLevel>
std::unique_ptr<pqxx::transaction_base> BeginWith(pqxx::connection& conn, TxMode mode) {
  if (mode == TxMode::kReadOnly) {
    return std::make_unique<pqxx::transaction<kLevel, pqxx::read_only>>(conn);
  }
  return std::make_unique<pqxx::transaction<kLevel, pqxx::read_write>>(conn);
}

std::unique_ptr<pqxx::transaction_base> BeginPqxx(pqxx::connection& conn,
                                                   const TxOptions& options, bool prepared) {
  if (options.mode == TxMode::kAutocommitRead) {
    // Without prepared statements the statement timeout must be set per transaction (see
    // Transaction::Begin), so fall back to a READ ONLY transaction there.
    if (prepared) return std::make_unique<pqxx::nontransaction>(conn);
    return BeginWith<pqxx::read_committed>(conn, TxMode::kReadOnly);
  }
  switch (options.isolation) {
    case Isolation::kReadCommitted:
      return BeginWith<pqxx::read_committed>(conn, options.mode);
    case Isolation::kRepeatableRead:
      return BeginWith<pqxx::repeatable_read>(conn, options.mode);
    case Isolation::kSerializable:
      return BeginWith<pqxx::serializable>(conn, options.mode);
  }
  return BeginWith<pqxx::read_committed>(conn, options.mode);
}

// IsPlainRead is the client-side write guard of kAutocommitRead (see transaction.h): the
// statement's first keyword must start a read, and no keyword may write or lock. It scans
// words outside string literals, quoted identifiers and comments; a false refusal is loud
// (FAILED_PRECONDITION in tests), a false acceptance needs a side-effecting function.
bool IsPlainRead(absl::string_view sql) {
  static const auto* const kWriting = new absl::flat_hash_set<std::string>{
      "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "INTO", "LOCK", "SHARE", "COPY", "CALL"};
  bool first = true;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // literal or quoted identifier: skip to its closing quote
      const size_t end = sql.find(c, i + 1);
      if (end == absl::string_view::npos) return false;
      i = end + 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      i = end == absl::string_view::npos ? sql.size() : end + 1;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      if (end == absl::string_view::npos) return false;
      i = end + 2;
    } else if (absl::ascii_isalpha(c) || c == '_') {
      size_t end = i;
      while (end < sql.size() && (absl::ascii_isalnum(sql[end]) || sql[end] == '_')) ++end;
      const std::string word = absl::AsciiStrToUpper(sql.substr(i, end - i));
      if (first && word != "SELECT" && word != "WITH" && word != "VALUES" && word != "TABLE") {
        return false;
      }
      first = false;
      if (kWriting->contains(word)) return false;
      i = end;
    } else if (c == '$' || absl::ascii_isdigit(c)) {  // $1, numbers: not keywords
      ++i;
      while (i < sql.size() && (absl::ascii_isalnum(sql[i]) || sql[i] == '_')) ++i;
    } else {
      ++i;
    }
  }
  return !first;
}

// Marks the lease broken when the status says the session is gone or in an unknown state.
bool LeavesConnectionBroken(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsUnknown(status);
}

absl::Status DeadlinePassed(absl::string_view when) {
  return absl::DeadlineExceededError(absl::StrCat("the request's deadline passed ", when));
}

// Jittered exponential backoff: uniform in [cap/2, cap], cap = 10 ms * 2^(attempt-1), <= 1 s.
// The jitter keeps two transactions that just conflicted from colliding again in lockstep.
absl::Duration Backoff(int attempt) {
  thread_local absl::BitGen gen;
  const double cap_ms = std::min(1000.0, 10.0 * (1 << std::min(attempt - 1, 10)));
  return absl::Milliseconds(absl::Uniform(gen, cap_ms / 2, cap_ms));
}

}  // namespace

TxOptions ReadOnly() {
  TxOptions options;
  options.mode = TxMode::kReadOnly;
  return options;
}

TxOptions AutocommitRead() {
  TxOptions options;
  options.mode = TxMode::kAutocommitRead;
  return options;
}

Transaction::~Transaction() = default;

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(ConnectionPool& pool,
                                                               ConnectionPool::Lease lease,
                                                               const TxOptions& options,
                                                               int attempt) {
  std::unique_ptr<Transaction> tx(new Transaction(pool, std::move(lease), attempt));
  try {
    tx->reads_only_ = options.mode == TxMode::kAutocommitRead;
    tx->writes_ = options.mode == TxMode::kReadWrite;
    tx->tx_ = BeginPqxx(tx->lease_.connection(), options, tx->prepared_);
    tx->deadline_ = options.deadline;
    const absl::Duration timeout = pool.config().statement_timeout;
    if (!tx->prepared_) {
      // Without prepared statements we may be behind PgBouncer in transaction mode, where the
      // session-level SETs of ConnectionPool::Connect do not follow us to the next server
      // connection: repeat them for this transaction only, in one round trip.
      if (timeout > absl::ZeroDuration()) {
        tx->tx_->exec_params(
            "SELECT set_config('statement_timeout', $1, true), set_config('jit', 'off', true)",
            std::to_string(absl::ToInt64Milliseconds(timeout)));
      } else {
        tx->tx_->exec("SELECT set_config('jit', 'off', true)");
      }
    }
  } catch (const std::exception& e) {
    return tx->Fail(e);
  }
  return tx;
}

absl::StatusOr<const Statement*> Transaction::Resolve(absl::string_view statement_name) {
  SUITE_ASSIGN_OR_RETURN(const Statement* statement, pool_.FindStatement(statement_name));
  if (reads_only_ && !IsPlainRead(statement->sql)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "statement ", statement_name, " is not a plain read; kAutocommitRead refuses it"));
  }
  if (Prepares(*statement)) {
    try {
      // Registers the definition with this connection once; libpqxx sends PREPARE on the
      // statement's first execution here.
      lease_.connection().prepare(statement->name, statement->sql);
    } catch (const std::exception& e) {
      return Fail(e);
    }
  }
  return statement;
}

absl::Status Transaction::Fail(const std::exception& e) {
  absl::Status status = StatusFromException(e);
  // A read-write transaction refused as read-only (25006) ran on a standby: the connection
  // reached a server that a failover has since demoted (libpq's target_session_attrs=read-write
  // checks only when connecting). The caller may retry once the pool has replaced the
  // connection with one to the new primary, so UNAVAILABLE, and the connection is dropped.
  // In a READ ONLY transaction the same code is the caller's own mistake and stays INTERNAL.
  if (writes_ && SqlStateOf(status) == "25006") {
    status = absl::UnavailableError("the database server is read-only (a standby); retry");
    status.SetPayload(kSqlStatePayload, absl::Cord("25006"));
  }
  if (LeavesConnectionBroken(status) || !lease_.connection().is_open()) lease_.MarkBroken();
  if (failure_.ok()) failure_ = status;
  return status;
}

absl::Status Transaction::Commit() {
  try {
    tx_->commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return Fail(e);
  }
}

void Transaction::Rollback() {
  try {
    if (tx_ != nullptr) tx_->abort();
  } catch (const std::exception& e) {
    (void)Fail(e);
  }
}

absl::Status RunInTransaction(ConnectionPool& pool, const TxOptions& requested,
                              const std::function<absl::Status(Transaction&)>& body) {
  TxOptions options = requested;
  options.deadline = std::min(requested.deadline, CurrentRequestDeadline());
  const int max_attempts = std::max(1, options.max_attempts);
  int broken_reruns = 0;
  for (int attempt = 1;; ++attempt) {
    const absl::Time checkout_deadline =
        std::min(options.deadline, absl::Now() + pool.config().checkout_timeout);
    absl::Status status;
    std::unique_ptr<Transaction> tx;
    // An idle connection may have died unnoticed (server restart, pg_terminate_backend).
    // Nothing ran on it yet, so a failed BEGIN on one is tried again on another; each such
    // failure discards one connection, so this ends after at most pool_size of them.
    for (int stale = 0; tx == nullptr; ++stale) {
      if (absl::Now() >= options.deadline) return DeadlinePassed("before the transaction began");
      absl::StatusOr<ConnectionPool::Lease> lease = pool.Checkout(checkout_deadline);
      if (!lease.ok()) return lease.status();
      const bool reused = lease->reused();
      absl::StatusOr<std::unique_ptr<Transaction>> begun =
          Transaction::Begin(pool, *std::move(lease), options, attempt);
      if (begun.ok()) {
        tx = *std::move(begun);
      } else if (!absl::IsUnavailable(begun.status()) || !reused ||
                 stale >= pool.config().pool_size) {
        return begun.status();
      }
    }

    try {
      status = body(*tx);
    } catch (const std::exception& e) {
      status = StatusFromException(e);
      if (LeavesConnectionBroken(status)) tx->lease_.MarkBroken();
    } catch (...) {
      status = absl::InternalError("the transaction body threw a non-standard exception");
      tx->lease_.MarkBroken();  // the session's state is unknown
    }
    // A failed statement aborted the transaction even if the body went on and returned OK.
    if (status.ok()) status = tx->failure_;
    // Once the deadline has passed, or the call was cancelled, the caller has been told the
    // call failed: committing now would apply a change the caller believes failed.
    if (status.ok() && options.mode != TxMode::kAutocommitRead) {
      if (absl::Now() >= options.deadline) {
        status = DeadlinePassed("before commit; the transaction was rolled back");
      } else if (CurrentRequestAbandoned()) {
        status = absl::CancelledError(
            "the call was cancelled before commit; the transaction was rolled back");
      }
    }
    if (status.ok()) {
      status = tx->Commit();
    } else {
      tx->Rollback();
    }
    tx.reset();  // back to the pool before any pause

    // In autocommit nothing is sent before the body, so a connection that died while idle
    // shows up in the body; reads are safe to rerun on another connection. Each such
    // failure discards one connection, so this ends after pool_size of them.
    if (options.mode == TxMode::kAutocommitRead && absl::IsUnavailable(status) &&
        broken_reruns < pool.config().pool_size) {
      ++broken_reruns;
      --attempt;  // not a retry of a conflict: does not use up max_attempts
      continue;
    }
    if (status.ok() || !IsRetryable(status) || attempt >= max_attempts) return status;
    const absl::Duration pause = Backoff(attempt);
    if (absl::Now() + pause >= options.deadline) return status;
    absl::SleepFor(pause);
  }
}

}  // namespace suite::db

// Cancels a statement still running at its request's deadline or after its call was
// cancelled, without costing the usual statement anything on the wire: a running statement
// is registered here with its deadline and request (a map insert under a mutex), and one
// background thread sends PostgreSQL a cancel request for it if the deadline passes or the
// request is abandoned first (checked every kGranularity). The alternative, SET LOCAL statement_timeout per
// transaction, would add a round trip to every transaction whose caller set a deadline.
//
//   {
//     StatementCanceller::Watch watch(StatementCanceller::Global(), connection, deadline,
//                                     CurrentRequestScope());
//     tx.exec_prepared(...);    // cancelled (SQLSTATE 57014) if still running at `deadline`
//     if (watch.Cancelled()) lease.MarkBroken();
//   }
//
// A cancel request travels apart from the connection and PostgreSQL acts on it whenever it
// arrives, possibly after the statement ended on its own; so a connection that was sent one
// is not reused (the caller marks it broken), or a late cancel could hit a later request's
// statement. Thread-safe.
#ifndef SUITE_SHARED_DB_STATEMENT_CANCELLER_H_
#define SUITE_SHARED_DB_STATEMENT_CANCELLER_H_

#include <cstdint>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/connection_base"
#include "shared/base/request_deadline.h"

namespace suite::db {

class StatementCanceller {
 public:
  // Global is the process's canceller; its thread starts with the first watched statement.
  static StatementCanceller& Global();

  // How often at most the thread looks for newly watched statements that are due sooner than
  // the ones it waits for, and for abandoned requests: the cancel comes up to this late.
  static constexpr absl::Duration kGranularity = absl::Milliseconds(25);

  StatementCanceller() = default;
  ~StatementCanceller();  // stops the thread; watched statements are left alone
  StatementCanceller(const StatementCanceller&) = delete;
  StatementCanceller& operator=(const StatementCanceller&) = delete;

  // Watch registers `connection`'s running statement for cancellation at `deadline`, or once
  // `request` (which must outlive the watch) is abandoned, for its lifetime; with an infinite
  // deadline and no request it registers nothing. Use it on the connection's own thread.
  class Watch {
   public:
    Watch(StatementCanceller& canceller, pqxx::connection_base& connection, absl::Time deadline,
          const ScopedRequestDeadline* request = nullptr);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // Cancelled ends the watch (call it once the statement returned or threw) and says
    // whether a cancel request was sent for it.
    bool Cancelled();

   private:
    StatementCanceller& canceller_;
    uint64_t id_ = 0;  // 0: nothing registered
    bool cancelled_ = false;
  };

 private:
  struct Watched {
    absl::Time deadline;
    pqxx::connection_base* connection;
    const ScopedRequestDeadline* request;  // nullable
    bool cancelled = false;
  };

  uint64_t Add(pqxx::connection_base& connection, absl::Time deadline,
               const ScopedRequestDeadline* request);
  // Remove unregisters `id` and says whether it was cancelled; waits for a cancel of it that
  // is under way, so the connection outlives every use here.
  bool Remove(uint64_t id);
  void Loop();

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Watched> watched_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_STATEMENT_CANCELLER_H_

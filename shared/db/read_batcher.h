// Coalesces concurrent point reads of one kind into one statement over many keys.
//
// A hot point read (a session by token hash, a user's subscription, a question by id) costs
// PostgreSQL far more per statement than per row: on the 2-core bench machine, 32 clients ran
// the session lookup for one key 41 700 times a second and for eight keys at once 25 500 times
// (204 000 keys). A ReadBatcher lets each caller ask for its own key
// and block, while at most `max_in_flight` statements (default two) run at a time. Callers
// that arrive while those are busy queue up, and the first caller to find a slot free reads
// the queue (up to `max_batch` keys, oldest first) in one statement for all of them. Nothing
// waits on a timer: a caller that finds a slot free reads at once, so a call alone costs what
// it did unbatched, and batches grow only as fast as calls pile up behind a busy database.
// The statements themselves: batched_read_statement.h.
//
//   ReadBatcher<Session> sessions({}, [this](const std::vector<std::string>& hashes)
//       -> absl::StatusOr<absl::flat_hash_map<std::string, Session>> { ...one statement... });
//   absl::StatusOr<absl::optional<Session>> session = sessions.Read(hash);
//
// Read blocks its thread. ReadAsync does not: a callback-API handler queues its key from
// gRPC's own thread, and one task on the caller's executor reads batch after batch and calls
// every caller of each batch back itself, so no thread waits per call
// and the calls in flight are not bounded by the number of threads.
// Both kinds of caller share one queue and the same slots.
//
//   sessions.ReadAsync(hash, caller, [](absl::StatusOr<absl::optional<Session>> session) {
//     ...  // on caller.run_blocking, under the caller's deadline and cancellation
//   });
//
// The statement runs on the thread of one of the callers (or of that task), under a request
// scope (//shared/base:request_deadline) whose deadline is the latest of its callers' and which
// has no cancellation probe: one caller's deadline or cancellation does not fail the others'
// read.
// A caller whose deadline passes while it is still queued leaves with DEADLINE_EXCEEDED; once
// its key is being read it waits for that statement (bounded by the latest deadline of the
// batch and the pool's statement timeout). A failed read fails every caller of its batch with
// its status, so validate keys before reading them: one malformed key (a bad UUID cast) would
// fail the other callers' reads too.
//
// Only for reads where a result read a moment after the caller asked is as good as one read
// at that moment (READ COMMITTED point reads): a caller may get a value read by a statement
// that another caller started, never one read before it asked.
#ifndef SUITE_SHARED_DB_READ_BATCHER_H_
#define SUITE_SHARED_DB_READ_BATCHER_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "shared/base/async_caller.h"
#include "shared/base/request_deadline.h"

namespace suite::db {

// Most keys one batched statement reads, unless a ReadBatcher says otherwise: the services'
// handler pools have 16 threads, so rarely more calls queue at once. batched_read_statement.h
// registers and runs statements up to the same default, so the two agree unless both are given.
inline constexpr int kDefaultReadBatch = 16;

struct ReadBatcherOptions {
  // Most keys read by one statement (batched_read_statement.h registers a statement for each
  // size up to it).
  int max_batch = kDefaultReadBatch;
  // Most statements running at once. Small, so that calls queue and batches form under load;
  // not 1, because then one statement descheduled for a few milliseconds stalls every call.
  // ValidateSession on the 2-core bench machine, 1 / 2 / 3 / 4: at 32
  // clients 14 000 / 13 000 / 12 500 / 11 800 calls/s (unbatched 10 600); at 9 400 calls/s
  // open loop, p99 over p50 8.5-82 with 1 and 3.5-8.3 with 2 (unbatched 3.6-7.9).
  int max_in_flight = 2;
};

// Counts since a ReadBatcher was made (//shared/metrics:batched_read_metrics exports them).
struct ReadBatcherStats {
  int64_t statements = 0;         // statements started
  int64_t keys = 0;               // distinct keys they read
  int64_t callers = 0;            // callers they answered (a key asked twice counts twice)
  int64_t queue_deadlines = 0;    // callers that left the queue at their deadline
};

template <typename Value>
class ReadBatcher {
 public:
  using ValueMap = absl::flat_hash_map<std::string, Value>;
  // Reads the values of `keys` (distinct, at most max_batch) in one statement; a key without
  // a value is absent from the map.
  using ReadMany = std::function<absl::StatusOr<ValueMap>(const std::vector<std::string>& keys)>;
  // A key's value, nullopt when it has none, or the status of the statement that read it
  // (DEADLINE_EXCEEDED when the caller's deadline passed while its key waited for a batch).
  using Result = absl::StatusOr<absl::optional<Value>>;
  using Done = std::function<void(Result)>;

  ReadBatcher(ReadBatcherOptions options, ReadMany read_many)
      : options_(Sanitized(options)), read_many_(std::move(read_many)) {}
  ReadBatcher(const ReadBatcher&) = delete;
  ReadBatcher& operator=(const ReadBatcher&) = delete;

  // Read blocks until `key` is read, under the thread's request scope (its deadline).
  Result Read(absl::string_view key) {
    auto me = std::make_shared<Waiter>();
    me->key = std::string(key);
    me->deadline = CurrentRequestDeadline();
    absl::MutexLock lock(&mu_);
    queue_.push_back(me);
    ++blocked_in_queue_;
    while (!me->done) {
      if (!me->taken && absl::Now() >= me->deadline) {
        queue_.erase(std::find(queue_.begin(), queue_.end(), me));
        --blocked_in_queue_;
        ++stats_.queue_deadlines;
        // It may have been the one meant to take the rest of the queue.
        if (auto start_task = TaskToStart()) start_task([this] { ReadForAsyncCallers(); });
        return QueueDeadlineError();
      }
      if (SlotFree()) {
        ++in_flight_;
        ReadForBlockedCaller();
        continue;
      }
      const MayProceed may_proceed{this, me.get()};
      const absl::Time wake = me->taken ? absl::InfiniteFuture() : me->deadline;
      mu_.AwaitWithDeadline(absl::Condition(&may_proceed), wake);
    }
    return std::move(me->result);
  }

  // ReadAsync queues `key` and returns at once; it never blocks beyond a short lock, so a
  // callback-API handler may call it on gRPC's own thread. The statement runs on
  // `caller.run_blocking`, and `done` gets the result exactly once, on a thread of
  // `caller.run_blocking`, under a request scope of the caller's deadline and `abandoned` probe
  // (so a write it makes is bounded as in a blocking handler). One task reads batch after
  // batch while calls keep queueing and calls back each batch's callers itself: no thread
  // wakes per call. A key still queued at the caller's deadline is answered DEADLINE_EXCEEDED
  // when a statement would take it, without being read. `done` must not throw. The batcher
  // must outlive every `done` (destroy it after the executor behind run_blocking).
  void ReadAsync(std::string key, AsyncCaller caller, Done done) {
    auto me = std::make_shared<Waiter>();
    me->key = std::move(key);
    me->deadline = caller.deadline;
    me->caller = std::move(caller);
    me->on_done = std::move(done);
    RunBlocking start_task;
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(me);
      start_task = TaskToStart();
    }
    if (start_task) start_task([this] { ReadForAsyncCallers(); });
  }

  // Callers waiting for a statement to take their key.
  int queued() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(queue_.size());
  }

  ReadBatcherStats Stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  struct Waiter {
    std::string key;
    absl::Time deadline;
    // Set for ReadAsync's callers only.
    AsyncCaller caller;
    Done on_done;
    bool taken = false;  // its key is in a running statement
    bool done = false;
    Result result = absl::optional<Value>();
  };
  using Waiters = std::vector<std::shared_ptr<Waiter>>;
  using RunBlocking = std::function<void(std::function<void()>)>;

  // The condition a blocked caller sleeps on: its result is in, or it may start a statement.
  struct MayProceed {
    const ReadBatcher* batcher;
    const Waiter* waiter;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return waiter->done || batcher->SlotFree();
    }
  };

  static ReadBatcherOptions Sanitized(ReadBatcherOptions options) {
    options.max_batch = std::max(1, options.max_batch);
    options.max_in_flight = std::max(1, options.max_in_flight);
    return options;
  }

  static absl::Status QueueDeadlineError() {
    return absl::DeadlineExceededError(
        "the request's deadline passed while its read waited for a batch");
  }

  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ < options_.max_in_flight && !queue_.empty();
  }

  // Where to start a task for the queue, or null when none is needed: blocked callers wake for
  // a free slot themselves, and a task already submitted will take one. A submitted task holds
  // no slot until it runs: blocked callers may be occupying every thread of run_blocking, and
  // they must not wait for a task that cannot start. (run_blocking only queues the task, so
  // calling it under mu_ is safe, if better avoided on hot paths.)
  RunBlocking TaskToStart() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty() || blocked_in_queue_ > 0 ||
        in_flight_ + tasks_submitted_ >= options_.max_in_flight) {
      return nullptr;
    }
    ++tasks_submitted_;
    return queue_.front()->caller.run_blocking;  // only asynchronous callers are queued
  }

  // A blocked caller's turn, in a slot it has taken: one batch, then the slot is free again.
  // Asynchronous callers of the batch are called back on their own run_blocking (this thread
  // serves another request), and if only asynchronous callers are left in the queue, a task
  // is started for them: no blocked caller will wake to take them.
  void ReadForBlockedCaller() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Waiters finished = ReadOneBatch();
    --in_flight_;
    RunBlocking start_task = TaskToStart();
    mu_.Unlock();
    for (std::shared_ptr<Waiter>& waiter : finished) {
      if (!waiter->on_done) continue;
      RunBlocking run = waiter->caller.run_blocking;
      run([this, waiter = std::move(waiter)] { CallBack(*waiter); });
    }
    if (start_task) start_task([this] { ReadForAsyncCallers(); });
    mu_.Lock();
  }

  // The task TaskToStart submits: it takes a slot if one is free (else the slots' holders
  // serve the queue when they end) and reads batch after batch while keys queue, calling back
  // the asynchronous callers of each batch itself before taking the next. It keeps its slot
  // while it calls back, so calls arriving meanwhile queue for its next batch.
  void ReadForAsyncCallers() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      --tasks_submitted_;
      if (!SlotFree()) return;
      ++in_flight_;
    }
    for (;;) {
      Waiters finished;
      bool more;
      {
        absl::MutexLock lock(&mu_);
        finished = ReadOneBatch();
        more = !queue_.empty();
        if (!more) --in_flight_;
      }
      for (const std::shared_ptr<Waiter>& waiter : finished) {
        if (waiter->on_done) CallBack(*waiter);
      }
      if (!more) return;
    }
  }

  void CallBack(Waiter& waiter) {
    const std::function<bool()>& abandoned = waiter.caller.abandoned;
    const auto probe = [&abandoned] { return abandoned && abandoned(); };
    const ScopedRequestDeadline scope(waiter.deadline, probe);
    waiter.on_done(std::move(waiter.result));
  }

  // Takes the oldest queued keys, reads them with mu_ released, and hands out the results:
  // blocked callers are marked done (they wake on it); the finished asynchronous callers are
  // returned, to be called back without mu_. An asynchronous caller past its deadline is
  // finished with DEADLINE_EXCEEDED instead of being read.
  Waiters ReadOneBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Waiters batch;
    Waiters finished;
    std::vector<std::string> keys;
    absl::flat_hash_set<absl::string_view> seen;
    absl::Time latest_deadline = absl::InfinitePast();
    const absl::Time now = absl::Now();
    while (!queue_.empty() && static_cast<int>(keys.size()) < options_.max_batch) {
      std::shared_ptr<Waiter> waiter = std::move(queue_.front());
      queue_.pop_front();
      if (!waiter->on_done) {
        --blocked_in_queue_;
      } else if (now >= waiter->deadline) {
        ++stats_.queue_deadlines;
        waiter->result = QueueDeadlineError();
        waiter->done = true;
        finished.push_back(std::move(waiter));
        continue;
      }
      waiter->taken = true;
      latest_deadline = std::max(latest_deadline, waiter->deadline);
      if (seen.insert(waiter->key).second) keys.push_back(waiter->key);
      batch.push_back(std::move(waiter));
    }
    if (batch.empty()) return finished;
    ++stats_.statements;
    stats_.keys += static_cast<int64_t>(keys.size());
    stats_.callers += static_cast<int64_t>(batch.size());
    mu_.Unlock();
    absl::StatusOr<ValueMap> values = ReadUnlocked(keys, latest_deadline);
    mu_.Lock();
    for (std::shared_ptr<Waiter>& waiter : batch) {
      if (!values.ok()) {
        waiter->result = values.status();
      } else if (auto it = values->find(waiter->key); it != values->end()) {
        waiter->result = absl::optional<Value>(it->second);
      }
      waiter->done = true;
      if (waiter->on_done) finished.push_back(std::move(waiter));
    }
    return finished;
  }

  absl::StatusOr<ValueMap> ReadUnlocked(const std::vector<std::string>& keys,
                                        absl::Time deadline) {
    // The batch's own scope: the latest deadline of its callers, and no cancellation probe.
    ScopedRequestDeadline scope(deadline);
    try {
      return read_many_(keys);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("batched read threw: ", e.what()));
    }
  }

  const ReadBatcherOptions options_;
  const ReadMany read_many_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Waiter>> queue_ ABSL_GUARDED_BY(mu_);
  // Blocked (Read) callers in queue_; when none are left, nobody wakes for the rest of the
  // queue but a task of ReadAsync.
  int blocked_in_queue_ ABSL_GUARDED_BY(mu_) = 0;
  // Statements running, each on the thread of a blocked caller or of a task.
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Tasks submitted to a run_blocking that have not started yet.
  int tasks_submitted_ ABSL_GUARDED_BY(mu_) = 0;
  ReadBatcherStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_READ_BATCHER_H_

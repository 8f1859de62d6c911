// Coalesces concurrent point reads of one kind into one statement over many keys.
//
// A hot point read (a session by token hash, a user's subscription, a question by id) costs
// PostgreSQL far more per statement than per row: on the 2-core bench machine, 32 clients ran
// the session lookup for one key 41 700 times a second and for eight keys at once 25 500 times
// (204 000 keys; BENCHMARKS.md, round 7). A ReadBatcher lets each caller ask for its own key
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
// The statement runs on the thread of one of the callers, under a request scope
// (//shared/base:request_deadline) whose deadline is the latest of its callers' and which has
// no cancellation probe: one caller's deadline or cancellation does not fail the others' read.
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
  // ValidateSession on the 2-core bench machine (BENCHMARKS.md, round 7), 1 / 2 / 3 / 4: at 32
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

  ReadBatcher(ReadBatcherOptions options, ReadMany read_many)
      : options_(Sanitized(options)), read_many_(std::move(read_many)) {}
  ReadBatcher(const ReadBatcher&) = delete;
  ReadBatcher& operator=(const ReadBatcher&) = delete;

  // Read returns the value of `key`, nullopt when it has none, or the status of the statement
  // that read it (DEADLINE_EXCEEDED when the caller's request deadline passed first).
  absl::StatusOr<absl::optional<Value>> Read(absl::string_view key) {
    auto me = std::make_shared<Waiter>();
    me->key = std::string(key);
    me->deadline = CurrentRequestDeadline();
    absl::MutexLock lock(&mu_);
    queue_.push_back(me);
    while (!me->done) {
      if (!me->taken && absl::Now() >= me->deadline) {
        queue_.erase(std::find(queue_.begin(), queue_.end(), me));
        ++stats_.queue_deadlines;
        return absl::DeadlineExceededError(
            "the request's deadline passed while its read waited for a batch");
      }
      if (SlotFree()) {
        ReadOneBatch();
        continue;
      }
      const MayProceed may_proceed{this, me.get()};
      const absl::Time wake = me->taken ? absl::InfiniteFuture() : me->deadline;
      mu_.AwaitWithDeadline(absl::Condition(&may_proceed), wake);
    }
    return std::move(me->result);
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
    bool taken = false;  // its key is in a running statement
    bool done = false;
    absl::StatusOr<absl::optional<Value>> result = absl::optional<Value>();
  };

  // The condition a queued caller sleeps on: its result is in, or it may start a statement.
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

  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ < options_.max_in_flight && !queue_.empty();
  }

  // Takes the oldest queued keys, reads them with mu_ released, and hands out the results.
  void ReadOneBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::shared_ptr<Waiter>> batch;
    std::vector<std::string> keys;
    absl::flat_hash_set<absl::string_view> seen;
    absl::Time latest_deadline = absl::InfinitePast();
    while (!queue_.empty() && static_cast<int>(keys.size()) < options_.max_batch) {
      std::shared_ptr<Waiter> waiter = std::move(queue_.front());
      queue_.pop_front();
      waiter->taken = true;
      latest_deadline = std::max(latest_deadline, waiter->deadline);
      if (seen.insert(waiter->key).second) keys.push_back(waiter->key);
      batch.push_back(std::move(waiter));
    }
    ++in_flight_;
    ++stats_.statements;
    stats_.keys += static_cast<int64_t>(keys.size());
    stats_.callers += static_cast<int64_t>(batch.size());
    mu_.Unlock();
    absl::StatusOr<ValueMap> values = ReadUnlocked(keys, latest_deadline);
    mu_.Lock();
    --in_flight_;
    for (const std::shared_ptr<Waiter>& waiter : batch) {
      if (!values.ok()) {
        waiter->result = values.status();
      } else if (auto it = values->find(waiter->key); it != values->end()) {
        waiter->result = absl::optional<Value>(it->second);
      }
      waiter->done = true;
    }
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
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  ReadBatcherStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_READ_BATCHER_H_

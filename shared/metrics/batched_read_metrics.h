// Exports a ReadBatcher's Stats() (//shared/db:read_batcher) as Prometheus counters, read fresh
// at every scrape, so an operator sees how much reads are being batched:
//
//   db_batched_read_statements_total{read}       statements started
//   db_batched_read_keys_total{read}             distinct keys they read
//   db_batched_read_callers_total{read}          calls they answered
//   db_batched_read_queue_deadlines_total{read}  calls that left the queue at their deadline
//
// callers / statements is the batch size; a ratio near 1 under load means the reads are not
// queueing (the database keeps up), a growing one that they are.
//
//   SUITE_ASSIGN_OR_RETURN(auto metrics, suite::metrics::BatchedReadMetrics::Export(
//       suite::metrics::Registry::Default(), [&store] { return store->SessionLookupStats(); },
//       "identity_session_lookup"));
//   ... serve ...; metrics.reset() before the store goes away.
#ifndef SUITE_SHARED_METRICS_BATCHED_READ_METRICS_H_
#define SUITE_SHARED_METRICS_BATCHED_READ_METRICS_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "shared/db/read_batcher.h"
#include "shared/metrics/metrics.h"

namespace suite::metrics {

class BatchedReadMetrics {
 public:
  // Export registers the families above in `registry` and a collector that adds what `stats`
  // counted since the last scrape to the series labelled read=`read_label`. `stats` must stay
  // callable until the returned object is destroyed. Returns ALREADY_EXISTS when a family name
  // is taken by a metric of another type. Thread-safe.
  static absl::StatusOr<std::unique_ptr<BatchedReadMetrics>> Export(
      Registry& registry, std::function<db::ReadBatcherStats()> stats,
      absl::string_view read_label);
  BatchedReadMetrics(const BatchedReadMetrics&) = delete;
  BatchedReadMetrics& operator=(const BatchedReadMetrics&) = delete;
  ~BatchedReadMetrics();

 private:
  BatchedReadMetrics(Registry& registry, std::function<db::ReadBatcherStats()> stats)
      : registry_(registry), stats_(std::move(stats)) {}
  void Collect();

  Registry& registry_;
  const std::function<db::ReadBatcherStats()> stats_;
  int collector_id_ = 0;
  Counter* statements_ = nullptr;
  Counter* keys_ = nullptr;
  Counter* callers_ = nullptr;
  Counter* queue_deadlines_ = nullptr;
  absl::Mutex mu_;
  db::ReadBatcherStats last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::metrics

#endif  // SUITE_SHARED_METRICS_BATCHED_READ_METRICS_H_

#include "shared/metrics/batched_read_metrics.h"

#include <string>
#include <utility>
#include <vector>

namespace suite::metrics {

absl::StatusOr<std::unique_ptr<BatchedReadMetrics>> BatchedReadMetrics::Export(
    Registry& registry, std::function<db::ReadBatcherStats()> stats,
    absl::string_view read_label) {
  std::unique_ptr<BatchedReadMetrics> self(new BatchedReadMetrics(registry, std::move(stats)));
  absl::Status added = AddSeries(
      registry, {"read"}, {std::string(read_label)},
      {
          {"db_batched_read_statements_total", "Batched read statements started.",
           &self->statements_},
          {"db_batched_read_keys_total", "Distinct keys read by batched statements.",
           &self->keys_},
          {"db_batched_read_callers_total", "Calls answered by batched statements.",
           &self->callers_},
          {"db_batched_read_queue_deadlines_total",
           "Calls that left a read queue at their deadline.", &self->queue_deadlines_},
      });
  if (!added.ok()) return added;
  BatchedReadMetrics* raw = self.get();
  self->collector_id_ = registry.AddCollector([raw] { raw->Collect(); });
  return self;
}

BatchedReadMetrics::~BatchedReadMetrics() { registry_.RemoveCollector(collector_id_); }

void BatchedReadMetrics::Collect() {
  const db::ReadBatcherStats now = stats_();
  absl::MutexLock lock(&mu_);
  statements_->Increment(static_cast<double>(now.statements - last_.statements));
  keys_->Increment(static_cast<double>(now.keys - last_.keys));
  callers_->Increment(static_cast<double>(now.callers - last_.callers));
  queue_deadlines_->Increment(static_cast<double>(now.queue_deadlines - last_.queue_deadlines));
  last_ = now;
}

}  // namespace suite::metrics

#include "shared/metrics/pool_metrics.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace suite::metrics {

absl::StatusOr<std::unique_ptr<PoolMetrics>> PoolMetrics::Export(Registry& registry,
                                                                   const db::ConnectionPool* pool,
                                                                   absl::string_view pool_label) {
  if (pool == nullptr) return absl::InvalidArgumentError("pool is null");
  std::unique_ptr<PoolMetrics> self(new PoolMetrics(registry, pool));
  const std::vector<std::string> label_names = {"pool"};
  const std::vector<std::string> labels = {std::string(pool_label)};
  absl::Status added = AddSeries(
      registry, label_names, labels,
      {
          {"db_pool_size", "Configured maximum connections of the pool.", &self->size_},
          {"db_pool_open", "Connections open or being opened.", &self->open_},
          {"db_pool_in_use", "Connections checked out.", &self->in_use_},
          {"db_pool_idle", "Connections idle in the pool.", &self->idle_},
          {"db_pool_waiting", "Checkouts queued for a connection.", &self->waiting_},
      });
  if (!added.ok()) return added;
  added = AddSeries(
      registry, label_names, labels,
      {
          {"db_pool_checkouts_total", "Successful connection checkouts.", &self->checkouts_},
          {"db_pool_exhausted_total", "Checkouts that timed out with every connection busy.",
           &self->exhausted_},
          {"db_pool_connect_failures_total", "Failed connection attempts.",
           &self->connect_failures_},
          {"db_pool_discarded_total", "Broken connections closed by the pool.",
           &self->discarded_},
          {"db_pool_wait_seconds_total", "Summed time checkouts waited, seconds.",
           &self->wait_seconds_},
      });
  if (!added.ok()) return added;
  PoolMetrics* raw = self.get();
  self->collector_id_ = registry.AddCollector([raw] { raw->Collect(); });
  return self;
}

PoolMetrics::~PoolMetrics() { registry_.RemoveCollector(collector_id_); }

void PoolMetrics::Collect() {
  db::PoolStats now = pool_->Stats();
  size_->Set(now.size);
  open_->Set(now.open);
  in_use_->Set(now.in_use);
  idle_->Set(now.idle);
  waiting_->Set(now.waiting);
  absl::MutexLock lock(&mu_);
  checkouts_->Increment(static_cast<double>(now.checkouts - last_.checkouts));
  exhausted_->Increment(static_cast<double>(now.exhausted - last_.exhausted));
  connect_failures_->Increment(static_cast<double>(now.connect_failures - last_.connect_failures));
  discarded_->Increment(static_cast<double>(now.discarded - last_.discarded));
  wait_seconds_->Increment(absl::ToDoubleSeconds(now.total_wait - last_.total_wait));
  last_ = now;
}

}  // namespace suite::metrics

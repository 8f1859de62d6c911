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
  const std::vector<std::string> labels = {std::string(pool_label)};

  struct GaugeSpec {
    const char* name;
    const char* help;
    Gauge** target;
  };
  for (const GaugeSpec& spec : {
           GaugeSpec{"db_pool_size", "Configured maximum connections of the pool.", &self->size_},
           GaugeSpec{"db_pool_open", "Connections open or being opened.", &self->open_},
           GaugeSpec{"db_pool_in_use", "Connections checked out.", &self->in_use_},
           GaugeSpec{"db_pool_idle", "Connections idle in the pool.", &self->idle_},
       }) {
    absl::StatusOr<GaugeFamily*> family = registry.AddGauge(spec.name, spec.help, {"pool"});
    if (!family.ok()) return family.status();
    *spec.target = &(*family)->WithLabels(labels);
  }
  struct CounterSpec {
    const char* name;
    const char* help;
    Counter** target;
  };
  for (const CounterSpec& spec : {
           CounterSpec{"db_pool_checkouts_total", "Successful connection checkouts.",
                       &self->checkouts_},
           CounterSpec{"db_pool_exhausted_total",
                       "Checkouts that timed out with every connection busy.",
                       &self->exhausted_},
           CounterSpec{"db_pool_connect_failures_total", "Failed connection attempts.",
                       &self->connect_failures_},
           CounterSpec{"db_pool_discarded_total", "Broken connections closed by the pool.",
                       &self->discarded_},
           CounterSpec{"db_pool_wait_seconds_total", "Summed time checkouts waited, seconds.",
                       &self->wait_seconds_},
       }) {
    absl::StatusOr<CounterFamily*> family = registry.AddCounter(spec.name, spec.help, {"pool"});
    if (!family.ok()) return family.status();
    *spec.target = &(*family)->WithLabels(labels);
  }
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
  absl::MutexLock lock(&mu_);
  checkouts_->Increment(static_cast<double>(now.checkouts - last_.checkouts));
  exhausted_->Increment(static_cast<double>(now.exhausted - last_.exhausted));
  connect_failures_->Increment(static_cast<double>(now.connect_failures - last_.connect_failures));
  discarded_->Increment(static_cast<double>(now.discarded - last_.discarded));
  wait_seconds_->Increment(absl::ToDoubleSeconds(now.total_wait - last_.total_wait));
  last_ = now;
}

}  // namespace suite::metrics

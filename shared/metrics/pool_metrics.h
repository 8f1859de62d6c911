// Exports a ConnectionPool's Stats() as Prometheus metrics, read fresh at every scrape:
//
//   db_pool_size{pool}                    gauge    configured maximum connections
//   db_pool_open{pool}                    gauge    connections open or being opened
//   db_pool_in_use{pool}                  gauge    connections checked out
//   db_pool_idle{pool}                    gauge    connections idle in the pool
//   db_pool_checkouts_total{pool}         counter  successful checkouts
//   db_pool_exhausted_total{pool}         counter  checkouts that timed out, all busy
//   db_pool_connect_failures_total{pool}  counter  failed connection attempts
//   db_pool_discarded_total{pool}         counter  broken connections closed
//   db_pool_wait_seconds_total{pool}      counter  summed time checkouts waited
//
//   SUITE_ASSIGN_OR_RETURN(auto pool, suite::db::ConnectionPool::Create(config));
//   SUITE_ASSIGN_OR_RETURN(auto pool_metrics, suite::metrics::PoolMetrics::Export(
//       suite::metrics::Registry::Default(), pool.get(), "identity"));
//   ... serve ...; pool_metrics.reset() before the pool goes away.
#ifndef SUITE_SHARED_METRICS_POOL_METRICS_H_
#define SUITE_SHARED_METRICS_POOL_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "shared/db/pool.h"
#include "shared/metrics/metrics.h"

namespace suite::metrics {

class PoolMetrics {
 public:
  // Export registers the families above in `registry` and a collector that copies
  // pool->Stats() into the series labelled pool=`pool_label` at every Render. `pool` is not
  // owned and must outlive the returned object; destroying it stops the collection (the last
  // values stay). Returns INVALID_ARGUMENT for a null pool and ALREADY_EXISTS when a family
  // name is taken by a metric of another type. Thread-safe.
  static absl::StatusOr<std::unique_ptr<PoolMetrics>> Export(Registry& registry,
                                                              const db::ConnectionPool* pool,
                                                              absl::string_view pool_label);
  PoolMetrics(const PoolMetrics&) = delete;
  PoolMetrics& operator=(const PoolMetrics&) = delete;
  ~PoolMetrics();

 private:
  PoolMetrics(Registry& registry, const db::ConnectionPool* pool) : registry_(registry), pool_(pool) {}
  void Collect();

  Registry& registry_;
  const db::ConnectionPool* const pool_;
  int collector_id_ = 0;
  Gauge* size_ = nullptr;
  Gauge* open_ = nullptr;
  Gauge* in_use_ = nullptr;
  Gauge* idle_ = nullptr;
  Gauge* waiting_ = nullptr;
  Counter* checkouts_ = nullptr;
  Counter* exhausted_ = nullptr;
  Counter* connect_failures_ = nullptr;
  Counter* discarded_ = nullptr;
  Counter* wait_seconds_ = nullptr;

  // The pool's counters are cumulative; the metric counters advance by the difference since
  // the previous scrape, so they never go backwards.
  absl::Mutex mu_;
  db::PoolStats last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::metrics

#endif  // SUITE_SHARED_METRICS_POOL_METRICS_H_

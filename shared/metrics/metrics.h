// Prometheus metrics of one process: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format 0.0.4 (what a `/metrics` scrape returns; see
// http_server.h). Debian 12 packages no prometheus-cpp, hence this small library.
//
//   suite::metrics::Registry& registry = suite::metrics::Registry::Default();
//   absl::StatusOr<suite::metrics::CounterFamily*> outcomes = registry.AddCounter(
//       "billing_webhook_events_total", "Stripe webhook deliveries by outcome.", {"outcome"});
//   if (outcomes.ok()) (*outcomes)->WithLabels({"applied"}).Increment();
//   // # HELP billing_webhook_events_total Stripe webhook deliveries by outcome.
//   // # TYPE billing_webhook_events_total counter
//   // billing_webhook_events_total{outcome="applied"} 1
//
// Values that are cheaper to read than to track (a pool's size) are refreshed at scrape time
// by a collector: AddCollector runs a function before each Render.
//
// Everything here is thread-safe. Families and series live as long as their registry; the
// references WithLabels returns stay valid, so hot paths may keep them.
#ifndef SUITE_SHARED_METRICS_METRICS_H_
#define SUITE_SHARED_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace suite::metrics {

// A value that only goes up (requests served, seconds waited).
class Counter {
 public:
  // Increment adds `by`; negative or NaN amounts are ignored, since a counter never decreases.
  void Increment(double by = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (connections in use).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into cumulative buckets (`le` = upper bound), with their sum and count.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds)
      : bounds_(bounds), counts_(bounds->size(), 0) {}
  // Observe records one value (a latency in seconds, say). NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, observations <= bound
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* const bounds_;  // owned by the family, sorted, without +Inf
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket, not cumulative
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

// What all families share: a name, a help text, label names and the rendering.
class Family {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  Family(std::string name, std::string help, std::vector<std::string> label_names, Type type)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        type_(type) {}
  virtual ~Family() = default;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  Type type() const { return type_; }
  // Render appends the family's HELP, TYPE and sample lines to `out`; nothing when it has no
  // series yet.
  void Render(std::string* out) const;

 protected:
  // Pads or truncates `values` to one per label name: a wrong count is a programming error
  // that must not crash a service, so the series is still recorded, recognisably.
  std::vector<std::string> Normalize(std::vector<std::string> values) const;
  // RenderSeries appends the sample lines of every series.
  virtual void RenderSeries(std::string* out) const = 0;
  // Appends `name_suffix{labels,extra} value\n`.
  void Sample(std::string* out, absl::string_view name_suffix,
              const std::vector<std::string>& values, absl::string_view extra_label,
              absl::string_view extra_value, double value) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const Type type_;
};

// A family of series of one metric, one series per combination of label values.
template <typename T>
class SeriesFamily : public Family {
 public:
  using Family::Family;
  // WithLabels returns the series for `values` (one per label name, in order), creating it at
  // zero on first use. Wrong counts are padded with "" or truncated.
  T& WithLabels(std::vector<std::string> values) {
    values = Normalize(std::move(values));
    absl::MutexLock lock(&mu_);
    std::unique_ptr<T>& series = series_[values];
    if (series == nullptr) series = NewSeries();
    return *series;
  }

 protected:
  virtual std::unique_ptr<T> NewSeries() const = 0;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_ ABSL_GUARDED_BY(mu_);
};

class CounterFamily : public SeriesFamily<Counter> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> labels)
      : SeriesFamily(std::move(name), std::move(help), std::move(labels), Type::kCounter) {}

 private:
  std::unique_ptr<Counter> NewSeries() const override { return std::make_unique<Counter>(); }
  void RenderSeries(std::string* out) const override;
};

class GaugeFamily : public SeriesFamily<Gauge> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> labels)
      : SeriesFamily(std::move(name), std::move(help), std::move(labels), Type::kGauge) {}

 private:
  std::unique_ptr<Gauge> NewSeries() const override { return std::make_unique<Gauge>(); }
  void RenderSeries(std::string* out) const override;
};

class HistogramFamily : public SeriesFamily<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> bounds)
      : SeriesFamily(std::move(name), std::move(help), std::move(labels), Type::kHistogram),
        bounds_(std::move(bounds)) {}
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<Histogram> NewSeries() const override {
    return std::make_unique<Histogram>(&bounds_);
  }
  void RenderSeries(std::string* out) const override;
  const std::vector<double> bounds_;
};

// Prometheus' default latency buckets, in seconds: 5 ms .. 10 s.
const std::vector<double>& DefaultLatencyBuckets();

// The content type of Render's output.
inline constexpr absl::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Default is the process-wide registry that the gRPC runtime records into and GrpcServer's
  // /metrics endpoint serves. Never destroyed.
  static Registry& Default();

  // AddCounter / AddGauge / AddHistogram register a family, or return the one already
  // registered under `name` when its type and label names are the same (so independent code
  // may declare the same metric). Returns INVALID_ARGUMENT for a name or label name that is not
  // a Prometheus identifier (labels starting "__", a histogram label "le", duplicate labels,
  // bucket bounds that are not finite and strictly increasing) and ALREADY_EXISTS when `name`
  // is taken by another type or other labels. Thread-safe.
  absl::StatusOr<CounterFamily*> AddCounter(absl::string_view name, absl::string_view help,
                                            std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(absl::string_view name, absl::string_view help,
                                        std::vector<std::string> label_names = {});
  absl::StatusOr<HistogramFamily*> AddHistogram(
      absl::string_view name, absl::string_view help, std::vector<std::string> label_names = {},
      std::vector<double> bounds = DefaultLatencyBuckets());

  // AddCollector registers `collect`, run at the start of every Render (from the scraping
  // thread) to refresh values; returns an id for RemoveCollector. Thread-safe.
  int AddCollector(std::function<void()> collect);
  // RemoveCollector unregisters it; when it returns, the collector is not running and will
  // not run again. Unknown ids are ignored. Thread-safe; must not be called from a collector.
  void RemoveCollector(int id);

  // Render runs the collectors, then returns every family with at least one series in the
  // text exposition format 0.0.4, families sorted by name, series by label values.
  // Thread-safe.
  std::string Render() const;

 private:
  template <typename F, typename... Extra>
  absl::StatusOr<F*> Add(absl::string_view name, absl::string_view help,
                         std::vector<std::string> label_names, Family::Type type,
                         Extra&&... extra);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_ ABSL_GUARDED_BY(mu_);

  // Held while collectors run, so RemoveCollector can wait for a running one.
  mutable absl::Mutex collectors_mu_;
  int next_collector_id_ ABSL_GUARDED_BY(collectors_mu_) = 1;
  std::map<int, std::function<void()>> collectors_ ABSL_GUARDED_BY(collectors_mu_);
};

// Series that one collector keeps up to date from a stats snapshot (pool_metrics.h,
// batched_read_metrics.h): each entry names a family and where to store its series.
template <typename Series>
struct SeriesSpec {
  const char* name;
  const char* help;
  Series** series;
};

// AddSeries registers a counter (gauge) family per spec with `label_names`, and stores in
// `*spec.series` its series labelled `labels`. Returns the first error of AddCounter /
// AddGauge. Thread-safe.
absl::Status AddSeries(Registry& registry, const std::vector<std::string>& label_names,
                       const std::vector<std::string>& labels,
                       std::initializer_list<SeriesSpec<Counter>> specs);
absl::Status AddSeries(Registry& registry, const std::vector<std::string>& label_names,
                       const std::vector<std::string>& labels,
                       std::initializer_list<SeriesSpec<Gauge>> specs);

// FormatValue writes a sample value as Prometheus expects: the shortest text that reads back
// as the same double, "+Inf", "-Inf" or "NaN". Exposed for tests.
std::string FormatValue(double value);

}  // namespace suite::metrics

#endif  // SUITE_SHARED_METRICS_METRICS_H_

#include "shared/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace suite::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

bool IsMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = absl::ascii_isalpha(c) || c == '_' || c == ':' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = absl::ascii_isalpha(c) || c == '_' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// Label values escape backslash, double quote and line feed; help texts only the first and
// the last (format 0.0.4).
std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

absl::string_view TypeName(Family::Type type) {
  switch (type) {
    case Family::Type::kCounter:
      return "counter";
    case Family::Type::kGauge:
      return "gauge";
    case Family::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

void Counter::Increment(double by) {
  if (!(by > 0)) return;  // also rejects NaN
  AtomicAdd(value_, by);
}

void Gauge::Add(double by) { AtomicAdd(value_, by); }

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // First bucket whose upper bound is >= value; past the end = only +Inf.
  size_t bucket = std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  absl::MutexLock lock(&mu_);
  if (bucket < counts_.size()) ++counts_[bucket];
  ++count_;
  sum_ += value;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  absl::MutexLock lock(&mu_);
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = count_;
  snapshot.sum = sum_;
  return snapshot;
}

std::vector<std::string> Family::Normalize(std::vector<std::string> values) const {
  values.resize(label_names_.size());
  return values;
}

void Family::Render(std::string* out) const {
  std::string series;
  RenderSeries(&series);
  if (series.empty()) return;
  absl::StrAppend(out, "# HELP ", name_, " ", Escape(help_, /*quotes=*/false), "\n", "# TYPE ",
                  name_, " ", TypeName(type_), "\n", series);
}

void Family::Sample(std::string* out, absl::string_view name_suffix,
                    const std::vector<std::string>& values, absl::string_view extra_label,
                    absl::string_view extra_value, double value) const {
  std::vector<std::string> pairs;
  for (size_t i = 0; i < label_names_.size(); ++i) {
    pairs.push_back(absl::StrCat(label_names_[i], "=\"", Escape(values[i], true), "\""));
  }
  if (!extra_label.empty()) {
    pairs.push_back(absl::StrCat(extra_label, "=\"", extra_value, "\""));
  }
  absl::StrAppend(out, name_, name_suffix);
  if (!pairs.empty()) absl::StrAppend(out, "{", absl::StrJoin(pairs, ","), "}");
  absl::StrAppend(out, " ", FormatValue(value), "\n");
}

void CounterFamily::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, counter] : series_) Sample(out, "", values, "", "", counter->Value());
}

void GaugeFamily::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, gauge] : series_) Sample(out, "", values, "", "", gauge->Value());
}

void HistogramFamily::RenderSeries(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, histogram] : series_) {
    Histogram::Snapshot snapshot = histogram->Read();
    for (size_t i = 0; i < bounds_.size(); ++i) {
      Sample(out, "_bucket", values, "le", FormatValue(bounds_[i]),
             static_cast<double>(snapshot.cumulative[i]));
    }
    Sample(out, "_bucket", values, "le", "+Inf", static_cast<double>(snapshot.count));
    Sample(out, "_sum", values, "", "", snapshot.sum);
    Sample(out, "_count", values, "", "", static_cast<double>(snapshot.count));
  }
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double>* buckets =
      new std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

Registry& Registry::Default() {
  static Registry* registry = new Registry();
  return *registry;
}

template <typename F, typename... Extra>
absl::StatusOr<F*> Registry::Add(absl::string_view name, absl::string_view help,
                                 std::vector<std::string> label_names, Family::Type type,
                                 Extra&&... extra) {
  if (!IsMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a metric name"));
  }
  std::set<std::string> seen;
  for (const std::string& label : label_names) {
    if (!IsLabelName(label) || (type == Family::Type::kHistogram && label == "le") ||
        !seen.insert(label).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": \"", label, "\" is not a usable label name"));
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second->type() != type || it->second->label_names() != label_names) {
      return absl::AlreadyExistsError(
          absl::StrCat("metric ", name, " is registered with another type or labels"));
    }
    return static_cast<F*>(it->second.get());
  }
  auto family = std::make_unique<F>(std::string(name), std::string(help), std::move(label_names),
                                    std::forward<Extra>(extra)...);
  F* raw = family.get();
  families_.emplace(std::string(name), std::move(family));
  return raw;
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(absl::string_view name,
                                                    absl::string_view help,
                                                    std::vector<std::string> label_names) {
  return Add<CounterFamily>(name, help, std::move(label_names), Family::Type::kCounter);
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(absl::string_view name, absl::string_view help,
                                                std::vector<std::string> label_names) {
  return Add<GaugeFamily>(name, help, std::move(label_names), Family::Type::kGauge);
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(absl::string_view name,
                                                        absl::string_view help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", name, ": bucket bounds must be finite and strictly increasing"));
    }
  }
  return Add<HistogramFamily>(name, help, std::move(label_names), Family::Type::kHistogram,
                              std::move(bounds));
}

int Registry::AddCollector(std::function<void()> collect) {
  absl::MutexLock lock(&collectors_mu_);
  int id = next_collector_id_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::RemoveCollector(int id) {
  absl::MutexLock lock(&collectors_mu_);
  collectors_.erase(id);
}

std::string Registry::Render() const {
  {
    absl::MutexLock lock(&collectors_mu_);
    for (const auto& [id, collect] : collectors_) collect();
  }
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

namespace {

// AddSeries for either family type: `add_family` is Registry::AddCounter or AddGauge.
template <typename Series, typename AddFamily>
absl::Status AddEachSeries(const std::vector<std::string>& label_names,
                           const std::vector<std::string>& labels,
                           std::initializer_list<SeriesSpec<Series>> specs, AddFamily add_family) {
  for (const SeriesSpec<Series>& spec : specs) {
    auto family = add_family(spec.name, spec.help, label_names);
    if (!family.ok()) return family.status();
    *spec.series = &(*family)->WithLabels(labels);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddSeries(Registry& registry, const std::vector<std::string>& label_names,
                       const std::vector<std::string>& labels,
                       std::initializer_list<SeriesSpec<Counter>> specs) {
  return AddEachSeries(label_names, labels, specs, [&](auto&&... args) {
    return registry.AddCounter(args...);
  });
}

absl::Status AddSeries(Registry& registry, const std::vector<std::string>& label_names,
                       const std::vector<std::string>& labels,
                       std::initializer_list<SeriesSpec<Gauge>> specs) {
  return AddEachSeries(label_names, labels, specs, [&](auto&&... args) {
    return registry.AddGauge(args...);
  });
}

}  // namespace suite::metrics

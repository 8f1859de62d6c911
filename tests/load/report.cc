#include "tests/load/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loadgen {
namespace {

double Ms(int64_t ns) { return ns / 1e6; }

}  // namespace

int64_t RunResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

std::string CodeName(int code) {
  static const char* const kNames[] = {
      "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",     "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return kNames[code];
  }
  return absl::StrCat("CODE_", code);
}

std::string FormatTable(const std::vector<RunResult>& results) {
  std::string out = absl::StrFormat("%-20s %-11s %5s %8s %9s %7s %10s %8s %8s %8s %8s  %s\n",
                                    "rpc", "mode", "conc", "rate/s", "ok", "errors", "ok/s",
                                    "p50 ms", "p90 ms", "p99 ms", "max ms", "errors by code");
  for (const RunResult& r : results) {
    std::string codes;
    for (const auto& [code, count] : r.errors) {
      absl::StrAppend(&codes, codes.empty() ? "" : " ", code, "=", count);
    }
    absl::StrAppendFormat(&out, "%-20s %-11s %5d %8s %9d %7d %10.1f %8.3f %8.3f %8.3f %8.3f  %s\n",
                          r.rpc, r.mode, r.concurrency,
                          r.target_rate > 0 ? absl::StrFormat("%.0f", r.target_rate) : "-",
                          r.ok, r.error_count(), r.throughput(), Ms(r.latency.Percentile(0.50)),
                          Ms(r.latency.Percentile(0.90)), Ms(r.latency.Percentile(0.99)),
                          Ms(r.latency.max()), codes.empty() ? "-" : codes);
  }
  return out;
}

nlohmann::json ToJson(const RunResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, count] : r.errors) errors[code] = count;
  return {
      {"rpc", r.rpc},
      {"mode", r.mode},
      {"concurrency", r.concurrency},
      {"target_rate", r.target_rate},
      {"seconds", r.seconds},
      {"ok", r.ok},
      {"errors", errors},
      {"error_count", r.error_count()},
      {"throughput", r.throughput()},
      {"latency_ms",
       {{"p50", Ms(r.latency.Percentile(0.50))},
        {"p90", Ms(r.latency.Percentile(0.90))},
        {"p99", Ms(r.latency.Percentile(0.99))},
        {"max", Ms(r.latency.max())},
        {"mean", r.latency.mean() / 1e6}}},
  };
}

}  // namespace loadgen

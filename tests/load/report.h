// The outcome of one load-generator run and its two renderings: a fixed-width table for people
// and JSON for tools/bench.
//
//   loadgen::RunResult r;  r.rpc = "ValidateSession"; ... r.latency.Record(ns);
//   std::cout << loadgen::FormatTable({r});
//   nlohmann::json j = loadgen::ToJson(r);
//
// Plain data and pure functions; thread-compatible.
#ifndef SUITE_TESTS_LOAD_REPORT_H_
#define SUITE_TESTS_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/load/histogram.h"

namespace loadgen {

struct RunResult {
  std::string rpc;          // e.g. "ValidateSession"
  std::string mode;         // "concurrency" or "rate"
  int concurrency = 0;      // closed loop: calls in flight; open loop: the in-flight cap
  double target_rate = 0;   // open loop only (calls/s), else 0
  double seconds = 0;       // measured wall time of the run (after warm-up)
  int64_t ok = 0;           // calls answered OK
  std::map<std::string, int64_t> errors;  // by grpc status code name, e.g. "UNAVAILABLE"
  Histogram latency;        // nanoseconds, every answered call (OK or not)

  int64_t error_count() const;
  // Throughput of successful calls per second.
  double throughput() const { return seconds > 0 ? ok / seconds : 0.0; }
};

// CodeName returns the upper-case name of a grpc::StatusCode value ("OK", "UNAVAILABLE", ...),
// or "CODE_<n>" for an unknown value.
std::string CodeName(int code);

// FormatTable renders one row per result: rpc, mode, concurrency, rate, ok, errors, throughput,
// p50/p90/p99/max in milliseconds, and the errors by code.
std::string FormatTable(const std::vector<RunResult>& results);

// ToJson renders one result; latencies in milliseconds, keys: rpc, mode, concurrency,
// target_rate, seconds, ok, errors (object), error_count, throughput, latency_ms {p50, p90,
// p99, max, mean}.
nlohmann::json ToJson(const RunResult& result);

}  // namespace loadgen

#endif  // SUITE_TESTS_LOAD_REPORT_H_

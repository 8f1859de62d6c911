// Structured logs: one JSON object per line on stdout, as the deployment's log collector
// expects.
//
//   suite::WriteLogLine({{"severity", "INFO"}, {"event", "server.started"},
//                             {"address", "127.0.0.1:50051"}});
//   // {"address":"127.0.0.1:50051","event":"server.started","severity":"INFO","time":"2026-..."}
//
//   if (!config.ok()) {
//     return suite::LogStartupFailure("billing", 2, "server config", config.status());
//   }
//
// Never put secrets or raw metadata into a line: what is logged is decided by the caller.
#ifndef SUITE_SHARED_BASE_JSON_LOG_H_
#define SUITE_SHARED_BASE_JSON_LOG_H_

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace suite {

// WriteLogLine adds "time" (RFC 3339, UTC, milliseconds) unless present and writes `line` as one
// line to the current sink (stdout by default). Invalid UTF-8 is replaced, never thrown.
// Thread-safe: lines from concurrent callers never interleave.
void WriteLogLine(nlohmann::json line);

// SetLogSinkForTesting redirects lines to `sink` (one call per line, without the newline);
// an empty function restores stdout. Thread-safe.
void SetLogSinkForTesting(std::function<void(const std::string&)> sink);

// LogMilliseconds is how a duration goes into a line: milliseconds at microsecond resolution,
// e.g. 6.885 for 6 885 602 ns. A plain ToDoubleMilliseconds prints up to 17 digits
// (6.8856019999999996), and a run of 13-19 digits in a log is what card-number scanners flag.
double LogMilliseconds(absl::Duration duration);

// LogStartupFailure is how a service's main() reports that it cannot start: it writes
// {"severity":"ERROR","event":"<service>.start_failed","what":<what>,"status":<status>} and
// returns `exit_code` (by convention 2 for bad configuration, 1 for anything else), so that
// main() can `return LogStartupFailure(...)`. Thread-safe.
int LogStartupFailure(absl::string_view service, int exit_code, absl::string_view what,
                      const absl::Status& status);

}  // namespace suite

#endif  // SUITE_SHARED_BASE_JSON_LOG_H_

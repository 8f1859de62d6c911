// Structured logs: one JSON object per line on stdout, as the deployment's log collector
// expects (DESIGN.md §7).
//
//   suite::rpc::WriteLogLine({{"severity", "INFO"}, {"event", "server.started"},
//                             {"address", "0.0.0.0:50051"}});
//   // {"address":"0.0.0.0:50051","event":"server.started","severity":"INFO","time":"2026-..."}
//
// Never put secrets or raw metadata into a line: what is logged is decided by the caller.
#ifndef SUITE_SHARED_RPC_JSON_LOG_H_
#define SUITE_SHARED_RPC_JSON_LOG_H_

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace suite::rpc {

// WriteLogLine adds "time" (RFC 3339, UTC, milliseconds) unless present and writes `line` as one
// line to the current sink (stdout by default). Invalid UTF-8 is replaced, never thrown.
// Thread-safe: lines from concurrent callers never interleave.
void WriteLogLine(nlohmann::json line);

// SetLogSinkForTesting redirects lines to `sink` (one call per line, without the newline);
// an empty function restores stdout. Thread-safe.
void SetLogSinkForTesting(std::function<void(const std::string&)> sink);

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_JSON_LOG_H_

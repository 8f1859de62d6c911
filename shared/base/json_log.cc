#include "shared/base/json_log.h"

#include <cstdio>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace suite {
namespace {

absl::Mutex log_mu(absl::kConstInit);
std::function<void(const std::string&)>* log_sink ABSL_GUARDED_BY(log_mu) = nullptr;

}  // namespace

void WriteLogLine(nlohmann::json line) {
  if (!line.is_object()) line = nlohmann::json{{"message", std::move(line)}};
  if (!line.contains("time")) {
    line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  }
  // Replace invalid UTF-8 rather than throw: a log line must never take the server down.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  absl::MutexLock lock(&log_mu);
  if (log_sink != nullptr) {
    (*log_sink)(text);
    return;
  }
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

double LogMilliseconds(absl::Duration duration) {
  // An integer divided by 1000.0 is the double nearest that decimal, so it prints as at most
  // three decimals.
  return static_cast<double>(absl::ToInt64Microseconds(duration)) / 1000.0;
}

void SetLogSinkForTesting(std::function<void(const std::string&)> sink) {
  absl::MutexLock lock(&log_mu);
  delete log_sink;
  log_sink = sink ? new std::function<void(const std::string&)>(std::move(sink)) : nullptr;
}

int LogStartupFailure(absl::string_view service, int exit_code, absl::string_view what,
                      const absl::Status& status) {
  WriteLogLine({{"severity", "ERROR"},
                {"event", absl::StrCat(service, ".start_failed")},
                {"what", std::string(what)},
                {"status", status.ToString()}});
  return exit_code;
}

}  // namespace suite

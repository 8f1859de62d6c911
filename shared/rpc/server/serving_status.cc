#include "shared/rpc/server/serving_status.h"

#include <utility>

#include "shared/base/json_log.h"

namespace suite::rpc {

ServingStatusFollower::ServingStatusFollower(std::function<bool()> probe,
                                             absl::Duration interval,
                                             std::function<void(bool serving)> on_change)
    : probe_(std::move(probe)), interval_(interval), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Loop(); });
}

ServingStatusFollower::~ServingStatusFollower() { Stop(); }

void ServingStatusFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::optional<bool> ServingStatusFollower::Last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

void ServingStatusFollower::Loop() {
  while (true) {
    bool serving = probe_();
    bool changed = false;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      changed = !last_.has_value() || *last_ != serving;
      last_ = serving;
    }
    if (changed) {
      WriteLogLine({{"severity", serving ? "INFO" : "WARNING"},
                    {"event", "health.changed"},
                    {"serving", serving}});
      on_change_(serving);
    }
    absl::MutexLock lock(&mu_);
    // Sleep for the interval, waking early when Stop is called.
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) return;
  }
}

}  // namespace suite::rpc

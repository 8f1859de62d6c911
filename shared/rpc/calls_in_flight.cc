#include "shared/rpc/calls_in_flight.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "shared/rpc/config.h"

namespace suite::rpc {

CallsInFlight& CallsInFlight::Process() {
  static CallsInFlight* const process = new CallsInFlight(ServerConfig().max_calls_in_flight);
  return *process;
}

void CallsInFlight::SetLimit(int limit) {
  limit_.store(std::max(1, limit), std::memory_order_relaxed);
}

bool CallsInFlight::TryAdmit() {
  // Taking first and giving back on failure keeps the check and the take one atomic step.
  if (count_.fetch_add(1, std::memory_order_relaxed) < limit()) return true;
  count_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

void CallsInFlight::Release() { count_.fetch_sub(1, std::memory_order_relaxed); }

grpc::Status CallsInFlight::OverloadedStatus() const {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("the server is overloaded (calls in flight: ", limit(),
                                   ", its limit GRPC_MAX_CALLS_IN_FLIGHT); retry with backoff"));
}

}  // namespace suite::rpc

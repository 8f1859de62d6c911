#include "shared/rpc/handler/calls_in_flight.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "shared/rpc/server/config.h"

namespace suite::rpc {

CallsInFlight& CallsInFlight::Process() {
  static CallsInFlight* const process = [] {
    auto* in_flight = new CallsInFlight(ServerConfig().max_calls_in_flight);
    in_flight->ExportTo(metrics::Registry::Default());
    return in_flight;
  }();
  return *process;
}

void CallsInFlight::ExportTo(metrics::Registry& registry) {
  absl::StatusOr<metrics::GaugeFamily*> held = registry.AddGauge(
      "grpc_server_calls_in_flight", "Unary calls accepted and not yet answered.");
  absl::StatusOr<metrics::GaugeFamily*> limit = registry.AddGauge(
      "grpc_server_calls_in_flight_limit",
      "Calls in flight beyond which new ones are refused (GRPC_MAX_CALLS_IN_FLIGHT).");
  absl::StatusOr<metrics::CounterFamily*> refused = registry.AddCounter(
      "grpc_server_calls_refused_overloaded_total",
      "Calls answered RESOURCE_EXHAUSTED at once because the limit of calls in flight was held.");
  // Only fails if another family took these names; then the bound works without its metrics.
  if (!held.ok() || !limit.ok() || !refused.ok()) return;
  refused_ = &(*refused)->WithLabels({});
  metrics::Gauge* held_gauge = &(*held)->WithLabels({});
  metrics::Gauge* limit_gauge = &(*limit)->WithLabels({});
  registry.AddCollector([this, held_gauge, limit_gauge] {
    held_gauge->Set(count());
    limit_gauge->Set(this->limit());
  });
}

void CallsInFlight::SetLimit(int limit) {
  limit_.store(std::max(1, limit), std::memory_order_relaxed);
}

bool CallsInFlight::TryAdmit() {
  // Take, then give back if over: never one call too many. A refused attempt counts itself for
  // a moment, which at the limit may refuse another a moment early.
  if (count_.fetch_add(1, std::memory_order_relaxed) < limit()) return true;
  count_.fetch_sub(1, std::memory_order_relaxed);
  if (refused_ != nullptr) refused_->Increment();
  return false;
}

bool CallsInFlight::AdmitOrFinish(grpc::ServerUnaryReactor* reactor) {
  if (TryAdmit()) return true;
  reactor->Finish(OverloadedStatus());
  return false;
}

void CallsInFlight::Release() { count_.fetch_sub(1, std::memory_order_relaxed); }

grpc::Status CallsInFlight::OverloadedStatus() const {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("the server is overloaded (calls in flight: ", limit(),
                                   ", its limit GRPC_MAX_CALLS_IN_FLIGHT); retry with backoff"));
}

}  // namespace suite::rpc

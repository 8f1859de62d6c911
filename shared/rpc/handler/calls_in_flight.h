// A bound on the calls a serving process holds at once: accepted from gRPC, not yet answered.
//
// gRPC accepts every stream a client opens, and each accepted call holds its arena (about
// 14 KiB), its request and its place in a queue until it is answered. Under sustained overload
// (more calls arriving than the service can finish) that backlog, and the process's memory,
// grow for as long as the overload lasts; calls without a deadline wait forever. The suite's
// handler helpers (RunBlocking in blocking_executor.h, RunHandlerAsync in handler.h, which
// every unary handler goes through) take a place here before queueing any work and give it
// back when the call is answered; a call that finds every place taken is answered at once
// with RESOURCE_EXHAUSTED (gRPC's code for a server temporarily out of resources, and the
// suite's for identity's full hashing queue; a caller retries it with backoff), so the
// backlog, and the memory it holds, stop at the limit.
//
// One count per process: a service process runs one GrpcServer, whose Start sets the limit
// (ServerConfig::max_calls_in_flight). /metrics shows it: grpc_server_calls_in_flight,
// grpc_server_calls_in_flight_limit and grpc_server_calls_refused_overloaded_total.
#ifndef SUITE_SHARED_RPC_HANDLER_CALLS_IN_FLIGHT_H_
#define SUITE_SHARED_RPC_HANDLER_CALLS_IN_FLIGHT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "shared/metrics/metrics.h"

namespace suite::rpc {

class CallsInFlight {
 public:
  // The process's count, exported to metrics::Registry::Default(). Its limit starts at
  // ServerConfig's default.
  static CallsInFlight& Process();

  explicit CallsInFlight(int limit) : limit_(limit) {}
  CallsInFlight(const CallsInFlight&) = delete;
  CallsInFlight& operator=(const CallsInFlight&) = delete;

  // SetLimit changes the limit (at least 1) for calls admitted from now on. Thread-safe.
  void SetLimit(int limit);
  int limit() const { return limit_.load(std::memory_order_relaxed); }

  // TryAdmit takes a place; false (and nothing taken) when all `limit` are taken. Thread-safe.
  bool TryAdmit();
  // AdmitOrFinish is TryAdmit for a unary handler: when no place is left it finishes `reactor`
  // with OverloadedStatus() and returns false, and the handler returns the reactor at once.
  bool AdmitOrFinish(grpc::ServerUnaryReactor* reactor);
  // Release gives back a place TryAdmit took. Thread-safe.
  void Release();

  // count is how many places are taken now. Thread-safe.
  int count() const { return count_.load(std::memory_order_relaxed); }

  // ExportTo registers the three metrics above in `registry` (a collector reads the count and
  // the limit at each scrape; refusals are counted from then on). Call once, before the first
  // TryAdmit; this object must outlive `registry`.
  void ExportTo(metrics::Registry& registry);

  // OverloadedStatus is the answer to a call TryAdmit refused: RESOURCE_EXHAUSTED naming the
  // limit and the setting.
  grpc::Status OverloadedStatus() const;

 private:
  std::atomic<int> limit_;
  std::atomic<int> count_{0};
  metrics::Counter* refused_ = nullptr;  // set once by ExportTo
};

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_HANDLER_CALLS_IN_FLIGHT_H_

// The bootstrap every service's main() uses: a grpc::Server with
// the standard health service, server reflection, the per-RPC log line and request ids, a
// serving status that can follow a probe, and a graceful drain on SIGTERM/SIGINT.
//
//   int main(int argc, char** argv) {
//     auto config = suite::rpc::LoadServerConfig("IDENTITY", {argv + 1, argv + argc});
//     if (!config.ok()) { std::cerr << config.status() << "\n"; return 2; }
//     ... open the pool, build the service implementation `service` ...
//     auto server = suite::rpc::GrpcServer::Start(
//         *config, {{&service, identity::v1::IdentityService::service_full_name()}});
//     if (!server.ok()) { std::cerr << server.status() << "\n"; return 1; }
//     (*server)->FollowProbe([&pool] { return pool.Ping().ok(); });
//     (*server)->Run();   // returns after SIGTERM once in-flight calls drained
//     ... close the pool ...
//     return 0;
//   }
//
// On SIGTERM/SIGINT (or RequestShutdown): every health status becomes NOT_SERVING while calls
// are still served for config.lame_duck (clients watching health move to other replicas), then
// the listener closes and new calls are refused, in-flight calls get up to drain_timeout to finish
// and are cancelled after it, then Run returns. Handlers that run long should watch
// IsCancelled() on their context, since gRPC cannot stop a running handler body. The suite's
// services are on the callback API with their blocking work on a BlockingExecutor
// (blocking_executor.h); a sync service can be registered too (questions' ImportQuestions).
#ifndef SUITE_SHARED_RPC_SERVER_SERVER_H_
#define SUITE_SHARED_RPC_SERVER_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "shared/base/heap_trimmer.h"
#include "shared/metrics/http_server.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/serving_status.h"

namespace suite::rpc {

// SetServingProcessDefaults sets, once at the top of a service's main(), what a serving process
// wants from its libraries: their log output as JSON lines (RouteLibraryLogsToJsonLog,
// library_log.h), so every line of the service's log is one JSON object; and abseil's Mutex
// deadlock detection off. Debian builds abseil without
// NDEBUG, which leaves detection on: every Mutex acquisition then updates one process-wide
// lock-order graph under a global lock (GraphCycles, DeadlockCheck: ~4% of questions' CPU in a
// GetQuestion load). Tests keep it on, where it finds lock-order bugs.
void SetServingProcessDefaults();

// One service to serve, with the name the health service knows it by: the generated
// `<Svc>::service_full_name()`, e.g. "identity.v1.IdentityService".
struct ServiceEntry {
  grpc::Service* service;
  std::string name;
};

class GrpcServer {
 public:
  // Start builds and starts the server on config.listen_address with `services` (not owned;
  // they must outlive the server), the default health service (overall "" and every service
  // name SERVING) and reflection. When `handle_signals`, SIGTERM and SIGINT make Run drain
  // (the handlers are process-wide; have one such server per process).
  // The port serves TLS (mutual TLS) when config.tls says so (see config.h, tls.h). With
  // config.metrics_port >= 0 it also serves metrics::Registry::Default() at
  // http://<listen_host>:<metrics_port>/metrics (until the GrpcServer is destroyed, so scrapes
  // continue through the drain); a busy metrics port fails Start with UNAVAILABLE.
  // With config.health_port >= 0 a second, plaintext port on the same host serves only
  // grpc.health.v1 with the same statuses (the kubelet's native gRPC probe cannot speak TLS);
  // it says NOT_SERVING through the drain and closes after it.
  // While the GrpcServer lives, a HeapTrimmer gives the heap's free pages back to the OS every
  // config.heap_trim_interval (//shared/base:heap_trimmer), so the process returns to its idle
  // footprint after a burst of calls. Start also sets the process's bound on calls in flight
  // (CallsInFlight::Process(), calls_in_flight.h) to config.max_calls_in_flight. Once
  // listening it logs event server.started with every bound address (address,
  // metrics_address, health_address).
  // Returns INVALID_ARGUMENT for a null service or empty name or an unreadable TLS file,
  // UNAVAILABLE when an address cannot be bound (or the TLS material is unusable).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const ServerConfig& config,
                                                          std::vector<ServiceEntry> services,
                                                          bool handle_signals = true);
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;
  // Drains (Shutdown) if that has not happened yet.
  ~GrpcServer();

  // port returns the bound port (the one picked when the configured port was 0).
  int port() const { return port_; }

  // metrics_port returns the bound port of the /metrics endpoint, or -1 when there is none.
  int metrics_port() const { return metrics_server_ != nullptr ? metrics_server_->port() : -1; }

  // health_port returns the bound plaintext health port, or -1 when there is none.
  int health_port() const { return health_server_ != nullptr ? health_port_ : -1; }

  // SetServing sets the overall status and each service's to SERVING or NOT_SERVING. Ignored
  // once shutdown has begun, so a probe cannot bring a draining server back. Thread-safe.
  void SetServing(bool serving);

  // FollowProbe starts a ServingStatusFollower calling `probe` every config.health_interval
  // and feeding SetServing; it stops when shutdown begins. Replaces an earlier probe.
  // Thread-safe.
  void FollowProbe(std::function<bool()> probe);

  // AtDrain registers `hook`, run once when the drain begins (after NOT_SERVING, before
  // waiting for in-flight calls): for calls that would otherwise last the whole drain_timeout,
  // such as server streams, to be ended at once. Hooks run in registration order, on the
  // thread that drains; they must not call Shutdown. Thread-safe.
  void AtDrain(std::function<void()> hook);

  // Run blocks until SIGTERM/SIGINT (with handle_signals) or RequestShutdown, then says
  // NOT_SERVING for config.lame_duck while still serving, drains as Shutdown does and returns.
  // Call from one thread, once.
  void Run();

  // RequestShutdown makes Run return after draining, as SIGTERM does. Returns at once.
  // Thread-safe.
  void RequestShutdown();

  // Shutdown drains now: NOT_SERVING, stop accepting, wait for in-flight calls up to
  // config.drain_timeout, cancel the rest, stop. Blocks until done; later calls return at once.
  // Thread-safe.
  void Shutdown();

 private:
  GrpcServer(const ServerConfig& config, std::vector<ServiceEntry> services, bool handle_signals);

  // Sets the overall status and each service's on the main and the health port.
  void SetHealthStatuses(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ServerConfig config_;
  const std::vector<ServiceEntry> services_;
  const bool handle_signals_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> health_server_;  // null without config.health_port
  int health_port_ = 0;
  int wake_fds_[2] = {-1, -1};  // RequestShutdown writes, Run polls
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server_;  // null without metrics_port
  std::unique_ptr<HeapTrimmer> heap_trimmer_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<ServingStatusFollower> follower_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> drain_hooks_ ABSL_GUARDED_BY(mu_);

  absl::Mutex shutdown_mu_;  // serialises Shutdown so a second caller waits for the first
  bool stopped_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_SERVER_H_

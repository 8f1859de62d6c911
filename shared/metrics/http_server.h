// The HTTP endpoint Prometheus scrapes: GET /metrics returns a Registry's Render() as
// text/plain version 0.0.4; every other path is 404. GrpcServer::Start runs one on
// ServerConfig::metrics_port (`<PREFIX>_METRICS_PORT`), so services need not start it.
//
//   SUITE_ASSIGN_OR_RETURN(auto http, suite::metrics::MetricsHttpServer::Start(
//       &suite::metrics::Registry::Default(), "127.0.0.1", 9090));
//   // curl http://localhost:9090/metrics
#ifndef SUITE_SHARED_METRICS_HTTP_SERVER_H_
#define SUITE_SHARED_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "shared/metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace suite::metrics {

class MetricsHttpServer {
 public:
  // Start binds `host`:`port` (0 = a free port) and serves `registry` (not owned; it must
  // outlive the server) from a background thread. Returns INVALID_ARGUMENT for a port outside
  // 0..65535 or a null registry, UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(Registry* registry,
                                                                   absl::string_view host,
                                                                   int port);
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  // Stops and joins the thread.
  ~MetricsHttpServer();

  // port is the bound port.
  int port() const { return port_; }

  // Stop closes the listener and waits for the serving thread; later calls return at once.
  // Thread-safe.
  void Stop();

 private:
  MetricsHttpServer();

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex stop_mu_;  // serialises Stop, so only one caller joins
};

}  // namespace suite::metrics

#endif  // SUITE_SHARED_METRICS_HTTP_SERVER_H_

#include "shared/metrics/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "shared/http/listen_thread.h"

namespace suite::metrics {

MetricsHttpServer::MetricsHttpServer() : http_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    Registry* registry, absl::string_view host, int port) {
  if (registry == nullptr) return absl::InvalidArgumentError("metrics registry is null");
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is not 0..65535"));
  }
  std::unique_ptr<MetricsHttpServer> self(new MetricsHttpServer());
  // httplib's default also sets SO_REUSEPORT, which would let a second process share the
  // port silently; SO_REUSEADDR alone still allows a quick restart.
  self->http_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  self->http_->Get("/metrics", [registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry->Render(), std::string(kTextContentType).c_str());
  });
  const std::string host_string(host);
  if (port == 0) {
    self->port_ = self->http_->bind_to_any_port(host_string);
  } else if (self->http_->bind_to_port(host_string, port)) {
    self->port_ = port;
  }
  if (self->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port));
  }
  self->thread_ = suite::http::StartListenThread(*self->http_);
  return self;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace suite::metrics

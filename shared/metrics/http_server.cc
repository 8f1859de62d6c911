#include "shared/metrics/http_server.h"

#include <httplib.h>

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
  self->http_->Get("/metrics", [registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry->Render(), std::string(kTextContentType).c_str());
  });
  const std::string host_string(host);
  self->port_ = suite::http::BindWithBacklog(*self->http_, host_string, port);
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

#include "services/billing/http/webhook_server.h"

#include <exception>
#include <utility>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "services/billing/domain/model.h"
#include "shared/http/listen_thread.h"
#include "shared/rpc/request_context.h"
#include "shared/rpc/status.h"

namespace billing {

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
      return 400;
    case absl::StatusCode::kResourceExhausted: {
      auto info = suite::rpc::ErrorInfoOf(status);
      return info && info->reason == "PAYLOAD_TOO_LARGE" ? 413 : 503;
    }
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return 503;
    default:
      return 500;
  }
}

absl::StatusOr<std::unique_ptr<WebhookServer>> WebhookServer::Start(const std::string& host,
                                                                    int port, Billing& billing) {
  std::unique_ptr<WebhookServer> self(new WebhookServer());
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *self->server_;
  // httplib answers 413 itself beyond this; the domain checks the same bound.
  server.set_payload_max_length(kMaxWebhookPayloadBytes);
  server.set_read_timeout(10, 0);
  server.Post("/webhooks/stripe", [&billing](const httplib::Request& req, httplib::Response& res) {
    std::string request_id = req.get_header_value("X-Request-Id");
    request_id = suite::rpc::IsValidRequestId(request_id) ? request_id : suite::rpc::NewRequestId();
    nlohmann::json body;
    absl::Status status;
    try {
      absl::StatusOr<IngestResult> result =
          billing.IngestStripeEvent(req.body, req.get_header_value("Stripe-Signature"), request_id);
      status = result.status();
      if (result.ok()) {
        body["stripe_event_id"] = result->stripe_event_id;
        body["type"] = result->type;
        body["status"] = std::string(EventStatusName(result->status));
        body["duplicate"] = result->duplicate;
      }
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    }
    if (!status.ok()) {
      auto info = suite::rpc::ErrorInfoOf(status);
      body["error"] = info ? info->reason : std::string("INTERNAL");
    }
    res.status = HttpStatusFor(status);
    res.set_header("X-Request-Id", request_id);
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
  });
  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError("cannot bind the webhook port");
  }
  self->port_ = bound;
  self->thread_ = suite::http::StartListenThread(server);
  return self;
}

void WebhookServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

WebhookServer::~WebhookServer() { Stop(); }

}  // namespace billing

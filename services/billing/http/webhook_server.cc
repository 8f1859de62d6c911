#include "services/billing/http/webhook_server.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "services/billing/domain/model.h"
#include "shared/api/status.h"
#include "shared/base/json_log.h"
#include "shared/base/uuid.h"
#include "shared/http/listen_thread.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::billing {
namespace {

constexpr char kWebhookPath[] = "/webhooks/stripe";
constexpr size_t kWorkers = 64;

// One request on the webhook port, from the pre-routing handler to the logger. httplib runs
// both, the route's handler and the error handler for one request on one worker thread, so a
// thread-local carries what the log line needs between them.
struct Delivery {
  bool active = false;
  absl::Time start;
  std::string request_id;
  IngestTrace trace;
};
thread_local Delivery current_delivery;

std::string Dump(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SetError(httplib::Response& res, int status, absl::string_view reason,
              absl::string_view message) {
  res.status = status;
  res.set_content(Dump({{"error", reason}, {"message", message}}), "application/json");
}

// The body httplib's own error answers lack (it answers 400, 404 and 413 itself).
void DescribeError(httplib::Response& res) {
  switch (res.status) {
    case 404:
      SetError(res, 404, "NOT_FOUND",
               absl::StrCat("no such path; Stripe webhooks are POST ", kWebhookPath));
      break;
    case 413:
      SetError(res, 413, "PAYLOAD_TOO_LARGE",
               absl::StrCat("the payload exceeds ", kMaxWebhookPayloadBytes, " bytes"));
      break;
    case 400:
      SetError(res, 400, "BAD_REQUEST", "the HTTP request is malformed");
      break;
    default:
      SetError(res, res.status, res.status >= 500 ? "INTERNAL" : "HTTP_ERROR",
               absl::StrCat("HTTP ", res.status));
  }
  if (!current_delivery.trace.outcome.empty()) return;
  current_delivery.trace.outcome = res.status == 413   ? "too_large"
                                   : res.status == 404 ? "not_found"
                                                       : "bad_request";
}

// One JSON line per request, as the gRPC doors write one per call: never the body, the
// signature or other headers.
void LogDelivery(const httplib::Request& req, const httplib::Response& res) {
  Delivery& d = current_delivery;
  nlohmann::json line = {
      {"severity", res.status >= 500 ? "ERROR" : "INFO"},
      {"event", "webhook"},
      {"method", req.method.substr(0, 16)},
      {"path", req.path.substr(0, 256)},
      {"http_status", res.status},
      {"outcome", d.trace.outcome.empty() ? "unknown" : d.trace.outcome},
      {"bytes", req.body.size()},
  };
  if (d.active) {
    line["latency_ms"] = suite::LogMilliseconds(absl::Now() - d.start);
    line["request_id"] = d.request_id;
  }
  if (!d.trace.stripe_event_id.empty()) line["stripe_event_id"] = d.trace.stripe_event_id;
  if (!d.trace.type.empty()) line["type"] = d.trace.type;
  suite::WriteLogLine(std::move(line));
  d = Delivery();
}

}  // namespace

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
      return 400;
    case absl::StatusCode::kResourceExhausted: {
      auto info = suite::api::ErrorInfoOf(status);
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
  // httplib answers 413 itself beyond this (the error handler gives it a body); the domain
  // checks the same bound.
  server.set_payload_max_length(kMaxWebhookPayloadBytes);
  server.set_read_timeout(10, 0);
  // A slow or idle client holds a worker until the read timeout; with httplib's default of
  // eight workers, eight such connections wedged the door for everyone. Idle keep-alive
  // connections are let go sooner for the same reason.
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  server.set_keep_alive_timeout(2);
  // Before the body is read, so that a refused oversize body is timed and logged too.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    Delivery& d = current_delivery;
    d = Delivery();
    d.active = true;
    d.start = absl::Now();
    d.request_id = req.get_header_value("X-Request-Id");
    if (!suite::IsUuid(d.request_id)) d.request_id = suite::rpc::NewRequestId();
    res.set_header("X-Request-Id", d.request_id);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        DescribeError(res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_logger(LogDelivery);
  server.Post(kWebhookPath, [&billing](const httplib::Request& req, httplib::Response& res) {
    Delivery& d = current_delivery;
    nlohmann::json body;
    absl::Status status;
    try {
      absl::StatusOr<IngestResult> result = billing.IngestStripeEvent(
          req.body, req.get_header_value("Stripe-Signature"), d.request_id, &d.trace);
      status = result.status();
      if (result.ok()) {
        body["stripe_event_id"] = result->stripe_event_id;
        body["type"] = result->type;
        body["status"] = std::string(EventStatusName(result->status));
        body["duplicate"] = result->duplicate;
        if (result->status == EventStatus::kFailed) {
          // Parked: acknowledged so that Stripe stops retrying; see ListStripeEvents.
          body["parked"] = true;
          body["last_error"] = result->last_error;
        }
      }
    } catch (const std::exception& e) {
      status = absl::InternalError("internal error");
      d.trace.outcome = "failed";
    }
    res.status = HttpStatusFor(status);
    if (!status.ok()) {
      auto info = suite::api::ErrorInfoOf(status);
      body["error"] = info ? info->reason : std::string(absl::StatusCodeToString(status.code()));
      body["message"] = std::string(status.message());
    }
    res.set_content(Dump(body), "application/json");
  });
  // Any other method on the webhook path: 405, saying which one is allowed.
  auto method_not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    SetError(res, 405, "METHOD_NOT_ALLOWED",
             absl::StrCat("Stripe webhooks are POST ", kWebhookPath));
    current_delivery.trace.outcome = "method_not_allowed";
  };
  server.Get(kWebhookPath, method_not_allowed);
  server.Put(kWebhookPath, method_not_allowed);
  server.Patch(kWebhookPath, method_not_allowed);
  server.Delete(kWebhookPath, method_not_allowed);
  server.Options(kWebhookPath, method_not_allowed);
  const int bound = suite::http::BindWithBacklog(server, host, port);
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

}  // namespace suite::billing

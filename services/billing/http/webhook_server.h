// The HTTP door for Stripe: `POST /webhooks/stripe` on its own port (Stripe speaks HTTP, not
// gRPC), served by cpp-httplib, feeding the same Billing::IngestStripeEvent as the RPC door.
//
//   auto server = WebhookServer::Start("0.0.0.0", 8082, billing);   // port 0: pick one
//   ... (*server)->port() ...
//   (*server)->Stop();   // stops accepting, finishes in-flight requests
//
// Answers, each with a JSON body: 200 {"stripe_event_id","type","status","duplicate"} for
// processed, ignored, stale, superseded and duplicate deliveries, and for a parked poison
// event ("status":"failed","parked":true,"last_error"; Stripe stops retrying it). Errors are
// {"error": REASON, "message": why} without internals: 400 for a missing/bad/stale signature
// or a body that is not a Stripe event (nothing stored: no event id to store it under); 413
// over 1 MiB (also when httplib refuses the body itself); 404 for other paths, 405 for other
// methods; 500 when processing failed for a reason that may pass and 503 when the database is
// unavailable (Stripe retries both).
// Every request writes one JSON log line (event "webhook": method, path, http_status,
// outcome, latency_ms, request_id, stripe_event_id and type once known; never the body or a
// header). The listen backlog is suite::http::kListenBacklog. Thread-safe.
#ifndef SUITE_SERVICES_BILLING_HTTP_WEBHOOK_SERVER_H_
#define SUITE_SERVICES_BILLING_HTTP_WEBHOOK_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/billing/domain/billing.h"

namespace httplib {
class Server;
}

namespace suite::billing {

// HttpStatusFor maps an ingestion status to the HTTP status Stripe sees.
int HttpStatusFor(const absl::Status& status);

class WebhookServer {
 public:
  // Start binds host:port and serves in a background thread. UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<WebhookServer>> Start(const std::string& host, int port,
                                                              Billing& billing);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  int port() const { return port_; }
  // Stop closes the listener and waits for in-flight requests; later calls return at once.
  void Stop();

 private:
  WebhookServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_HTTP_WEBHOOK_SERVER_H_

// The billing server: config → pool → storage → domain → gRPC service + webhook HTTP door.
//
//   export DATABASE_URL=postgresql://billing_service@host/suite IDENTITY_ADDR=identity:50051
//   export BILLING_STRIPE_WEBHOOK_SECRETS=whsec_... BILLING_PAGE_TOKEN_SECRET=...
//   bazel run //services/billing:billing_server
//
// gRPC on BILLING_GRPC_PORT (50052), Stripe webhooks on BILLING_WEBHOOK_PORT (8082), both on
// BILLING_LISTEN_HOST (127.0.0.1 unless set; deploy/k8s sets 0.0.0.0); see
// services/billing/config.h and shared/rpc/server/config.h for every setting. Health follows the
// database pool; SIGTERM drains gRPC, then the webhook server finishes its in-flight requests
// and stops; exits 0 after the drain, 2 on bad configuration, 1 when it cannot start.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "billing/v1/billing_service.grpc.pb.h"
#include "migrations/built_with.h"
#include "services/billing/config.h"
#include "services/billing/domain/billing.h"
#include "services/billing/grpc/billing_service.h"
#include "services/billing/http/webhook_server.h"
#include "services/billing/storage/pg_store.h"
#include "shared/base/json_log.h"
#include "shared/clients/identity/identity_authenticator.h"
#include "shared/db/config.h"
#include "shared/db/migrate/schema_guard.h"
#include "shared/db/pool.h"
#include "shared/metrics/batched_read_metrics.h"
#include "shared/metrics/metrics.h"
#include "shared/metrics/pool_metrics.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"
#include "shared/rpc/server/tls.h"

namespace {

// Logs why billing cannot start (event billing.start_failed) and returns the exit code.
int Fail(int code, const std::string& what, const absl::Status& status) {
  return suite::LogStartupFailure("billing", code, what, status);
}

}  // namespace

int main(int argc, char** argv) {
  suite::rpc::SetServingProcessDefaults();
  suite::rpc::ServerConfig defaults;
  defaults.listen_address = "127.0.0.1:50052";
  absl::StatusOr<suite::rpc::ServerConfig> server_config = suite::rpc::LoadServerConfig(
      "BILLING", std::vector<std::string>(argv + 1, argv + argc), defaults);
  if (!server_config.ok()) return Fail(2, "server config", server_config.status());
  absl::StatusOr<suite::billing::BillingConfig> config =
      suite::billing::BillingConfig::FromLookup(suite::rpc::SystemEnv);
  if (!config.ok()) return Fail(2, "billing config", config.status());
  absl::StatusOr<suite::db::PoolConfig> pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) return Fail(2, "database config", pool_config.status());
  absl::StatusOr<suite::rpc::ClientTlsConfig> tls = suite::rpc::LoadClientTlsConfig();
  if (!tls.ok()) return Fail(2, "client TLS config", tls.status());

  absl::StatusOr<std::unique_ptr<suite::db::ConnectionPool>> pool =
      suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) return Fail(1, "database pool", pool.status());
  absl::StatusOr<std::unique_ptr<suite::metrics::PoolMetrics>> pool_metrics =
      suite::metrics::PoolMetrics::Export(suite::metrics::Registry::Default(), pool->get(),
                                          "billing");
  if (!pool_metrics.ok()) return Fail(1, "pool metrics", pool_metrics.status());
  absl::StatusOr<std::unique_ptr<suite::billing::PgStore>> storage =
      suite::billing::PgStore::Create(**pool);
  if (!storage.ok()) return Fail(1, "storage", storage.status());
  auto read_metrics = suite::metrics::BatchedReadMetrics::Export(
      suite::metrics::Registry::Default(),
      [&storage] { return (*storage)->BestSubscriptionStats(); }, "billing_subscription_best");
  if (!read_metrics.ok()) return Fail(1, "batched read metrics", read_metrics.status());

  suite::billing::BillingOptions options;
  options.webhook_secrets = config->webhook_secrets;
  options.signature_tolerance = config->signature_tolerance;
  options.past_due_grace = config->past_due_grace;
  options.page_token_secret = config->page_token_secret;
  suite::billing::Billing domain(**storage, options);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> identity_channel =
      suite::rpc::MakeChannel(config->identity_addr, *tls);
  if (!identity_channel.ok()) return Fail(1, "identity channel", identity_channel.status());
  suite::identity_client::IdentityAuthenticator authenticator(*identity_channel);
  suite::billing::BillingGrpcService service(domain, authenticator, /*users=*/authenticator,
                                      server_config->handler_threads);

  absl::StatusOr<std::unique_ptr<suite::billing::WebhookServer>> webhooks =
      suite::billing::WebhookServer::Start(server_config->listen_host, config->webhook_port,
                                           domain);
  if (!webhooks.ok()) return Fail(1, "webhook server", webhooks.status());
  absl::StatusOr<std::unique_ptr<suite::rpc::GrpcServer>> server = suite::rpc::GrpcServer::Start(
      *server_config, {{&service, ::billing::v1::BillingService::service_full_name()}});
  if (!server.ok()) return Fail(1, "gRPC server", server.status());
  suite::db::ConnectionPool* pool_ptr = pool->get();
  // Health also says NOT_SERVING while the database lacks a migration of this build.
  suite::db::migrate::SchemaGuard schema_guard(pool_ptr, "billing",
                                              suite::migrations::BuiltWith({"core", "billing"}));
  (*server)->FollowProbe(
      [pool_ptr, &schema_guard] { return pool_ptr->Healthy() && schema_guard.Check(); });
  suite::WriteLogLine({{"severity", "INFO"},
                            {"event", "billing.started"},
                            {"grpc_port", (*server)->port()},
                            {"webhook_port", (*webhooks)->port()},
                            {"webhook_address", suite::rpc::JoinHostPort(
                                                    server_config->listen_host,
                                                    (*webhooks)->port())}});
  (*server)->Run();     // returns after SIGTERM/SIGINT once gRPC calls drained
  (*webhooks)->Stop();  // then finish in-flight webhook deliveries
  server->reset();
  pool_metrics->reset();
  suite::WriteLogLine({{"severity", "INFO"}, {"event", "billing.stopped"}});
  return 0;
}

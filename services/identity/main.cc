// The identity service binary: config → pool → store → domain → gRPC server.
//
//   DATABASE_URL=postgresql://identity_service@127.0.0.1/suite IDENTITY_GRPC_PORT=50051
//     bazel run //services/identity:identity_server      (both on one line)
//
// Settings: shared/rpc/server/config.h (port, drain), shared/db/config.h (pool), services/identity/
// config.h (hashing, sessions, throttling, bootstrap admin). Health follows the pool; SIGTERM
// drains and exits 0.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "identity/v1/identity_service.grpc.pb.h"
#include "migrations/built_with.h"
#include "services/identity/config.h"
#include "services/identity/domain/clock.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/password_hasher.h"
#include "services/identity/grpc/identity_service.h"
#include "services/identity/storage/pg_store.h"
#include "services/identity/storage/revocation_feed.h"
#include "shared/base/json_log.h"
#include "shared/db/config.h"
#include "shared/db/migrate/schema_guard.h"
#include "shared/db/pool.h"
#include "shared/metrics/batched_read_metrics.h"
#include "shared/metrics/metrics.h"
#include "shared/metrics/pool_metrics.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"

namespace {

// Logs why identity cannot start (event identity.start_failed) and returns the exit code.
int Fail(int code, const std::string& what, const absl::Status& status) {
  return suite::LogStartupFailure("identity", code, what, status);
}

int Run(int argc, char** argv) {
  auto server_config =
      suite::rpc::LoadServerConfig("IDENTITY", std::vector<std::string>(argv + 1, argv + argc));
  if (!server_config.ok()) return Fail(2, "server config", server_config.status());
  auto pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) return Fail(2, "database config", pool_config.status());
  auto config = suite::identity::LoadIdentityConfig(suite::rpc::SystemEnv);
  if (!config.ok()) return Fail(2, "identity config", config.status());
  auto pool = suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) return Fail(1, "database pool", pool.status());
  // Pool size, in use and wait time at /metrics (IDENTITY_METRICS_PORT), as billing does.
  auto pool_metrics = suite::metrics::PoolMetrics::Export(suite::metrics::Registry::Default(),
                                                          pool->get(), "identity");
  if (!pool_metrics.ok()) return Fail(1, "pool metrics", pool_metrics.status());
  auto store = suite::identity::PgIdentityStore::Create(pool->get());
  if (!store.ok()) return Fail(1, "storage", store.status());
  auto lookup_metrics = suite::metrics::BatchedReadMetrics::Export(
      suite::metrics::Registry::Default(), [&store] { return (*store)->SessionLookupStats(); },
      "identity_session_lookup");
  if (!lookup_metrics.ok()) return Fail(1, "batched read metrics", lookup_metrics.status());
  auto hasher = suite::identity::PasswordHasher::Create(config->hasher);
  if (!hasher.ok()) return Fail(1, "password hasher", hasher.status());
  suite::identity::SystemClock clock;
  suite::identity::Identity identity(store->get(), hasher->get(), &clock, config->identity);

  if (!config->bootstrap_admin_email.empty()) {
    // Idempotent: does nothing once any global admin exists. The password is never logged.
    auto created =
        identity.BootstrapAdmin(config->bootstrap_admin_email, config->bootstrap_admin_password);
    config->bootstrap_admin_password.assign(config->bootstrap_admin_password.size(), '\0');
    if (!created.ok()) return Fail(1, "bootstrap admin", created.status());
    suite::WriteLogLine({{"severity", "INFO"},
                              {"event", *created ? "bootstrap_admin.created"
                                                 : "bootstrap_admin.exists"}});
  }

  suite::identity::IdentityGrpcService service(&identity, config->trusted_peers,
                                               server_config->handler_threads);
  // WatchRevocations: the services that cache ValidateSession answers learn of every
  // revocation (on any replica) from it; its streams end when the drain begins.
  auto revocations = suite::identity::PgRevocationFeed::Start(pool_config->database_url);
  if (!revocations.ok()) return Fail(1, "revocation feed", revocations.status());
  service.ServeRevocations(revocations->get());
  auto server = suite::rpc::GrpcServer::Start(
      *server_config, {{&service, ::identity::v1::IdentityService::service_full_name()}});
  if (!server.ok()) return Fail(1, "gRPC server", server.status());
  suite::identity::PgRevocationFeed* feed = revocations->get();
  (*server)->AtDrain([feed] { feed->Stop(); });
  suite::db::ConnectionPool* p = pool->get();
  // Health also says NOT_SERVING while the database lacks a migration of this build.
  suite::db::migrate::SchemaGuard schema_guard(p, "identity",
                                              suite::migrations::BuiltWith({"core", "identity"}));
  (*server)->FollowProbe(
      [p, &schema_guard] { return p->Healthy() && schema_guard.Check(); });
  (*server)->Run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  suite::rpc::SetServingProcessDefaults();
  return Run(argc, argv);
}

// The identity service binary: config → pool → store → domain → gRPC server.
//
//   DATABASE_URL=postgresql://identity_service@127.0.0.1/suite IDENTITY_GRPC_PORT=50051
//     bazel run //services/identity:identity_server      (both on one line)
//
// Settings: shared/rpc/config.h (port, drain), shared/db/config.h (pool), services/identity/
// config.h (hashing, sessions, throttling, bootstrap admin). Health follows the pool; SIGTERM
// drains and exits 0.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/config.h"
#include "services/identity/domain/clock.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/password_hasher.h"
#include "services/identity/grpc/identity_service_impl.h"
#include "services/identity/storage/pg_store.h"
#include "shared/db/config.h"
#include "shared/db/pool.h"
#include "shared/rpc/config.h"
#include "shared/rpc/json_log.h"
#include "shared/rpc/server.h"

namespace {

void LogError(const std::string& event, const absl::Status& status) {
  suite::rpc::WriteLogLine({{"severity", "ERROR"},
                            {"event", event},
                            {"code", absl::StatusCodeToString(status.code())},
                            {"message", std::string(status.message())}});
}

int Run(int argc, char** argv) {
  auto server_config =
      suite::rpc::LoadServerConfig("IDENTITY", std::vector<std::string>(argv + 1, argv + argc));
  if (!server_config.ok()) {
    LogError("config.invalid", server_config.status());
    return 2;
  }
  auto pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) {
    LogError("config.invalid", pool_config.status());
    return 2;
  }
  auto config = suite::identity::LoadIdentityConfig(suite::rpc::SystemEnv);
  if (!config.ok()) {
    LogError("config.invalid", config.status());
    return 2;
  }
  auto pool = suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) {
    LogError("db.pool_failed", pool.status());
    return 1;
  }
  auto store = suite::identity::PgIdentityStore::Create(pool->get());
  if (!store.ok()) {
    LogError("db.statements_failed", store.status());
    return 1;
  }
  auto hasher = suite::identity::PasswordHasher::Create(config->hasher);
  if (!hasher.ok()) {
    LogError("hasher.failed", hasher.status());
    return 1;
  }
  suite::identity::SystemClock clock;
  suite::identity::Identity identity(store->get(), hasher->get(), &clock, config->identity);

  if (!config->bootstrap_admin_email.empty()) {
    // Idempotent: does nothing once any global admin exists. The password is never logged.
    auto created =
        identity.BootstrapAdmin(config->bootstrap_admin_email, config->bootstrap_admin_password);
    config->bootstrap_admin_password.assign(config->bootstrap_admin_password.size(), '\0');
    if (!created.ok()) {
      LogError("bootstrap_admin.failed", created.status());
      return 1;
    }
    suite::rpc::WriteLogLine({{"severity", "INFO"},
                              {"event", *created ? "bootstrap_admin.created"
                                                 : "bootstrap_admin.exists"}});
  }

  suite::identity::IdentityServiceImpl service(&identity, config->trusted_peers);
  auto server = suite::rpc::GrpcServer::Start(
      *server_config, {{&service, ::identity::v1::IdentityService::service_full_name()}});
  if (!server.ok()) {
    LogError("server.start_failed", server.status());
    return 1;
  }
  suite::db::ConnectionPool* p = pool->get();
  (*server)->FollowProbe([p] { return p->Healthy(); });
  (*server)->Run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }

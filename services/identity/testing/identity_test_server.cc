#include "services/identity/testing/identity_test_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"

namespace suite::identity::testing {

absl::StatusOr<std::unique_ptr<IdentityTestServer>> IdentityTestServer::Start(
    IdentityTestServerOptions options) {
  std::unique_ptr<IdentityTestServer> s(new IdentityTestServer());
  SUITE_ASSIGN_OR_RETURN(s->db_, suite::db::testing::TestDatabase::CreateMigrated());
  suite::db::PoolConfig pool_config;
  pool_config.database_url = s->db_->UrlAs("identity_service");
  pool_config.pool_size = options.pool_size;
  SUITE_ASSIGN_OR_RETURN(s->pool_, suite::db::ConnectionPool::Create(pool_config));
  SUITE_ASSIGN_OR_RETURN(s->store_, PgIdentityStore::Create(s->pool_.get()));
  SUITE_ASSIGN_OR_RETURN(s->hasher_, PasswordHasher::Create(options.hasher));
  s->identity_ = std::make_unique<Identity>(s->store_.get(), s->hasher_.get(), &s->clock_,
                                            options.identity);
  s->service_ = std::make_unique<IdentityServiceImpl>(s->identity_.get(), options.trusted_peers,
                                                      options.handler_threads);
  suite::rpc::ServerConfig server_config;
  server_config.listen_address = "127.0.0.1:0";
  server_config.drain_timeout = absl::Seconds(1);
  SUITE_ASSIGN_OR_RETURN(
      s->server_,
      suite::rpc::GrpcServer::Start(
          server_config,
          {{s->service_.get(), ::identity::v1::IdentityService::service_full_name()}},
          /*handle_signals=*/false));
  s->channel_ = grpc::CreateChannel(s->address(), grpc::InsecureChannelCredentials());
  return s;
}

IdentityTestServer::~IdentityTestServer() { Shutdown(); }

void IdentityTestServer::Shutdown() {
  if (server_) server_->Shutdown();
}

std::string IdentityTestServer::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::unique_ptr<::identity::v1::IdentityService::Stub> IdentityTestServer::NewStub() const {
  return ::identity::v1::IdentityService::NewStub(channel_);
}

}  // namespace suite::identity::testing

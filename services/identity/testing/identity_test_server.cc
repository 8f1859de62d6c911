#include "services/identity/testing/identity_test_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"

namespace suite::identity::testing {

absl::StatusOr<std::unique_ptr<IdentityTestServer>> IdentityTestServer::Start(
    IdentityTestServerOptions options) {
  std::unique_ptr<IdentityTestServer> s(new IdentityTestServer());
  s->options_ = options;
  if (options.shared_database != nullptr) {
    s->db_ = options.shared_database;
  } else {
    SUITE_ASSIGN_OR_RETURN(s->owned_db_, suite::db::testing::TestDatabase::CreateMigrated());
    s->db_ = s->owned_db_.get();
  }
  suite::db::PoolConfig pool_config;
  pool_config.database_url = s->db_->UrlAs("identity_service");
  pool_config.pool_size = options.pool_size;
  SUITE_ASSIGN_OR_RETURN(s->pool_, suite::db::ConnectionPool::Create(pool_config));
  SUITE_ASSIGN_OR_RETURN(s->store_, PgIdentityStore::Create(s->pool_.get()));
  SUITE_ASSIGN_OR_RETURN(s->hasher_, PasswordHasher::Create(options.hasher));
  s->identity_ = std::make_unique<Identity>(s->store_.get(), s->hasher_.get(), &s->clock_,
                                            options.identity);
  SUITE_RETURN_IF_ERROR(s->Serve(0));
  s->channel_ = grpc::CreateChannel(s->address(), grpc::InsecureChannelCredentials());
  return s;
}

absl::Status IdentityTestServer::Serve(int port) {
  if (options_.serve_revocations) {
    SUITE_ASSIGN_OR_RETURN(feed_, PgRevocationFeed::Start(db_->UrlAs("identity_service"),
                                                          options_.revocation_feed));
  }
  service_ = std::make_unique<IdentityGrpcService>(identity_.get(), options_.trusted_peers,
                                                   options_.handler_threads);
  service_->ServeRevocations(feed_.get());
  suite::rpc::ServerConfig server_config;
  server_config.listen_address = absl::StrCat("127.0.0.1:", port);
  server_config.drain_timeout = absl::Seconds(1);
  SUITE_ASSIGN_OR_RETURN(
      server_, suite::rpc::GrpcServer::Start(
                   server_config,
                   {{service_.get(), ::identity::v1::IdentityService::service_full_name()}},
                   /*handle_signals=*/false));
  if (PgRevocationFeed* feed = feed_.get()) server_->AtDrain([feed] { feed->Stop(); });
  return absl::OkStatus();
}

IdentityTestServer::~IdentityTestServer() { Shutdown(); }

void IdentityTestServer::Shutdown() {
  if (server_) server_->Shutdown();
  if (feed_) feed_->Stop();
}

absl::Status IdentityTestServer::Restart() {
  const int port = server_->port();
  Shutdown();
  server_.reset();
  service_.reset();
  feed_.reset();
  return Serve(port);
}

std::string IdentityTestServer::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::unique_ptr<::identity::v1::IdentityService::Stub> IdentityTestServer::NewStub() const {
  return ::identity::v1::IdentityService::NewStub(channel_);
}

}  // namespace suite::identity::testing

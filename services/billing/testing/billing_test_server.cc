#include "services/billing/testing/billing_test_server.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"
#include "shared/db/config.h"

namespace suite::billing::testing {

void StaticAuthenticator::Add(const std::string& token, suite::rpc::Caller caller) {
  absl::MutexLock lock(&mu_);
  users_.insert(absl::AsciiStrToLower(caller.user_id));
  callers_[token] = std::move(caller);
}

void StaticAuthenticator::AddUser(const std::string& user_id) {
  absl::MutexLock lock(&mu_);
  users_.insert(absl::AsciiStrToLower(user_id));
}

absl::StatusOr<bool> StaticAuthenticator::UserExists(absl::string_view user_id,
                                                     const suite::rpc::RequestContext&) {
  absl::MutexLock lock(&mu_);
  return users_.count(absl::AsciiStrToLower(user_id)) > 0;
}

absl::StatusOr<suite::rpc::Caller> StaticAuthenticator::Authenticate(
    absl::string_view token, const suite::rpc::RequestContext&) {
  absl::MutexLock lock(&mu_);
  auto it = callers_.find(token);
  if (it == callers_.end()) return absl::UnauthenticatedError("unknown session token");
  return it->second;
}

absl::StatusOr<std::unique_ptr<BillingTestServer>> BillingTestServer::Start(
    const std::string& database_url, BillingOptions options,
    suite::rpc::CallerAuthenticator& authenticator, int pool_size) {
  std::unique_ptr<BillingTestServer> s(new BillingTestServer());
  suite::db::PoolConfig config;
  config.database_url = database_url;
  config.pool_size = pool_size;
  SUITE_ASSIGN_OR_RETURN(s->pool_, suite::db::ConnectionPool::Create(config));
  SUITE_ASSIGN_OR_RETURN(s->storage_, PgStore::Create(*s->pool_));
  s->domain_ = std::make_unique<Billing>(*s->storage_, std::move(options));
  auto* users = dynamic_cast<suite::identity_client::UserDirectory*>(&authenticator);
  if (users == nullptr) {
    return absl::InvalidArgumentError("the authenticator must also be a UserDirectory");
  }
  s->service_ = std::make_unique<BillingGrpcService>(*s->domain_, authenticator, *users);
  suite::rpc::ServerConfig server_config;
  server_config.listen_address = "127.0.0.1:0";
  server_config.drain_timeout = absl::Seconds(2);
  SUITE_ASSIGN_OR_RETURN(
      s->grpc_,
      suite::rpc::GrpcServer::Start(
          server_config, {{s->service_.get(), ::billing::v1::BillingService::service_full_name()}},
          /*handle_signals=*/false));
  SUITE_ASSIGN_OR_RETURN(s->http_, WebhookServer::Start("127.0.0.1", 0, *s->domain_));
  return s;
}

BillingTestServer::~BillingTestServer() {
  if (http_) http_->Stop();
  if (grpc_) grpc_->Shutdown();
}

std::unique_ptr<::billing::v1::BillingService::Stub> BillingTestServer::NewStub() const {
  return ::billing::v1::BillingService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_->port()), grpc::InsecureChannelCredentials()));
}

}  // namespace suite::billing::testing

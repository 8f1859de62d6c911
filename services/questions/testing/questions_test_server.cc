#include "services/questions/testing/questions_test_server.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"
#include "shared/clients/billing/entitlements.h"

namespace suite::questions::testing {

absl::StatusOr<std::unique_ptr<QuestionsTestServer>> QuestionsTestServer::Start(
    QuestionsServerOptions options) {
  if (options.authenticator == nullptr || options.billing_addr.empty()) {
    return absl::InvalidArgumentError("authenticator and billing_addr are required");
  }
  std::unique_ptr<QuestionsTestServer> s(new QuestionsTestServer());
  suite::db::PoolConfig pool_config;
  if (options.database_url.empty()) {
    SUITE_ASSIGN_OR_RETURN(s->db_, suite::db::testing::TestDatabase::CreateMigrated());
    pool_config.database_url = s->db_->UrlAs("questions_service");
  } else {
    pool_config.database_url = options.database_url;
  }
  pool_config.pool_size = 8;
  SUITE_ASSIGN_OR_RETURN(s->pool_, suite::db::ConnectionPool::Create(pool_config));
  SUITE_ASSIGN_OR_RETURN(s->store_, PgQuestionStore::Create(s->pool_.get()));
  QuestionBankOptions bank_options;
  bank_options.free_sessions_per_day = options.free_sessions_per_day;
  bank_options.import_chunk_size = options.import_chunk_size;
  bank_options.page_token_secret = "test page token secret";
  s->bank_ = std::make_unique<QuestionBank>(s->store_.get(), bank_options);
  s->billing_ = std::make_unique<suite::billing_client::BillingEntitlements>(
      grpc::CreateChannel(options.billing_addr, grpc::InsecureChannelCredentials()));
  s->service_ = std::make_unique<QuestionsGrpcService>(s->bank_.get(), options.authenticator,
                                                       s->billing_.get());
  suite::rpc::ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.drain_timeout = absl::Seconds(2);
  SUITE_ASSIGN_OR_RETURN(
      s->server_,
      suite::rpc::GrpcServer::Start(
          config, {{s->service_.get(), ::questions::v1::QuestionBankService::service_full_name()}},
          /*handle_signals=*/false));
  return s;
}

QuestionsTestServer::~QuestionsTestServer() {
  if (server_) server_->Shutdown();
}

std::string QuestionsTestServer::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::unique_ptr<::questions::v1::QuestionBankService::Stub> QuestionsTestServer::NewStub() const {
  return ::questions::v1::QuestionBankService::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
}

}  // namespace suite::questions::testing

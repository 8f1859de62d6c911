// The question bank's server: config → pool → storage → domain → gRPC.
//
//   export DATABASE_URL=postgresql://questions_service@db/suite
//   export IDENTITY_ADDR=identity:50051 BILLING_ADDR=billing:50052
//   export QUESTIONS_PAGE_TOKEN_SECRET=...
//   bazel run //services/questions:questions_server
//
// Environment: config.h (IDENTITY_ADDR, BILLING_ADDR, QUESTIONS_PAGE_TOKEN_SECRET,
// QUESTIONS_FREE_QUOTA), shared/db/config.h, shared/rpc/server/config.h with prefix QUESTIONS (e.g.
// QUESTIONS_GRPC_PORT, default 50053), SUITE_TLS_* towards identity and billing
// (shared/rpc/server/tls.h).
// Exit codes: 0 after a drain, 1 when the server cannot start, 2 for bad configuration.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "migrations/built_with.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/config.h"
#include "services/questions/domain/questions.h"
#include "services/questions/grpc/questions_service.h"
#include "services/questions/storage/pg_store.h"
#include "shared/base/json_log.h"
#include "shared/clients/billing/entitlements.h"
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

// Logs why questions cannot start (event questions.start_failed) and returns the exit code.
int Fail(int code, const std::string& what, const absl::Status& status) {
  return suite::LogStartupFailure("questions", code, what, status);
}

}  // namespace

int main(int argc, char** argv) {
  suite::rpc::SetServingProcessDefaults();
  suite::rpc::ServerConfig defaults;
  defaults.listen_address = "127.0.0.1:50053";
  auto config = suite::rpc::LoadServerConfig("QUESTIONS", {argv + 1, argv + argc}, defaults);
  if (!config.ok()) return Fail(2, "server config", config.status());
  auto pool_config = suite::db::PoolConfig::FromEnv();
  if (!pool_config.ok()) return Fail(2, "database config", pool_config.status());

  auto questions_config = suite::questions::LoadQuestionsConfig(suite::rpc::SystemEnv);
  if (!questions_config.ok()) return Fail(2, "questions config", questions_config.status());

  auto pool = suite::db::ConnectionPool::Create(*pool_config);
  if (!pool.ok()) return Fail(2, "database pool", pool.status());
  // Pool size, in use and wait time at /metrics (QUESTIONS_METRICS_PORT), as billing does.
  auto pool_metrics = suite::metrics::PoolMetrics::Export(suite::metrics::Registry::Default(),
                                                          pool->get(), "questions");
  if (!pool_metrics.ok()) return Fail(1, "pool metrics", pool_metrics.status());
  auto store = suite::questions::PgQuestionStore::Create(pool->get());
  if (!store.ok()) return Fail(1, "store", store.status());
  auto read_metrics = suite::metrics::BatchedReadMetrics::Export(
      suite::metrics::Registry::Default(), [&store] { return (*store)->FullQuestionStats(); },
      "question_full_by_id");
  if (!read_metrics.ok()) return Fail(1, "batched read metrics", read_metrics.status());
  suite::questions::QuestionBank bank(store->get(), questions_config->bank);

  // Downstream channels follow the process's SUITE_TLS_* client settings (plaintext if unset).
  auto tls = suite::rpc::LoadClientTlsConfig();
  if (!tls.ok()) return Fail(2, "client TLS config", tls.status());
  auto identity_channel = suite::rpc::MakeChannel(questions_config->identity_addr, *tls);
  if (!identity_channel.ok()) return Fail(2, "IDENTITY_ADDR", identity_channel.status());
  auto billing_channel = suite::rpc::MakeChannel(questions_config->billing_addr, *tls);
  if (!billing_channel.ok()) return Fail(2, "BILLING_ADDR", billing_channel.status());
  suite::identity_client::IdentityAuthenticator authenticator(*identity_channel);
  suite::billing_client::BillingEntitlements billing(*billing_channel);
  suite::questions::QuestionsGrpcService service(&bank, &authenticator, &billing,
                                                 config->handler_threads);

  auto server = suite::rpc::GrpcServer::Start(
      *config, {{&service, questions::v1::QuestionBankService::service_full_name()}});
  if (!server.ok()) return Fail(1, "grpc server", server.status());
  suite::WriteLogLine({{"severity", "INFO"},
                            {"event", "questions.started"},
                            {"port", (*server)->port()}});
  // Health follows the database: NOT_SERVING while it does not answer.
  suite::db::ConnectionPool* raw_pool = pool->get();
  // Health also says NOT_SERVING while the database lacks a migration of this build.
  suite::db::migrate::SchemaGuard schema_guard(raw_pool, "questions",
                                              suite::migrations::BuiltWith({"core", "questions"}));
  (*server)->FollowProbe(
      [raw_pool, &schema_guard] { return raw_pool->Healthy() && schema_guard.Check(); });
  (*server)->Run();
  suite::WriteLogLine({{"severity", "INFO"}, {"event", "questions.stopped"}});
  return 0;
}

// A real question-bank server for tests: a fresh migrated database (TestDatabase), the
// service connected as role questions_service, served by GrpcServer on 127.0.0.1 (port 0).
// The caller authenticator and the billing address are the test's choice: a real identity
// server's IdentityAuthenticator, or a fake; a real or fake billing server, or a closed port.
//
//   auto server = QuestionsTestServer::Start({.authenticator = &auth, .billing_addr = addr});
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto stub = (*server)->NewStub();
//
// Testonly. Thread-compatible; the stubs it hands out are thread-safe.
#ifndef SUITE_SERVICES_QUESTIONS_TESTING_QUESTIONS_TEST_SERVER_H_
#define SUITE_SERVICES_QUESTIONS_TESTING_QUESTIONS_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "questions/v1/questions_service.grpc.pb.h"
#include "services/questions/domain/questions.h"
#include "services/questions/grpc/questions_service.h"
#include "services/questions/storage/pg_store.h"
#include "shared/clients/billing/entitlements.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/handler/request_context.h"
#include "shared/rpc/server/server.h"

namespace suite::questions::testing {

struct QuestionsServerOptions {
  suite::rpc::CallerAuthenticator* authenticator = nullptr;  // required, not owned
  std::string billing_addr;                                   // required: host:port
  int free_sessions_per_day = 3;
  size_t import_chunk_size = 500;
  // Empty: a fresh migrated database of the server's own. Otherwise the url of another
  // server's database (as questions_service): a second replica, or the same service after a
  // restart, with nothing in memory from the first.
  std::string database_url;
};

class QuestionsTestServer {
 public:
  // Start builds everything; returns the first error (database, bind, ...).
  static absl::StatusOr<std::unique_ptr<QuestionsTestServer>> Start(QuestionsServerOptions options);
  ~QuestionsTestServer();

  // address is "127.0.0.1:<port>".
  std::string address() const;
  std::unique_ptr<::questions::v1::QuestionBankService::Stub> NewStub() const;
  // The test database (superuser url() for assertions on rows). Only of a server that made
  // its own (QuestionsServerOptions::database_url empty).
  suite::db::testing::TestDatabase& database() { return *db_; }

 private:
  QuestionsTestServer() = default;

  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgQuestionStore> store_;
  std::unique_ptr<QuestionBank> bank_;
  std::unique_ptr<suite::billing_client::BillingEntitlements> billing_;
  std::unique_ptr<QuestionsGrpcService> service_;
  std::unique_ptr<suite::rpc::GrpcServer> server_;
};

}  // namespace suite::questions::testing

#endif  // SUITE_SERVICES_QUESTIONS_TESTING_QUESTIONS_TEST_SERVER_H_

// The real billing service, in-process, for tests: a pool on the given database, the
// PostgreSQL storage, the domain, the gRPC server on a loopback port and the webhook HTTP
// server on another. Several may run against one database (as replicas do).
//
//   StaticAuthenticator auth;
//   auth.Add("admin-token", {"<uuid>", {"admin"}, ""});
//   auto server = BillingTestServer::Start(db->UrlAs("billing_service"), options, auth);
//   auto stub = (*server)->NewStub();
//
// Tests that have a real identity server pass its IdentityAuthenticator instead. The
// authenticator also answers LinkCustomer's "does this user exist?" (UserDirectory): both
// StaticAuthenticator and IdentityAuthenticator are one.
#ifndef SUITE_SERVICES_BILLING_TESTING_BILLING_TEST_SERVER_H_
#define SUITE_SERVICES_BILLING_TESTING_BILLING_TEST_SERVER_H_

#include <map>
#include <set>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "services/billing/domain/billing.h"
#include "services/billing/grpc/billing_service.h"
#include "services/billing/http/webhook_server.h"
#include "services/billing/storage/pg_store.h"
#include "shared/clients/identity/user_directory.h"
#include "shared/db/pool.h"
#include "shared/rpc/handler/request_context.h"
#include "shared/rpc/server/server.h"

namespace suite::billing::testing {

// A CallerAuthenticator with a fixed table of tokens (unknown → UNAUTHENTICATED), and the
// UserDirectory of the users it knows: every caller added, plus those of AddUser; any other
// id does not exist. It does not check who asks (identity lets only admins look others up,
// and only admins reach LinkCustomer).
class StaticAuthenticator : public suite::rpc::CallerAuthenticator,
                            public suite::identity_client::UserDirectory {
 public:
  void Add(const std::string& token, suite::rpc::Caller caller);
  void AddUser(const std::string& user_id);
  absl::StatusOr<suite::rpc::Caller> Authenticate(
      absl::string_view token, const suite::rpc::RequestContext& context) override;
  absl::StatusOr<bool> UserExists(absl::string_view user_id,
                                  const suite::rpc::RequestContext& context) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, suite::rpc::Caller, std::less<>> callers_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> users_ ABSL_GUARDED_BY(mu_);
};

class BillingTestServer {
 public:
  // Start brings the service up on `database_url`. Returns the first error of any layer;
  // INVALID_ARGUMENT when `authenticator` is not also a UserDirectory.
  static absl::StatusOr<std::unique_ptr<BillingTestServer>> Start(
      const std::string& database_url, BillingOptions options,
      suite::rpc::CallerAuthenticator& authenticator, int pool_size = 6);
  ~BillingTestServer();

  std::unique_ptr<::billing::v1::BillingService::Stub> NewStub() const;
  int grpc_port() const { return grpc_->port(); }
  int http_port() const { return http_->port(); }
  Billing& domain() { return *domain_; }

 private:
  BillingTestServer() = default;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgStore> storage_;
  std::unique_ptr<Billing> domain_;
  std::unique_ptr<BillingGrpcService> service_;
  std::unique_ptr<suite::rpc::GrpcServer> grpc_;
  std::unique_ptr<WebhookServer> http_;
};

}  // namespace suite::billing::testing

#endif  // SUITE_SERVICES_BILLING_TESTING_BILLING_TEST_SERVER_H_

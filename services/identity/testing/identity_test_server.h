// The real identity service, in-process, for tests: a fresh migrated PostgreSQL database (the
// service connects as identity_service), the PostgreSQL store, a fast argon2id hasher, a fake
// clock, and the gRPC server on a loopback port. Tests drive it through the generated stub.
//
//   auto server = IdentityTestServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto stub = (*server)->NewStub();
//   (*server)->clock().Advance(absl::Hours(1));
//
// Not thread-compatible to construct; the running service is thread-safe.
#ifndef SUITE_SERVICES_IDENTITY_TESTING_IDENTITY_TEST_SERVER_H_
#define SUITE_SERVICES_IDENTITY_TESTING_IDENTITY_TEST_SERVER_H_

#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/password_hasher.h"
#include "services/identity/grpc/identity_service.h"
#include "services/identity/storage/pg_store.h"
#include "services/identity/storage/revocation_feed.h"
#include "services/identity/testing/fake_clock.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/rpc/server/server.h"

namespace suite::identity::testing {

struct IdentityTestServerOptions {
  IdentityOptions identity;
  // Cheap parameters so tests stay fast; production uses the OWASP minimum or more.
  PasswordHasherOptions hasher{/*opslimit=*/1, /*memlimit=*/8192, /*workers=*/2,
                               /*queue_capacity=*/64};
  int pool_size = 8;
  // Threads of the service's BlockingExecutor (production default 16).
  int handler_threads = 16;
  // Peers whose LoginRequest.client_ip is believed; tests connect from loopback.
  std::set<std::string> trusted_peers = {"127.0.0.1"};
  // Another replica: serve from this database (not owned; it must outlive the server) instead
  // of a new one.
  suite::db::testing::TestDatabase* shared_database = nullptr;
  // WatchRevocations from a PgRevocationFeed on the database (false: answered UNAVAILABLE).
  bool serve_revocations = true;
  RevocationFeedOptions revocation_feed;
};

class IdentityTestServer {
 public:
  // Start builds everything. Returns the errors of TestDatabase, the pool, the hasher and the
  // server.
  static absl::StatusOr<std::unique_ptr<IdentityTestServer>> Start(
      IdentityTestServerOptions options = {});
  ~IdentityTestServer();

  std::unique_ptr<::identity::v1::IdentityService::Stub> NewStub() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string address() const;
  FakeClock& clock() { return clock_; }
  Identity& identity() { return *identity_; }
  suite::db::testing::TestDatabase& database() { return *db_; }
  // Shutdown stops the gRPC server (to prove clients see UNAVAILABLE); idempotent.
  void Shutdown();
  // Restart shuts down (as SIGTERM would: the drain ends WatchRevocations streams) and serves
  // again on the same port with a new service and revocation feed, as a restarted replica.
  absl::Status Restart();
  // The replica's revocation feed (null without serve_revocations).
  PgRevocationFeed* revocation_feed() { return feed_.get(); }

 private:
  IdentityTestServer() : clock_(absl::FromUnixSeconds(1800000000)) {}
  // Builds the feed, the service and the gRPC server on `port` (0 = any).
  absl::Status Serve(int port);

  FakeClock clock_;
  IdentityTestServerOptions options_;
  std::unique_ptr<suite::db::testing::TestDatabase> owned_db_;
  suite::db::testing::TestDatabase* db_ = nullptr;
  std::unique_ptr<PgRevocationFeed> feed_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
  std::unique_ptr<PgIdentityStore> store_;
  std::unique_ptr<PasswordHasher> hasher_;
  std::unique_ptr<Identity> identity_;
  std::unique_ptr<IdentityGrpcService> service_;
  std::unique_ptr<suite::rpc::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace suite::identity::testing

#endif  // SUITE_SERVICES_IDENTITY_TESTING_IDENTITY_TEST_SERVER_H_

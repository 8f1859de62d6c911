// Helpers shared by the identity service's RPC tests: sign up, log in, call with a bearer
// token, read ErrorInfo. Each test still starts its own server and database.
//
//   auto server = IdentityTestServer::Start();
//   Client c(**server);
//   std::string id = c.SignUp("ada@example.com");
//   std::string token = c.LoginToken("ada@example.com");
//   auto ctx = Client::Bearer(token);
//
//   class UsersTest : public IdentityServiceTest {};  // server_ and client_ set in SetUp
#ifndef SUITE_SERVICES_IDENTITY_GRPC_TEST_HELPERS_H_
#define SUITE_SERVICES_IDENTITY_GRPC_TEST_HELPERS_H_

#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/testing/identity_test_server.h"

namespace suite::identity::testing {

inline constexpr char kPassword[] = "correct horse battery staple";
inline constexpr char kAdminEmail[] = "root@example.com";

class Client {
 public:
  explicit Client(IdentityTestServer& server) : server_(server), stub_(server.NewStub()) {}

  ::identity::v1::IdentityService::Stub& stub() { return *stub_; }

  // Bearer returns a context carrying `authorization: Bearer <token>` (none when empty).
  static std::unique_ptr<grpc::ClientContext> Bearer(const std::string& token);

  // SignUp creates a user and returns its id; fails the test on error.
  std::string SignUp(const std::string& email, const std::string& password = kPassword);
  // Login returns the status and response of a Login from `ip`.
  grpc::Status Login(const std::string& email, const std::string& password,
                     ::identity::v1::LoginResponse* response, const std::string& ip = "10.0.0.1");
  // LoginToken logs in and returns the token; fails the test on error.
  std::string LoginToken(const std::string& email, const std::string& password = kPassword,
                         const std::string& ip = "10.0.0.1");
  // AdminToken bootstraps the admin (once) and returns a fresh token of it.
  std::string AdminToken();
  // MemberToken signs `email` up and logs in; sets *user_id when given.
  std::string MemberToken(const std::string& email, std::string* user_id = nullptr);

 private:
  IdentityTestServer& server_;
  std::unique_ptr<::identity::v1::IdentityService::Stub> stub_;
  bool admin_ready_ = false;
};

// IdentityServiceTest starts a fresh IdentityTestServer (its own database) before each test,
// with a Client on it; derive a fixture from it rather than repeating that SetUp.
class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::unique_ptr<IdentityTestServer> server_;
  std::unique_ptr<Client> client_;
};

// ErrorReason returns the ErrorInfo reason of a grpc status ("" when none).
std::string ErrorReason(const grpc::Status& status);
// ErrorMetadata returns the ErrorInfo metadata of a grpc status.
std::map<std::string, std::string> ErrorMetadata(const grpc::Status& status);
// BadField returns the first BadRequest field violation's field ("" when none).
std::string BadField(const grpc::Status& status);

}  // namespace suite::identity::testing

#endif  // SUITE_SERVICES_IDENTITY_GRPC_TEST_HELPERS_H_

#include "services/identity/grpc/test_helpers.h"

#include <gtest/gtest.h>

#include "shared/api/status.h"
#include "shared/rpc/grpc_status.h"

namespace suite::identity::testing {

namespace pb = ::identity::v1;

void IdentityServiceTest::SetUp() {
  auto server = IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  client_ = std::make_unique<Client>(*server_);
}

std::unique_ptr<grpc::ClientContext> Client::Bearer(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

std::string Client::SignUp(const std::string& email, const std::string& password) {
  pb::CreateUserRequest req;
  req.set_email(email);
  req.set_password(password);
  pb::CreateUserResponse resp;
  auto ctx = Bearer("");
  grpc::Status s = stub_->CreateUser(ctx.get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.user().user_id();
}

grpc::Status Client::Login(const std::string& email, const std::string& password,
                           pb::LoginResponse* response, const std::string& ip) {
  pb::LoginRequest req;
  req.set_email(email);
  req.set_password(password);
  req.set_client_ip(ip);
  req.set_user_agent("identity-test");
  auto ctx = Bearer("");
  return stub_->Login(ctx.get(), req, response);
}

std::string Client::LoginToken(const std::string& email, const std::string& password,
                               const std::string& ip) {
  pb::LoginResponse resp;
  grpc::Status s = Login(email, password, &resp, ip);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.session_token();
}

std::string Client::AdminToken() {
  if (!admin_ready_) {
    auto created = server_.identity().BootstrapAdmin(kAdminEmail, kPassword);
    EXPECT_TRUE(created.ok()) << created.status();
    admin_ready_ = true;
  }
  return LoginToken(kAdminEmail, kPassword, "10.9.9.9");
}

std::string Client::MemberToken(const std::string& email, std::string* user_id) {
  std::string id = SignUp(email);
  if (user_id != nullptr) *user_id = id;
  return LoginToken(email);
}

std::string ErrorReason(const grpc::Status& status) {
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(status));
  return info ? info->reason : "";
}

std::map<std::string, std::string> ErrorMetadata(const grpc::Status& status) {
  auto info = suite::api::ErrorInfoOf(suite::rpc::FromGrpcStatus(status));
  return info ? info->metadata : std::map<std::string, std::string>{};
}

std::string BadField(const grpc::Status& status) {
  return suite::rpc::FirstViolatedField(status);
}

}  // namespace suite::identity::testing

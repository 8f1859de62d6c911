// Session tokens under attack, at identity's ValidateSession (what every other service asks):
// every one-character edit of a real token, random tokens of the right shape, and tokens of
// other shapes are all UNAUTHENTICATED while the real token stays valid; a revoked (Logout)
// and an expired token are refused; a password change and a suspension end the user's other
// sessions. (Idle/absolute expiry details and the TTL of other services' caches are proven in
// services/identity/grpc/login_test.cc and identity_client_test.cc.)
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/grpc/test_helpers.h"
#include "services/identity/testing/identity_test_server.h"

namespace suite::reliability {
namespace {

using identity::testing::Client;

grpc::StatusCode Validate(Client& client, const std::string& token) {
  ::identity::v1::ValidateSessionRequest req;
  req.set_session_token(token);
  ::identity::v1::ValidateSessionResponse resp;
  grpc::ClientContext ctx;
  return client.stub().ValidateSession(&ctx, req, &resp).error_code();
}

TEST(SessionsTest, EditedRandomAndMisshapenTokensAreRefusedAndTheRealOneStillWorks) {
  auto server = identity::testing::IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Client client(**server);
  client.SignUp("ada@example.com");
  const std::string token = client.LoginToken("ada@example.com");
  ASSERT_EQ(Validate(client, token), grpc::StatusCode::OK);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int edits = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    std::string edited = token;
    edited[i] = alphabet[(alphabet.find(token[i]) + 1 + i) % alphabet.size()];
    if (edited == token) continue;
    EXPECT_EQ(Validate(client, edited), grpc::StatusCode::UNAUTHENTICATED) << "edit at " << i;
    ++edits;
  }
  EXPECT_EQ(edits, static_cast<int>(token.size()));
  std::mt19937 rng(42);
  for (int i = 0; i < 100; ++i) {
    std::string random(token.size(), 'A');
    for (char& c : random) c = alphabet[rng() % alphabet.size()];
    EXPECT_EQ(Validate(client, random), grpc::StatusCode::UNAUTHENTICATED);
  }
  for (const std::string& odd :
       {std::string(), token.substr(1), token + "A", token + "=", std::string(4096, 'A'),
        std::string("Bearer ") + token, std::string(token.size(), '\x01')}) {
    EXPECT_EQ(Validate(client, odd), grpc::StatusCode::UNAUTHENTICATED) << odd.size();
  }
  EXPECT_EQ(Validate(client, token), grpc::StatusCode::OK);
}

TEST(SessionsTest, RevokedExpiredAndOtherSessionsAfterPasswordChangeOrSuspensionAreRefused) {
  auto server = identity::testing::IdentityTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Client client(**server);
  const std::string admin = client.AdminToken();
  std::string user_id;
  const std::string first = client.MemberToken("bob@example.com", &user_id);
  const std::string second = client.LoginToken("bob@example.com");
  const std::string third = client.LoginToken("bob@example.com");

  // Logout revokes the caller's own session.
  {
    ::identity::v1::LogoutRequest req;
    ::identity::v1::LogoutResponse resp;
    auto ctx = Client::Bearer(third);
    ASSERT_TRUE(client.stub().Logout(ctx.get(), req, &resp).ok());
  }
  EXPECT_EQ(Validate(client, third), grpc::StatusCode::UNAUTHENTICATED);

  // A password change through `first` ends `second` (and keeps the changer's own session).
  {
    ::identity::v1::ChangePasswordRequest req;
    req.set_user_id(user_id);
    req.set_current_password(identity::testing::kPassword);
    req.set_new_password("a brand new passphrase");
    ::identity::v1::ChangePasswordResponse resp;
    auto ctx = Client::Bearer(first);
    grpc::Status s = client.stub().ChangePassword(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(Validate(client, second), grpc::StatusCode::UNAUTHENTICATED);
  const std::string fourth = client.LoginToken("bob@example.com", "a brand new passphrase");
  ASSERT_EQ(Validate(client, fourth), grpc::StatusCode::OK);

  // A suspension by an admin ends every session of the user.
  {
    ::identity::v1::SetUserStatusRequest req;
    req.set_user_id(user_id);
    req.set_status(::identity::v1::USER_STATUS_SUSPENDED);
    ::identity::v1::SetUserStatusResponse resp;
    auto ctx = Client::Bearer(admin);
    ASSERT_TRUE(client.stub().SetUserStatus(ctx.get(), req, &resp).ok());
  }
  EXPECT_EQ(Validate(client, fourth), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Validate(client, first), grpc::StatusCode::UNAUTHENTICATED);

  // Expiry: the admin's session is refused once the clock passes any session lifetime.
  ASSERT_EQ(Validate(client, admin), grpc::StatusCode::OK);
  (*server)->clock().Advance(absl::Hours(24 * 400));
  EXPECT_EQ(Validate(client, admin), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace suite::reliability

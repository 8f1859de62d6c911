// The authorization matrix of every authenticated RPC: anonymous, the member acting on their
// own things, another member acting on them, and an admin. Each row gets fresh users, so
// destructive calls never influence the next cell.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/identity/grpc/test_helpers.h"

namespace suite::identity::testing {
namespace {

namespace pb = ::identity::v1;
using Code = grpc::StatusCode;

// What a call may act on: a member with a live session and an account.
struct Target {
  std::string user_id;
  std::string token;
  std::string session_id;
  std::string account_id;
};

using Call = std::function<grpc::Status(pb::IdentityService::Stub&, const std::string& token,
                                        const Target& target)>;

struct Row {
  std::string rpc;
  Call call;
  Code anonymous, other_member, self, admin;
};

template <typename Req, typename Resp>
grpc::Status Invoke(
    grpc::Status (pb::IdentityService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
    pb::IdentityService::Stub& stub, const std::string& token, const Req& req) {
  Resp resp;
  return (stub.*method)(Client::Bearer(token).get(), req, &resp);
}

std::vector<Row> Rows() {
  using S = pb::IdentityService::Stub;
  static int counter = 0;
  return {
      {"GetUser",
       [](S& s, const std::string& t, const Target& x) {
         pb::GetUserRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::GetUser, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"ListUsers",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::ListUsers, s, t, pb::ListUsersRequest());
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"UpdateUser",
       [](S& s, const std::string& t, const Target& x) {
         pb::UpdateUserRequest r;
         r.set_user_id(x.user_id);
         r.set_first_name("Changed");
         return Invoke(&S::UpdateUser, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"SetUserStatus",
       [](S& s, const std::string& t, const Target& x) {
         pb::SetUserStatusRequest r;
         r.set_user_id(x.user_id);
         r.set_status(pb::USER_STATUS_DISABLED);
         return Invoke(&S::SetUserStatus, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"DeleteUser",
       [](S& s, const std::string& t, const Target& x) {
         pb::DeleteUserRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::DeleteUser, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"ChangePassword",
       [](S& s, const std::string& t, const Target& x) {
         pb::ChangePasswordRequest r;
         r.set_user_id(x.user_id);
         r.set_current_password(kPassword);
         r.set_new_password("another long passphrase");
         return Invoke(&S::ChangePassword, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::PERMISSION_DENIED},
      {"CreateEmailVerification",
       [](S& s, const std::string& t, const Target& x) {
         pb::CreateEmailVerificationRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::CreateEmailVerification, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"Logout",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::Logout, s, t, pb::LogoutRequest());
       },
       Code::UNAUTHENTICATED, Code::OK, Code::OK, Code::OK},
      {"ListSessions",
       [](S& s, const std::string& t, const Target& x) {
         pb::ListSessionsRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::ListSessions, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"RevokeSession",
       [](S& s, const std::string& t, const Target& x) {
         pb::RevokeSessionRequest r;
         r.set_session_id(x.session_id);
         return Invoke(&S::RevokeSession, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::NOT_FOUND, Code::OK, Code::OK},
      {"RevokeAllSessions",
       [](S& s, const std::string& t, const Target& x) {
         pb::RevokeAllSessionsRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::RevokeAllSessions, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"RotateSession",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::RotateSession, s, t, pb::RotateSessionRequest());
       },
       Code::UNAUTHENTICATED, Code::OK, Code::OK, Code::OK},
      {"CreateAccount",
       [](S& s, const std::string& t, const Target&) {
         pb::CreateAccountRequest r;
         r.set_name("Some account");
         return Invoke(&S::CreateAccount, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::OK, Code::OK, Code::OK},
      {"GetAccount",
       [](S& s, const std::string& t, const Target& x) {
         pb::GetAccountRequest r;
         r.set_account_id(x.account_id);
         return Invoke(&S::GetAccount, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"ListAccounts",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::ListAccounts, s, t, pb::ListAccountsRequest());
       },
       Code::UNAUTHENTICATED, Code::OK, Code::OK, Code::OK},
      {"UpdateAccount",
       [](S& s, const std::string& t, const Target& x) {
         pb::UpdateAccountRequest r;
         r.set_account_id(x.account_id);
         r.set_name("Renamed");
         return Invoke(&S::UpdateAccount, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"CreateRole",
       [](S& s, const std::string& t, const Target&) {
         pb::CreateRoleRequest r;
         r.set_key("role_" + std::to_string(++counter));
         r.set_label("A role");
         return Invoke(&S::CreateRole, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"ListRoles",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::ListRoles, s, t, pb::ListRolesRequest());
       },
       Code::UNAUTHENTICATED, Code::OK, Code::OK, Code::OK},
      {"AssignRole",
       [](S& s, const std::string& t, const Target& x) {
         pb::AssignRoleRequest r;
         r.set_user_id(x.user_id);
         r.set_role("admin");
         return Invoke(&S::AssignRole, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"RevokeRole",
       [](S& s, const std::string& t, const Target& x) {
         pb::RevokeRoleRequest r;
         r.set_user_id(x.user_id);
         r.set_role("member");
         return Invoke(&S::RevokeRole, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
      {"ListRoleAssignments",
       [](S& s, const std::string& t, const Target& x) {
         pb::ListRoleAssignmentsRequest r;
         r.set_user_id(x.user_id);
         return Invoke(&S::ListRoleAssignments, s, t, r);
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::OK, Code::OK},
      {"ListLoginAttempts",
       [](S& s, const std::string& t, const Target&) {
         return Invoke(&S::ListLoginAttempts, s, t, pb::ListLoginAttemptsRequest());
       },
       Code::UNAUTHENTICATED, Code::PERMISSION_DENIED, Code::PERMISSION_DENIED, Code::OK},
  };
}

class AuthorizationTest : public IdentityServiceTest {
 protected:
  Target NewMember() {
    Target t;
    const std::string email = "member" + std::to_string(++members_) + "@example.com";
    t.token = client_->MemberToken(email, &t.user_id);
    pb::ValidateSessionRequest v;
    v.set_session_token(t.token);
    pb::ValidateSessionResponse vr;
    EXPECT_TRUE(client_->stub().ValidateSession(Client::Bearer("").get(), v, &vr).ok());
    t.session_id = vr.session_id();
    pb::CreateAccountRequest a;
    a.set_name("Account of " + email);
    pb::CreateAccountResponse ar;
    EXPECT_TRUE(client_->stub().CreateAccount(Client::Bearer(t.token).get(), a, &ar).ok());
    t.account_id = ar.account().account_id();
    return t;
  }

  int members_ = 0;
};

TEST_F(AuthorizationTest, EveryAuthenticatedRpcFollowsTheMatrix) {
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.rpc);
    const std::string admin = client_->AdminToken();  // fresh: Logout/Rotate end the old one
    const Target member = NewMember();
    const Target other = NewMember();
    const Target admins_target = NewMember();
    auto& stub = client_->stub();
    EXPECT_EQ(row.call(stub, "", member).error_code(), row.anonymous) << "anonymous";
    EXPECT_EQ(row.call(stub, other.token, member).error_code(), row.other_member)
        << "other member";
    EXPECT_EQ(row.call(stub, member.token, member).error_code(), row.self) << "member (self)";
    EXPECT_EQ(row.call(stub, admin, admins_target).error_code(), row.admin) << "admin";
  }
}

TEST_F(AuthorizationTest, MalformedOrUnknownBearerTokensAreUnauthenticated) {
  const Target member = NewMember();
  for (const std::string& token : {std::string("not a token"), std::string("abc"),
                                  std::string(43, 'A')}) {
    pb::GetUserRequest r;
    r.set_user_id(member.user_id);
    pb::GetUserResponse resp;
    EXPECT_EQ(client_->stub().GetUser(Client::Bearer(token).get(), r, &resp).error_code(),
              Code::UNAUTHENTICATED);
  }
}

TEST_F(AuthorizationTest, PublicRpcsNeedNoBearer) {
  pb::CreateUserRequest create;
  create.set_email("new@example.com");
  create.set_password(kPassword);
  pb::CreateUserResponse created;
  EXPECT_TRUE(client_->stub().CreateUser(Client::Bearer("").get(), create, &created).ok());
  pb::LoginResponse login;
  ASSERT_TRUE(client_->Login("new@example.com", kPassword, &login).ok());
  pb::ValidateSessionRequest v;
  v.set_session_token(login.session_token());
  pb::ValidateSessionResponse vr;
  EXPECT_TRUE(client_->stub().ValidateSession(Client::Bearer("").get(), v, &vr).ok());
  pb::ConfirmEmailVerificationRequest confirm;
  confirm.set_verification_token(std::string(43, 'x'));
  pb::ConfirmEmailVerificationResponse confirmed;
  EXPECT_EQ(client_->stub()
                .ConfirmEmailVerification(Client::Bearer("").get(), confirm, &confirmed)
                .error_code(),
            Code::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace suite::identity::testing

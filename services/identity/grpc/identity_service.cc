#include "services/identity/grpc/identity_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "services/identity/grpc/converters.h"
#include "services/identity/grpc/revocation_stream.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/audit_api/audit_proto.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"
#include "shared/rpc/handler/handler.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity {
namespace {

namespace pb = ::identity::v1;
using suite::rpc::RequestContext;
using suite::api::SetTimestamp;

// PeerIp extracts the address of "ipv4:1.2.3.4:5" / "ipv6:[::1]:5"; empty for anything else.
std::string PeerIp(const std::string& peer) {
  absl::string_view p = peer;
  if (absl::ConsumePrefix(&p, "ipv4:")) {
    const size_t colon = p.rfind(':');
    return std::string(colon == absl::string_view::npos ? p : p.substr(0, colon));
  }
  if (absl::ConsumePrefix(&p, "ipv6:")) {
    if (absl::ConsumePrefix(&p, "[")) {
      const size_t end = p.find(']');
      if (end != absl::string_view::npos) return std::string(p.substr(0, end));
    }
    return std::string(p);
  }
  return "";
}

}  // namespace

absl::StatusOr<Principal> AuthenticateCaller(Identity& identity, const RequestContext& rc) {
  SUITE_ASSIGN_OR_RETURN(std::string token, rc.BearerToken());
  SUITE_ASSIGN_OR_RETURN(Principal principal, identity.Authenticate(token));
  suite::rpc::Caller caller;
  caller.user_id = principal.user_id;
  caller.session_id = principal.session_id;
  for (const RoleGrant& g : principal.grants) {
    if (g.account_id.empty()) caller.roles.push_back(g.role);
  }
  rc.SetCaller(caller);
  return principal;
}

grpc::ServerUnaryReactor* IdentityGrpcService::CreateUser(grpc::CallbackServerContext* context,
                                                          const pb::CreateUserRequest* request,
                                                          pb::CreateUserResponse* response) {
  return suite::rpc::RunHandler(
      context, hashing_executor_, [=](const RequestContext&) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(
            User user,
            identity_->CreateUser({request->email(), request->password(), request->first_name(),
                                   request->last_name(), request->phone()}));
        ToProto(user, response->mutable_user());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityGrpcService::GetUser(grpc::CallbackServerContext* context,
                                                       const pb::GetUserRequest* request,
                                                       pb::GetUserResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(User user, identity_->GetUser(caller, request->user_id()));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListUsers(grpc::CallbackServerContext* context,
                                                         const pb::ListUsersRequest* request,
                                                         pb::ListUsersResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(UserFilter filter, UserFilterOf(*request));
    SUITE_ASSIGN_OR_RETURN(UserPage page, identity_->ListUsers(caller, filter, request->page_size(),
                                                               request->page_token()));
    for (const User& u : page.users) ToProto(u, response->add_users());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::UpdateUser(grpc::CallbackServerContext* context,
                                                          const pb::UpdateUserRequest* request,
                                                          pb::UpdateUserResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(
        User user, identity_->UpdateUser(caller, request->user_id(), UserPatchOf(*request)));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::SetUserStatus(
    grpc::CallbackServerContext* context, const pb::SetUserStatusRequest* request,
    pb::SetUserStatusResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(UserStatus status, UserStatusOf(request->status(), "status"));
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(User user, identity_->SetUserStatus(caller, request->user_id(), status));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::DeleteUser(grpc::CallbackServerContext* context,
                                                          const pb::DeleteUserRequest* request,
                                                          pb::DeleteUserResponse*) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    return identity_->DeleteUser(caller, request->user_id());
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ChangePassword(
    grpc::CallbackServerContext* context, const pb::ChangePasswordRequest* request,
    pb::ChangePasswordResponse* response) {
  return suite::rpc::RunAuthenticated(
      context, hashing_executor_, authenticate_,
      [=](const Principal& caller, const RequestContext& rc) -> absl::Status {
        const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
        SUITE_ASSIGN_OR_RETURN(int revoked, identity_->ChangePassword(caller, request->user_id(),
                                                                      request->current_password(),
                                                                      request->new_password()));
        response->set_revoked_session_count(revoked);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityGrpcService::CreateEmailVerification(
    grpc::CallbackServerContext* context, const pb::CreateEmailVerificationRequest* request,
    pb::CreateEmailVerificationResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(
        VerificationToken token,
        identity_->CreateEmailVerification(caller, request->user_id(), rc.request_id()));
    response->set_verification_token(token.token);
    SetTimestamp(token.expires_at, response->mutable_expire_time());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ConfirmEmailVerification(
    grpc::CallbackServerContext* context, const pb::ConfirmEmailVerificationRequest* request,
    pb::ConfirmEmailVerificationResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext&) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(User user,
                           identity_->ConfirmEmailVerification(request->verification_token()));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::Login(grpc::CallbackServerContext* context,
                                                     const pb::LoginRequest* request,
                                                     pb::LoginResponse* response) {
  return suite::rpc::RunHandler(
      context, hashing_executor_, [=](const RequestContext& rc) -> absl::Status {
        // Throttling must not be dodged by inventing addresses: client_ip and x-forwarded-for
        // are believed only from a trusted front end; anyone else is counted under their own
        // peer address.
        std::vector<std::string> forwarded_for;
        const auto headers = context->client_metadata().equal_range("x-forwarded-for");
        for (auto it = headers.first; it != headers.second; ++it) {
          forwarded_for.emplace_back(it->second.data(), it->second.size());
        }
        const std::string ip = trusted_peers_.ClientIp(PeerIp(context->peer()),
                                                       request->client_ip(), forwarded_for);
        SUITE_ASSIGN_OR_RETURN(LoginResult result,
                               identity_->Login({request->email(), request->password(), ip,
                                                 request->user_agent(), rc.request_id()}));
        response->set_session_token(result.token);
        response->set_session_id(result.session.id);
        response->set_user_id(result.session.user_id);
        SetTimestamp(result.session.expires_at, response->mutable_expire_time());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ValidateSession(
    grpc::CallbackServerContext* context, const pb::ValidateSessionRequest* request,
    pb::ValidateSessionResponse* response) {
  // The hot read: no executor thread per call (handler.h's RunHandlerAsync).
  return suite::rpc::RunHandlerAsync(
      context, executor_,
      [=](const RequestContext&, const suite::AsyncCaller& caller, suite::rpc::AsyncReply reply) {
        identity_->ValidateSessionAsync(
            request->session_token(), caller,
            [response, reply](absl::StatusOr<ValidatedSession> session) {
              reply.Complete([&]() -> absl::Status {
                SUITE_RETURN_IF_ERROR(session.status());
                ToProto(*session, response);
                return absl::OkStatus();
              });
            });
      });
}

grpc::ServerWriteReactor<::identity::v1::WatchRevocationsResponse>*
IdentityGrpcService::WatchRevocations(grpc::CallbackServerContext* context,
                                      const ::identity::v1::WatchRevocationsRequest* request) {
  return NewRevocationStream(context, revocations_, *request);
}

grpc::ServerUnaryReactor* IdentityGrpcService::Logout(grpc::CallbackServerContext* context,
                                                      const pb::LogoutRequest*,
                                                      pb::LogoutResponse*) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    return identity_->Logout(caller);
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListSessions(grpc::CallbackServerContext* context,
                                                            const pb::ListSessionsRequest* request,
                                                            pb::ListSessionsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(SessionPage page,
                           identity_->ListSessions(caller, request->user_id(),
                                                   request->page_size(), request->page_token()));
    for (const Session& s : page.sessions) ToProto(s, response->add_sessions());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::RevokeSession(
    grpc::CallbackServerContext* context, const pb::RevokeSessionRequest* request,
    pb::RevokeSessionResponse*) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    return identity_->RevokeSession(caller, request->session_id());
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::RevokeAllSessions(
    grpc::CallbackServerContext* context, const pb::RevokeAllSessionsRequest* request,
    pb::RevokeAllSessionsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(int revoked, identity_->RevokeAllSessions(caller, request->user_id(),
                                                                     request->keep_current()));
    response->set_revoked_session_count(revoked);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::RotateSession(grpc::CallbackServerContext* context,
                                                             const pb::RotateSessionRequest*,
                                                             pb::RotateSessionResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(LoginResult result, identity_->RotateSession(caller, rc.request_id()));
    response->set_session_token(result.token);
    response->set_session_id(result.session.id);
    SetTimestamp(result.session.expires_at, response->mutable_expire_time());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::CreateAccount(
    grpc::CallbackServerContext* context, const pb::CreateAccountRequest* request,
    pb::CreateAccountResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(Account account, identity_->CreateAccount(caller, request->name()));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::GetAccount(grpc::CallbackServerContext* context,
                                                          const pb::GetAccountRequest* request,
                                                          pb::GetAccountResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Account account, identity_->GetAccount(caller, request->account_id()));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListAccounts(grpc::CallbackServerContext* context,
                                                            const pb::ListAccountsRequest* request,
                                                            pb::ListAccountsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(AccountPage page, identity_->ListAccounts(caller, request->page_size(),
                                                                     request->page_token()));
    for (const Account& a : page.accounts) ToProto(a, response->add_accounts());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::UpdateAccount(
    grpc::CallbackServerContext* context, const pb::UpdateAccountRequest* request,
    pb::UpdateAccountResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    absl::optional<AccountStatus> status;
    if (request->status() != pb::ACCOUNT_STATUS_UNSPECIFIED) {
      SUITE_ASSIGN_OR_RETURN(status, AccountStatusOf(request->status(), "status"));
    }
    absl::optional<std::string> name;
    if (request->has_name()) name = request->name();
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(Account account,
                           identity_->UpdateAccount(caller, request->account_id(), name, status));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::CreateRole(grpc::CallbackServerContext* context,
                                                          const pb::CreateRoleRequest* request,
                                                          pb::CreateRoleResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(Role role,
                           identity_->CreateRole(caller, request->key(), request->label()));
    ToProto(role, response->mutable_role());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListRoles(grpc::CallbackServerContext* context,
                                                         const pb::ListRolesRequest* request,
                                                         pb::ListRolesResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(RolePage page, identity_->ListRoles(caller, request->page_size(),
                                                               request->page_token()));
    for (const Role& r : page.roles) ToProto(r, response->add_roles());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::AssignRole(grpc::CallbackServerContext* context,
                                                          const pb::AssignRoleRequest* request,
                                                          pb::AssignRoleResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(RoleAssignment assignment,
                           identity_->AssignRole(caller, request->user_id(), request->role(),
                                                 request->account_id(), rc.request_id()));
    ToProto(assignment, response->mutable_role_assignment());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::RevokeRole(grpc::CallbackServerContext* context,
                                                          const pb::RevokeRoleRequest* request,
                                                          pb::RevokeRoleResponse*) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    return identity_->RevokeRole(caller, request->user_id(), request->role(),
                                 request->account_id());
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListRoleAssignments(
    grpc::CallbackServerContext* context, const pb::ListRoleAssignmentsRequest* request,
    pb::ListRoleAssignmentsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(
        RoleAssignmentPage page,
        identity_->ListRoleAssignments(caller, request->user_id(), request->account_id(),
                                       request->page_size(), request->page_token()));
    for (const RoleAssignment& a : page.role_assignments) {
      ToProto(a, response->add_role_assignments());
    }
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListLoginAttempts(
    grpc::CallbackServerContext* context, const pb::ListLoginAttemptsRequest* request,
    pb::ListLoginAttemptsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(LoginAttemptFilter filter, LoginAttemptFilterOf(*request));
    SUITE_ASSIGN_OR_RETURN(
        LoginAttemptPage page,
        identity_->ListLoginAttempts(caller, filter, request->page_size(), request->page_token()));
    for (const LoginAttempt& a : page.attempts) ToProto(a, response->add_login_attempts());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityGrpcService::ListAuditEvents(
    grpc::CallbackServerContext* context, const ::audit::v1::ListAuditEventsRequest* request,
    ::audit::v1::ListAuditEventsResponse* response) {
  return suite::rpc::RunAuthenticated(context, executor_, authenticate_,
                                      [=](const Principal& caller,
                                          const RequestContext& rc) -> absl::Status {
    return suite::audit_api::ServeListAuditEvents(
        *request, [&] { return identity_->AuthorizeListAuditEvents(caller); },
        [&](const suite::audit_api::AuditQuery& query) {
          return identity_->ListAuditEvents(caller, query);
        },
        response);
  });
}

}  // namespace suite::identity

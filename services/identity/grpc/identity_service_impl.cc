#include "services/identity/grpc/identity_service_impl.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "services/identity/errors.h"
#include "services/identity/grpc/revocation_stream.h"
#include "shared/api/enum_field.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/audit_actor.h"
#include "shared/base/status_macros.h"
#include "shared/rpc/handler/handler.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity {
namespace {

namespace pb = ::identity::v1;
using suite::rpc::RequestContext;
using suite::api::SetTimestamp;
using suite::api::TimeFromTimestamp;

pb::UserStatus ToProto(UserStatus s) {
  switch (s) {
    case UserStatus::kActive:
      return pb::USER_STATUS_ACTIVE;
    case UserStatus::kSuspended:
      return pb::USER_STATUS_SUSPENDED;
    case UserStatus::kDisabled:
      return pb::USER_STATUS_DISABLED;
  }
  return pb::USER_STATUS_UNSPECIFIED;
}

pb::AccountStatus ToProto(AccountStatus s) {
  switch (s) {
    case AccountStatus::kActive:
      return pb::ACCOUNT_STATUS_ACTIVE;
    case AccountStatus::kSuspended:
      return pb::ACCOUNT_STATUS_SUSPENDED;
    case AccountStatus::kClosed:
      return pb::ACCOUNT_STATUS_CLOSED;
  }
  return pb::ACCOUNT_STATUS_UNSPECIFIED;
}

absl::StatusOr<UserStatus> UserStatusOf(pb::UserStatus s, absl::string_view field) {
  switch (s) {
    case pb::USER_STATUS_ACTIVE:
      return UserStatus::kActive;
    case pb::USER_STATUS_SUSPENDED:
      return UserStatus::kSuspended;
    case pb::USER_STATUS_DISABLED:
      return UserStatus::kDisabled;
    default:
      // 0: "is required"; any other number: "unknown value N".
      return suite::api::CheckEnumField(field, s, /*known=*/false, /*required=*/true);
  }
}

absl::StatusOr<AccountStatus> AccountStatusOf(pb::AccountStatus s, absl::string_view field) {
  switch (s) {
    case pb::ACCOUNT_STATUS_ACTIVE:
      return AccountStatus::kActive;
    case pb::ACCOUNT_STATUS_SUSPENDED:
      return AccountStatus::kSuspended;
    case pb::ACCOUNT_STATUS_CLOSED:
      return AccountStatus::kClosed;
    default:
      // 0: "is required"; any other number: "unknown value N".
      return suite::api::CheckEnumField(field, s, /*known=*/false, /*required=*/true);
  }
}

void ToProto(const User& u, pb::User* out) {
  out->set_user_id(u.id);
  out->set_email(u.email);
  if (u.email_verified_at) SetTimestamp(*u.email_verified_at, out->mutable_email_verify_time());
  out->set_first_name(u.first_name);
  out->set_last_name(u.last_name);
  out->set_phone(u.phone);
  out->set_status(ToProto(u.status));
  SetTimestamp(u.created_at, out->mutable_create_time());
  SetTimestamp(u.updated_at, out->mutable_update_time());
}

void ToProto(const Session& s, pb::Session* out) {
  out->set_session_id(s.id);
  out->set_user_id(s.user_id);
  SetTimestamp(s.created_at, out->mutable_create_time());
  SetTimestamp(s.last_seen_at, out->mutable_last_seen_time());
  SetTimestamp(std::min(s.expires_at, s.absolute_expires_at), out->mutable_expire_time());
  if (s.revoked_at) SetTimestamp(*s.revoked_at, out->mutable_revoke_time());
  out->set_ip_created(s.ip_created);
  out->set_user_agent_created(s.user_agent_created);
}

void ToProto(const Account& a, pb::Account* out) {
  out->set_account_id(a.id);
  out->set_name(a.name);
  out->set_status(ToProto(a.status));
  SetTimestamp(a.created_at, out->mutable_create_time());
  SetTimestamp(a.updated_at, out->mutable_update_time());
}

void ToProto(const Role& r, pb::Role* out) {
  out->set_key(r.key);
  out->set_label(r.label);
  SetTimestamp(r.created_at, out->mutable_create_time());
}

void ToProto(const RoleAssignment& r, pb::RoleAssignment* out) {
  out->set_role_assignment_id(r.id);
  out->set_user_id(r.user_id);
  out->set_role(r.role);
  out->set_account_id(r.account_id);
  SetTimestamp(r.created_at, out->mutable_create_time());
}

void ToProto(const LoginAttempt& a, pb::LoginAttempt* out) {
  out->set_login_attempt_id(a.id);
  out->set_email(a.email);
  out->set_user_id(a.user_id);
  out->set_ip(a.ip);
  out->set_user_agent(a.user_agent);
  out->set_success(a.success);
  out->set_failure_reason(a.failure_reason);
  out->set_request_id(a.request_id);
  SetTimestamp(a.created_at, out->mutable_create_time());
}

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

// Caller resolves the bearer token of the call to a Principal and records it for the log.
absl::StatusOr<Principal> CallerOf(Identity& identity, const RequestContext& rc) {
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

}  // namespace

grpc::ServerUnaryReactor* IdentityServiceImpl::CreateUser(grpc::CallbackServerContext* context,
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

grpc::ServerUnaryReactor* IdentityServiceImpl::GetUser(grpc::CallbackServerContext* context,
                                                       const pb::GetUserRequest* request,
                                                       pb::GetUserResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(User user, identity_->GetUser(caller, request->user_id()));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ListUsers(grpc::CallbackServerContext* context,
                                                         const pb::ListUsersRequest* request,
                                                         pb::ListUsersResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    UserFilter filter;
    if (request->status() != pb::USER_STATUS_UNSPECIFIED) {
      SUITE_ASSIGN_OR_RETURN(filter.status, UserStatusOf(request->status(), "status"));
    }
    filter.email_prefix = request->email_prefix();
    SUITE_ASSIGN_OR_RETURN(UserPage page, identity_->ListUsers(caller, filter, request->page_size(),
                                                               request->page_token()));
    for (const User& u : page.users) ToProto(u, response->add_users());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::UpdateUser(grpc::CallbackServerContext* context,
                                                          const pb::UpdateUserRequest* request,
                                                          pb::UpdateUserResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    UserPatch patch;
    if (request->has_first_name()) patch.first_name = request->first_name();
    if (request->has_last_name()) patch.last_name = request->last_name();
    if (request->has_phone()) patch.phone = request->phone();
    SUITE_ASSIGN_OR_RETURN(User user, identity_->UpdateUser(caller, request->user_id(), patch));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::SetUserStatus(
    grpc::CallbackServerContext* context, const pb::SetUserStatusRequest* request,
    pb::SetUserStatusResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(UserStatus status, UserStatusOf(request->status(), "status"));
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(User user, identity_->SetUserStatus(caller, request->user_id(), status));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::DeleteUser(grpc::CallbackServerContext* context,
                                                          const pb::DeleteUserRequest* request,
                                                          pb::DeleteUserResponse*) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    return identity_->DeleteUser(caller, request->user_id());
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ChangePassword(
    grpc::CallbackServerContext* context, const pb::ChangePasswordRequest* request,
    pb::ChangePasswordResponse* response) {
  return suite::rpc::RunHandler(
      context, hashing_executor_, [=](const RequestContext& rc) -> absl::Status {
        SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
        SUITE_ASSIGN_OR_RETURN(int revoked, identity_->ChangePassword(caller, request->user_id(),
                                                                      request->current_password(),
                                                                      request->new_password()));
        response->set_revoked_session_count(revoked);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::CreateEmailVerification(
    grpc::CallbackServerContext* context, const pb::CreateEmailVerificationRequest* request,
    pb::CreateEmailVerificationResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(
        VerificationToken token,
        identity_->CreateEmailVerification(caller, request->user_id(), rc.request_id()));
    response->set_verification_token(token.token);
    SetTimestamp(token.expires_at, response->mutable_expire_time());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ConfirmEmailVerification(
    grpc::CallbackServerContext* context, const pb::ConfirmEmailVerificationRequest* request,
    pb::ConfirmEmailVerificationResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext&) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(User user,
                           identity_->ConfirmEmailVerification(request->verification_token()));
    ToProto(user, response->mutable_user());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::Login(grpc::CallbackServerContext* context,
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

grpc::ServerUnaryReactor* IdentityServiceImpl::ValidateSession(
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
                response->set_user_id(session->user_id);
                response->set_session_id(session->session_id);
                for (const RoleGrant& g : session->grants) {
                  pb::RoleGrant* grant = response->add_role_grants();
                  grant->set_role(g.role);
                  grant->set_account_id(g.account_id);
                }
                SetTimestamp(session->expires_at, response->mutable_expire_time());
                return absl::OkStatus();
              });
            });
      });
}

grpc::ServerWriteReactor<::identity::v1::WatchRevocationsResponse>*
IdentityServiceImpl::WatchRevocations(grpc::CallbackServerContext* context,
                                      const ::identity::v1::WatchRevocationsRequest* request) {
  return NewRevocationStream(context, revocations_, *request);
}

grpc::ServerUnaryReactor* IdentityServiceImpl::Logout(grpc::CallbackServerContext* context,
                                                      const pb::LogoutRequest*,
                                                      pb::LogoutResponse*) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    return identity_->Logout(caller);
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ListSessions(grpc::CallbackServerContext* context,
                                                            const pb::ListSessionsRequest* request,
                                                            pb::ListSessionsResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(SessionPage page,
                           identity_->ListSessions(caller, request->user_id(),
                                                   request->page_size(), request->page_token()));
    for (const Session& s : page.sessions) ToProto(s, response->add_sessions());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::RevokeSession(
    grpc::CallbackServerContext* context, const pb::RevokeSessionRequest* request,
    pb::RevokeSessionResponse*) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    return identity_->RevokeSession(caller, request->session_id());
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::RevokeAllSessions(
    grpc::CallbackServerContext* context, const pb::RevokeAllSessionsRequest* request,
    pb::RevokeAllSessionsResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(int revoked, identity_->RevokeAllSessions(caller, request->user_id(),
                                                                     request->keep_current()));
    response->set_revoked_session_count(revoked);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::RotateSession(grpc::CallbackServerContext* context,
                                                             const pb::RotateSessionRequest*,
                                                             pb::RotateSessionResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(LoginResult result, identity_->RotateSession(caller, rc.request_id()));
    response->set_session_token(result.token);
    response->set_session_id(result.session.id);
    SetTimestamp(result.session.expires_at, response->mutable_expire_time());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::CreateAccount(
    grpc::CallbackServerContext* context, const pb::CreateAccountRequest* request,
    pb::CreateAccountResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(Account account, identity_->CreateAccount(caller, request->name()));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::GetAccount(grpc::CallbackServerContext* context,
                                                          const pb::GetAccountRequest* request,
                                                          pb::GetAccountResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(Account account, identity_->GetAccount(caller, request->account_id()));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ListAccounts(grpc::CallbackServerContext* context,
                                                            const pb::ListAccountsRequest* request,
                                                            pb::ListAccountsResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(AccountPage page, identity_->ListAccounts(caller, request->page_size(),
                                                                     request->page_token()));
    for (const Account& a : page.accounts) ToProto(a, response->add_accounts());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::UpdateAccount(
    grpc::CallbackServerContext* context, const pb::UpdateAccountRequest* request,
    pb::UpdateAccountResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    absl::optional<AccountStatus> status;
    if (request->status() != pb::ACCOUNT_STATUS_UNSPECIFIED) {
      SUITE_ASSIGN_OR_RETURN(status, AccountStatusOf(request->status(), "status"));
    }
    absl::optional<std::string> name;
    if (request->has_name()) name = request->name();
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(Account account,
                           identity_->UpdateAccount(caller, request->account_id(), name, status));
    ToProto(account, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::CreateRole(grpc::CallbackServerContext* context,
                                                          const pb::CreateRoleRequest* request,
                                                          pb::CreateRoleResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(Role role,
                           identity_->CreateRole(caller, request->key(), request->label()));
    ToProto(role, response->mutable_role());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ListRoles(grpc::CallbackServerContext* context,
                                                         const pb::ListRolesRequest* request,
                                                         pb::ListRolesResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    SUITE_ASSIGN_OR_RETURN(RolePage page, identity_->ListRoles(caller, request->page_size(),
                                                               request->page_token()));
    for (const Role& r : page.roles) ToProto(r, response->add_roles());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::AssignRole(grpc::CallbackServerContext* context,
                                                          const pb::AssignRoleRequest* request,
                                                          pb::AssignRoleResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    SUITE_ASSIGN_OR_RETURN(RoleAssignment assignment,
                           identity_->AssignRole(caller, request->user_id(), request->role(),
                                                 request->account_id(), rc.request_id()));
    ToProto(assignment, response->mutable_role_assignment());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::RevokeRole(grpc::CallbackServerContext* context,
                                                          const pb::RevokeRoleRequest* request,
                                                          pb::RevokeRoleResponse*) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    const suite::ScopedAuditActor audit_actor(caller.user_id, rc.request_id());
    return identity_->RevokeRole(caller, request->user_id(), request->role(),
                                 request->account_id());
  });
}

grpc::ServerUnaryReactor* IdentityServiceImpl::ListRoleAssignments(
    grpc::CallbackServerContext* context, const pb::ListRoleAssignmentsRequest* request,
    pb::ListRoleAssignmentsResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
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

grpc::ServerUnaryReactor* IdentityServiceImpl::ListLoginAttempts(
    grpc::CallbackServerContext* context, const pb::ListLoginAttemptsRequest* request,
    pb::ListLoginAttemptsResponse* response) {
  return suite::rpc::RunHandler(context, executor_, [=](const RequestContext& rc) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(Principal caller, CallerOf(*identity_, rc));
    LoginAttemptFilter filter;
    filter.email = request->email();
    filter.ip = request->ip();
    // An unknown enum number (proto3 keeps it) is refused, not read as "no filter".
    SUITE_RETURN_IF_ERROR(suite::api::CheckEnumField(
        "success", request->success(), pb::SuccessFilter_IsValid(request->success()), false));
    if (request->success() == pb::SUCCESS_FILTER_SUCCEEDED) filter.success = true;
    if (request->success() == pb::SUCCESS_FILTER_FAILED) filter.success = false;
    if (request->has_start_time()) filter.start_time = TimeFromTimestamp(request->start_time());
    if (request->has_end_time()) filter.end_time = TimeFromTimestamp(request->end_time());
    SUITE_ASSIGN_OR_RETURN(
        LoginAttemptPage page,
        identity_->ListLoginAttempts(caller, filter, request->page_size(), request->page_token()));
    for (const LoginAttempt& a : page.attempts) ToProto(a, response->add_login_attempts());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

}  // namespace suite::identity

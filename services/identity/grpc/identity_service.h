// IdentityGrpcService: the gRPC adapter of identity.v1.IdentityService, handlers only. Each
// handler turns its request into domain calls (services/identity/domain/identity.h) and the
// result back (converters.h). Every authenticated handler runs through
// suite::rpc::RunAuthenticated with identity's own authenticate (AuthenticateCaller: the bearer
// token checked against identity's sessions, as a Principal); the public ones through
// RunHandler, and ValidateSession through RunHandlerAsync. Authorization is the domain's. Every
// handler ends in suite::rpc::ToGrpcStatus and no exception escapes.
//
//   Identity identity(store.get(), hasher.get(), &clock, options);
//   IdentityGrpcService service(&identity);
//   auto server = suite::rpc::GrpcServer::Start(
//       config, {{&service, identity::v1::IdentityService::service_full_name()}});
//
// Thread-safe (handlers run concurrently; the domain is thread-safe).
#ifndef SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_H_
#define SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_H_

#include <functional>
#include <set>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/domain/client_address.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/revocations.h"
#include "shared/rpc/handler/blocking_executor.h"
#include "shared/rpc/handler/request_context.h"

namespace suite::identity {

// AuthenticateCaller is identity's `authenticate` for suite::rpc::RunAuthenticated: the call's
// bearer token resolved by `identity` to the domain's Principal (UNAUTHENTICATED when missing,
// malformed, unknown, revoked or expired), recorded as the caller of the call's log line.
absl::StatusOr<Principal> AuthenticateCaller(Identity& identity,
                                             const suite::rpc::RequestContext& rc);

class IdentityGrpcService final : public ::identity::v1::IdentityService::CallbackService {
 public:
  // `identity` is not owned and must outlive the service. Login believes a request's
  // client_ip, else its x-forwarded-for, only when the caller's peer address is in
  // `trusted_peers` (addresses or CIDR blocks of the front ends that relay end users; "*"
  // trusts everyone; entries TrustedPeers::Parse refuses are ignored, as config.cc has refused
  // them already); other callers are throttled by their peer address (client_address.h).
  // Blocking work runs on `handler_threads` threads (ServerConfig::handler_threads), and the
  // three RPCs that hash a password on as many again (see hashing_executor_).
  explicit IdentityGrpcService(Identity* identity, std::set<std::string> trusted_peers = {},
                               int handler_threads = 16)
      : identity_(identity),
        authenticate_([identity](const suite::rpc::RequestContext& rc) {
          return AuthenticateCaller(*identity, rc);
        }),
        trusted_peers_(TrustedPeers::Parse(trusted_peers).value_or(TrustedPeers())),
        executor_("identity", handler_threads),
        hashing_executor_("identity-hash", handler_threads) {}

  // ServeRevocations makes WatchRevocations stream from `source` (not owned; it must outlive
  // the server). Without it WatchRevocations answers UNAVAILABLE. Call before serving.
  void ServeRevocations(RevocationSource* source) { revocations_ = source; }

  using CallbackServerContext = grpc::CallbackServerContext;
  grpc::ServerUnaryReactor* CreateUser(CallbackServerContext*,
                                       const ::identity::v1::CreateUserRequest*,
                                       ::identity::v1::CreateUserResponse*) override;
  grpc::ServerUnaryReactor* GetUser(CallbackServerContext*, const ::identity::v1::GetUserRequest*,
                                    ::identity::v1::GetUserResponse*) override;
  grpc::ServerUnaryReactor* ListUsers(CallbackServerContext*,
                                      const ::identity::v1::ListUsersRequest*,
                                      ::identity::v1::ListUsersResponse*) override;
  grpc::ServerUnaryReactor* UpdateUser(CallbackServerContext*,
                                       const ::identity::v1::UpdateUserRequest*,
                                       ::identity::v1::UpdateUserResponse*) override;
  grpc::ServerUnaryReactor* SetUserStatus(CallbackServerContext*,
                                          const ::identity::v1::SetUserStatusRequest*,
                                          ::identity::v1::SetUserStatusResponse*) override;
  grpc::ServerUnaryReactor* DeleteUser(CallbackServerContext*,
                                       const ::identity::v1::DeleteUserRequest*,
                                       ::identity::v1::DeleteUserResponse*) override;
  grpc::ServerUnaryReactor* ChangePassword(CallbackServerContext*,
                                           const ::identity::v1::ChangePasswordRequest*,
                                           ::identity::v1::ChangePasswordResponse*) override;
  grpc::ServerUnaryReactor* CreateEmailVerification(
      CallbackServerContext*, const ::identity::v1::CreateEmailVerificationRequest*,
      ::identity::v1::CreateEmailVerificationResponse*) override;
  grpc::ServerUnaryReactor* ConfirmEmailVerification(
      CallbackServerContext*, const ::identity::v1::ConfirmEmailVerificationRequest*,
      ::identity::v1::ConfirmEmailVerificationResponse*) override;
  grpc::ServerUnaryReactor* Login(CallbackServerContext*, const ::identity::v1::LoginRequest*,
                                  ::identity::v1::LoginResponse*) override;
  grpc::ServerUnaryReactor* ValidateSession(CallbackServerContext*,
                                            const ::identity::v1::ValidateSessionRequest*,
                                            ::identity::v1::ValidateSessionResponse*) override;
  grpc::ServerWriteReactor<::identity::v1::WatchRevocationsResponse>* WatchRevocations(
      CallbackServerContext*, const ::identity::v1::WatchRevocationsRequest*) override;
  grpc::ServerUnaryReactor* Logout(CallbackServerContext*, const ::identity::v1::LogoutRequest*,
                                   ::identity::v1::LogoutResponse*) override;
  grpc::ServerUnaryReactor* ListSessions(CallbackServerContext*,
                                         const ::identity::v1::ListSessionsRequest*,
                                         ::identity::v1::ListSessionsResponse*) override;
  grpc::ServerUnaryReactor* RevokeSession(CallbackServerContext*,
                                          const ::identity::v1::RevokeSessionRequest*,
                                          ::identity::v1::RevokeSessionResponse*) override;
  grpc::ServerUnaryReactor* RevokeAllSessions(CallbackServerContext*,
                                              const ::identity::v1::RevokeAllSessionsRequest*,
                                              ::identity::v1::RevokeAllSessionsResponse*) override;
  grpc::ServerUnaryReactor* RotateSession(CallbackServerContext*,
                                          const ::identity::v1::RotateSessionRequest*,
                                          ::identity::v1::RotateSessionResponse*) override;
  grpc::ServerUnaryReactor* CreateAccount(CallbackServerContext*,
                                          const ::identity::v1::CreateAccountRequest*,
                                          ::identity::v1::CreateAccountResponse*) override;
  grpc::ServerUnaryReactor* GetAccount(CallbackServerContext*,
                                       const ::identity::v1::GetAccountRequest*,
                                       ::identity::v1::GetAccountResponse*) override;
  grpc::ServerUnaryReactor* ListAccounts(CallbackServerContext*,
                                         const ::identity::v1::ListAccountsRequest*,
                                         ::identity::v1::ListAccountsResponse*) override;
  grpc::ServerUnaryReactor* UpdateAccount(CallbackServerContext*,
                                          const ::identity::v1::UpdateAccountRequest*,
                                          ::identity::v1::UpdateAccountResponse*) override;
  grpc::ServerUnaryReactor* CreateRole(CallbackServerContext*,
                                       const ::identity::v1::CreateRoleRequest*,
                                       ::identity::v1::CreateRoleResponse*) override;
  grpc::ServerUnaryReactor* ListRoles(CallbackServerContext*,
                                      const ::identity::v1::ListRolesRequest*,
                                      ::identity::v1::ListRolesResponse*) override;
  grpc::ServerUnaryReactor* AssignRole(CallbackServerContext*,
                                       const ::identity::v1::AssignRoleRequest*,
                                       ::identity::v1::AssignRoleResponse*) override;
  grpc::ServerUnaryReactor* RevokeRole(CallbackServerContext*,
                                       const ::identity::v1::RevokeRoleRequest*,
                                       ::identity::v1::RevokeRoleResponse*) override;
  grpc::ServerUnaryReactor* ListRoleAssignments(
      CallbackServerContext*, const ::identity::v1::ListRoleAssignmentsRequest*,
      ::identity::v1::ListRoleAssignmentsResponse*) override;
  grpc::ServerUnaryReactor* ListLoginAttempts(CallbackServerContext*,
                                              const ::identity::v1::ListLoginAttemptsRequest*,
                                              ::identity::v1::ListLoginAttemptsResponse*) override;
  grpc::ServerUnaryReactor* ListAuditEvents(CallbackServerContext*,
                                            const ::audit::v1::ListAuditEventsRequest*,
                                            ::audit::v1::ListAuditEventsResponse*) override;

 private:
  Identity* const identity_;
  const std::function<absl::StatusOr<Principal>(const suite::rpc::RequestContext&)> authenticate_;
  const TrustedPeers trusted_peers_;
  // Every RPC's blocking work except CreateUser, ChangePassword and Login: those wait for the
  // password hasher's pool and run on hashing_executor_, so a login flood holds none of the
  // threads ValidateSession needs (the hot path must not starve while hashing).
  suite::rpc::BlockingExecutor executor_;
  suite::rpc::BlockingExecutor hashing_executor_;
  RevocationSource* revocations_ = nullptr;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_H_

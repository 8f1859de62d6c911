// IdentityServiceImpl: the gRPC adapter of identity.v1.IdentityService. It turns requests into
// domain calls (services/identity/domain/identity.h), authenticates the bearer token of every
// call that needs one through the domain itself, and converts results back; every handler ends
// in suite::rpc::ToGrpcStatus and no exception escapes.
//
//   Identity identity(store.get(), hasher.get(), &clock, options);
//   IdentityServiceImpl service(&identity);
//   auto server = suite::rpc::GrpcServer::Start(
//       config, {{&service, identity::v1::IdentityService::service_full_name()}});
//
// Thread-safe (handlers run concurrently; the domain is thread-safe).
#ifndef SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_IMPL_H_
#define SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_IMPL_H_

#include <set>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/domain/identity.h"

namespace suite::identity {

class IdentityServiceImpl final : public ::identity::v1::IdentityService::Service {
 public:
  // `identity` is not owned and must outlive the service. Login believes a request's
  // client_ip only when the caller's peer address is in `trusted_peers` (the front ends that
  // relay end users; "*" trusts everyone); other callers are throttled by their peer address.
  explicit IdentityServiceImpl(Identity* identity,
                               std::set<std::string> trusted_peers = {})
      : identity_(identity), trusted_peers_(std::move(trusted_peers)) {}

  using ServerContext = grpc::ServerContext;
  grpc::Status CreateUser(ServerContext*, const ::identity::v1::CreateUserRequest*,
                          ::identity::v1::CreateUserResponse*) override;
  grpc::Status GetUser(ServerContext*, const ::identity::v1::GetUserRequest*,
                       ::identity::v1::GetUserResponse*) override;
  grpc::Status ListUsers(ServerContext*, const ::identity::v1::ListUsersRequest*,
                         ::identity::v1::ListUsersResponse*) override;
  grpc::Status UpdateUser(ServerContext*, const ::identity::v1::UpdateUserRequest*,
                          ::identity::v1::UpdateUserResponse*) override;
  grpc::Status SetUserStatus(ServerContext*, const ::identity::v1::SetUserStatusRequest*,
                             ::identity::v1::SetUserStatusResponse*) override;
  grpc::Status DeleteUser(ServerContext*, const ::identity::v1::DeleteUserRequest*,
                          ::identity::v1::DeleteUserResponse*) override;
  grpc::Status ChangePassword(ServerContext*, const ::identity::v1::ChangePasswordRequest*,
                              ::identity::v1::ChangePasswordResponse*) override;
  grpc::Status CreateEmailVerification(ServerContext*,
                                       const ::identity::v1::CreateEmailVerificationRequest*,
                                       ::identity::v1::CreateEmailVerificationResponse*) override;
  grpc::Status ConfirmEmailVerification(
      ServerContext*, const ::identity::v1::ConfirmEmailVerificationRequest*,
      ::identity::v1::ConfirmEmailVerificationResponse*) override;
  grpc::Status Login(ServerContext*, const ::identity::v1::LoginRequest*,
                     ::identity::v1::LoginResponse*) override;
  grpc::Status ValidateSession(ServerContext*, const ::identity::v1::ValidateSessionRequest*,
                               ::identity::v1::ValidateSessionResponse*) override;
  grpc::Status Logout(ServerContext*, const ::identity::v1::LogoutRequest*,
                      ::identity::v1::LogoutResponse*) override;
  grpc::Status ListSessions(ServerContext*, const ::identity::v1::ListSessionsRequest*,
                            ::identity::v1::ListSessionsResponse*) override;
  grpc::Status RevokeSession(ServerContext*, const ::identity::v1::RevokeSessionRequest*,
                             ::identity::v1::RevokeSessionResponse*) override;
  grpc::Status RevokeAllSessions(ServerContext*, const ::identity::v1::RevokeAllSessionsRequest*,
                                 ::identity::v1::RevokeAllSessionsResponse*) override;
  grpc::Status RotateSession(ServerContext*, const ::identity::v1::RotateSessionRequest*,
                             ::identity::v1::RotateSessionResponse*) override;
  grpc::Status CreateAccount(ServerContext*, const ::identity::v1::CreateAccountRequest*,
                             ::identity::v1::CreateAccountResponse*) override;
  grpc::Status GetAccount(ServerContext*, const ::identity::v1::GetAccountRequest*,
                          ::identity::v1::GetAccountResponse*) override;
  grpc::Status ListAccounts(ServerContext*, const ::identity::v1::ListAccountsRequest*,
                            ::identity::v1::ListAccountsResponse*) override;
  grpc::Status UpdateAccount(ServerContext*, const ::identity::v1::UpdateAccountRequest*,
                             ::identity::v1::UpdateAccountResponse*) override;
  grpc::Status CreateRole(ServerContext*, const ::identity::v1::CreateRoleRequest*,
                          ::identity::v1::CreateRoleResponse*) override;
  grpc::Status ListRoles(ServerContext*, const ::identity::v1::ListRolesRequest*,
                         ::identity::v1::ListRolesResponse*) override;
  grpc::Status AssignRole(ServerContext*, const ::identity::v1::AssignRoleRequest*,
                          ::identity::v1::AssignRoleResponse*) override;
  grpc::Status RevokeRole(ServerContext*, const ::identity::v1::RevokeRoleRequest*,
                          ::identity::v1::RevokeRoleResponse*) override;
  grpc::Status ListRoleAssignments(ServerContext*,
                                   const ::identity::v1::ListRoleAssignmentsRequest*,
                                   ::identity::v1::ListRoleAssignmentsResponse*) override;
  grpc::Status ListLoginAttempts(ServerContext*, const ::identity::v1::ListLoginAttemptsRequest*,
                                 ::identity::v1::ListLoginAttemptsResponse*) override;

 private:
  Identity* const identity_;
  const std::set<std::string> trusted_peers_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_GRPC_IDENTITY_SERVICE_IMPL_H_

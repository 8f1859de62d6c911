// Conversions between identity.v1's proto messages and the identity domain's types
// (services/identity/domain/model.h, identity.h), for the gRPC adapter only: the domain never
// sees a proto. A request's enum that names nothing is INVALID_ARGUMENT naming its field.
//
//   ToProto(user, response->mutable_user());
//   SUITE_ASSIGN_OR_RETURN(UserStatus status, UserStatusOf(request->status(), "status"));
//
// Thread-safe: pure functions.
#ifndef SUITE_SERVICES_IDENTITY_GRPC_CONVERTERS_H_
#define SUITE_SERVICES_IDENTITY_GRPC_CONVERTERS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identity/v1/identity_service.pb.h"
#include "services/identity/domain/identity.h"
#include "services/identity/domain/model.h"
#include "services/identity/domain/store.h"

namespace suite::identity {

::identity::v1::UserStatus ToProto(UserStatus status);
::identity::v1::AccountStatus ToProto(AccountStatus status);

// UserStatusOf / AccountStatusOf: the domain status a request names in `field`;
// INVALID_ARGUMENT naming it when unspecified ("is required") or unknown ("unknown value N").
absl::StatusOr<UserStatus> UserStatusOf(::identity::v1::UserStatus status,
                                        absl::string_view field);
absl::StatusOr<AccountStatus> AccountStatusOf(::identity::v1::AccountStatus status,
                                              absl::string_view field);

void ToProto(const User& user, ::identity::v1::User* out);
void ToProto(const Session& session, ::identity::v1::Session* out);
void ToProto(const Account& account, ::identity::v1::Account* out);
void ToProto(const Role& role, ::identity::v1::Role* out);
void ToProto(const RoleAssignment& assignment, ::identity::v1::RoleAssignment* out);
void ToProto(const LoginAttempt& attempt, ::identity::v1::LoginAttempt* out);
void ToProto(const ValidatedSession& session, ::identity::v1::ValidateSessionResponse* out);

// UserPatchOf: the fields an UpdateUser request sets (absent ones stay as they are).
UserPatch UserPatchOf(const ::identity::v1::UpdateUserRequest& request);
// UserFilterOf: ListUsers' filter; INVALID_ARGUMENT naming status when it is unknown.
absl::StatusOr<UserFilter> UserFilterOf(const ::identity::v1::ListUsersRequest& request);
// LoginAttemptFilterOf: ListLoginAttempts' filter; INVALID_ARGUMENT naming success when it is
// an unknown value (proto3 keeps it; it must not read as "no filter").
absl::StatusOr<LoginAttemptFilter> LoginAttemptFilterOf(
    const ::identity::v1::ListLoginAttemptsRequest& request);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_GRPC_CONVERTERS_H_

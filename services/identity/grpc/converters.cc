#include "services/identity/grpc/converters.h"

#include <algorithm>

#include "shared/api/enum_field.h"
#include "shared/api/timestamp.h"
#include "shared/base/status_macros.h"

namespace suite::identity {

namespace pb = ::identity::v1;
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

void ToProto(const ValidatedSession& session, pb::ValidateSessionResponse* out) {
  out->set_user_id(session.user_id);
  out->set_session_id(session.session_id);
  for (const RoleGrant& g : session.grants) {
    pb::RoleGrant* grant = out->add_role_grants();
    grant->set_role(g.role);
    grant->set_account_id(g.account_id);
  }
  SetTimestamp(session.expires_at, out->mutable_expire_time());
}

UserPatch UserPatchOf(const pb::UpdateUserRequest& request) {
  UserPatch patch;
  if (request.has_first_name()) patch.first_name = request.first_name();
  if (request.has_last_name()) patch.last_name = request.last_name();
  if (request.has_phone()) patch.phone = request.phone();
  return patch;
}

absl::StatusOr<UserFilter> UserFilterOf(const pb::ListUsersRequest& request) {
  UserFilter filter;
  if (request.status() != pb::USER_STATUS_UNSPECIFIED) {
    SUITE_ASSIGN_OR_RETURN(filter.status, UserStatusOf(request.status(), "status"));
  }
  filter.email_prefix = request.email_prefix();
  return filter;
}

absl::StatusOr<LoginAttemptFilter> LoginAttemptFilterOf(
    const pb::ListLoginAttemptsRequest& request) {
  LoginAttemptFilter filter;
  filter.email = request.email();
  filter.ip = request.ip();
  SUITE_RETURN_IF_ERROR(suite::api::CheckEnumField(
      "success", request.success(), pb::SuccessFilter_IsValid(request.success()), false));
  if (request.success() == pb::SUCCESS_FILTER_SUCCEEDED) filter.success = true;
  if (request.success() == pb::SUCCESS_FILTER_FAILED) filter.success = false;
  if (request.has_start_time()) filter.start_time = TimeFromTimestamp(request.start_time());
  if (request.has_end_time()) filter.end_time = TimeFromTimestamp(request.end_time());
  return filter;
}

}  // namespace suite::identity

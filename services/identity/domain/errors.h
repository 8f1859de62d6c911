// The identity service's error catalog: every status it returns on purpose is built here, so
// codes, messages and ErrorInfo reasons (domain "identity.suite") are chosen once.
//
//   return errors::UserNotFound();                 // NOT_FOUND, reason USER_NOT_FOUND
//   return errors::InvalidCredentials();           // UNAUTHENTICATED, same for every cause
//
// Messages never contain passwords, tokens, hashes or e-mail addresses.
#ifndef SUITE_SERVICES_IDENTITY_ERRORS_H_
#define SUITE_SERVICES_IDENTITY_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/api/status.h"

namespace suite::identity::errors {

inline constexpr absl::string_view kDomain = "identity.suite";

inline absl::Status Invalid(absl::string_view field, absl::string_view description) {
  return suite::api::InvalidArgument(field, description);
}

inline absl::Status UserNotFound() {
  return suite::api::WithErrorInfo(absl::NotFoundError("user not found"), "USER_NOT_FOUND",
                                   kDomain);
}
// NotFoundIn is the NOT_FOUND of a call naming several resources: the message and ErrorInfo
// metadata `field` say which request field names nothing (user_id, role, account_id).
inline absl::Status NotFoundIn(absl::string_view field) {
  if (field == "user_id") {
    return suite::api::WithErrorInfo(absl::NotFoundError("user_id: no such user"),
                                     "USER_NOT_FOUND", kDomain, {{"field", "user_id"}});
  }
  if (field == "role") {
    return suite::api::WithErrorInfo(absl::NotFoundError("role: no such role"),
                                     "ROLE_NOT_FOUND", kDomain, {{"field", "role"}});
  }
  return suite::api::WithErrorInfo(absl::NotFoundError("account_id: no such account"),
                                   "ACCOUNT_NOT_FOUND", kDomain, {{"field", "account_id"}});
}
inline absl::Status EmailTaken() {
  return suite::api::WithErrorInfo(absl::AlreadyExistsError("e-mail address already registered"),
                                   "EMAIL_TAKEN", kDomain);
}
// One answer for unknown e-mail, wrong password and an inactive or deleted user.
inline absl::Status InvalidCredentials() {
  return suite::api::WithErrorInfo(absl::UnauthenticatedError("invalid e-mail or password"),
                                   "INVALID_CREDENTIALS", kDomain);
}
inline absl::Status WrongCurrentPassword() {
  return suite::api::WithErrorInfo(
      suite::api::InvalidArgument("current_password", "does not match"), "WRONG_PASSWORD",
      kDomain);
}
inline absl::Status InvalidSession() {
  return suite::api::WithErrorInfo(absl::UnauthenticatedError("invalid or expired session"),
                                   "INVALID_SESSION", kDomain);
}
// The answer to a login refused by throttling, before the password was looked at (so it
// says nothing about it): RetryInfo with the exact delay, and the delay rounded up to whole
// seconds in the message and in ErrorInfo metadata retry_after_seconds.
inline absl::Status LoginThrottled(absl::Duration retry_after) {
  int64_t seconds = absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1)));
  if (seconds < 1) seconds = 1;
  return suite::api::WithRetryInfo(
      suite::api::WithErrorInfo(
          absl::ResourceExhaustedError(absl::StrCat(
              "too many failed logins for this e-mail from this address; retry in ", seconds,
              " s")),
          "LOGIN_THROTTLED", kDomain, {{"retry_after_seconds", absl::StrCat(seconds)}}),
      retry_after);
}
inline absl::Status HashingOverloaded() {
  return suite::api::WithErrorInfo(
      absl::ResourceExhaustedError("too many password operations in progress; retry shortly"),
      "HASHING_OVERLOADED", kDomain);
}
inline absl::Status PermissionDenied(absl::string_view what) {
  return suite::api::WithErrorInfo(absl::PermissionDeniedError(what), "PERMISSION_DENIED",
                                   kDomain);
}
inline absl::Status AdminRequired() {
  return suite::api::WithErrorInfo(absl::PermissionDeniedError("admin role required"),
                                   "MISSING_ROLE", kDomain, {{"role", "admin"}});
}
inline absl::Status SessionNotFound() {
  return suite::api::WithErrorInfo(absl::NotFoundError("session not found"), "SESSION_NOT_FOUND",
                                   kDomain);
}
inline absl::Status AccountNotFound() {
  return suite::api::WithErrorInfo(absl::NotFoundError("account not found"), "ACCOUNT_NOT_FOUND",
                                   kDomain);
}
inline absl::Status RoleNotFound() {
  return suite::api::WithErrorInfo(absl::NotFoundError("role not found"), "ROLE_NOT_FOUND",
                                   kDomain);
}
inline absl::Status RoleTaken() {
  return suite::api::WithErrorInfo(absl::AlreadyExistsError("role key already exists"),
                                   "ROLE_TAKEN", kDomain);
}
inline absl::Status RoleAssignmentNotFound() {
  return suite::api::WithErrorInfo(
      absl::NotFoundError("the user does not hold this role here (user, role and account exist)"),
                                   "ROLE_ASSIGNMENT_NOT_FOUND", kDomain);
}
inline absl::Status VerificationTokenInvalid() {
  return suite::api::WithErrorInfo(
      suite::api::InvalidArgument("verification_token", "unknown, used or expired"),
      "VERIFICATION_TOKEN_INVALID", kDomain);
}

}  // namespace suite::identity::errors

#endif  // SUITE_SERVICES_IDENTITY_ERRORS_H_

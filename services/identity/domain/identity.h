// The identity domain: sign-up, login with abuse control, sessions, users, accounts, roles and
// the login audit, and who may do each of them. Plain C++ over IdentityStore,
// PasswordHasher and Clock; the gRPC adapter turns requests into these calls.
//
//   Identity identity(&store, &hasher, &clock, IdentityOptions{});
//   absl::StatusOr<LoginResult> login = identity.Login({"ada@example.com", password, "10.0.0.1",
//                                                       "curl", request_id});
//   absl::StatusOr<Principal> caller = identity.Authenticate(login->token);
//   absl::StatusOr<User> me = identity.GetUser(*caller, caller->user_id);
//
// Authorization: calls taking a Principal refuse non-admins with PERMISSION_DENIED for
// admin-only operations, and let a member read and change only their own user and sessions.
// Every method validates its input first (INVALID_ARGUMENT naming the request field, nothing
// written) and returns the store's UNAVAILABLE / INTERNAL as they come. Thread-safe.
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_IDENTITY_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_IDENTITY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/identity/domain/clock.h"
#include "services/identity/domain/model.h"
#include "services/identity/domain/password_hasher.h"
#include "services/identity/domain/store.h"
#include "services/identity/domain/tokens.h"
#include "shared/api/page_token.h"
#include "shared/audit_api/audit_query.h"

namespace suite::identity {

struct IdentityOptions {
  // A session dies after this long without use...
  absl::Duration session_idle_timeout = absl::Hours(12);
  // ...and in any case this long after login (rotation keeps the original cap).
  absl::Duration session_absolute_timeout = absl::Hours(24 * 14);
  // last_seen_at (and the sliding expiry) are written only when older than this, so the hot
  // path is usually a single read.
  absl::Duration last_seen_interval = absl::Minutes(1);
  // How failed logins slow down further attempts (store.h's LoginLimits).
  LoginLimits login_limits;
  // How long an e-mail verification token works.
  absl::Duration email_verification_ttl = absl::Hours(24);
  // HMAC key of page tokens; empty = random per process.
  std::string page_token_secret;
};

struct CreateUserInput {
  std::string email, password, first_name, last_name, phone;
};

struct LoginInput {
  std::string email, password, client_ip, user_agent, request_id;
};

// A new session and its token; the token exists only here and in the response.
struct LoginResult {
  std::string token;
  Session session;
};

struct ValidatedSession {
  std::string user_id;
  std::string session_id;
  std::vector<RoleGrant> grants;
  absl::Time expires_at;
};

struct UserPage {
  std::vector<User> users;
  std::string next_page_token;
};
struct AccountPage {
  std::vector<Account> accounts;
  std::string next_page_token;
};
struct RolePage {
  std::vector<Role> roles;
  std::string next_page_token;
};
struct LoginAttemptPage {
  std::vector<LoginAttempt> attempts;
  std::string next_page_token;
};
struct SessionPage {
  std::vector<Session> sessions;
  std::string next_page_token;
};
struct RoleAssignmentPage {
  std::vector<RoleAssignment> role_assignments;
  std::string next_page_token;
};
struct VerificationToken {
  std::string token;
  absl::Time expires_at;
};

class Identity {
 public:
  // Pointers are not owned and must outlive this object.
  Identity(IdentityStore* store, PasswordHasher* hasher, const Clock* clock,
           IdentityOptions options);

  // --- Anonymous calls ---------------------------------------------------------------------
  // CreateUser signs up a user with the global "member" role. INVALID_ARGUMENT (email,
  // password, first_name, last_name, phone), ALREADY_EXISTS when the e-mail is taken,
  // RESOURCE_EXHAUSTED when hashing is saturated.
  absl::StatusOr<User> CreateUser(const CreateUserInput& input);
  // Login checks the password and opens a session. INVALID_ARGUMENT (email, password,
  // client_ip, user_agent); UNAUTHENTICATED with one message for unknown e-mail, wrong
  // password and inactive or deleted users; RESOURCE_EXHAUSTED with retry_after_seconds when
  // throttled, or when hashing is saturated.
  absl::StatusOr<LoginResult> Login(const LoginInput& input);
  // ValidateSession returns who `token` stands for, sliding its idle expiry.
  // UNAUTHENTICATED for malformed, unknown, revoked or expired tokens and inactive users.
  absl::StatusOr<ValidatedSession> ValidateSession(const std::string& token);
  // ValidateSessionAsync is ValidateSession without blocking the calling thread (for gRPC's
  // own thread): `done` gets the same result, at once for a malformed token, otherwise on
  // `caller.run_blocking` after the batched lookup (IdentityStore::LookupSessionAsync).
  using ValidateSessionDone = std::function<void(absl::StatusOr<ValidatedSession>)>;
  void ValidateSessionAsync(const std::string& token, const AsyncCaller& caller,
                            ValidateSessionDone done);
  // Authenticate is ValidateSession as a Principal.
  absl::StatusOr<Principal> Authenticate(const std::string& token);
  // ConfirmEmailVerification consumes a token. INVALID_ARGUMENT (verification_token) when it
  // is malformed, unknown, used or expired.
  absl::StatusOr<User> ConfirmEmailVerification(const std::string& token);
  // BootstrapAdmin creates the first admin unless a global admin exists (idempotent across
  // restarts and replicas). INVALID_ARGUMENT for a bad e-mail or password.
  absl::StatusOr<bool> BootstrapAdmin(const std::string& email, const std::string& password);

  // --- Users -------------------------------------------------------------------------------
  // GetUser: self or admin, else PERMISSION_DENIED; NOT_FOUND.
  absl::StatusOr<User> GetUser(const Principal& caller, const std::string& user_id);
  // ListUsers: admin only. INVALID_ARGUMENT (page_size, page_token, email_prefix).
  absl::StatusOr<UserPage> ListUsers(const Principal& caller, const UserFilter& filter,
                                     int page_size, const std::string& page_token);
  // UpdateUser: self or admin. INVALID_ARGUMENT (first_name, last_name, phone), NOT_FOUND.
  absl::StatusOr<User> UpdateUser(const Principal& caller, const std::string& user_id,
                                  const UserPatch& patch);
  // SetUserStatus: admin only; anything but active revokes the user's sessions. NOT_FOUND.
  absl::StatusOr<User> SetUserStatus(const Principal& caller, const std::string& user_id,
                                     UserStatus status);
  // DeleteUser: self or admin; soft delete, sessions revoked. NOT_FOUND.
  absl::Status DeleteUser(const Principal& caller, const std::string& user_id);
  // ChangePassword: self only. INVALID_ARGUMENT (new_password; current_password when it does
  // not match). Revokes every other session; returns how many.
  absl::StatusOr<int> ChangePassword(const Principal& caller, const std::string& user_id,
                                     const std::string& current_password,
                                     const std::string& new_password);
  // CreateEmailVerification: admin only (the mailer). NOT_FOUND for an unknown user.
  absl::StatusOr<VerificationToken> CreateEmailVerification(const Principal& caller,
                                                            const std::string& user_id,
                                                            const std::string& request_id);

  // --- Sessions ----------------------------------------------------------------------------
  // Logout revokes the caller's session.
  absl::Status Logout(const Principal& caller);
  // ListSessions: self (empty user_id) or admin; the live sessions, newest first.
  // INVALID_ARGUMENT (user_id, page_size, page_token).
  absl::StatusOr<SessionPage> ListSessions(const Principal& caller, const std::string& user_id,
                                           int page_size, const std::string& page_token);
  // RevokeSession: own session or admin. NOT_FOUND when unknown or already revoked;
  // PERMISSION_DENIED for another user's session.
  absl::Status RevokeSession(const Principal& caller, const std::string& session_id);
  // RevokeAllSessions: self (empty user_id) or admin; returns how many were revoked.
  absl::StatusOr<int> RevokeAllSessions(const Principal& caller, const std::string& user_id,
                                        bool keep_current);
  // RotateSession replaces the caller's session with a new one (same absolute cap).
  // UNAUTHENTICATED when the session died meanwhile.
  absl::StatusOr<LoginResult> RotateSession(const Principal& caller,
                                            const std::string& request_id);

  // --- Accounts ----------------------------------------------------------------------------
  // CreateAccount: any authenticated user, who becomes a member. INVALID_ARGUMENT (name).
  absl::StatusOr<Account> CreateAccount(const Principal& caller, const std::string& name);
  // GetAccount: members of the account or admin (PERMISSION_DENIED), NOT_FOUND.
  absl::StatusOr<Account> GetAccount(const Principal& caller, const std::string& account_id);
  // ListAccounts: the caller's accounts, all for an admin.
  absl::StatusOr<AccountPage> ListAccounts(const Principal& caller, int page_size,
                                           const std::string& page_token);
  // UpdateAccount: admin only. INVALID_ARGUMENT (name), NOT_FOUND.
  absl::StatusOr<Account> UpdateAccount(const Principal& caller, const std::string& account_id,
                                        const absl::optional<std::string>& name,
                                        const absl::optional<AccountStatus>& status);

  // --- Roles -------------------------------------------------------------------------------
  // CreateRole: admin only. INVALID_ARGUMENT (key, label), ALREADY_EXISTS.
  absl::StatusOr<Role> CreateRole(const Principal& caller, const std::string& key,
                                  const std::string& label);
  // ListRoles: any authenticated caller, by key. INVALID_ARGUMENT (page_size, page_token).
  absl::StatusOr<RolePage> ListRoles(const Principal& caller, int page_size,
                                     const std::string& page_token);
  // AssignRole: admin only. NOT_FOUND naming the field (ErrorInfo metadata `field`: user_id,
  // role or account_id) of an unknown or deleted user, an unknown role or account.
  absl::StatusOr<RoleAssignment> AssignRole(const Principal& caller, const std::string& user_id,
                                            const std::string& role,
                                            const std::string& account_id,
                                            const std::string& request_id);
  // RevokeRole: admin only. NOT_FOUND naming the field as AssignRole when the user, role or
  // account does not exist; ROLE_ASSIGNMENT_NOT_FOUND when they do but the grant does not.
  absl::Status RevokeRole(const Principal& caller, const std::string& user_id,
                          const std::string& role, const std::string& account_id);
  // ListRoleAssignments: own grants (empty user_id = self), anyone's for an admin; oldest
  // first. INVALID_ARGUMENT (user_id, account_id, page_size, page_token).
  absl::StatusOr<RoleAssignmentPage> ListRoleAssignments(const Principal& caller,
                                                         const std::string& user_id,
                                                         const std::string& account_id,
                                                         int page_size,
                                                         const std::string& page_token);

  // --- Audit -------------------------------------------------------------------------------
  // ListLoginAttempts: admin only, newest first. INVALID_ARGUMENT (email, ip, page_size,
  // page_token, end_time).
  absl::StatusOr<LoginAttemptPage> ListLoginAttempts(const Principal& caller,
                                                     const LoginAttemptFilter& filter,
                                                     int page_size,
                                                     const std::string& page_token);
  // AuthorizeListAuditEvents: PERMISSION_DENIED unless `caller` is an admin. The gRPC adapter
  // asks it before it reads the request, so a member learns nothing about the request's
  // validation; ListAuditEvents asks it again.
  absl::Status AuthorizeListAuditEvents(const Principal& caller) const;
  // ListAuditEvents: admin only, identity's audit trail newest first (shared rules of
  // shared/audit_api/audit_query.h). INVALID_ARGUMENT (page_size, actor_user_id, action,
  // target_id, end_time, page_token).
  absl::StatusOr<suite::audit_api::AuditPage> ListAuditEvents(
      const Principal& caller, const suite::audit_api::AuditQuery& query);

 private:
  // SessionFromLookup decides ValidateSession on the stored session (sliding its idle expiry).
  absl::StatusOr<ValidatedSession> SessionFromLookup(
      absl::StatusOr<absl::optional<SessionLookup>> lookup);
  // SelfOrAdmin resolves an optional user id (empty = the caller) and checks access.
  absl::StatusOr<std::string> SelfOrAdmin(const Principal& caller, const std::string& user_id,
                                          absl::string_view field);
  // OpenSession makes a session (replacing `rotate_from` when given); with `login_attempt_id`
  // it settles that in-flight login attempt as a success in the same transaction.
  absl::StatusOr<LoginResult> OpenSession(const std::string& user_id, absl::Time now,
                                          absl::Time absolute_expires_at, const std::string& ip,
                                          const std::string& user_agent,
                                          const std::string& request_id,
                                          const absl::optional<std::string>& rotate_from,
                                          const std::string& login_attempt_id = "");

  IdentityStore* const store_;
  PasswordHasher* const hasher_;
  const Clock* const clock_;
  const IdentityOptions options_;
  const suite::api::PageTokenCodec page_tokens_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_IDENTITY_H_

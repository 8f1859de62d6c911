// The storage interface of the identity domain: everything it reads and writes, in domain
// types. services/identity/storage/pg_store.h implements it over PostgreSQL; the domain never
// sees SQL.
//
//   absl::StatusOr<User> user = store.GetUser(id);
//   if (absl::IsNotFound(user.status())) ...
//
// Every method: UNAVAILABLE when the database cannot be reached, INTERNAL for unexpected
// database errors, plus the codes listed. Implementations must be thread-safe.
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_STORE_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_STORE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/identity/domain/model.h"
#include "shared/base/async_caller.h"
#include "shared/db/audit/audit_event.h"

namespace suite::identity {

struct NewUser {
  std::string email;  // normalised
  std::string password_hash;
  std::string first_name, last_name, phone;
  absl::Time now;
};

struct UserPatch {
  absl::optional<std::string> first_name, last_name, phone;
};

struct UserFilter {
  absl::optional<UserStatus> status;
  std::string email_prefix;  // normalised; empty = any
};

struct NewSession {
  std::string user_id;
  std::string token_hash;  // SHA-256 hex
  absl::Time now;
  absl::Time expires_at;
  absl::Time absolute_expires_at;
  std::string ip, user_agent, request_id;
};

// The throttling policy applied by BeginLoginAttempt. A "source" is the client address the
// attempt came from; a "pair" is one (e-mail, source). Failures slow the guesser down rather
// than lock the account:
//  - A pair's failures within `pair_window` (in flight and refused attempts included) set its
//    delay: the first `free_failures` cost nothing, then each further attempt must wait
//    base_delay * 2^(failures - free_failures), at most `max_delay`, after the pair's newest
//    failure.
//  - The account is "under attack" when its evaluated failures from all sources within
//    `window` reach `max_failures_per_email`; the source is "busy" when its settled failures
//    against all accounts within `window` reach `max_failures_per_ip`. Either way a pair with
//    any failure in `pair_window` waits `max_delay` after its newest one, but a pair without
//    failures is still let in: the owner of an attacked account, or a clean user behind a busy
//    NAT address, is never refused.
struct LoginLimits {
  absl::Duration window = absl::Minutes(15);
  int max_failures_per_email = 100;
  int max_failures_per_ip = 50;
  absl::Duration pair_window = absl::Hours(24);
  int free_failures = 5;
  absl::Duration base_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(15);

  // FailuresToReachMaxDelay is the pair failure count from which the delay is max_delay: the
  // check never needs to count further.
  int FailuresToReachMaxDelay() const {
    int doublings = 0;
    for (absl::Duration d = base_delay; d < max_delay && doublings < 62; d *= 2) ++doublings;
    return std::max(1, free_failures + doublings);
  }
  // PairDelay is how long after its newest failure a pair with `failures` may try again:
  // zero for a pair without failures, and below the free failures unless `hot` (the account
  // is under attack or the source busy).
  absl::Duration PairDelay(int failures, bool hot) const {
    if (failures <= 0) return absl::ZeroDuration();
    if (hot) return max_delay;
    if (failures < free_failures) return absl::ZeroDuration();
    absl::Duration d = base_delay;
    for (int i = free_failures; i < failures && d < max_delay; ++i) d *= 2;
    return std::min(d, max_delay);
  }
};

struct LoginAttemptStart {
  std::string email;  // normalised
  std::string ip;
  std::string user_agent;
  std::string request_id;
  absl::Time now;
};

// The outcome of BeginLoginAttempt: either the id of the in-flight attempt to settle, or how
// long the caller must wait (counted from this refused attempt, which is itself recorded).
struct LoginAdmission {
  bool admitted = false;
  std::string attempt_id;       // when admitted
  absl::Duration retry_after;   // when not
};

struct LoginAttemptFilter {
  std::string email;
  std::string ip;
  absl::optional<bool> success;
  absl::optional<absl::Time> start_time, end_time;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Users.
  // CreateUser inserts a user. ALREADY_EXISTS when the e-mail is taken (case-insensitively).
  virtual absl::StatusOr<User> CreateUser(const NewUser& user) = 0;
  // GetUser returns a user that is not deleted. NOT_FOUND otherwise.
  virtual absl::StatusOr<User> GetUser(const std::string& user_id) = 0;
  // FindCredentials returns the login data of the user with this (normalised) e-mail,
  // deleted users included; nullopt when there is none.
  virtual absl::StatusOr<absl::optional<UserCredentials>> FindCredentials(
      const std::string& email) = 0;
  // CredentialsById is FindCredentials by id. NOT_FOUND when there is no such user.
  virtual absl::StatusOr<UserCredentials> CredentialsById(const std::string& user_id) = 0;
  // ListUsers returns up to `limit` non-deleted users after `after` in (created_at, id) order.
  virtual absl::StatusOr<std::vector<User>> ListUsers(const UserFilter& filter,
                                                      const absl::optional<Cursor>& after,
                                                      int limit) = 0;
  // UpdateUser applies the set fields. With `audit`, appends user.update (the names of the
  // fields set, never their values) in the same transaction. NOT_FOUND for an unknown or
  // deleted user.
  virtual absl::StatusOr<User> UpdateUser(const std::string& user_id, const UserPatch& patch,
                                          bool audit) = 0;
  // SetUserStatus changes the status; any status but active also revokes every live session
  // at `now`, in the same transaction. NOT_FOUND for an unknown or deleted user.
  virtual absl::StatusOr<User> SetUserStatus(const std::string& user_id, UserStatus status,
                                             absl::Time now) = 0;
  // DeleteUser soft-deletes the user and revokes their sessions. NOT_FOUND when unknown or
  // already deleted.
  virtual absl::Status DeleteUser(const std::string& user_id, absl::Time now) = 0;
  // SetPasswordHash replaces the hash; when `revoke_except_session` is set, every other live
  // session of the user is revoked at `now` in the same transaction. Returns how many were
  // revoked. With `audit`, appends user.change_password (how many sessions were revoked; no
  // hash) in the same transaction. NOT_FOUND for an unknown or deleted user.
  virtual absl::StatusOr<int> SetPasswordHash(
      const std::string& user_id, const std::string& password_hash,
      const absl::optional<std::string>& revoke_except_session, absl::Time now,
      bool audit) = 0;

  // E-mail verification.
  // CreateEmailVerification stores a token hash for the user's current e-mail. NOT_FOUND for
  // an unknown or deleted user.
  virtual absl::Status CreateEmailVerification(const std::string& user_id,
                                               const std::string& token_hash,
                                               absl::Time expires_at,
                                               const std::string& request_id, absl::Time now) = 0;
  // ConsumeEmailVerification marks the token used and the user's e-mail verified, once.
  // NOT_FOUND when the token is unknown, used, expired at `now`, or the e-mail changed since.
  virtual absl::StatusOr<User> ConsumeEmailVerification(const std::string& token_hash,
                                                        absl::Time now) = 0;

  // Login attempts.
  // BeginLoginAttempt serialises attempts for the e-mail (across replicas), applies
  // LoginLimits to the failures before start.now (in-flight ones included) and records the
  // attempt: in flight when admitted, else as throttled. Reads only failures (partial
  // indexes), never the successes of a busy account or address.
  virtual absl::StatusOr<LoginAdmission> BeginLoginAttempt(const LoginAttemptStart& start,
                                                           const LoginLimits& limits) = 0;
  // FinishLoginAttempt settles an in-flight attempt. `failure_reason` empty = success.
  virtual absl::Status FinishLoginAttempt(const std::string& attempt_id,
                                          const std::string& user_id,
                                          const std::string& failure_reason) = 0;
  // ListLoginAttempts returns up to `limit` attempts before `before`, newest first.
  virtual absl::StatusOr<std::vector<LoginAttempt>> ListLoginAttempts(
      const LoginAttemptFilter& filter, const absl::optional<Cursor>& before, int limit) = 0;

  // Sessions.
  // CreateSession inserts a session.
  virtual absl::StatusOr<Session> CreateSession(const NewSession& session) = 0;
  // CreateLoginSession inserts a session and settles the in-flight login attempt
  // `attempt_id` as a success, in one transaction: no session exists for an attempt still
  // counted as a failure, and a login pays one transaction less. NOT_FOUND when the attempt is
  // not in flight (nothing is written then).
  virtual absl::StatusOr<Session> CreateLoginSession(const NewSession& session,
                                                     const std::string& attempt_id) = 0;
  // LookupSession finds a session by token hash with its user's status and role grants in
  // one query; nullopt when no session has this hash.
  virtual absl::StatusOr<absl::optional<SessionLookup>> LookupSession(
      const std::string& token_hash) = 0;
  // LookupSessionAsync is LookupSession without blocking the calling thread: it returns at
  // once and `done` gets the result later on `caller.run_blocking`, under the caller's request
  // scope (//shared/db:read_batcher's ReadAsync). `done` must not throw.
  using SessionLookupDone = std::function<void(absl::StatusOr<absl::optional<SessionLookup>>)>;
  virtual void LookupSessionAsync(const std::string& token_hash, const AsyncCaller& caller,
                                  SessionLookupDone done) = 0;
  // TouchSession records use at `now` and moves the idle expiry, unless revoked meanwhile.
  virtual absl::Status TouchSession(const std::string& session_id, absl::Time now,
                                    absl::Time expires_at) = 0;
  // GetSession returns a session by id. NOT_FOUND when there is none.
  virtual absl::StatusOr<Session> GetSession(const std::string& session_id) = 0;
  // ListLiveSessions returns up to `limit` of the user's sessions neither revoked nor expired
  // at `now`, before `before` in (created_at, id) order, newest first.
  virtual absl::StatusOr<std::vector<Session>> ListLiveSessions(
      const std::string& user_id, absl::Time now, const absl::optional<Cursor>& before,
      int limit) = 0;
  // RevokeSession revokes a live session; with `audit`, appends session.revoke in the same
  // transaction. NOT_FOUND when there is none or it was revoked.
  virtual absl::Status RevokeSession(const std::string& session_id, absl::Time now,
                                     bool audit) = 0;
  // RevokeAllSessions revokes the user's live sessions except `except_session`; returns how
  // many. With `audit`, appends user.revoke_sessions (with that count) in the same
  // transaction.
  virtual absl::StatusOr<int> RevokeAllSessions(const std::string& user_id,
                                                const absl::optional<std::string>& except_session,
                                                absl::Time now, bool audit) = 0;
  // RotateSession revokes `old_session_id` and inserts `replacement` in one transaction.
  // NOT_FOUND when the old session is not live any more (a concurrent rotation won).
  virtual absl::StatusOr<Session> RotateSession(const std::string& old_session_id,
                                                const NewSession& replacement) = 0;

  // Accounts.
  // CreateAccount inserts an account and makes `member_user_id` its member; appends
  // account.create in the same transaction.
  virtual absl::StatusOr<Account> CreateAccount(const std::string& name,
                                                const std::string& member_user_id,
                                                absl::Time now) = 0;
  // GetAccount returns a non-deleted account. NOT_FOUND otherwise.
  virtual absl::StatusOr<Account> GetAccount(const std::string& account_id) = 0;
  // ListAccounts pages through non-deleted accounts in (created_at, id) order, only those
  // where `member_user_id` holds a role when it is set.
  virtual absl::StatusOr<std::vector<Account>> ListAccounts(
      const absl::optional<std::string>& member_user_id, const absl::optional<Cursor>& after,
      int limit) = 0;
  // UpdateAccount changes the set fields and appends account.update (before and after of the
  // fields set) in the same transaction. NOT_FOUND for an unknown or deleted account.
  virtual absl::StatusOr<Account> UpdateAccount(const std::string& account_id,
                                                const absl::optional<std::string>& name,
                                                const absl::optional<AccountStatus>& status) = 0;
  // IsAccountMember is true when the user holds any role scoped to the account.
  virtual absl::StatusOr<bool> IsAccountMember(const std::string& user_id,
                                               const std::string& account_id) = 0;

  // Roles.
  // CreateRole inserts a role and appends role.create in the same transaction. ALREADY_EXISTS
  // when the key is taken.
  virtual absl::StatusOr<Role> CreateRole(const std::string& key, const std::string& label) = 0;
  // ListRoles returns up to `limit` roles with keys after `after_key` ("" = from the first),
  // by key.
  virtual absl::StatusOr<std::vector<Role>> ListRoles(const std::string& after_key,
                                                      int limit) = 0;
  // AssignRole grants a role (returns the existing grant when present). NOT_FOUND when the
  // user (or it is deleted), the role or the account does not exist, with the message naming
  // the first missing one as its request field: "user_id", "role" or "account_id".
  virtual absl::StatusOr<RoleAssignment> AssignRole(const std::string& user_id,
                                                    const std::string& role,
                                                    const std::string& account_id,
                                                    const std::string& request_id) = 0;
  // RevokeRole removes a grant. NOT_FOUND when there was none: the message is "user_id",
  // "role" or "account_id" when that one does not exist (as AssignRole), else empty.
  virtual absl::Status RevokeRole(const std::string& user_id, const std::string& role,
                                  const std::string& account_id) = 0;
  // ListRoleAssignments returns up to `limit` grants filtered by user and/or account (empty =
  // any), after `after` in (created_at, id) order.
  virtual absl::StatusOr<std::vector<RoleAssignment>> ListRoleAssignments(
      const std::string& user_id, const std::string& account_id,
      const absl::optional<Cursor>& after, int limit) = 0;

  // Audit trail.
  // ListAuditEvents returns up to `limit` events of identity's trail matching `filter` with
  // seq below `before_seq` (0: from the newest), newest first.
  virtual absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) = 0;

  // Bootstrap.
  // EnsureAdmin creates the user with this e-mail and hash unless some user already exists
  // with it, and grants it the global admin role, unless any global admin exists already.
  // Serialised across replicas. Returns whether anything was created or granted.
  virtual absl::StatusOr<bool> EnsureAdmin(const std::string& email,
                                           const std::string& password_hash, absl::Time now) = 0;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_STORE_H_

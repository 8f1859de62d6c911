// The identity domain's value types: users, sessions, accounts, roles and login attempts as
// the domain and its storage exchange them. Plain structs; thread-compatible.
//
//   User user;
//   user.email = "ada@example.com";
//   user.status = UserStatus::kActive;
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_MODEL_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::identity {

enum class UserStatus { kActive, kSuspended, kDisabled };
enum class AccountStatus { kActive, kSuspended, kClosed };

// UserStatusName / AccountStatusName return the database spelling ("active", ...).
absl::string_view UserStatusName(UserStatus status);
absl::string_view AccountStatusName(AccountStatus status);
// ParseUserStatus / ParseAccountStatus invert them; nullopt for anything else.
absl::optional<UserStatus> ParseUserStatus(absl::string_view name);
absl::optional<AccountStatus> ParseAccountStatus(absl::string_view name);

inline constexpr absl::string_view kAdminRole = "admin";
inline constexpr absl::string_view kAuthorRole = "author";
inline constexpr absl::string_view kMemberRole = "member";

struct User {
  std::string id;
  std::string email;
  absl::optional<absl::Time> email_verified_at;
  std::string first_name;
  std::string last_name;
  std::string phone;
  UserStatus status = UserStatus::kActive;
  absl::Time created_at;
  absl::Time updated_at;
};

// What Login needs to check a password. Never leaves the domain.
struct UserCredentials {
  std::string user_id;
  std::string password_hash;  // empty: the user has no password and cannot log in
  UserStatus status = UserStatus::kActive;
  bool deleted = false;
};

struct RoleGrant {
  std::string role;
  std::string account_id;  // empty = global
};

struct Session {
  std::string id;
  std::string user_id;
  absl::Time created_at;
  absl::Time last_seen_at;
  absl::Time expires_at;           // sliding idle expiry, never past absolute_expires_at
  absl::Time absolute_expires_at;  // hard cap from login
  absl::optional<absl::Time> revoked_at;
  std::string ip_created;
  std::string user_agent_created;
};

// A session found by its token hash, with what ValidateSession decides on, in one read.
struct SessionLookup {
  Session session;
  UserStatus user_status = UserStatus::kActive;
  bool user_deleted = false;
  std::vector<RoleGrant> grants;
};

// What a caller is, as established from their session token.
struct Principal {
  std::string user_id;
  std::string session_id;
  std::vector<RoleGrant> grants;

  // IsAdmin is true for a global admin grant.
  bool IsAdmin() const;
  // HasGlobalRole is true for a grant of `role` without account scope.
  bool HasGlobalRole(absl::string_view role) const;
};

struct Account {
  std::string id;
  std::string name;
  AccountStatus status = AccountStatus::kActive;
  absl::Time created_at;
  absl::Time updated_at;
};

struct Role {
  std::string key;
  std::string label;
  absl::Time created_at;
};

struct RoleAssignment {
  std::string id;
  std::string user_id;
  std::string role;
  std::string account_id;  // empty = global
  absl::Time created_at;
};

struct LoginAttempt {
  std::string id;
  std::string email;
  std::string user_id;  // empty when the e-mail matched no user
  std::string ip;
  std::string user_agent;
  bool success = false;
  std::string failure_reason;
  std::string request_id;
  absl::Time created_at;
};

// Failure reasons of login_attempts (the CHECK constraint of the migration lists them).
inline constexpr absl::string_view kAttemptInFlight = "in_flight";
inline constexpr absl::string_view kAttemptInvalidCredentials = "invalid_credentials";
inline constexpr absl::string_view kAttemptUserInactive = "user_inactive";
inline constexpr absl::string_view kAttemptThrottled = "throttled";
inline constexpr absl::string_view kAttemptOverloaded = "overloaded";

// A position in a keyset-paginated listing: the last row's (created_at, id).
struct Cursor {
  absl::Time created_at;
  std::string id;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_MODEL_H_

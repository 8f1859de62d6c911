// PgIdentityStore: the identity domain's IdentityStore over PostgreSQL (schema `identity`),
// through shared/db's pool and transaction runner. The only SQL of the identity service.
//
//   SUITE_ASSIGN_OR_RETURN(auto pool, suite::db::ConnectionPool::Create(config));
//   SUITE_ASSIGN_OR_RETURN(auto store, PgIdentityStore::Create(pool.get()));
//   Identity identity(store.get(), hasher.get(), &clock, options);
//
// Times are passed to and read from PostgreSQL as Unix microseconds, so the domain's clock
// (a fake one in tests) decides session expiry and the login throttling window. Error codes
// are those documented on IdentityStore; no exception escapes. Thread-safe.
#ifndef SUITE_SERVICES_IDENTITY_STORAGE_PG_STORE_H_
#define SUITE_SERVICES_IDENTITY_STORAGE_PG_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/identity/domain/store.h"
#include "shared/db/pool.h"
#include "shared/db/read_batcher.h"

namespace suite::identity {

class PgIdentityStore : public IdentityStore {
 public:
  // Create registers the store's statements with `pool` (not owned; must outlive the store).
  // Returns ALREADY_EXISTS if another component registered one of the names with other SQL.
  static absl::StatusOr<std::unique_ptr<PgIdentityStore>> Create(suite::db::ConnectionPool* pool);

  absl::StatusOr<User> CreateUser(const NewUser& user) override;
  absl::StatusOr<User> GetUser(const std::string& user_id) override;
  absl::StatusOr<absl::optional<UserCredentials>> FindCredentials(
      const std::string& email) override;
  absl::StatusOr<UserCredentials> CredentialsById(const std::string& user_id) override;
  absl::StatusOr<std::vector<User>> ListUsers(const UserFilter& filter,
                                              const absl::optional<Cursor>& after,
                                              int limit) override;
  absl::StatusOr<User> UpdateUser(const std::string& user_id, const UserPatch& patch,
                                  bool audit) override;
  absl::StatusOr<User> SetUserStatus(const std::string& user_id, UserStatus status,
                                     absl::Time now) override;
  absl::Status DeleteUser(const std::string& user_id, absl::Time now) override;
  absl::StatusOr<int> SetPasswordHash(const std::string& user_id,
                                      const std::string& password_hash,
                                      const absl::optional<std::string>& revoke_except_session,
                                      absl::Time now, bool audit) override;
  absl::Status CreateEmailVerification(const std::string& user_id,
                                       const std::string& token_hash, absl::Time expires_at,
                                       const std::string& request_id, absl::Time now) override;
  absl::StatusOr<User> ConsumeEmailVerification(const std::string& token_hash,
                                                absl::Time now) override;
  absl::StatusOr<LoginAdmission> BeginLoginAttempt(const LoginAttemptStart& start,
                                                   const LoginLimits& limits) override;
  absl::Status FinishLoginAttempt(const std::string& attempt_id, const std::string& user_id,
                                  const std::string& failure_reason) override;
  absl::StatusOr<std::vector<LoginAttempt>> ListLoginAttempts(const LoginAttemptFilter& filter,
                                                              const absl::optional<Cursor>& before,
                                                              int limit) override;
  absl::StatusOr<Session> CreateSession(const NewSession& session) override;
  absl::StatusOr<Session> CreateLoginSession(const NewSession& session,
                                             const std::string& attempt_id) override;
  absl::StatusOr<absl::optional<SessionLookup>> LookupSession(
      const std::string& token_hash) override;
  void LookupSessionAsync(const std::string& token_hash, const AsyncCaller& caller,
                          SessionLookupDone done) override;
  absl::Status TouchSession(const std::string& session_id, absl::Time now,
                            absl::Time expires_at) override;
  absl::StatusOr<Session> GetSession(const std::string& session_id) override;
  absl::StatusOr<std::vector<Session>> ListLiveSessions(const std::string& user_id,
                                                        absl::Time now,
                                                        const absl::optional<Cursor>& before,
                                                        int limit) override;
  absl::Status RevokeSession(const std::string& session_id, absl::Time now,
                             bool audit) override;
  absl::StatusOr<int> RevokeAllSessions(const std::string& user_id,
                                        const absl::optional<std::string>& except_session,
                                        absl::Time now, bool audit) override;
  absl::StatusOr<Session> RotateSession(const std::string& old_session_id,
                                        const NewSession& replacement) override;
  absl::StatusOr<Account> CreateAccount(const std::string& name,
                                        const std::string& member_user_id,
                                        absl::Time now) override;
  absl::StatusOr<Account> GetAccount(const std::string& account_id) override;
  absl::StatusOr<std::vector<Account>> ListAccounts(
      const absl::optional<std::string>& member_user_id, const absl::optional<Cursor>& after,
      int limit) override;
  absl::StatusOr<Account> UpdateAccount(const std::string& account_id,
                                        const absl::optional<std::string>& name,
                                        const absl::optional<AccountStatus>& status) override;
  absl::StatusOr<bool> IsAccountMember(const std::string& user_id,
                                       const std::string& account_id) override;
  absl::StatusOr<Role> CreateRole(const std::string& key, const std::string& label) override;
  absl::StatusOr<std::vector<Role>> ListRoles(const std::string& after_key, int limit) override;
  absl::StatusOr<RoleAssignment> AssignRole(const std::string& user_id, const std::string& role,
                                            const std::string& account_id,
                                            const std::string& request_id) override;
  absl::Status RevokeRole(const std::string& user_id, const std::string& role,
                          const std::string& account_id) override;
  absl::StatusOr<std::vector<RoleAssignment>> ListRoleAssignments(
      const std::string& user_id, const std::string& account_id,
      const absl::optional<Cursor>& after, int limit) override;
  absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> ListAuditEvents(
      const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) override;
  absl::StatusOr<bool> EnsureAdmin(const std::string& email, const std::string& password_hash,
                                   absl::Time now) override;

  // How ValidateSession's lookups were batched so far (for /metrics).
  suite::db::ReadBatcherStats SessionLookupStats() const { return session_lookups_.Stats(); }

 private:
  using SessionLookups = suite::db::ReadBatcher<SessionLookup>;

  explicit PgIdentityStore(suite::db::ConnectionPool* pool);
  // One statement for the token hashes of concurrent ValidateSession calls (ReadBatcher).
  absl::StatusOr<SessionLookups::ValueMap> LookupSessions(
      const std::vector<std::string>& token_hashes);

  suite::db::ConnectionPool* const pool_;
  SessionLookups session_lookups_;
};

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_STORAGE_PG_STORE_H_

#include "services/identity/storage/pg_store.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pqxx/pqxx"
#include "services/identity/storage/statements.h"
#include "shared/base/status_macros.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"
#include "shared/db/transaction.h"

namespace suite::identity {
namespace {

using suite::db::RunInTransaction;
using suite::db::Transaction;
using suite::db::AutocommitRead;
using suite::db::ReadOnly;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
// A keyset page's cursor as statement parameters: the id must still parse as a uuid when
// there is no cursor (the has_cursor parameter then disables the comparison).
int64_t CursorMicros(const absl::optional<Cursor>& cursor) {
  return cursor ? Micros(cursor->created_at) : 0;
}
std::string CursorId(const absl::optional<Cursor>& cursor) {
  return cursor ? cursor->id : "00000000-0000-0000-0000-000000000000";
}
absl::Time TimeOf(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }
absl::optional<absl::Time> MaybeTimeOf(const pqxx::field& f) {
  if (f.is_null()) return absl::nullopt;
  return TimeOf(f);
}

User UserOf(const pqxx::row& r) {
  User u;
  u.id = r[0].as<std::string>();
  u.email = r[1].as<std::string>();
  u.email_verified_at = MaybeTimeOf(r[2]);
  u.first_name = r[3].as<std::string>();
  u.last_name = r[4].as<std::string>();
  u.phone = r[5].as<std::string>();
  u.status = ParseUserStatus(r[6].as<std::string>()).value_or(UserStatus::kDisabled);
  u.created_at = TimeOf(r[7]);
  u.updated_at = TimeOf(r[8]);
  return u;
}

Session SessionOf(const pqxx::row& r) {
  Session s;
  s.id = r[0].as<std::string>();
  s.user_id = r[1].as<std::string>();
  s.created_at = TimeOf(r[2]);
  s.last_seen_at = TimeOf(r[3]);
  s.expires_at = TimeOf(r[4]);
  s.absolute_expires_at = TimeOf(r[5]);
  s.revoked_at = MaybeTimeOf(r[6]);
  s.ip_created = r[7].as<std::string>();
  s.user_agent_created = r[8].as<std::string>();
  return s;
}

Account AccountOf(const pqxx::row& r) {
  Account a;
  a.id = r[0].as<std::string>();
  a.name = r[1].as<std::string>();
  a.status = ParseAccountStatus(r[2].as<std::string>()).value_or(AccountStatus::kClosed);
  a.created_at = TimeOf(r[3]);
  a.updated_at = TimeOf(r[4]);
  return a;
}

RoleAssignment AssignmentOf(const pqxx::row& r) {
  return RoleAssignment{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), TimeOf(r[4])};
}

UserCredentials CredentialsOf(const pqxx::row& r) {
  UserCredentials c;
  c.user_id = r[0].as<std::string>();
  c.password_hash = r[1].as<std::string>();
  c.status = ParseUserStatus(r[2].as<std::string>()).value_or(UserStatus::kDisabled);
  c.deleted = r[3].as<bool>();
  return c;
}

// The 64-bit advisory lock key of an e-mail's login attempts.
std::string EmailLockKey(const std::string& email) {
  return absl::StrCat("identity.login.email:", email);
}

// LikePrefix is the LIKE pattern of the strings that start with `prefix` (with %, _ and the
// backslash escaped), or "" for no prefix.
std::string LikePrefix(absl::string_view prefix) {
  if (prefix.empty()) return "";
  std::string pattern;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  return pattern;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgIdentityStore>> PgIdentityStore::Create(
    suite::db::ConnectionPool* pool) {
  SUITE_RETURN_IF_ERROR(RegisterStatements(*pool));
  return std::unique_ptr<PgIdentityStore>(new PgIdentityStore(pool));
}

PgIdentityStore::PgIdentityStore(suite::db::ConnectionPool* pool)
    : pool_(pool),
      session_lookups_({},
                       [this](const std::vector<std::string>& token_hashes) {
                         return LookupSessions(token_hashes);
                       }) {}

// ---------------------------------------------------------------------------------------------
// Users

absl::StatusOr<User> PgIdentityStore::CreateUser(const NewUser& user) {
  return RunInTransaction<User>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<User> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                           tx.ExecOne("identity_user_insert", user.email, user.password_hash,
                                      user.first_name, user.last_name, user.phone));
    User created = UserOf(row);
    SUITE_RETURN_IF_ERROR(
        tx.Exec("identity_grant_global", created.id, std::string(kMemberRole)).status());
    return created;
  });
}

absl::StatusOr<User> PgIdentityStore::GetUser(const std::string& user_id) {
  return RunInTransaction<User>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<User> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_user_get", user_id));
    return UserOf(row);
  });
}

absl::StatusOr<absl::optional<UserCredentials>> PgIdentityStore::FindCredentials(
    const std::string& email) {
  using Result = absl::optional<UserCredentials>;
  // One statement: autocommit, one round trip (Login's hot path).
  return RunInTransaction<Result>(
      *pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<Result> {
        SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> row,
                               tx.ExecMaybeOne("identity_credentials_by_email", email));
        if (!row) return Result();
        return Result(CredentialsOf(*row));
      });
}

absl::StatusOr<UserCredentials> PgIdentityStore::CredentialsById(const std::string& user_id) {
  return RunInTransaction<UserCredentials>(
      *pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<UserCredentials> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_credentials_by_id", user_id));
        return CredentialsOf(row);
      });
}

absl::StatusOr<std::vector<User>> PgIdentityStore::ListUsers(const UserFilter& filter,
                                                             const absl::optional<Cursor>& after,
                                                             int limit) {
  using Result = std::vector<User>;
  const std::string status = filter.status ? std::string(UserStatusName(*filter.status)) : "";
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                           tx.Exec("identity_users_list", status, LikePrefix(filter.email_prefix),
                                   after.has_value(), CursorMicros(after), CursorId(after), limit));
    Result users;
    for (const pqxx::row& r : rows) users.push_back(UserOf(r));
    return users;
  });
}

absl::StatusOr<User> PgIdentityStore::UpdateUser(const std::string& user_id,
                                                 const UserPatch& patch, bool audit) {
  return RunInTransaction<User>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<User> {
    SUITE_ASSIGN_OR_RETURN(
        pqxx::row row,
        tx.ExecOne("identity_user_update", user_id, patch.first_name.has_value(),
                   patch.first_name.value_or(""), patch.last_name.has_value(),
                   patch.last_name.value_or(""), patch.phone.has_value(),
                   patch.phone.value_or("")));
    if (audit) {
      // The names of the fields set, not their values: the trail is kept for years and can
      // never be edited, so it holds no personal data that a deletion request would need
      // to reach.
      nlohmann::json fields = nlohmann::json::array();
      if (patch.first_name) fields.push_back("first_name");
      if (patch.last_name) fields.push_back("last_name");
      if (patch.phone) fields.push_back("phone");
      SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
          tx, "identity", {"user.update", "user", user_id, nullptr, {{"fields", fields}}}));
    }
    return UserOf(row);
  });
}

absl::StatusOr<User> PgIdentityStore::SetUserStatus(const std::string& user_id,
                                                    UserStatus status, absl::Time now) {
  return RunInTransaction<User>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<User> {
    SUITE_ASSIGN_OR_RETURN(
        pqxx::row row,
        tx.ExecOne("identity_user_set_status", user_id, std::string(UserStatusName(status))));
    if (status != UserStatus::kActive) {
      SUITE_RETURN_IF_ERROR(
          tx.Exec("identity_user_sessions_revoke", user_id, Micros(now), std::string())
              .status());
    }
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, "identity",
        {"user.set_status", "user", user_id, nullptr, {{"status", std::string(UserStatusName(status))}}}));
    return UserOf(row);
  });
}

absl::Status PgIdentityStore::DeleteUser(const std::string& user_id, absl::Time now) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    SUITE_RETURN_IF_ERROR(tx.ExecOne("identity_user_delete", user_id).status());
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, "identity", {"user.delete", "user", user_id, nullptr, {{"deleted", true}}}));
    return tx.Exec("identity_user_sessions_revoke", user_id, Micros(now), std::string())
        .status();
  });
}

absl::StatusOr<int> PgIdentityStore::SetPasswordHash(
    const std::string& user_id, const std::string& password_hash,
    const absl::optional<std::string>& revoke_except_session, absl::Time now, bool audit) {
  return RunInTransaction<int>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<int> {
    SUITE_RETURN_IF_ERROR(tx.ExecOne("identity_user_set_hash", user_id, password_hash).status());
    int revoked = 0;
    if (revoke_except_session) {
      SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                             tx.Exec("identity_user_sessions_revoke", user_id, Micros(now),
                                     *revoke_except_session));
      revoked = static_cast<int>(rows.size());
    }
    if (audit) {
      // That the password changed and what it ended; never a hash or a password.
      SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
          tx, "identity",
          {"user.change_password", "user", user_id, nullptr, {{"revoked_sessions", revoked}}}));
    }
    return revoked;
  });
}

// ---------------------------------------------------------------------------------------------
// E-mail verification

absl::Status PgIdentityStore::CreateEmailVerification(const std::string& user_id,
                                                      const std::string& token_hash,
                                                      absl::Time expires_at,
                                                      const std::string& request_id,
                                                      absl::Time now) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    return tx
        .ExecOne("identity_email_verification_insert", user_id, token_hash, Micros(expires_at),
                 request_id, Micros(now))
        .status();
  });
}

absl::StatusOr<User> PgIdentityStore::ConsumeEmailVerification(const std::string& token_hash,
                                                               absl::Time now) {
  return RunInTransaction<User>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<User> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row consumed, tx.ExecOne("identity_email_verification_consume",
                                                          token_hash, Micros(now)));
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_user_mark_verified",
                                                     consumed[0].as<std::string>(), Micros(now)));
    return UserOf(row);
  });
}

// ---------------------------------------------------------------------------------------------
// Login attempts

absl::StatusOr<LoginAdmission> PgIdentityStore::BeginLoginAttempt(const LoginAttemptStart& start,
                                                                  const LoginLimits& limits) {
  const int pair_limit = limits.FailuresToReachMaxDelay();
  return RunInTransaction<LoginAdmission>(
      *pool_, {}, [&](Transaction& tx) -> absl::StatusOr<LoginAdmission> {
        // A transaction-scoped advisory lock serialises every attempt for this e-mail across
        // all replicas until COMMIT, so the counts below and the insert of this attempt are
        // atomic for the pair and the account. The IP's count is not locked: being over its
        // limit only takes the free failures away from pairs that already failed, so an
        // overshoot by concurrent attempts is harmless, and a busy address is not a queue.
        SUITE_RETURN_IF_ERROR(tx.Exec("identity_login_lock", EmailLockKey(start.email)).status());
        SUITE_ASSIGN_OR_RETURN(
            pqxx::row failures,
            tx.ExecOne("identity_login_failures", start.email, start.ip,
                       Micros(start.now - limits.pair_window), pair_limit,
                       Micros(start.now - limits.window), limits.max_failures_per_email,
                       limits.max_failures_per_ip));
        const int pair_failures = failures[0].as<int>();
        const bool hot = failures[2].as<int>() >= limits.max_failures_per_email ||
                         failures[3].as<int>() >= limits.max_failures_per_ip;
        LoginAdmission admission;
        admission.admitted =
            pair_failures == 0 ||
            start.now >= TimeOf(failures[1]) + limits.PairDelay(pair_failures, hot);
        // A refused attempt is recorded too (as a failure of the pair): guessing on while
        // refused doubles the wait, up to max_delay, and it ends on its own once it stops.
        const std::string reason =
            std::string(admission.admitted ? kAttemptInFlight : kAttemptThrottled);
        SUITE_ASSIGN_OR_RETURN(pqxx::row inserted,
                               tx.ExecOne("identity_login_insert", start.email, start.ip,
                                          start.user_agent, reason, start.request_id,
                                          Micros(start.now)));
        if (admission.admitted) {
          admission.attempt_id = inserted[0].as<std::string>();
        } else {
          // This refused attempt is now the pair's newest failure.
          admission.retry_after =
              limits.PairDelay(std::min(pair_failures + 1, pair_limit), hot);
        }
        return admission;
      });
}

absl::Status PgIdentityStore::FinishLoginAttempt(const std::string& attempt_id,
                                                 const std::string& user_id,
                                                 const std::string& failure_reason) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    return tx.ExecOne("identity_login_finish", attempt_id, user_id, failure_reason).status();
  });
}

absl::StatusOr<std::vector<LoginAttempt>> PgIdentityStore::ListLoginAttempts(
    const LoginAttemptFilter& filter, const absl::optional<Cursor>& before, int limit) {
  using Result = std::vector<LoginAttempt>;
  const std::string success = filter.success ? (*filter.success ? "1" : "0") : "";
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    // The shared filters follow the shape's own (statements.cc's AttemptListFilters).
    auto list = [&](const char* statement, const auto&... shape) {
      return tx.Exec(statement, shape..., success, filter.start_time.has_value(),
                     filter.start_time ? Micros(*filter.start_time) : int64_t{0},
                     filter.end_time.has_value(),
                     filter.end_time ? Micros(*filter.end_time) : int64_t{0}, before.has_value(),
                     CursorMicros(before), CursorId(before), limit);
    };
    absl::StatusOr<pqxx::result> listed =
        !filter.email.empty() ? list("identity_login_by_email_list", filter.email, filter.ip)
        : !filter.ip.empty()  ? list("identity_login_by_ip_list", filter.ip)
                              : list("identity_login_list");
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows, std::move(listed));
    Result attempts;
    for (const pqxx::row& r : rows) {
      LoginAttempt a;
      a.id = r[0].as<std::string>();
      a.email = r[1].as<std::string>();
      a.user_id = r[2].as<std::string>();
      a.ip = r[3].as<std::string>();
      a.user_agent = r[4].as<std::string>();
      a.success = r[5].as<bool>();
      a.failure_reason = r[6].as<std::string>();
      a.request_id = r[7].as<std::string>();
      a.created_at = TimeOf(r[8]);
      attempts.push_back(std::move(a));
    }
    return attempts;
  });
}

// ---------------------------------------------------------------------------------------------
// Sessions

namespace {
absl::StatusOr<Session> InsertSession(Transaction& tx, const NewSession& s) {
  SUITE_ASSIGN_OR_RETURN(
      pqxx::row row,
      tx.ExecOne("identity_session_insert", s.user_id, s.token_hash, Micros(s.now),
                 Micros(s.expires_at), Micros(s.absolute_expires_at), s.ip, s.user_agent,
                 s.request_id));
  return SessionOf(row);
}
}  // namespace

absl::StatusOr<Session> PgIdentityStore::CreateSession(const NewSession& session) {
  return RunInTransaction<Session>(*pool_, {}, [&](Transaction& tx) {
    return InsertSession(tx, session);
  });
}

absl::StatusOr<Session> PgIdentityStore::CreateLoginSession(const NewSession& session,
                                                            const std::string& attempt_id) {
  return RunInTransaction<Session>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<Session> {
    SUITE_ASSIGN_OR_RETURN(Session stored, InsertSession(tx, session));
    SUITE_RETURN_IF_ERROR(
        tx.ExecOne("identity_login_finish", attempt_id, session.user_id, std::string()).status());
    return stored;
  });
}

absl::StatusOr<absl::optional<SessionLookup>> PgIdentityStore::LookupSession(
    const std::string& token_hash) {
  return session_lookups_.Read(token_hash);
}

void PgIdentityStore::LookupSessionAsync(const std::string& token_hash, const AsyncCaller& caller,
                                         SessionLookupDone done) {
  session_lookups_.ReadAsync(token_hash, caller, std::move(done));
}

absl::StatusOr<PgIdentityStore::SessionLookups::ValueMap> PgIdentityStore::LookupSessions(
    const std::vector<std::string>& token_hashes) {
  using Result = SessionLookups::ValueMap;
  return RunInTransaction<Result>(*pool_, AutocommitRead(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                           suite::db::ExecBatched(tx, kSessionLookupStatement, token_hashes));
    Result found;
    for (const pqxx::row& row : rows) {
      SessionLookup& lookup = found[row[row.size() - 1].as<std::string>()];
      lookup.session = SessionOf(row);
      lookup.user_status = ParseUserStatus(row[9].as<std::string>()).value_or(UserStatus::kDisabled);
      lookup.user_deleted = row[10].as<bool>();
      const std::string grants = row[11].as<std::string>();
      if (!grants.empty()) {
        for (absl::string_view grant : absl::StrSplit(grants, ',')) {
          std::pair<std::string, std::string> parts = absl::StrSplit(grant, absl::MaxSplits(':', 1));
          lookup.grants.push_back(RoleGrant{parts.first, parts.second});
        }
      }
    }
    return found;
  });
}

absl::Status PgIdentityStore::TouchSession(const std::string& session_id, absl::Time now,
                                           absl::Time expires_at) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    return tx.Exec("identity_session_touch", session_id, Micros(now), Micros(expires_at))
        .status();
  });
}

absl::StatusOr<Session> PgIdentityStore::GetSession(const std::string& session_id) {
  return RunInTransaction<Session>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Session> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_session_get", session_id));
    return SessionOf(row);
  });
}

absl::StatusOr<std::vector<Session>> PgIdentityStore::ListLiveSessions(
    const std::string& user_id, absl::Time now, const absl::optional<Cursor>& before, int limit) {
  using Result = std::vector<Session>;
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(
        pqxx::result rows,
        tx.Exec("identity_sessions_live", user_id, Micros(now), before.has_value(),
                CursorMicros(before), CursorId(before), limit));
    Result sessions;
    for (const pqxx::row& r : rows) sessions.push_back(SessionOf(r));
    return sessions;
  });
}

absl::Status PgIdentityStore::RevokeSession(const std::string& session_id, absl::Time now,
                                            bool audit) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                           tx.ExecOne("identity_session_revoke", session_id, Micros(now)));
    if (!audit) return absl::OkStatus();
    return suite::db::audit::AppendAudit(
        tx, "identity",
        {"session.revoke", "session", session_id, nullptr,
         {{"user_id", row[1].as<std::string>()}}});
  });
}

absl::StatusOr<int> PgIdentityStore::RevokeAllSessions(
    const std::string& user_id, const absl::optional<std::string>& except_session,
    absl::Time now, bool audit) {
  return RunInTransaction<int>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<int> {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows,
                           tx.Exec("identity_user_sessions_revoke", user_id, Micros(now),
                                   except_session.value_or("")));
    const int revoked = static_cast<int>(rows.size());
    if (audit) {
      SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
          tx, "identity",
          {"user.revoke_sessions", "user", user_id, nullptr, {{"revoked_sessions", revoked}}}));
    }
    return revoked;
  });
}

absl::StatusOr<Session> PgIdentityStore::RotateSession(const std::string& old_session_id,
                                                       const NewSession& replacement) {
  return RunInTransaction<Session>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<Session> {
    // Revoking first makes two concurrent rotations of one session produce one new session:
    // the second finds the old one revoked and gets NOT_FOUND.
    SUITE_RETURN_IF_ERROR(
        tx.ExecOne("identity_session_revoke_live", old_session_id, Micros(replacement.now))
            .status());
    return InsertSession(tx, replacement);
  });
}

// ---------------------------------------------------------------------------------------------
// Accounts

absl::StatusOr<Account> PgIdentityStore::CreateAccount(const std::string& name,
                                                       const std::string& member_user_id,
                                                       absl::Time now) {
  return RunInTransaction<Account>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<Account> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_account_insert", name));
    Account account = AccountOf(row);
    SUITE_RETURN_IF_ERROR(tx.Exec("identity_grant_scoped", member_user_id,
                                  std::string(kMemberRole), account.id)
                              .status());
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, "identity",
        {"account.create", "account", account.id, nullptr,
         {{"name", account.name},
          {"status", std::string(AccountStatusName(account.status))},
          {"member_user_id", member_user_id}}}));
    return account;
  });
}

absl::StatusOr<Account> PgIdentityStore::GetAccount(const std::string& account_id) {
  return RunInTransaction<Account>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Account> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_account_get", account_id));
    return AccountOf(row);
  });
}

absl::StatusOr<std::vector<Account>> PgIdentityStore::ListAccounts(
    const absl::optional<std::string>& member_user_id, const absl::optional<Cursor>& after,
    int limit) {
  using Result = std::vector<Account>;
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(
        pqxx::result rows,
        tx.Exec("identity_accounts_list", member_user_id.value_or(""), after.has_value(),
                CursorMicros(after), CursorId(after), limit));
    Result accounts;
    for (const pqxx::row& r : rows) accounts.push_back(AccountOf(r));
    return accounts;
  });
}

absl::StatusOr<Account> PgIdentityStore::UpdateAccount(
    const std::string& account_id, const absl::optional<std::string>& name,
    const absl::optional<AccountStatus>& status) {
  const std::string status_name = status ? std::string(AccountStatusName(*status)) : "";
  return RunInTransaction<Account>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<Account> {
    // The row as it was, locked, so the trail's "before" is what this update replaced.
    SUITE_ASSIGN_OR_RETURN(pqxx::row old_row,
                           tx.ExecOne("identity_account_get_for_update", account_id));
    const Account before = AccountOf(old_row);
    SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                           tx.ExecOne("identity_account_update", account_id, name.has_value(),
                                      name.value_or(""), status_name));
    Account after = AccountOf(row);
    nlohmann::json was = nlohmann::json::object(), is = nlohmann::json::object();
    if (name) {
      was["name"] = before.name;
      is["name"] = after.name;
    }
    if (status) {
      was["status"] = std::string(AccountStatusName(before.status));
      is["status"] = std::string(AccountStatusName(after.status));
    }
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, "identity", {"account.update", "account", account_id, was, is}));
    return after;
  });
}

absl::StatusOr<bool> PgIdentityStore::IsAccountMember(const std::string& user_id,
                                                      const std::string& account_id) {
  return RunInTransaction<bool>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<bool> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                           tx.ExecOne("identity_account_member", user_id, account_id));
    return row[0].as<bool>();
  });
}

// ---------------------------------------------------------------------------------------------
// Roles

absl::StatusOr<Role> PgIdentityStore::CreateRole(const std::string& key,
                                                 const std::string& label) {
  return RunInTransaction<Role>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<Role> {
    SUITE_ASSIGN_OR_RETURN(pqxx::row row, tx.ExecOne("identity_role_insert", key, label));
    SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
        tx, "identity", {"role.create", "role", key, nullptr, {{"label", label}}}));
    return Role{row[0].as<std::string>(), row[1].as<std::string>(), TimeOf(row[2])};
  });
}

absl::StatusOr<std::vector<Role>> PgIdentityStore::ListRoles(const std::string& after_key,
                                                             int limit) {
  using Result = std::vector<Role>;
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("identity_roles_list", after_key, limit));
    Result roles;
    for (const pqxx::row& r : rows) {
      roles.push_back(Role{r[0].as<std::string>(), r[1].as<std::string>(), TimeOf(r[2])});
    }
    return roles;
  });
}

namespace {

// MissingRoleRef is NOT_FOUND naming the first of user_id, role and account_id that
// identity_role_refs found missing, or OK when all exist.
absl::Status MissingRoleRef(const pqxx::row& refs) {
  if (!refs[0].as<bool>()) return absl::NotFoundError("user_id");
  if (!refs[1].as<bool>()) return absl::NotFoundError("role");
  if (!refs[2].as<bool>()) return absl::NotFoundError("account_id");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RoleAssignment> PgIdentityStore::AssignRole(const std::string& user_id,
                                                           const std::string& role,
                                                           const std::string& account_id,
                                                           const std::string& request_id) {
  return RunInTransaction<RoleAssignment>(
      *pool_, {}, [&](Transaction& tx) -> absl::StatusOr<RoleAssignment> {
        SUITE_ASSIGN_OR_RETURN(pqxx::row refs,
                               tx.ExecOne("identity_role_refs", user_id, role, account_id));
        SUITE_RETURN_IF_ERROR(MissingRoleRef(refs));
        SUITE_ASSIGN_OR_RETURN(
            absl::optional<pqxx::row> row,
            tx.ExecMaybeOne("identity_role_assign", user_id, role, account_id, request_id));
        if (!row) {  // already granted: return the existing grant
          SUITE_ASSIGN_OR_RETURN(
              pqxx::row existing,
              tx.ExecOne("identity_role_assignment_find", user_id, role, account_id));
          return AssignmentOf(existing);
        }
        SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
            tx, "identity",
            {"role.assign", "user", user_id, nullptr,
             {{"role", role}, {"account_id", account_id}}}));
        return AssignmentOf(*row);
      });
}

absl::Status PgIdentityStore::RevokeRole(const std::string& user_id, const std::string& role,
                                         const std::string& account_id) {
  return RunInTransaction(*pool_, {}, [&](Transaction& tx) -> absl::Status {
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> revoked,
                           tx.ExecMaybeOne("identity_role_revoke", user_id, role, account_id));
    if (revoked) {
      return suite::db::audit::AppendAudit(
          tx, "identity",
          {"role.revoke", "user", user_id, {{"role", role}, {"account_id", account_id}}, nullptr});
    }
    // No such grant: say which reference is wrong, if one is.
    SUITE_ASSIGN_OR_RETURN(pqxx::row refs,
                           tx.ExecOne("identity_role_refs", user_id, role, account_id));
    SUITE_RETURN_IF_ERROR(MissingRoleRef(refs));
    return absl::NotFoundError("");
  });
}

absl::StatusOr<std::vector<RoleAssignment>> PgIdentityStore::ListRoleAssignments(
    const std::string& user_id, const std::string& account_id,
    const absl::optional<Cursor>& after, int limit) {
  using Result = std::vector<RoleAssignment>;
  return RunInTransaction<Result>(*pool_, ReadOnly(), [&](Transaction& tx) -> absl::StatusOr<Result> {
    // The page follows the shape's own filters (statements.cc's KeysetPage).
    auto list = [&](const char* statement, const auto&... shape) {
      return tx.Exec(statement, shape..., after.has_value(), CursorMicros(after), CursorId(after),
                     limit);
    };
    absl::StatusOr<pqxx::result> found =
        user_id.empty() && account_id.empty()
            ? list("identity_role_assignments_all_list")
        : account_id.empty() ? list("identity_role_assignments_by_user_list", user_id)
        : user_id.empty()    ? list("identity_role_assignments_by_account_list", account_id)
                             : list("identity_role_assignments_by_user_account_list", user_id,
                                    account_id);
    SUITE_ASSIGN_OR_RETURN(pqxx::result rows, std::move(found));
    Result assignments;
    for (const pqxx::row& r : rows) assignments.push_back(AssignmentOf(r));
    return assignments;
  });
}

// ---------------------------------------------------------------------------------------------
// Audit trail

absl::StatusOr<std::vector<suite::db::audit::AuditEvent>> PgIdentityStore::ListAuditEvents(
    const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) {
  return suite::db::audit::ListAuditEvents(*pool_, "identity", filter, before_seq, limit);
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

absl::StatusOr<bool> PgIdentityStore::EnsureAdmin(const std::string& email,
                                                  const std::string& password_hash,
                                                  absl::Time now) {
  return RunInTransaction<bool>(*pool_, {}, [&](Transaction& tx) -> absl::StatusOr<bool> {
    // Replicas starting together take turns; the first one creates the admin.
    SUITE_RETURN_IF_ERROR(
        tx.Exec("identity_login_lock", std::string("identity.bootstrap_admin")).status());
    SUITE_ASSIGN_OR_RETURN(pqxx::row exists, tx.ExecOne("identity_admin_exists"));
    if (exists[0].as<bool>()) return false;
    SUITE_ASSIGN_OR_RETURN(absl::optional<pqxx::row> existing,
                           tx.ExecMaybeOne("identity_user_by_email_for_update", email));
    std::string user_id;
    if (existing) {
      // Someone registered the operator's address first: the operator's password replaces
      // theirs and their sessions end, so only the operator holds the new admin.
      user_id = (*existing)[0].as<std::string>();
      SUITE_RETURN_IF_ERROR(tx.ExecOne("identity_user_set_hash", user_id, password_hash).status());
      SUITE_RETURN_IF_ERROR(
          tx.Exec("identity_user_sessions_revoke", user_id, Micros(now), std::string()).status());
    } else {
      SUITE_ASSIGN_OR_RETURN(pqxx::row row,
                             tx.ExecOne("identity_user_insert", email, password_hash,
                                        std::string(), std::string(), std::string()));
      user_id = row[0].as<std::string>();
    }
    SUITE_RETURN_IF_ERROR(
        tx.Exec("identity_grant_global", user_id, std::string(kMemberRole)).status());
    SUITE_RETURN_IF_ERROR(
        tx.Exec("identity_grant_global", user_id, std::string(kAdminRole)).status());
    return true;
  });
}

}  // namespace suite::identity

#include "services/identity/storage/statements.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"

namespace suite::identity {
namespace {

// Times cross the boundary as Unix microseconds: $n → timestamptz, and column → bigint.
std::string Ts(int n) {
  return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')");
}
std::string Us(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}

// The keyset page of a listing in (created_at, id) order, oldest or newest first, its
// parameters numbered from $<first>: has_cursor, the cursor's created_at (micros) and id, and
// the limit. `table` (a table name or alias) qualifies the columns: in ORDER BY a bare `id`
// would be the output column id::text (every list here selects it), an order no index gives.
std::string KeysetPage(absl::string_view table, bool newest_first, int first) {
  const absl::string_view direction = newest_first ? " DESC" : "";
  return absl::StrCat("(NOT $", first, "::boolean OR (", table, ".created_at, ", table, ".id) ",
                      newest_first ? "<" : ">", " (", Ts(first + 1), ", $", first + 2,
                      "::uuid)) ORDER BY ", table, ".created_at", direction, ", ", table, ".id",
                      direction, " LIMIT $", first + 3, "::int");
}

// The rest of a login-attempt listing, its parameters numbered from $<first>: success ('', '1'
// or '0'), the time window (has_start, start, has_end, end), then the newest-first KeysetPage.
std::string AttemptListFilters(int first) {
  auto p = [first](int i) { return absl::StrCat("$", first + i); };
  return absl::StrCat("(", p(0), "::text = '' OR success = (", p(0), "::text = '1')) AND (NOT ",
                      p(1), "::boolean OR created_at >= ", Ts(first + 2), ") AND (NOT ", p(3),
                      "::boolean OR created_at < ", Ts(first + 4), ") AND ",
                      KeysetPage("login_attempts", /*newest_first=*/true, first + 5));
}

// A subquery (n) over identity.login_attempts: the failures with `where` (over the partial
// indexes of failures) counted up to $<limit>, so a flood of them costs no more than the limit.
std::string CountFailures(absl::string_view where, int limit) {
  return absl::StrCat("(SELECT count(*)::int FROM (SELECT 1 FROM identity.login_attempts WHERE ",
                      where, " AND NOT success LIMIT $", limit, "::int) f)");
}
const std::string kUserColumns =
    absl::StrCat("id::text, email, ", Us("email_verified_at"),
                 ", coalesce(first_name, ''), coalesce(last_name, ''), coalesce(phone, ''), "
                 "status, ",
                 Us("created_at"), ", ", Us("updated_at"));
const std::string kSessionColumns = absl::StrCat(
    "s.id::text, s.user_id::text, ", Us("s.created_at"), ", ", Us("s.last_seen_at"), ", ",
    Us("s.expires_at"), ", ", Us("s.absolute_expires_at"), ", ", Us("s.revoked_at"),
    ", coalesce(s.ip_created, ''), coalesce(s.user_agent_created, '')");
const std::string kAccountColumns =
    absl::StrCat("id::text, name, status, ", Us("created_at"), ", ", Us("updated_at"));
const std::string kAssignmentColumns = absl::StrCat(
    "id::text, user_id::text, role_key, coalesce(account_id::text, ''), ", Us("created_at"));
const std::string kRoleColumns = absl::StrCat("key, label, ", Us("created_at"));
const std::string kAttemptColumns = absl::StrCat(
    "id::text, email, coalesce(user_id::text, ''), ip, coalesce(user_agent, ''), success, "
    "coalesce(failure_reason, ''), coalesce(request_id::text, ''), ",
    Us("created_at"));

// Every statement of the store, registered with the pool at Create.
std::vector<std::pair<std::string, std::string>> Statements() {
  const std::string ru = "identity.role_assignments";
  return {
      // --- users
      {"identity_user_insert",
       absl::StrCat("INSERT INTO identity.users (email, password_hash, first_name, last_name, "
                    "phone) VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, '')) "
                    "RETURNING ",
                    kUserColumns)},
      {"identity_grant_global",
       "INSERT INTO identity.role_assignments (user_id, role_key) VALUES ($1::uuid, $2) "
       "ON CONFLICT DO NOTHING"},
      {"identity_user_get", absl::StrCat("SELECT ", kUserColumns,
                                         " FROM identity.users WHERE id = $1::uuid AND "
                                         "deleted_at IS NULL")},
      {"identity_credentials_by_email",
       "SELECT id::text, coalesce(password_hash, ''), status, deleted_at IS NOT NULL "
       "FROM identity.users WHERE lower(email) = lower($1)"},
      {"identity_credentials_by_id",
       "SELECT id::text, coalesce(password_hash, ''), status, deleted_at IS NOT NULL "
       "FROM identity.users WHERE id = $1::uuid"},
      // ListUsers. $2 is the e-mail prefix as a LIKE pattern (LikePrefix) or ''. Planned per
      // call (PlanningOf): with the prefix known, PostgreSQL reads a rare one's matches
      // from users_email_prefix_idx and sorts them, and walks the keyset index for a common
      // one or none; a generic plan walks the keyset index for every prefix, the whole table
      // for a rare one (0.45 s at 10^6 users).
      {"identity_users_list",
       absl::StrCat("SELECT ", kUserColumns,
                    " FROM identity.users WHERE deleted_at IS NULL "
                    "AND ($1::text = '' OR status = $1::text) "
                    "AND ($2::text = '' OR lower(email) LIKE $2::text) "
                    "AND ",
                    KeysetPage("users", /*newest_first=*/false, 3))},
      {"identity_user_update",
       absl::StrCat("UPDATE identity.users SET "
                    "first_name = CASE WHEN $2::boolean THEN NULLIF($3::text, '') "
                    "ELSE first_name END, "
                    "last_name = CASE WHEN $4::boolean THEN NULLIF($5::text, '') "
                    "ELSE last_name END, "
                    "phone = CASE WHEN $6::boolean THEN NULLIF($7::text, '') ELSE phone END "
                    "WHERE id = $1::uuid AND deleted_at IS NULL RETURNING ",
                    kUserColumns)},
      {"identity_user_set_status",
       absl::StrCat("UPDATE identity.users SET status = $2 WHERE id = $1::uuid AND deleted_at "
                    "IS NULL RETURNING ",
                    kUserColumns)},
      {"identity_user_delete",
       "UPDATE identity.users SET deleted_at = now() WHERE id = $1::uuid AND deleted_at IS NULL "
       "RETURNING id"},
      {"identity_user_set_hash",
       "UPDATE identity.users SET password_hash = $2 WHERE id = $1::uuid AND deleted_at IS NULL "
       "RETURNING id"},
      {"identity_user_sessions_revoke",
       absl::StrCat("UPDATE identity.sessions SET revoked_at = ", Ts(2),
                    " WHERE user_id = $1::uuid AND revoked_at IS NULL AND expires_at > ", Ts(2),
                    " AND ($3::text = '' OR id <> NULLIF($3::text, '')::uuid) RETURNING id")},
      // --- e-mail verification
      {"identity_email_verification_insert",
       absl::StrCat("INSERT INTO identity.email_verifications (user_id, token_hash, email, "
                    "expires_at, request_id, created_at) SELECT id, $2, email, ",
                    Ts(3), ", NULLIF($4::text, '')::uuid, ", Ts(5),
                    " FROM identity.users WHERE id = $1::uuid AND deleted_at IS NULL "
                    "RETURNING id")},
      {"identity_email_verification_consume",
       absl::StrCat("UPDATE identity.email_verifications v SET consumed_at = ", Ts(2),
                    " FROM identity.users u WHERE v.token_hash = $1 AND v.consumed_at IS NULL "
                    "AND v.expires_at > ",
                    Ts(2),
                    " AND u.id = v.user_id AND u.deleted_at IS NULL "
                    "AND lower(u.email) = lower(v.email) RETURNING v.user_id::text")},
      {"identity_user_mark_verified",
       absl::StrCat("UPDATE identity.users SET email_verified_at = ", Ts(2),
                    " WHERE id = $1::uuid RETURNING ", kUserColumns)},
      // --- login attempts
      {"identity_login_lock",
       "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))"},
      // Login throttling (LoginLimits) in one round trip: the failures of the (e-mail $1, IP
      // $2) pair after $3, up to the $4 that reach the longest delay, with the newest one's
      // time; then those of the e-mail and of the IP after $5, up to their limits $6 and $7.
      // Every count reads a partial index of failures (login_attempts_*failures_idx): however
      // many successful logins a busy account or address has, this check (run under the
      // e-mail's lock) reads none of them. Attempts in flight count for the pair (parallel
      // guesses cannot all pass before any is settled) and the e-mail, not for the IP: when
      // hashing queues for seconds, the ordinary concurrent logins of many people behind one
      // address (a NAT, a proxy) must not make it look busy.
      {"identity_login_failures",
       absl::StrCat("SELECT p.n, ", Us("p.at"), ", ",
                    CountFailures(absl::StrCat("email = $1 AND created_at > ", Ts(5)), 6),
                    ", ",
                    CountFailures(absl::StrCat("ip = $2 AND created_at > ", Ts(5),
                                               " AND failure_reason <> 'in_flight'"),
                                  7),
                    " FROM (SELECT count(*)::int, max(created_at) FROM (SELECT created_at FROM "
                    "identity.login_attempts WHERE email = $1 AND ip = $2 AND NOT success AND "
                    "created_at > ",
                    Ts(3), " ORDER BY created_at DESC LIMIT $4::int) f) p(n, at)")},
      {"identity_login_insert",
       absl::StrCat("INSERT INTO identity.login_attempts (email, ip, user_agent, success, "
                    "failure_reason, request_id, created_at, updated_at) VALUES ($1, $2, "
                    "NULLIF($3::text, ''), false, $4, NULLIF($5::text, '')::uuid, ",
                    Ts(6), ", ", Ts(6), ") RETURNING id::text")},
      {"identity_login_finish",
       "UPDATE identity.login_attempts SET success = ($3::text = ''), "
       "failure_reason = NULLIF($3::text, ''), user_id = NULLIF($2::text, '')::uuid "
       "WHERE id = $1::uuid AND failure_reason = 'in_flight' RETURNING id"},
      // ListLoginAttempts: one statement per filter shape (all, by e-mail, by IP), so each
      // generic plan can use the index of its shape; `($1 = '' OR email = $1)` never can.
      {"identity_login_list",
       absl::StrCat("SELECT ", kAttemptColumns, " FROM identity.login_attempts WHERE ",
                    AttemptListFilters(1))},
      {"identity_login_by_email_list",
       absl::StrCat("SELECT ", kAttemptColumns,
                    " FROM identity.login_attempts WHERE email = $1::text "
                    "AND ($2::text = '' OR ip = $2::text) AND ",
                    AttemptListFilters(3))},
      {"identity_login_by_ip_list",
       absl::StrCat("SELECT ", kAttemptColumns,
                    " FROM identity.login_attempts WHERE ip = $1::text AND ",
                    AttemptListFilters(2))},
      // --- sessions
      {"identity_session_insert",
       absl::StrCat("INSERT INTO identity.sessions AS s (user_id, session_token_hash, "
                    "last_seen_at, expires_at, absolute_expires_at, ip_created, "
                    "user_agent_created, request_id, created_at, updated_at) VALUES ($1::uuid, "
                    "$2, ",
                    Ts(3), ", ", Ts(4), ", ", Ts(5),
                    ", NULLIF($6::text, ''), NULLIF($7::text, ''), NULLIF($8::text, '')::uuid, ",
                    Ts(3), ", ", Ts(3), ") RETURNING ", kSessionColumns)},
      {"identity_session_touch",
       absl::StrCat("UPDATE identity.sessions SET last_seen_at = ", Ts(2), ", expires_at = ",
                    Ts(3), " WHERE id = $1::uuid AND revoked_at IS NULL")},
      {"identity_session_get", absl::StrCat("SELECT ", kSessionColumns,
                                            " FROM identity.sessions s WHERE s.id = $1::uuid")},
      {"identity_sessions_live",
       absl::StrCat("SELECT ", kSessionColumns,
                    " FROM identity.sessions s WHERE s.user_id = $1::uuid AND s.revoked_at IS "
                    "NULL AND s.expires_at > ",
                    Ts(2), " AND s.absolute_expires_at > ", Ts(2), " AND ",
                    KeysetPage("s", /*newest_first=*/true, 3))},
      {"identity_session_revoke",
       absl::StrCat("UPDATE identity.sessions SET revoked_at = ", Ts(2),
                    " WHERE id = $1::uuid AND revoked_at IS NULL RETURNING id, user_id::text")},
      {"identity_session_revoke_live",
       absl::StrCat("UPDATE identity.sessions SET revoked_at = ", Ts(2),
                    " WHERE id = $1::uuid AND revoked_at IS NULL AND expires_at > ", Ts(2),
                    " AND absolute_expires_at > ", Ts(2), " RETURNING id")},
      // --- accounts
      {"identity_account_insert", absl::StrCat("INSERT INTO identity.accounts (name) VALUES ($1) "
                                               "RETURNING ",
                                               kAccountColumns)},
      {"identity_grant_scoped",
       "INSERT INTO identity.role_assignments (user_id, role_key, account_id) "
       "VALUES ($1::uuid, $2, $3::uuid) ON CONFLICT DO NOTHING"},
      {"identity_account_get", absl::StrCat("SELECT ", kAccountColumns,
                                            " FROM identity.accounts WHERE id = $1::uuid AND "
                                            "deleted_at IS NULL")},
      {"identity_accounts_list",
       absl::StrCat("SELECT ", kAccountColumns,
                    " FROM identity.accounts a WHERE a.deleted_at IS NULL AND ($1::text = '' OR "
                    "EXISTS (SELECT 1 FROM ",
                    ru,
                    " ra WHERE ra.account_id = a.id AND ra.user_id = NULLIF($1::text, '')::uuid))"
                    " AND ",
                    KeysetPage("a", /*newest_first=*/false, 2))},
      {"identity_account_get_for_update",
       absl::StrCat("SELECT ", kAccountColumns,
                    " FROM identity.accounts WHERE id = $1::uuid AND deleted_at IS NULL "
                    "FOR UPDATE")},
      {"identity_account_update",
       absl::StrCat("UPDATE identity.accounts SET name = CASE WHEN $2::boolean THEN $3::text "
                    "ELSE name END, status = CASE WHEN $4::text = '' THEN status ELSE $4::text "
                    "END WHERE id = $1::uuid AND deleted_at IS NULL RETURNING ",
                    kAccountColumns)},
      {"identity_account_member",
       absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", ru,
                    " WHERE user_id = $1::uuid AND account_id = $2::uuid)")},
      // --- roles
      {"identity_role_insert", absl::StrCat("INSERT INTO identity.roles (key, label) VALUES "
                                            "($1, $2) RETURNING ",
                                            kRoleColumns)},
      {"identity_roles_list",
       absl::StrCat("SELECT ", kRoleColumns,
                    " FROM identity.roles WHERE key > $1 ORDER BY key LIMIT $2")},
      {"identity_role_assign",
       absl::StrCat("INSERT INTO ", ru,
                    " (user_id, role_key, account_id, request_id) VALUES ($1::uuid, $2, "
                    "NULLIF($3::text, '')::uuid, NULLIF($4::text, '')::uuid) ON CONFLICT DO "
                    "NOTHING RETURNING ",
                    kAssignmentColumns)},
      // Whether what AssignRole and RevokeRole refer to exists, as GetUser, GetAccount and
      // ListRoles see it, so that NOT_FOUND can name the request field that is wrong.
      {"identity_role_refs",
       "SELECT EXISTS (SELECT 1 FROM identity.users WHERE id = $1::uuid AND deleted_at IS NULL), "
       "EXISTS (SELECT 1 FROM identity.roles WHERE key = $2), $3::text = '' OR EXISTS (SELECT 1 "
       "FROM identity.accounts WHERE id = NULLIF($3::text, '')::uuid AND deleted_at IS NULL)"},
      {"identity_role_assignment_find",
       absl::StrCat("SELECT ", kAssignmentColumns, " FROM ", ru,
                    " WHERE user_id = $1::uuid AND role_key = $2 AND account_id IS NOT "
                    "DISTINCT FROM NULLIF($3::text, '')::uuid")},
      {"identity_role_revoke",
       absl::StrCat("DELETE FROM ", ru,
                    " WHERE user_id = $1::uuid AND role_key = $2 AND account_id IS NOT "
                    "DISTINCT FROM NULLIF($3::text, '')::uuid RETURNING id")},
      // ListRoleAssignments: one statement per filter shape, so each generic plan can use
      // the index of its shape (an `($1 = '' OR col = $1)` filter never can).
      {"identity_role_assignments_all_list",
       absl::StrCat("SELECT ", kAssignmentColumns, " FROM ", ru, " WHERE ",
                    KeysetPage("role_assignments", /*newest_first=*/false, 1))},
      {"identity_role_assignments_by_user_list",
       absl::StrCat("SELECT ", kAssignmentColumns, " FROM ", ru,
                    " WHERE user_id = $1::uuid AND ",
                    KeysetPage("role_assignments", /*newest_first=*/false, 2))},
      {"identity_role_assignments_by_account_list",
       absl::StrCat("SELECT ", kAssignmentColumns, " FROM ", ru,
                    " WHERE account_id = $1::uuid AND ",
                    KeysetPage("role_assignments", /*newest_first=*/false, 2))},
      {"identity_role_assignments_by_user_account_list",
       absl::StrCat("SELECT ", kAssignmentColumns, " FROM ", ru,
                    " WHERE user_id = $1::uuid AND account_id = $2::uuid AND ",
                    KeysetPage("role_assignments", /*newest_first=*/false, 3))},
      // --- bootstrap
      {"identity_admin_exists",
       absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", ru,
                    " ra JOIN identity.users u ON u.id = ra.user_id WHERE ra.role_key = "
                    "'admin' AND ra.account_id IS NULL AND u.deleted_at IS NULL)")},
      {"identity_user_by_email_for_update",
       "SELECT id::text FROM identity.users WHERE lower(email) = lower($1) AND deleted_at IS "
       "NULL FOR UPDATE"},
  };
}

// ValidateSession's read for the token hashes of one ReadBatcher batch, one statement per batch
// size (batched_read_statement.h): per hash the session (by the unique token hash, so at most
// one), its user's status and every role grant (by the user_id-led unique index), and last the
// token hash it answers, as billing's and questions' batched reads select their key.
std::string SessionLookupSql(absl::string_view token_hashes) {
  return absl::StrCat("SELECT ", kSessionColumns,
                      ", u.status, u.deleted_at IS NOT NULL, coalesce((SELECT string_agg("
                      "ra.role_key || ':' || coalesce(ra.account_id::text, ''), ',') FROM "
                      "identity.role_assignments ra WHERE ra.user_id = s.user_id), ''), "
                      "k.token_hash FROM ",
                      token_hashes,
                      " JOIN identity.sessions s ON s.session_token_hash = k.token_hash "
                      "JOIN identity.users u ON u.id = s.user_id");
}

// How a statement is planned: per call for those whose best plan depends on their arguments
// (see identity_users_list), prepared for the rest.
suite::db::Planning PlanningOf(const std::string& statement) {
  return statement == "identity_users_list" ? suite::db::Planning::kPerCall
                                            : suite::db::Planning::kPrepared;
}

}  // namespace

absl::Status RegisterStatements(suite::db::ConnectionPool& pool) {
  for (const auto& [name, sql] : Statements()) {
    SUITE_RETURN_IF_ERROR(pool.RegisterStatement(name, sql, PlanningOf(name)));
  }
  // The audit trail's statements: the store's privileged changes append to it.
  SUITE_RETURN_IF_ERROR(suite::db::audit::RegisterAuditStatements(pool, "identity"));
  return suite::db::RegisterBatchedRead(pool, kSessionLookupStatement, "text", "k", "token_hash",
                                        SessionLookupSql);
}

}  // namespace suite::identity

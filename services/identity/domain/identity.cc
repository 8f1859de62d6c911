#include "services/identity/domain/identity.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/identity/domain/errors.h"
#include "services/identity/domain/validation.h"
#include "shared/api/uuid_field.h"
#include "shared/base/status_macros.h"

namespace suite::identity {
namespace {

absl::Status RequireAdmin(const Principal& caller) {
  if (!caller.IsAdmin()) return errors::AdminRequired();
  return absl::OkStatus();
}

// Fingerprints bind a page token to the filter it was issued for.
std::string UserFilterFingerprint(const UserFilter& f) {
  return absl::StrCat(f.status ? UserStatusName(*f.status) : "", "|", f.email_prefix);
}
std::string AttemptFilterFingerprint(const LoginAttemptFilter& f) {
  return absl::StrCat(f.email, "|", f.ip, "|", f.success ? (*f.success ? "1" : "0") : "", "|",
                      f.start_time ? absl::ToUnixMicros(*f.start_time) : 0, "|",
                      f.end_time ? absl::ToUnixMicros(*f.end_time) : 0);
}

// The one place identity's Cursor meets the shared page token: the key is created_at in unix
// micros, and the scope binds the listing `kind` and its filter `fingerprint`.
std::string PageScope(absl::string_view kind, absl::string_view fingerprint) {
  return absl::StrCat(kind, "\n", fingerprint);
}

std::string EncodePage(const suite::api::PageTokenCodec& codec, absl::string_view kind,
                       absl::string_view fingerprint, const Cursor& cursor) {
  return codec.Encode(PageScope(kind, fingerprint),
                      {absl::StrCat(absl::ToUnixMicros(cursor.created_at)), cursor.id});
}

// An empty token is the first page (nullopt).
absl::StatusOr<absl::optional<Cursor>> DecodePage(const suite::api::PageTokenCodec& codec,
                                                  absl::string_view kind,
                                                  absl::string_view fingerprint,
                                                  const std::string& token) {
  if (token.empty()) return absl::optional<Cursor>();
  SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor cursor,
                         codec.Decode(PageScope(kind, fingerprint), token));
  int64_t micros = 0;
  if (!absl::SimpleAtoi(cursor.key, &micros)) {
    return suite::api::InvalidPageToken("is malformed");
  }
  return absl::optional<Cursor>(Cursor{absl::FromUnixMicros(micros), std::move(cursor.id)});
}

// CutToLimit cuts `rows`, read with limit + 1 to learn whether more follow, to `limit`; true
// when more follow, i.e. when the page needs a next-page token.
template <typename Row>
bool CutToLimit(std::vector<Row>& rows, int limit) {
  if (static_cast<int>(rows.size()) <= limit) return false;
  rows.resize(limit);
  return true;
}

// TrimToPage cuts `rows` as CutToLimit does and returns the token of the next page ("" on the
// last), whose (created_at, id) cursor is the last row kept.
template <typename Row>
std::string TrimToPage(std::vector<Row>& rows, int limit, const suite::api::PageTokenCodec& codec,
                       absl::string_view kind, absl::string_view fingerprint) {
  if (!CutToLimit(rows, limit)) return "";
  return EncodePage(codec, kind, fingerprint, Cursor{rows.back().created_at, rows.back().id});
}

}  // namespace

Identity::Identity(IdentityStore* store, PasswordHasher* hasher, const Clock* clock,
                   IdentityOptions options)
    : store_(store),
      hasher_(hasher),
      clock_(clock),
      options_(std::move(options)),
      page_tokens_(options_.page_token_secret) {}

absl::StatusOr<std::string> Identity::SelfOrAdmin(const Principal& caller,
                                                  const std::string& user_id,
                                                  absl::string_view field) {
  if (user_id.empty() || user_id == caller.user_id) return caller.user_id;
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid(field, user_id));
  if (!caller.IsAdmin()) return errors::PermissionDenied("only your own user");
  return user_id;
}

// ---------------------------------------------------------------------------------------------
// Anonymous calls

absl::StatusOr<User> Identity::CreateUser(const CreateUserInput& input) {
  SUITE_ASSIGN_OR_RETURN(std::string email, NormalizeEmail("email", input.email));
  SUITE_RETURN_IF_ERROR(ValidateNewPassword("password", input.password));
  SUITE_RETURN_IF_ERROR(ValidateText("first_name", input.first_name, kMaxNameLength));
  SUITE_RETURN_IF_ERROR(ValidateText("last_name", input.last_name, kMaxNameLength));
  SUITE_RETURN_IF_ERROR(ValidateText("phone", input.phone, kMaxPhoneLength));
  absl::StatusOr<std::string> hash = hasher_->Hash(input.password);
  if (absl::IsResourceExhausted(hash.status())) return errors::HashingOverloaded();
  if (!hash.ok()) return hash.status();
  NewUser user{email, *std::move(hash), input.first_name, input.last_name, input.phone,
               clock_->Now()};
  absl::StatusOr<User> created = store_->CreateUser(user);
  if (absl::IsAlreadyExists(created.status())) return errors::EmailTaken();
  return created;
}

absl::StatusOr<LoginResult> Identity::Login(const LoginInput& input) {
  SUITE_ASSIGN_OR_RETURN(std::string email, NormalizeEmail("email", input.email));
  SUITE_RETURN_IF_ERROR(ValidatePresentedPassword("password", input.password));
  SUITE_RETURN_IF_ERROR(ValidateIp("client_ip", input.client_ip));
  SUITE_RETURN_IF_ERROR(ValidateText("user_agent", input.user_agent, kMaxUserAgentLength));
  const absl::Time now = clock_->Now();

  // 1. Admission: one short transaction that serialises attempts per e-mail and per IP,
  //    counts recent failures (in-flight ones too) and records this attempt as in flight, so
  //    parallel guesses cannot all pass the check before any of them is counted.
  SUITE_ASSIGN_OR_RETURN(
      LoginAdmission admission,
      store_->BeginLoginAttempt({email, input.client_ip, input.user_agent, input.request_id, now},
                                options_.login_limits));
  if (!admission.admitted) return errors::LoginThrottled(admission.retry_after);

  // 2. The password check, outside any transaction. Unknown e-mails verify against a dummy
  //    hash with the same parameters, so both failures take the same time.
  SUITE_ASSIGN_OR_RETURN(absl::optional<UserCredentials> credentials,
                         store_->FindCredentials(email));
  const bool has_hash = credentials.has_value() && !credentials->password_hash.empty();
  const std::string& hash = has_hash ? credentials->password_hash : hasher_->DummyHash();
  const std::string user_id = credentials ? credentials->user_id : "";
  absl::StatusOr<bool> matches = hasher_->Verify(hash, input.password);
  if (!matches.ok()) {
    store_->FinishLoginAttempt(admission.attempt_id, user_id, std::string(kAttemptOverloaded))
        .IgnoreError();  // the attempt stays counted as in flight, which errs on the safe side
    if (absl::IsResourceExhausted(matches.status())) return errors::HashingOverloaded();
    return matches.status();
  }
  if (!has_hash || !*matches) {
    SUITE_RETURN_IF_ERROR(store_->FinishLoginAttempt(admission.attempt_id, user_id,
                                                     std::string(kAttemptInvalidCredentials)));
    return errors::InvalidCredentials();
  }
  if (credentials->deleted || credentials->status != UserStatus::kActive) {
    SUITE_RETURN_IF_ERROR(store_->FinishLoginAttempt(admission.attempt_id, user_id,
                                                     std::string(kAttemptUserInactive)));
    return errors::InvalidCredentials();
  }

  // 3. Success: the session and the attempt's outcome, together.
  SUITE_ASSIGN_OR_RETURN(
      LoginResult result,
      OpenSession(user_id, now, now + options_.session_absolute_timeout, input.client_ip,
                  input.user_agent, input.request_id, absl::nullopt, admission.attempt_id));

  // 4. A hash made with weaker (or other) parameters is upgraded now that the password is
  //    known. Best effort: the login has succeeded either way.
  if (hasher_->NeedsRehash(hash)) {
    absl::StatusOr<std::string> upgraded = hasher_->Hash(input.password);
    if (upgraded.ok()) {
      store_->SetPasswordHash(user_id, *upgraded, absl::nullopt, now, /*audit=*/false)
          .status()
          .IgnoreError();
    }
  }
  return result;
}

absl::StatusOr<LoginResult> Identity::OpenSession(const std::string& user_id, absl::Time now,
                                                  absl::Time absolute_expires_at,
                                                  const std::string& ip,
                                                  const std::string& user_agent,
                                                  const std::string& request_id,
                                                  const absl::optional<std::string>& rotate_from,
                                                  const std::string& login_attempt_id) {
  LoginResult result;
  result.token = NewSecretToken();
  NewSession session;
  session.user_id = user_id;
  session.token_hash = TokenDigest(result.token);
  session.now = now;
  session.absolute_expires_at = absolute_expires_at;
  session.expires_at = std::min(now + options_.session_idle_timeout, absolute_expires_at);
  session.ip = ip;
  session.user_agent = user_agent;
  session.request_id = request_id;
  absl::StatusOr<Session> stored =
      rotate_from                 ? store_->RotateSession(*rotate_from, session)
      : login_attempt_id.empty()  ? store_->CreateSession(session)
                                  : store_->CreateLoginSession(session, login_attempt_id);
  if (rotate_from && absl::IsNotFound(stored.status())) return errors::InvalidSession();
  if (!stored.ok()) return stored.status();
  result.session = *std::move(stored);
  return result;
}

absl::StatusOr<ValidatedSession> Identity::ValidateSession(const std::string& token) {
  if (!LooksLikeSecretToken(token)) return errors::InvalidSession();
  return SessionFromLookup(store_->LookupSession(TokenDigest(token)));
}

void Identity::ValidateSessionAsync(const std::string& token, const AsyncCaller& caller,
                                    ValidateSessionDone done) {
  if (!LooksLikeSecretToken(token)) return done(errors::InvalidSession());
  store_->LookupSessionAsync(
      TokenDigest(token), caller,
      [this, done = std::move(done)](absl::StatusOr<absl::optional<SessionLookup>> lookup) {
        done(SessionFromLookup(std::move(lookup)));
      });
}

absl::StatusOr<ValidatedSession> Identity::SessionFromLookup(
    absl::StatusOr<absl::optional<SessionLookup>> lookup) {
  SUITE_ASSIGN_OR_RETURN(absl::optional<SessionLookup> found, std::move(lookup));
  if (!found) return errors::InvalidSession();
  const Session& s = found->session;
  const absl::Time now = clock_->Now();
  if (s.revoked_at || now >= s.expires_at || now >= s.absolute_expires_at ||
      found->user_deleted || found->user_status != UserStatus::kActive) {
    return errors::InvalidSession();
  }
  ValidatedSession out{s.user_id, s.id, found->grants, s.expires_at};
  if (now - s.last_seen_at >= options_.last_seen_interval) {
    out.expires_at = std::min(now + options_.session_idle_timeout, s.absolute_expires_at);
    SUITE_RETURN_IF_ERROR(store_->TouchSession(s.id, now, out.expires_at));
  }
  return out;
}

absl::StatusOr<Principal> Identity::Authenticate(const std::string& token) {
  SUITE_ASSIGN_OR_RETURN(ValidatedSession session, ValidateSession(token));
  return Principal{session.user_id, session.session_id, std::move(session.grants)};
}

absl::StatusOr<User> Identity::ConfirmEmailVerification(const std::string& token) {
  if (!LooksLikeSecretToken(token)) return errors::VerificationTokenInvalid();
  absl::StatusOr<User> user = store_->ConsumeEmailVerification(TokenDigest(token), clock_->Now());
  if (absl::IsNotFound(user.status())) return errors::VerificationTokenInvalid();
  return user;
}

absl::StatusOr<bool> Identity::BootstrapAdmin(const std::string& email,
                                              const std::string& password) {
  SUITE_ASSIGN_OR_RETURN(std::string normalized, NormalizeEmail("email", email));
  SUITE_RETURN_IF_ERROR(ValidateNewPassword("password", password));
  SUITE_ASSIGN_OR_RETURN(std::string hash, hasher_->Hash(password));
  return store_->EnsureAdmin(normalized, hash, clock_->Now());
}

// ---------------------------------------------------------------------------------------------
// Users

absl::StatusOr<User> Identity::GetUser(const Principal& caller, const std::string& user_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_ASSIGN_OR_RETURN(std::string id, SelfOrAdmin(caller, user_id, "user_id"));
  absl::StatusOr<User> user = store_->GetUser(id);
  if (absl::IsNotFound(user.status())) return errors::UserNotFound();
  return user;
}

absl::StatusOr<UserPage> Identity::ListUsers(const Principal& caller, const UserFilter& filter,
                                             int page_size, const std::string& page_token) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  SUITE_ASSIGN_OR_RETURN(int limit, ValidatePageSize(page_size));
  UserFilter normalized = filter;
  SUITE_RETURN_IF_ERROR(ValidateText("email_prefix", filter.email_prefix, kMaxEmailLength));
  normalized.email_prefix = absl::AsciiStrToLower(filter.email_prefix);
  const std::string fingerprint = UserFilterFingerprint(normalized);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, "users", fingerprint, page_token));
  SUITE_ASSIGN_OR_RETURN(std::vector<User> users,
                         store_->ListUsers(normalized, after, limit + 1));
  UserPage page;
  page.next_page_token = TrimToPage(users, limit, page_tokens_, "users", fingerprint);
  page.users = std::move(users);
  return page;
}

absl::StatusOr<User> Identity::UpdateUser(const Principal& caller, const std::string& user_id,
                                          const UserPatch& patch) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  if (patch.first_name) {
    SUITE_RETURN_IF_ERROR(ValidateText("first_name", *patch.first_name, kMaxNameLength));
  }
  if (patch.last_name) {
    SUITE_RETURN_IF_ERROR(ValidateText("last_name", *patch.last_name, kMaxNameLength));
  }
  if (patch.phone) SUITE_RETURN_IF_ERROR(ValidateText("phone", *patch.phone, kMaxPhoneLength));
  SUITE_ASSIGN_OR_RETURN(std::string id, SelfOrAdmin(caller, user_id, "user_id"));
  // A change to one's own profile is routine; an admin changing someone else's is audited.
  absl::StatusOr<User> user = store_->UpdateUser(id, patch, /*audit=*/id != caller.user_id);
  if (absl::IsNotFound(user.status())) return errors::UserNotFound();
  return user;
}

absl::StatusOr<User> Identity::SetUserStatus(const Principal& caller, const std::string& user_id,
                                             UserStatus status) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  absl::StatusOr<User> user = store_->SetUserStatus(user_id, status, clock_->Now());
  if (absl::IsNotFound(user.status())) return errors::UserNotFound();
  return user;
}

absl::Status Identity::DeleteUser(const Principal& caller, const std::string& user_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_ASSIGN_OR_RETURN(std::string id, SelfOrAdmin(caller, user_id, "user_id"));
  absl::Status deleted = store_->DeleteUser(id, clock_->Now());
  if (absl::IsNotFound(deleted)) return errors::UserNotFound();
  return deleted;
}

absl::StatusOr<int> Identity::ChangePassword(const Principal& caller, const std::string& user_id,
                                             const std::string& current_password,
                                             const std::string& new_password) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_RETURN_IF_ERROR(ValidatePresentedPassword("current_password", current_password));
  SUITE_RETURN_IF_ERROR(ValidateNewPassword("new_password", new_password));
  // Even an admin must not set someone's password through this call: it proves knowledge of
  // the current one.
  if (user_id != caller.user_id) return errors::PermissionDenied("only your own password");
  absl::StatusOr<UserCredentials> credentials = store_->CredentialsById(user_id);
  if (absl::IsNotFound(credentials.status())) return errors::UserNotFound();
  if (!credentials.ok()) return credentials.status();
  const std::string& hash =
      credentials->password_hash.empty() ? hasher_->DummyHash() : credentials->password_hash;
  absl::StatusOr<bool> matches = hasher_->Verify(hash, current_password);
  if (absl::IsResourceExhausted(matches.status())) return errors::HashingOverloaded();
  if (!matches.ok()) return matches.status();
  if (!*matches || credentials->password_hash.empty()) return errors::WrongCurrentPassword();
  absl::StatusOr<std::string> new_hash = hasher_->Hash(new_password);
  if (absl::IsResourceExhausted(new_hash.status())) return errors::HashingOverloaded();
  if (!new_hash.ok()) return new_hash.status();
  absl::StatusOr<int> revoked =
      store_->SetPasswordHash(user_id, *new_hash, caller.session_id, clock_->Now(),
                              /*audit=*/true);
  if (absl::IsNotFound(revoked.status())) return errors::UserNotFound();
  return revoked;
}

absl::StatusOr<VerificationToken> Identity::CreateEmailVerification(const Principal& caller,
                                                                    const std::string& user_id,
                                                                    const std::string& request_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  const absl::Time now = clock_->Now();
  VerificationToken out{NewSecretToken(), now + options_.email_verification_ttl};
  absl::Status stored = store_->CreateEmailVerification(user_id, TokenDigest(out.token),
                                                        out.expires_at, request_id, now);
  if (absl::IsNotFound(stored)) return errors::UserNotFound();
  SUITE_RETURN_IF_ERROR(stored);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sessions

absl::Status Identity::Logout(const Principal& caller) {
  absl::Status revoked =
      store_->RevokeSession(caller.session_id, clock_->Now(), /*audit=*/false);
  if (absl::IsNotFound(revoked)) return errors::InvalidSession();
  return revoked;
}

absl::StatusOr<SessionPage> Identity::ListSessions(const Principal& caller,
                                                   const std::string& user_id, int page_size,
                                                   const std::string& page_token) {
  SUITE_ASSIGN_OR_RETURN(std::string id, SelfOrAdmin(caller, user_id, "user_id"));
  SUITE_ASSIGN_OR_RETURN(int limit, ValidateUnpagedListPageSize(page_size));
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> before,
                         DecodePage(page_tokens_, "sessions", id, page_token));
  SUITE_ASSIGN_OR_RETURN(std::vector<Session> sessions,
                         store_->ListLiveSessions(id, clock_->Now(), before, limit + 1));
  SessionPage page;
  page.next_page_token = TrimToPage(sessions, limit, page_tokens_, "sessions", id);
  page.sessions = std::move(sessions);
  return page;
}

absl::Status Identity::RevokeSession(const Principal& caller, const std::string& session_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("session_id", session_id));
  absl::StatusOr<Session> session = store_->GetSession(session_id);
  if (absl::IsNotFound(session.status())) return errors::SessionNotFound();
  if (!session.ok()) return session.status();
  // Another user's session is answered exactly as one that does not exist, so that no answer
  // tells a member whether a session id is live.
  if (session->user_id != caller.user_id && !caller.IsAdmin()) return errors::SessionNotFound();
  // Ending one's own session is routine; an admin ending someone else's is audited.
  absl::Status revoked =
      store_->RevokeSession(session_id, clock_->Now(),
                            /*audit=*/session->user_id != caller.user_id);
  if (absl::IsNotFound(revoked)) return errors::SessionNotFound();
  return revoked;
}

absl::StatusOr<int> Identity::RevokeAllSessions(const Principal& caller,
                                                const std::string& user_id, bool keep_current) {
  SUITE_ASSIGN_OR_RETURN(std::string id, SelfOrAdmin(caller, user_id, "user_id"));
  absl::optional<std::string> keep;
  if (keep_current) keep = caller.session_id;
  return store_->RevokeAllSessions(id, keep, clock_->Now(), /*audit=*/id != caller.user_id);
}

absl::StatusOr<LoginResult> Identity::RotateSession(const Principal& caller,
                                                    const std::string& request_id) {
  absl::StatusOr<Session> old = store_->GetSession(caller.session_id);
  if (absl::IsNotFound(old.status())) return errors::InvalidSession();
  if (!old.ok()) return old.status();
  return OpenSession(caller.user_id, clock_->Now(), old->absolute_expires_at, old->ip_created,
                     old->user_agent_created, request_id, caller.session_id);
}

// ---------------------------------------------------------------------------------------------
// Accounts

absl::StatusOr<Account> Identity::CreateAccount(const Principal& caller,
                                                const std::string& name) {
  SUITE_RETURN_IF_ERROR(ValidateText("name", name, kMaxAccountNameLength, /*required=*/true));
  return store_->CreateAccount(name, caller.user_id, clock_->Now());
}

absl::StatusOr<Account> Identity::GetAccount(const Principal& caller,
                                             const std::string& account_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  if (!caller.IsAdmin()) {
    SUITE_ASSIGN_OR_RETURN(bool member, store_->IsAccountMember(caller.user_id, account_id));
    if (!member) return errors::PermissionDenied("not a member of this account");
  }
  absl::StatusOr<Account> account = store_->GetAccount(account_id);
  if (absl::IsNotFound(account.status())) return errors::AccountNotFound();
  return account;
}

absl::StatusOr<AccountPage> Identity::ListAccounts(const Principal& caller, int page_size,
                                                   const std::string& page_token) {
  SUITE_ASSIGN_OR_RETURN(int limit, ValidatePageSize(page_size));
  absl::optional<std::string> member;
  if (!caller.IsAdmin()) member = caller.user_id;
  const std::string fingerprint = member ? *member : "*";
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, "accounts", fingerprint, page_token));
  SUITE_ASSIGN_OR_RETURN(std::vector<Account> accounts,
                         store_->ListAccounts(member, after, limit + 1));
  AccountPage page;
  page.next_page_token = TrimToPage(accounts, limit, page_tokens_, "accounts", fingerprint);
  page.accounts = std::move(accounts);
  return page;
}

absl::StatusOr<Account> Identity::UpdateAccount(const Principal& caller,
                                                const std::string& account_id,
                                                const absl::optional<std::string>& name,
                                                const absl::optional<AccountStatus>& status) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  if (name) SUITE_RETURN_IF_ERROR(ValidateText("name", *name, kMaxAccountNameLength, true));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  absl::StatusOr<Account> account = store_->UpdateAccount(account_id, name, status);
  if (absl::IsNotFound(account.status())) return errors::AccountNotFound();
  return account;
}

// ---------------------------------------------------------------------------------------------
// Roles

absl::StatusOr<Role> Identity::CreateRole(const Principal& caller, const std::string& key,
                                          const std::string& label) {
  SUITE_RETURN_IF_ERROR(ValidateRoleKey("key", key));
  SUITE_RETURN_IF_ERROR(ValidateText("label", label, kMaxRoleLabelLength, /*required=*/true));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  absl::StatusOr<Role> role = store_->CreateRole(key, label);
  if (absl::IsAlreadyExists(role.status())) return errors::RoleTaken();
  return role;
}

absl::StatusOr<RolePage> Identity::ListRoles(const Principal& caller, int page_size,
                                             const std::string& page_token) {
  SUITE_ASSIGN_OR_RETURN(int limit, ValidatePageSize(page_size));
  // Roles are listed by key, which is unique: the cursor is the last key served.
  std::string after_key;
  if (!page_token.empty()) {
    SUITE_ASSIGN_OR_RETURN(suite::api::PageCursor cursor,
                           page_tokens_.Decode(PageScope("roles", "*"), page_token));
    after_key = std::move(cursor.key);
  }
  SUITE_ASSIGN_OR_RETURN(std::vector<Role> roles, store_->ListRoles(after_key, limit + 1));
  RolePage page;
  if (CutToLimit(roles, limit)) {
    page.next_page_token = page_tokens_.Encode(PageScope("roles", "*"), {roles.back().key, ""});
  }
  page.roles = std::move(roles);
  return page;
}

absl::StatusOr<RoleAssignment> Identity::AssignRole(const Principal& caller,
                                                    const std::string& user_id,
                                                    const std::string& role,
                                                    const std::string& account_id,
                                                    const std::string& request_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_RETURN_IF_ERROR(ValidateRoleKey("role", role));
  if (!account_id.empty()) SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  absl::StatusOr<RoleAssignment> assigned =
      store_->AssignRole(user_id, role, account_id, request_id);
  if (absl::IsNotFound(assigned.status())) return errors::NotFoundIn(assigned.status().message());
  return assigned;
}

absl::Status Identity::RevokeRole(const Principal& caller, const std::string& user_id,
                                  const std::string& role, const std::string& account_id) {
  SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
  SUITE_RETURN_IF_ERROR(ValidateRoleKey("role", role));
  if (!account_id.empty()) SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  absl::Status revoked = store_->RevokeRole(user_id, role, account_id);
  if (absl::IsNotFound(revoked)) {
    if (revoked.message().empty()) return errors::RoleAssignmentNotFound();
    return errors::NotFoundIn(revoked.message());
  }
  return revoked;
}

absl::StatusOr<RoleAssignmentPage> Identity::ListRoleAssignments(
    const Principal& caller, const std::string& user_id, const std::string& account_id,
    int page_size, const std::string& page_token) {
  if (!account_id.empty()) SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("account_id", account_id));
  std::string id;
  if (caller.IsAdmin()) {
    if (!user_id.empty()) SUITE_RETURN_IF_ERROR(suite::api::RequireUuid("user_id", user_id));
    id = user_id;  // empty = everyone
  } else {
    SUITE_ASSIGN_OR_RETURN(id, SelfOrAdmin(caller, user_id, "user_id"));
  }
  SUITE_ASSIGN_OR_RETURN(int limit, ValidateUnpagedListPageSize(page_size));
  const std::string fingerprint = absl::StrCat(id, "|", account_id);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> after,
                         DecodePage(page_tokens_, "role_assignments", fingerprint, page_token));
  SUITE_ASSIGN_OR_RETURN(std::vector<RoleAssignment> assignments,
                         store_->ListRoleAssignments(id, account_id, after, limit + 1));
  RoleAssignmentPage page;
  page.next_page_token =
      TrimToPage(assignments, limit, page_tokens_, "role_assignments", fingerprint);
  page.role_assignments = std::move(assignments);
  return page;
}

// ---------------------------------------------------------------------------------------------
// Audit

absl::StatusOr<LoginAttemptPage> Identity::ListLoginAttempts(const Principal& caller,
                                                             const LoginAttemptFilter& filter,
                                                             int page_size,
                                                             const std::string& page_token) {
  SUITE_RETURN_IF_ERROR(RequireAdmin(caller));
  SUITE_ASSIGN_OR_RETURN(int limit, ValidatePageSize(page_size));
  LoginAttemptFilter normalized = filter;
  if (!filter.email.empty()) {
    SUITE_ASSIGN_OR_RETURN(normalized.email, NormalizeEmail("email", filter.email));
  }
  if (!filter.ip.empty()) SUITE_RETURN_IF_ERROR(ValidateIp("ip", filter.ip));
  if (filter.start_time && filter.end_time && *filter.end_time < *filter.start_time) {
    return errors::Invalid("end_time", "must not be before start_time");
  }
  const std::string fingerprint = AttemptFilterFingerprint(normalized);
  SUITE_ASSIGN_OR_RETURN(absl::optional<Cursor> before,
                         DecodePage(page_tokens_, "login_attempts", fingerprint, page_token));
  SUITE_ASSIGN_OR_RETURN(std::vector<LoginAttempt> attempts,
                         store_->ListLoginAttempts(normalized, before, limit + 1));
  LoginAttemptPage page;
  page.next_page_token = TrimToPage(attempts, limit, page_tokens_, "login_attempts", fingerprint);
  page.attempts = std::move(attempts);
  return page;
}

absl::Status Identity::AuthorizeListAuditEvents(const Principal& caller) const {
  return RequireAdmin(caller);
}

absl::StatusOr<suite::audit_api::AuditPage> Identity::ListAuditEvents(
    const Principal& caller, const suite::audit_api::AuditQuery& query) {
  SUITE_RETURN_IF_ERROR(AuthorizeListAuditEvents(caller));
  return suite::audit_api::ListAuditPage(
      query, page_tokens_, "identity.audit_events",
      [this](const suite::db::audit::AuditFilter& filter, int64_t before_seq, int limit) {
        return store_->ListAuditEvents(filter, before_seq, limit);
      });
}

}  // namespace suite::identity

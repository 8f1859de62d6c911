-- Login's throttling check (identity_login_failures) counts the failures of one e-mail and of
-- one IP in the window. The (email, created_at) and (ip, created_at) indexes hold every
-- attempt, so behind a busy address (a NAT, a proxy) or for a busy account each login also
-- read every successful attempt of the window, while holding that address's advisory lock:
-- with 20 000 successful logins from one IP in the window, 5.5 ms of PostgreSQL per login
-- against 0.01 ms with these indexes, which hold only failures (in-flight attempts included,
-- as they count for the e-mail). The full indexes stay for the audit listing.
--
-- Built concurrently, as login_attempts is written by every login and can be large. A build
-- that fails leaves an INVALID index that IF NOT EXISTS would then skip, so each is dropped
-- first (rebuilding a valid one when the file runs again is only time). Runs as suite_owner.

-- +migrate Up
-- +migrate NoTransaction
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_email_failures_idx;
CREATE INDEX CONCURRENTLY login_attempts_email_failures_idx
  ON identity.login_attempts (email, created_at DESC) WHERE NOT success;
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_ip_failures_idx;
CREATE INDEX CONCURRENTLY login_attempts_ip_failures_idx
  ON identity.login_attempts (ip, created_at DESC) WHERE NOT success;

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_ip_failures_idx;
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_email_failures_idx;

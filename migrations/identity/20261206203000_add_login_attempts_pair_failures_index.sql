-- Login throttling slows down each (e-mail, client IP) pair by its own failures (exponential
-- backoff), so that an attacker's guesses do not lock the account's owner out from elsewhere.
-- The check reads the pair's newest failures; through login_attempts_email_failures_idx it
-- would read every failure of the account in the pair window, which under a distributed attack
-- is every attacker's. This index holds only failures, like the other two (successes are never
-- read by the check).
--
-- Built concurrently, as login_attempts is written by every login and can be large; a failed
-- build leaves an INVALID index that IF NOT EXISTS would skip, so it is dropped first. Runs as
-- suite_owner.

-- +migrate Up
-- +migrate NoTransaction
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_email_ip_failures_idx;
CREATE INDEX CONCURRENTLY login_attempts_email_ip_failures_idx
  ON identity.login_attempts (email, ip, created_at DESC) WHERE NOT success;

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS identity.login_attempts_email_ip_failures_idx;

-- The indexes the retention purges read (docs/retention.md), so that each batch is an index
-- range over the rows past their period rather than a scan of the table. A session or an
-- e-mail verification is over at the earlier of its revocation/use and its expiry; LEAST
-- ignores a NULL, so the expression is the expiry until the row is revoked or used.
-- Built concurrently (no write lock on tables the hot paths write), hence idempotent.

-- +migrate NoTransaction
-- +migrate Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_ended_at_idx
  ON identity.sessions (LEAST(revoked_at, expires_at));
CREATE INDEX CONCURRENTLY IF NOT EXISTS email_verifications_ended_at_idx
  ON identity.email_verifications (LEAST(consumed_at, expires_at));

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS identity.email_verifications_ended_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS identity.sessions_ended_at_idx;

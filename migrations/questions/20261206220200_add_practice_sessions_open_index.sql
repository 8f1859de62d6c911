-- The index the abandoned-session purge reads (docs/retention.md): open sessions only, by
-- start, so each batch is an index range and closed sessions cost the index nothing.
-- Built concurrently (practice writes this table), hence idempotent.

-- +migrate NoTransaction
-- +migrate Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS practice_sessions_open_started_at_idx
  ON questions.practice_sessions (started_at) WHERE ended_at IS NULL;

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS questions.practice_sessions_open_started_at_idx;

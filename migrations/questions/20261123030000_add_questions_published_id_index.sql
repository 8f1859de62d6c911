-- StartPracticeSession's sampled draw (start_session_sampled) reads, at each of 3 * count
-- random points, the next 32 published questions in id order with their difficulty. Through
-- the primary key each of those rows is a heap page of its own (ids are random, so neighbours
-- in id order are scattered over the table); this index holds exactly the published, live
-- questions in id order with the difficulty, so a window is one index page, read index-only.
--
-- Built concurrently, as the bank can be large and is read by every practice session. A
-- build that fails leaves an INVALID index that IF NOT EXISTS would then skip, so it is
-- dropped first. Runs as suite_owner.

-- +migrate Up
-- +migrate NoTransaction
DROP INDEX CONCURRENTLY IF EXISTS questions.questions_published_id_idx;
CREATE INDEX CONCURRENTLY questions_published_id_idx
  ON questions.questions (id, difficulty) WHERE status = 'published' AND deleted_at IS NULL;

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS questions.questions_published_id_idx;

-- A practice session shows each question's choices in an order of its own, so that where a
-- choice stands says nothing about whether it is correct (authors tend to write the correct
-- answer first). The order is derived from this per-session random seed (the domain sorts a
-- question's choices by SHA-256 of the seed and the choice id), so one session shows the same
-- order every time, on every replica and after a restart, and two sessions do not share it.
-- Sessions that exist already get a seed too: the volatile default fills every row (one
-- rewrite of the table). Runs as suite_owner.

-- +migrate Up
ALTER TABLE questions.practice_sessions
  ADD COLUMN choice_seed uuid NOT NULL DEFAULT gen_random_uuid();

-- +migrate Down
ALTER TABLE questions.practice_sessions DROP COLUMN choice_seed;

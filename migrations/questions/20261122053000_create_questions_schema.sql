-- The question bank's schema (issue 5; DESIGN.md §3; seed 001): questions with their choices
-- and tags, practice sessions, attempts and bookmarks. Runs as suite_owner.
-- user_id / author_id are plain uuids: their truth lives in identity (no cross-schema FK).

-- +migrate Up
CREATE SCHEMA questions;
GRANT USAGE ON SCHEMA questions TO questions_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA questions
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO questions_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA questions
  GRANT USAGE, SELECT ON SEQUENCES TO questions_service;

CREATE TYPE questions.question_difficulty AS ENUM ('easy', 'medium', 'hard');
CREATE TYPE questions.question_status AS ENUM ('draft', 'published', 'archived');
CREATE TYPE questions.tag_kind AS ENUM ('domain', 'topic', 'substance', 'treatment', 'diagnosis');
CREATE TYPE questions.practice_mode AS ENUM ('tutor', 'exam');

CREATE TABLE questions.questions (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  -- The importer's key: re-running an import skips rows whose key exists.
  external_key text,
  stem text NOT NULL,
  explanation text NOT NULL DEFAULT '',
  difficulty questions.question_difficulty NOT NULL,
  status questions.question_status NOT NULL DEFAULT 'draft',
  author_id uuid NOT NULL,
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  request_id uuid,
  CONSTRAINT questions_published_at_check
    CHECK ((status = 'draft') = (published_at IS NULL) OR status = 'archived')
);
CREATE UNIQUE INDEX questions_external_key_key ON questions.questions (external_key);
-- Keyset pagination, newest first: all questions, and by status (members: published).
CREATE INDEX questions_created_at_idx ON questions.questions (created_at DESC, id DESC)
  WHERE deleted_at IS NULL;
CREATE INDEX questions_status_created_at_idx
  ON questions.questions (status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- "Words in the stem": full-text search without pg_trgm (not guaranteed to be installed).
CREATE INDEX questions_stem_fts_idx ON questions.questions
  USING gin (to_tsvector('simple'::regconfig, stem));
CREATE INDEX questions_author_id_idx ON questions.questions (author_id);
CREATE TRIGGER questions_set_updated_at BEFORE UPDATE ON questions.questions
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE TABLE questions.choices (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  -- A draft's choices are replaced by deleting them: they go with their question.
  question_id uuid NOT NULL REFERENCES questions.questions (id) ON DELETE CASCADE,
  position integer NOT NULL,
  text text NOT NULL,
  is_correct boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT choices_position_check CHECK (position >= 0 AND position < 10)
);
CREATE UNIQUE INDEX choices_question_id_position_key ON questions.choices (question_id, position);
-- At most one correct choice per question (the domain requires exactly one).
CREATE UNIQUE INDEX choices_one_correct_key ON questions.choices (question_id) WHERE is_correct;
CREATE TRIGGER choices_set_updated_at BEFORE UPDATE ON questions.choices
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE TABLE questions.tags (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  kind questions.tag_kind NOT NULL,
  slug text NOT NULL,
  label text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Unique slug per kind; also the keyset order of ListTags (kind, slug).
CREATE UNIQUE INDEX tags_kind_slug_key ON questions.tags (kind, slug);
CREATE TRIGGER tags_set_updated_at BEFORE UPDATE ON questions.tags
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE TABLE questions.question_tags (
  question_id uuid NOT NULL REFERENCES questions.questions (id) ON DELETE CASCADE,
  tag_id uuid NOT NULL REFERENCES questions.tags (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (question_id, tag_id)
);
CREATE INDEX question_tags_tag_id_idx ON questions.question_tags (tag_id, question_id);

CREATE TABLE questions.practice_sessions (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id uuid NOT NULL,
  mode questions.practice_mode NOT NULL,
  filters jsonb NOT NULL DEFAULT '{}',
  -- The drawn questions in order; attempts reference them through their own FK.
  question_ids uuid[] NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  score integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  request_id uuid,
  CONSTRAINT practice_sessions_score_check CHECK ((ended_at IS NULL) = (score IS NULL))
);
-- A user's sessions newest first, and the per-day free-quota count.
CREATE INDEX practice_sessions_user_id_started_at_idx
  ON questions.practice_sessions (user_id, started_at DESC, id DESC);
CREATE TRIGGER practice_sessions_set_updated_at BEFORE UPDATE ON questions.practice_sessions
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE TABLE questions.attempts (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  -- Attempts belong to their session.
  session_id uuid NOT NULL REFERENCES questions.practice_sessions (id) ON DELETE CASCADE,
  -- History must not vanish: questions are archived, never deleted while answered.
  question_id uuid NOT NULL REFERENCES questions.questions (id) ON DELETE RESTRICT,
  choice_id uuid NOT NULL REFERENCES questions.choices (id) ON DELETE RESTRICT,
  user_id uuid NOT NULL,
  is_correct boolean NOT NULL,
  time_spent_ms integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  request_id uuid,
  CONSTRAINT attempts_time_spent_ms_check CHECK (time_spent_ms >= 0)
);
-- One attempt per question per session, also under concurrency.
CREATE UNIQUE INDEX attempts_session_id_question_id_key
  ON questions.attempts (session_id, question_id);
CREATE INDEX attempts_question_id_idx ON questions.attempts (question_id);
CREATE INDEX attempts_choice_id_idx ON questions.attempts (choice_id);
-- ListAttempts (own, newest first) and the statistics.
CREATE INDEX attempts_user_id_created_at_idx
  ON questions.attempts (user_id, created_at DESC, id DESC);
-- "Prefer questions the user has not answered correctly" when drawing a session.
CREATE INDEX attempts_user_id_question_id_correct_idx
  ON questions.attempts (user_id, question_id) WHERE is_correct;
CREATE TRIGGER attempts_set_updated_at BEFORE UPDATE ON questions.attempts
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

CREATE TABLE questions.bookmarks (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id uuid NOT NULL,
  question_id uuid NOT NULL REFERENCES questions.questions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bookmarks_user_id_question_id_key
  ON questions.bookmarks (user_id, question_id);
CREATE INDEX bookmarks_question_id_idx ON questions.bookmarks (question_id);
CREATE INDEX bookmarks_user_id_created_at_idx
  ON questions.bookmarks (user_id, created_at DESC, id DESC);
CREATE TRIGGER bookmarks_set_updated_at BEFORE UPDATE ON questions.bookmarks
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- +migrate Down
DROP TABLE questions.bookmarks;
DROP TABLE questions.attempts;
DROP TABLE questions.practice_sessions;
DROP TABLE questions.question_tags;
DROP TABLE questions.tags;
DROP TABLE questions.choices;
DROP TABLE questions.questions;
DROP TYPE questions.practice_mode;
DROP TYPE questions.tag_kind;
DROP TYPE questions.question_status;
DROP TYPE questions.question_difficulty;
ALTER DEFAULT PRIVILEGES IN SCHEMA questions
  REVOKE USAGE, SELECT ON SEQUENCES FROM questions_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA questions
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM questions_service;
REVOKE USAGE ON SCHEMA questions FROM questions_service;
DROP SCHEMA questions;

-- ListQuestions filtered by one tag (issue 7): a keyset index that yields a tag's questions in
-- page order, newest first, so a page reads about `page_size` index entries instead of every
-- question of the tag (which grew with the bank: ~8 000 rows per tag at 10^5 questions).
-- The page order is the question's (created_at, id), so each link carries a copy of its
-- question's created_at, filled by a trigger on every insert path (questions.created_at is
-- never updated). Runs as suite_owner.

-- +migrate Up
ALTER TABLE questions.question_tags ADD COLUMN question_created_at timestamptz;
UPDATE questions.question_tags qt SET question_created_at = q.created_at
  FROM questions.questions q WHERE q.id = qt.question_id;
ALTER TABLE questions.question_tags ALTER COLUMN question_created_at SET NOT NULL;

CREATE FUNCTION questions.copy_question_created_at() RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  SELECT q.created_at INTO NEW.question_created_at
    FROM questions.questions q WHERE q.id = NEW.question_id;
  RETURN NEW;
END;
$$;
CREATE TRIGGER question_tags_copy_question_created_at
  BEFORE INSERT OR UPDATE OF question_id ON questions.question_tags
  FOR EACH ROW EXECUTE FUNCTION questions.copy_question_created_at();

CREATE INDEX question_tags_tag_id_question_created_at_idx
  ON questions.question_tags (tag_id, question_created_at DESC, question_id DESC);

-- +migrate Down
DROP INDEX questions.question_tags_tag_id_question_created_at_idx;
DROP TRIGGER question_tags_copy_question_created_at ON questions.question_tags;
DROP FUNCTION questions.copy_question_created_at();
ALTER TABLE questions.question_tags DROP COLUMN question_created_at;

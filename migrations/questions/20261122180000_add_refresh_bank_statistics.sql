-- ImportQuestions refreshes the planner's statistics of the bank when an import grew it by
-- more than a tenth (issue 7, BENCHMARKS.md round 9). Until autovacuum analyses the tables (up
-- to a naptime after the import), the statistics still describe the bank before it, and
-- ListQuestions can pick a plan that walks every question: 160 000 questions imported into a
-- bank of 10 000 gave ListQuestions 6.7 ok/s at p50 382 ms, and 1 075 ok/s after ANALYZE.
-- Only a table's owner may ANALYZE it, so the service calls this function, which runs with the
-- owner's rights and does nothing else. Runs as suite_owner.

-- +migrate Up
CREATE FUNCTION questions.refresh_bank_statistics(added bigint) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- reltuples is what the planner believes the bank holds (-1 before the first ANALYZE).
  IF added <= 0.1 * greatest((SELECT c.reltuples FROM pg_class c
                              WHERE c.oid = 'questions.questions'::regclass), 0) THEN
    RETURN false;
  END IF;
  ANALYZE questions.questions;
  ANALYZE questions.question_tags;
  ANALYZE questions.choices;
  RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION questions.refresh_bank_statistics(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION questions.refresh_bank_statistics(bigint) TO questions_service;

-- +migrate Down
DROP FUNCTION questions.refresh_bank_statistics(bigint);

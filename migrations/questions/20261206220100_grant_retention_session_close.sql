-- What the retention job (role suite_retention, docs/retention.md) may do in questions: close
-- practice sessions abandoned for longer than its period, scored as EndPractice scores them
-- (the correct attempts). It can set ended_at and score and nothing else, and delete nothing.

-- +migrate Up
GRANT USAGE ON SCHEMA questions TO suite_retention;
GRANT SELECT, UPDATE (ended_at, score) ON questions.practice_sessions TO suite_retention;
GRANT SELECT ON questions.attempts TO suite_retention;

-- +migrate Down
REVOKE ALL ON questions.attempts FROM suite_retention;
REVOKE ALL ON questions.practice_sessions FROM suite_retention;
REVOKE USAGE ON SCHEMA questions FROM suite_retention;

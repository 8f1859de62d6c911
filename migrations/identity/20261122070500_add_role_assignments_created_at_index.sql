-- ListRoleAssignments without a user or account filter (issue 7, "EXPLAIN of every list query
-- uses an index"): the page is ORDER BY created_at, id LIMIT 1000, which no index of
-- role_assignments yielded, so the unfiltered list read and sorted the whole table. This index
-- yields that order directly. Runs as suite_owner.

-- +migrate Up
CREATE INDEX role_assignments_created_at_id_idx
  ON identity.role_assignments (created_at, id);

-- +migrate Down
DROP INDEX identity.role_assignments_created_at_id_idx;

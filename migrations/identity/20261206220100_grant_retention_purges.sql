-- What the retention job (role suite_retention, docs/retention.md) may do in identity: read
-- and delete login attempts, sessions and e-mail verifications past their period. The
-- column-level UPDATE on updated_at is only there because a batch selects its rows
-- FOR UPDATE SKIP LOCKED (so that two runs never wait on each other), which PostgreSQL
-- allows only with an UPDATE privilege on some column of the table.

-- +migrate Up
GRANT USAGE ON SCHEMA identity TO suite_retention;
GRANT SELECT, DELETE ON identity.login_attempts, identity.sessions, identity.email_verifications
  TO suite_retention;
GRANT UPDATE (updated_at)
  ON identity.login_attempts, identity.sessions, identity.email_verifications
  TO suite_retention;
-- Deleting a session that was still live logs its revocation (identity.log_revocation).
GRANT EXECUTE ON FUNCTION identity.log_revocation(text, uuid, uuid) TO suite_retention;

-- +migrate Down
REVOKE EXECUTE ON FUNCTION identity.log_revocation(text, uuid, uuid) FROM suite_retention;
REVOKE ALL ON identity.login_attempts, identity.sessions, identity.email_verifications
  FROM suite_retention;
REVOKE USAGE ON SCHEMA identity FROM suite_retention;

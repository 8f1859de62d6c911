-- The revocation log behind WatchRevocations: one row for every change that makes a cached
-- ValidateSession answer stale (a session revoked or deleted, a user suspended, disabled or
-- deleted, a role grant added, changed or removed), written by triggers, so in the very
-- transaction of the change whatever code path makes it, and NOTIFY identity_revocations, which
-- PostgreSQL delivers to every listening replica when (and only if) that transaction commits.
--
-- Readers cannot follow `id` alone: ids are taken at INSERT, so a transaction that commits
-- later may hold a smaller id than one already read. xact_id (the writing transaction's 64-bit
-- id) is the fence: every row not yet visible to a snapshot was written by a transaction at or
-- above that snapshot's xmin, so re-reading from the last snapshot's xmin misses nothing (and
-- returns some rows twice; dropping a cache entry is idempotent). Rows are pruned by identity
-- after a retention period; a subscriber whose cursor is older is told to reset.
-- Runs as suite_owner; the trigger functions run as the writing role (identity_service), which
-- the schema's default privileges let insert here.

-- +migrate Up
CREATE TABLE identity.revocations (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  session_id uuid,
  user_id uuid NOT NULL,
  xact_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT revocations_kind_check CHECK (
    (kind = 'session' AND session_id IS NOT NULL) OR
    (kind IN ('user', 'roles') AND session_id IS NULL))
);
-- The fenced read (xact_id >= the last snapshot's xmin) and the pruning.
CREATE INDEX revocations_xact_id_idx ON identity.revocations (xact_id);
CREATE INDEX revocations_created_at_idx ON identity.revocations (created_at);

-- Logs one revocation and notifies it; the payload "<id> <xact_id> <kind> <session_id or -> <user_id>"
-- lets a replica send it without reading the log first (the log stays the truth: it is read
-- from the fence at each heartbeat and whenever a payload cannot be used).
-- SECURITY DEFINER: whichever role makes the change (the service's, or the retention job's
-- deleting sessions) the revocation is logged; the function does only this, with a fixed
-- search_path.
CREATE FUNCTION identity.log_revocation(p_kind text, p_session_id uuid, p_user_id uuid)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r_id bigint;
  r_xact xid8;
BEGIN
  INSERT INTO identity.revocations (kind, session_id, user_id)
    VALUES (p_kind, p_session_id, p_user_id)
    RETURNING id, xact_id INTO r_id, r_xact;
  PERFORM pg_notify('identity_revocations',
                    concat_ws(' ', r_id, r_xact, p_kind, coalesce(p_session_id::text, '-'),
                              p_user_id));
END;
$$;

CREATE FUNCTION identity.log_session_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM identity.log_revocation('session', OLD.id, OLD.user_id);
  ELSE
    PERFORM identity.log_revocation('session', NEW.id, NEW.user_id);
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION identity.log_user_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM identity.log_revocation('user', NULL, NEW.id);
  RETURN NULL;
END;
$$;

CREATE FUNCTION identity.log_roles_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM identity.log_revocation('roles', NULL, OLD.user_id);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
    PERFORM identity.log_revocation('roles', NULL, NEW.user_id);
  END IF;
  RETURN NULL;
END;
$$;

-- Revoked: revoked_at set where it was unset (Logout, RevokeSession, RevokeAllSessions,
-- RotateSession, ChangePassword, SetUserStatus, DeleteUser all revoke this way).
CREATE TRIGGER sessions_log_revocation AFTER UPDATE OF revoked_at ON identity.sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION identity.log_session_revocation();
-- Deleted (a user's hard delete cascades here): its token is unknown from now on. A session
-- that expired over an hour before (what the retention job deletes) is refused already by
-- identity and by every cache (a cache never keeps an answer past the expiry it was given,
-- and expiry only moves later), so its deletion is no revocation; the hour covers clock skew
-- between identity's hosts and the database.
CREATE TRIGGER sessions_log_deletion AFTER DELETE ON identity.sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND
                     LEAST(OLD.expires_at, OLD.absolute_expires_at) > now() - interval '1 hour')
  EXECUTE FUNCTION identity.log_session_revocation();
-- Barred or deleted: every session of the user is refused from now on.
CREATE TRIGGER users_log_revocation AFTER UPDATE OF status, deleted_at ON identity.users
  FOR EACH ROW WHEN ((NEW.status <> 'active' AND OLD.status IS DISTINCT FROM NEW.status) OR
                     (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL))
  EXECUTE FUNCTION identity.log_user_revocation();
-- Any change of a grant: ValidateSession answers carry the user's grants.
CREATE TRIGGER role_assignments_log_revocation
  AFTER INSERT OR DELETE OR UPDATE OF user_id, role_key, account_id ON identity.role_assignments
  FOR EACH ROW EXECUTE FUNCTION identity.log_roles_revocation();
-- Only the roles whose changes fire these triggers may log a revocation (the retention job's
-- role is granted it with its other rights).
REVOKE EXECUTE ON FUNCTION identity.log_revocation(text, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity.log_revocation(text, uuid, uuid) TO identity_service;

-- +migrate Down
DROP TRIGGER role_assignments_log_revocation ON identity.role_assignments;
DROP TRIGGER users_log_revocation ON identity.users;
DROP TRIGGER sessions_log_deletion ON identity.sessions;
DROP TRIGGER sessions_log_revocation ON identity.sessions;
DROP FUNCTION identity.log_roles_revocation();
DROP FUNCTION identity.log_user_revocation();
DROP FUNCTION identity.log_session_revocation();
DROP FUNCTION identity.log_revocation(text, uuid, uuid);
DROP TABLE identity.revocations;

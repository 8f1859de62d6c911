-- The audit trail of billing's privileged actions (docs/audit.md): one row per change (who,
-- what, on what, under which request, with a compact before/after), appended in the same
-- transaction as the change, so there is never a change without its row nor a row without
-- its change. The rows form a hash chain: each carries the hash of its predecessor, and
-- appends are serialised on the single-row chain head, so concurrent appends form one chain
-- and a verifier names the first row that was altered, removed or inserted out of band.
--
-- Least privilege: billing_service may read and append, never change or remove a row (the
-- schema's default privileges would grant UPDATE and DELETE: revoked here); only the
-- retention job's role suite_retention deletes rows, past the audit period.
--
-- Recorded: the admin-only writes (ledger entries, event reprocessing, customer links).
-- Webhook-driven changes are the system's and are recorded by billing.stripe_events itself.

-- +migrate Up
CREATE TABLE billing.audit_log (
  seq bigint PRIMARY KEY,
  -- clock_timestamp() taken under the chain head's lock: ascending with seq.
  occurred_at timestamptz NOT NULL,
  actor_id uuid,
  action text NOT NULL,
  target_type text NOT NULL,
  target_id text NOT NULL,
  request_id uuid,
  outcome text NOT NULL,
  before jsonb,
  after jsonb,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
  CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('succeeded')),
  CONSTRAINT audit_log_hash_check CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$')
);
-- ListAuditEvents, newest first, optionally by actor, target or action; the time range and
-- the retention purge go through occurred_at.
CREATE INDEX audit_log_occurred_at_idx ON billing.audit_log (occurred_at);
CREATE INDEX audit_log_actor_id_seq_idx ON billing.audit_log (actor_id, seq DESC);
CREATE INDEX audit_log_target_id_seq_idx ON billing.audit_log (target_id, seq DESC);
CREATE INDEX audit_log_action_seq_idx ON billing.audit_log (action, seq DESC);

-- The end of the chain: the last seq and its hash. One row, locked by each append.
CREATE TABLE billing.audit_chain_head (
  id boolean PRIMARY KEY DEFAULT true,
  seq bigint NOT NULL,
  hash text NOT NULL,
  CONSTRAINT audit_chain_head_id_check CHECK (id)
);
INSERT INTO billing.audit_chain_head (id, seq, hash) VALUES (true, 0, repeat('0', 64));

-- The hash of a row: SHA-256 of its predecessor's hash and its content, in a canonical form
-- (a jsonb array's text; the time as Unix microseconds, independent of the session's
-- TimeZone). Appends and the verifier both call this, so they cannot disagree.
CREATE FUNCTION billing.audit_hash(prev_hash text, seq bigint, occurred_at timestamptz,
                                    actor_id uuid, action text, target_type text,
                                    target_id text, request_id uuid, outcome text,
                                    before jsonb, after jsonb)
  RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    prev_hash, seq, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor_id, action,
    target_type, target_id, request_id, outcome, before, after)::text, 'UTF8')), 'hex')
$$;

REVOKE UPDATE, DELETE, TRUNCATE ON billing.audit_log FROM billing_service;
GRANT SELECT, INSERT ON billing.audit_log TO billing_service;
REVOKE INSERT, DELETE, TRUNCATE ON billing.audit_chain_head FROM billing_service;
GRANT SELECT, UPDATE ON billing.audit_chain_head TO billing_service;
GRANT SELECT, DELETE ON billing.audit_log TO suite_retention;
GRANT SELECT ON billing.audit_chain_head TO suite_retention;

-- +migrate Down
DROP FUNCTION billing.audit_hash(text, bigint, timestamptz, uuid, text, text, text, uuid,
                                  text, jsonb, jsonb);
DROP TABLE billing.audit_chain_head;
DROP TABLE billing.audit_log;

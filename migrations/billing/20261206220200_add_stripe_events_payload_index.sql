-- The index the payload purge reads (docs/retention.md): only events that still carry a
-- payload, by arrival, so each batch is an index range and the index shrinks as payloads go.
-- Built concurrently (the webhook path writes this table), hence idempotent.

-- +migrate NoTransaction
-- +migrate Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS stripe_events_payload_received_at_idx
  ON billing.stripe_events (received_at) WHERE raw_event_redacted IS NOT NULL;

-- +migrate Down
DROP INDEX CONCURRENTLY IF EXISTS billing.stripe_events_payload_received_at_idx;

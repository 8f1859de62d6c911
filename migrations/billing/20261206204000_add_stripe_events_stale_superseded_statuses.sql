-- Stripe events that were recorded but not applied get statuses of their own, so that
-- ListStripeEvents tells them from applied ones: 'stale' (the object already held the state of
-- a later second) and 'superseded' (a later event of the same second was already applied).
-- Settled events also keep the Stripe object they are about and their `created` second, so
-- that the events of one subscription in one second can be ordered as a set (one indexed
-- read per same-second delivery). Runs as suite_owner.

-- +migrate Up
ALTER TABLE billing.stripe_events DROP CONSTRAINT stripe_events_status_check;
ALTER TABLE billing.stripe_events ADD CONSTRAINT stripe_events_status_check
  CHECK (status IN ('received', 'processed', 'ignored', 'failed', 'stale', 'superseded'));
ALTER TABLE billing.stripe_events ADD COLUMN stripe_object_id text;
ALTER TABLE billing.stripe_events ADD COLUMN event_created timestamptz;
CREATE INDEX stripe_events_stripe_object_id_event_created_idx
  ON billing.stripe_events (stripe_object_id, event_created);

-- +migrate Down
DROP INDEX billing.stripe_events_stripe_object_id_event_created_idx;
ALTER TABLE billing.stripe_events DROP COLUMN event_created;
ALTER TABLE billing.stripe_events DROP COLUMN stripe_object_id;
UPDATE billing.stripe_events SET status = 'processed' WHERE status IN ('stale', 'superseded');
ALTER TABLE billing.stripe_events DROP CONSTRAINT stripe_events_status_check;
ALTER TABLE billing.stripe_events ADD CONSTRAINT stripe_events_status_check
  CHECK (status IN ('received', 'processed', 'ignored', 'failed'));

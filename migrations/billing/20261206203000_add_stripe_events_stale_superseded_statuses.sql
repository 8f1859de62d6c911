-- Stripe events that were recorded but not applied get statuses of their own, so that
-- ListStripeEvents tells them from applied ones: 'stale' (the object already held the state of
-- a later second) and 'superseded' (a later event of the same second was already applied).
-- Runs as suite_owner.

-- +migrate Up
ALTER TABLE billing.stripe_events DROP CONSTRAINT stripe_events_status_check;
ALTER TABLE billing.stripe_events ADD CONSTRAINT stripe_events_status_check
  CHECK (status IN ('received', 'processed', 'ignored', 'failed', 'stale', 'superseded'));

-- +migrate Down
UPDATE billing.stripe_events SET status = 'processed' WHERE status IN ('stale', 'superseded');
ALTER TABLE billing.stripe_events DROP CONSTRAINT stripe_events_status_check;
ALTER TABLE billing.stripe_events ADD CONSTRAINT stripe_events_status_check
  CHECK (status IN ('received', 'processed', 'ignored', 'failed'));

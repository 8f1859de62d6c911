-- What the retention job (role suite_retention, docs/retention.md) may do in billing: read
-- the Stripe events and clear their stored payload after its period. It can change no other
-- column and delete no row: the event id stays for deduplication of redeliveries.

-- +migrate Up
GRANT USAGE ON SCHEMA billing TO suite_retention;
GRANT SELECT, UPDATE (raw_event_redacted) ON billing.stripe_events TO suite_retention;

-- +migrate Down
REVOKE ALL ON billing.stripe_events FROM suite_retention;
REVOKE USAGE ON SCHEMA billing FROM suite_retention;

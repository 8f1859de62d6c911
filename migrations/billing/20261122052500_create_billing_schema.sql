-- Owner `billing` (DESIGN.md §3; seed 000 §5.6 and §7; seed 001): Stripe customers and
-- subscriptions kept in step by webhook events, the event log that makes webhooks
-- exactly-once, and the append-only ledger. Follows migrations/README.md's pattern.
--
-- user_id / account_id are plain uuids: their truth lives in identity (no FK across schemas).
-- No personal data is stored: no e-mail, name, phone or address columns; raw events are
-- redacted by the service before they are written.

-- +migrate Up
CREATE SCHEMA billing;
GRANT USAGE ON SCHEMA billing TO billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  GRANT USAGE, SELECT ON SEQUENCES TO billing_service;

-- Seed 001's values, in its order.
CREATE TYPE billing.stripe_subscription_status AS ENUM (
  'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid',
  'paused'
);

-- One Stripe customer. (last_event_created, last_event_id) is the newest Stripe event applied
-- to the row: an event is applied only when its (created, id) is greater, so deliveries out
-- of order never overwrite newer state and equal seconds are ordered by event id.
CREATE TABLE billing.stripe_customers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stripe_customer_id text NOT NULL,
  user_id uuid,
  deleted_at timestamptz,
  last_event_created timestamptz,
  last_event_id text,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stripe_customers_stripe_customer_id_check
    CHECK (char_length(stripe_customer_id) BETWEEN 1 AND 255),
  CONSTRAINT stripe_customers_last_event_check
    CHECK ((last_event_created IS NULL) = (last_event_id IS NULL))
);
CREATE UNIQUE INDEX stripe_customers_stripe_customer_id_key
  ON billing.stripe_customers (stripe_customer_id);
CREATE INDEX stripe_customers_user_id_idx ON billing.stripe_customers (user_id);
CREATE TRIGGER stripe_customers_set_updated_at BEFORE UPDATE ON billing.stripe_customers
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- One Stripe subscription as last reported. user_id is copied from the customer (or the
-- subscription's metadata.user_id) so that the entitlement check is one indexed read.
CREATE TABLE billing.stripe_subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stripe_subscription_id text NOT NULL,
  customer_id uuid NOT NULL
    REFERENCES billing.stripe_customers (id) ON DELETE RESTRICT,
  user_id uuid,
  status billing.stripe_subscription_status NOT NULL,
  price_id text,
  current_period_end timestamptz,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  trial_end timestamptz,
  -- When the subscription last became past_due (Stripe event time); NULL unless past_due.
  -- The entitlement grace period counts from here.
  past_due_since timestamptz,
  last_event_created timestamptz NOT NULL,
  last_event_id text NOT NULL,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stripe_subscriptions_stripe_subscription_id_check
    CHECK (char_length(stripe_subscription_id) BETWEEN 1 AND 255)
);
CREATE UNIQUE INDEX stripe_subscriptions_stripe_subscription_id_key
  ON billing.stripe_subscriptions (stripe_subscription_id);
CREATE INDEX stripe_subscriptions_customer_id_idx
  ON billing.stripe_subscriptions (customer_id);
-- Entitlement (WHERE user_id = $1) and ListSubscriptions' keyset (created_at DESC, id DESC).
CREATE INDEX stripe_subscriptions_user_id_created_at_idx
  ON billing.stripe_subscriptions (user_id, created_at DESC, id DESC);
CREATE TRIGGER stripe_subscriptions_set_updated_at BEFORE UPDATE ON billing.stripe_subscriptions
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- Every webhook event received (seed 000 §5.6): the unique stripe_event_id is the claim that
-- makes delivery exactly-once.
CREATE TABLE billing.stripe_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stripe_event_id text NOT NULL,
  type text NOT NULL,
  api_version text,
  livemode boolean NOT NULL,
  received_at timestamptz NOT NULL,
  processed_at timestamptz,
  status text NOT NULL,
  last_error text,
  request_id uuid,
  related_account_id uuid,
  related_transaction_id uuid,
  raw_event_redacted jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stripe_events_status_check
    CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
  CONSTRAINT stripe_events_stripe_event_id_check
    CHECK (char_length(stripe_event_id) BETWEEN 1 AND 255),
  CONSTRAINT stripe_events_type_check CHECK (char_length(type) BETWEEN 1 AND 255)
);
CREATE UNIQUE INDEX stripe_events_stripe_event_id_key
  ON billing.stripe_events (stripe_event_id);
-- ListStripeEvents: newest first, optionally by status.
CREATE INDEX stripe_events_received_at_idx
  ON billing.stripe_events (received_at DESC, id DESC);
CREATE INDEX stripe_events_status_received_at_idx
  ON billing.stripe_events (status, received_at DESC, id DESC);

-- The ledger (seed 000 §7): append-only. request_fingerprint is a hash of the request that
-- first used idempotency_key, to tell a retry (same request) from a conflict.
CREATE TABLE billing.transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL,
  user_id uuid,
  kind text NOT NULL,
  status text NOT NULL,
  currency text NOT NULL,
  amount_cents integer NOT NULL,
  provider text NOT NULL,
  provider_payment_intent_id text,
  provider_charge_id text,
  provider_invoice_id text,
  provider_checkout_session_id text,
  idempotency_key text,
  request_fingerprint text,
  metadata jsonb,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transactions_kind_check CHECK (kind IN ('payment', 'refund', 'adjustment')),
  CONSTRAINT transactions_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
  CONSTRAINT transactions_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT transactions_provider_check CHECK (char_length(provider) BETWEEN 1 AND 64),
  CONSTRAINT transactions_idempotency_check
    CHECK ((idempotency_key IS NULL) = (request_fingerprint IS NULL))
);
CREATE UNIQUE INDEX transactions_idempotency_key_key
  ON billing.transactions (idempotency_key);
CREATE INDEX transactions_account_id_created_at_idx
  ON billing.transactions (account_id, created_at DESC, id DESC);

-- Append-only, twice over: the service role may not UPDATE or DELETE, and a trigger refuses
-- it for everyone else too (a corrected entry is a new adjustment, never an edit).
CREATE FUNCTION billing.reject_transaction_change() RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'billing.transactions is append-only'
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON billing.transactions
  FOR EACH ROW EXECUTE FUNCTION billing.reject_transaction_change();
REVOKE UPDATE, DELETE ON billing.transactions FROM billing_service;

-- +migrate Down
DROP TABLE billing.transactions;
DROP FUNCTION billing.reject_transaction_change();
DROP TABLE billing.stripe_events;
DROP TABLE billing.stripe_subscriptions;
DROP TABLE billing.stripe_customers;
DROP TYPE billing.stripe_subscription_status;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  REVOKE USAGE, SELECT ON SEQUENCES FROM billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM billing_service;
REVOKE USAGE ON SCHEMA billing FROM billing_service;
DROP SCHEMA billing;

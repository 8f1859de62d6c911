-- A second service owner following migrations/README.md's pattern (test fixture).

-- +migrate Up
CREATE SCHEMA billing;
GRANT USAGE ON SCHEMA billing TO billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  GRANT USAGE, SELECT ON SEQUENCES TO billing_service;

CREATE TABLE billing.transactions (
  id bigserial PRIMARY KEY,
  user_id uuid NOT NULL,
  amount_cents bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_user_id_created_at_idx
  ON billing.transactions (user_id, created_at DESC);

-- +migrate Down
DROP TABLE billing.transactions;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  REVOKE USAGE, SELECT ON SEQUENCES FROM billing_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM billing_service;
REVOKE USAGE ON SCHEMA billing FROM billing_service;
DROP SCHEMA billing;

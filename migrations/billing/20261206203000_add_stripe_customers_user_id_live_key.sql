-- One live Stripe customer per user. A member pays through one customer; with two live links
-- GetCustomer and the entitlement depended on which customer changed last. Deleted customers
-- keep their link (history) and do not count. Runs as suite_owner.
--
-- Users that already had several live customers keep the most recently updated one (the one
-- GetCustomer returned); the others are unlinked. Their subscriptions keep their user_id, so
-- nobody loses an entitlement here; an admin settles them with LinkCustomer.

-- +migrate Up
UPDATE billing.stripe_customers c SET user_id = NULL
WHERE c.user_id IS NOT NULL AND c.deleted_at IS NULL AND EXISTS (
  SELECT 1 FROM billing.stripe_customers n
  WHERE n.user_id = c.user_id AND n.deleted_at IS NULL
    AND (n.updated_at, n.id) > (c.updated_at, c.id));
CREATE UNIQUE INDEX stripe_customers_user_id_live_key
  ON billing.stripe_customers (user_id) WHERE user_id IS NOT NULL AND deleted_at IS NULL;

-- +migrate Down
DROP INDEX billing.stripe_customers_user_id_live_key;

-- The core owner: what every service's schema builds on (DESIGN.md §3).
-- Runs as the owner role (suite_owner), which must own the database: pgcrypto is a trusted
-- extension, so the database owner may install it without being a superuser.

-- +migrate Up
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

CREATE SCHEMA IF NOT EXISTS core;

-- The trigger function behind every `updated_at` column: each service's table gets
--   CREATE TRIGGER <table>_set_updated_at BEFORE UPDATE ON <svc>.<table>
--     FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE OR REPLACE FUNCTION core.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;

-- +migrate Down
DROP FUNCTION IF EXISTS core.set_updated_at();
DROP SCHEMA IF EXISTS core;
DROP EXTENSION IF EXISTS pgcrypto;

-- A service owner following migrations/README.md's pattern (test fixture).

-- +migrate Up
CREATE SCHEMA identity;
GRANT USAGE ON SCHEMA identity TO identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  GRANT USAGE, SELECT ON SEQUENCES TO identity_service;

CREATE TABLE identity.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON identity.users (lower(email));
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON identity.users
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- +migrate Down
DROP TABLE identity.users;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  REVOKE USAGE, SELECT ON SEQUENCES FROM identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM identity_service;
REVOKE USAGE ON SCHEMA identity FROM identity_service;
DROP SCHEMA identity;

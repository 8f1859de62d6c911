-- Owner `identity` (DESIGN.md §3; seed 000 §5.1–5.5, §8): users, accounts, roles and their
-- assignments, server-side sessions, login attempts (abuse control and audit) and e-mail
-- verification tokens. Follows migrations/README.md's pattern.
--
-- Secrets are never stored in the clear: password_hash holds an argon2id string, sessions and
-- verification tokens are stored only as the SHA-256 hex of the token.

-- +migrate Up
CREATE SCHEMA identity;
GRANT USAGE ON SCHEMA identity TO identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  GRANT USAGE, SELECT ON SEQUENCES TO identity_service;

-- A person who can log in. email is stored normalised (trimmed, lower case) and unique
-- case-insensitively, soft-deleted users included: an address is never silently reused.
CREATE TABLE identity.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  email_verified_at timestamptz,
  password_hash text,
  first_name text,
  last_name text,
  phone text,
  status text NOT NULL DEFAULT 'active',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended', 'disabled')),
  CONSTRAINT users_email_check CHECK (char_length(email) BETWEEN 3 AND 254)
);
CREATE UNIQUE INDEX users_email_key ON identity.users (lower(email));
-- Keyset pagination of ListUsers.
CREATE INDEX users_created_at_id_idx ON identity.users (created_at, id);
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON identity.users
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- A group of users (seed 000 §5.5); membership is a role assignment carrying its id.
CREATE TABLE identity.accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  status text NOT NULL DEFAULT 'active',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT accounts_status_check CHECK (status IN ('active', 'suspended', 'closed')),
  CONSTRAINT accounts_name_check CHECK (char_length(name) BETWEEN 1 AND 200)
);
CREATE INDEX accounts_created_at_id_idx ON identity.accounts (created_at, id);
CREATE TRIGGER accounts_set_updated_at BEFORE UPDATE ON identity.accounts
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- Named roles; the built-in ones are rows inserted here.
CREATE TABLE identity.roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key text NOT NULL,
  label text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT roles_key_check CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
  CONSTRAINT roles_label_check CHECK (char_length(label) BETWEEN 1 AND 200)
);
CREATE UNIQUE INDEX roles_key_key ON identity.roles (key);
CREATE TRIGGER roles_set_updated_at BEFORE UPDATE ON identity.roles
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
INSERT INTO identity.roles (key, label) VALUES
  ('admin', 'Administrator'),
  ('author', 'Author'),
  ('member', 'Member');

-- A role granted to a user, globally (account_id NULL) or within one account. Deleting a user
-- or an account removes its grants; a role in use cannot be deleted (RESTRICT). The unique
-- index treats a NULL account as one value, so a global grant cannot be duplicated either.
CREATE TABLE identity.role_assignments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
  role_key text NOT NULL REFERENCES identity.roles (key) ON DELETE RESTRICT,
  account_id uuid REFERENCES identity.accounts (id) ON DELETE CASCADE,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Leads with user_id: also the index of the user_id foreign key and of ValidateSession's join.
CREATE UNIQUE INDEX role_assignments_user_role_account_key ON identity.role_assignments
  (user_id, role_key, coalesce(account_id, '00000000-0000-0000-0000-000000000000'::uuid));
CREATE INDEX role_assignments_role_key_idx ON identity.role_assignments (role_key);
CREATE INDEX role_assignments_account_id_created_at_idx
  ON identity.role_assignments (account_id, created_at DESC);
CREATE TRIGGER role_assignments_set_updated_at BEFORE UPDATE ON identity.role_assignments
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- Server-side sessions (seed 000 §5.3, §9). expires_at is the sliding idle expiry, never past
-- absolute_expires_at. Only the SHA-256 hex of the token is stored.
CREATE TABLE identity.sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
  session_token_hash text NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  ip_created text,
  user_agent_created text,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sessions_session_token_hash_check CHECK (session_token_hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT sessions_expires_at_check CHECK (expires_at <= absolute_expires_at)
);
CREATE UNIQUE INDEX sessions_session_token_hash_key ON identity.sessions (session_token_hash);
-- Leads with user_id: also the index of the user_id foreign key.
CREATE INDEX sessions_user_id_revoked_at_expires_at_idx
  ON identity.sessions (user_id, revoked_at, expires_at);
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON identity.sessions
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- Every Login call (seed 000 §5.4). A row is written as 'in_flight' (counted as a failure)
-- before the password is checked, then settled; user_id survives the user's deletion as NULL
-- so the audit trail stays.
CREATE TABLE identity.login_attempts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  user_id uuid REFERENCES identity.users (id) ON DELETE SET NULL,
  ip text NOT NULL,
  user_agent text,
  success boolean NOT NULL,
  failure_reason text,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT login_attempts_failure_reason_check CHECK (
    (success AND failure_reason IS NULL) OR
    (NOT success AND failure_reason IN
      ('in_flight', 'invalid_credentials', 'user_inactive', 'throttled', 'overloaded')))
);
-- The sliding-window counts per e-mail and per IP, and the audit listing.
CREATE INDEX login_attempts_email_created_at_idx
  ON identity.login_attempts (email, created_at DESC);
CREATE INDEX login_attempts_ip_created_at_idx ON identity.login_attempts (ip, created_at DESC);
CREATE INDEX login_attempts_created_at_id_idx
  ON identity.login_attempts (created_at DESC, id DESC);
CREATE INDEX login_attempts_user_id_idx ON identity.login_attempts (user_id);
CREATE TRIGGER login_attempts_set_updated_at BEFORE UPDATE ON identity.login_attempts
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- One-time e-mail verification tokens, stored as SHA-256 hex, with expiry.
CREATE TABLE identity.email_verifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  email text NOT NULL,
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  request_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT email_verifications_token_hash_check CHECK (token_hash ~ '^[0-9a-f]{64}$')
);
CREATE UNIQUE INDEX email_verifications_token_hash_key
  ON identity.email_verifications (token_hash);
CREATE INDEX email_verifications_user_id_idx ON identity.email_verifications (user_id);
CREATE TRIGGER email_verifications_set_updated_at BEFORE UPDATE ON identity.email_verifications
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();

-- +migrate Down
DROP TABLE identity.email_verifications;
DROP TABLE identity.login_attempts;
DROP TABLE identity.sessions;
DROP TABLE identity.role_assignments;
DROP TABLE identity.roles;
DROP TABLE identity.accounts;
DROP TABLE identity.users;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  REVOKE USAGE, SELECT ON SEQUENCES FROM identity_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM identity_service;
REVOKE USAGE ON SCHEMA identity FROM identity_service;
DROP SCHEMA identity;

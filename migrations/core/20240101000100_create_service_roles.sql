-- The least-privilege model of DESIGN.md §3 (see migrations/README.md):
-- - migrations run as suite_owner, which owns every schema and has CREATEROLE;
-- - each service logs in as its own role, with DML on its own schema only (granted by that
--   service's schema migration) and no DDL anywhere.
-- Passwords are not set here: operators set them out of band (ALTER ROLE ... PASSWORD).

-- +migrate Up
-- Roles are cluster-wide while migrations are per database: the roles may already exist
-- (another database of the cluster, e.g. one of many test databases, created them), and two
-- databases migrating at the same moment may race to create one.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['identity_service', 'billing_service', 'questions_service']
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format(
          'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created concurrently by another database's migration: same outcome
      END;
    END IF;
  END LOOP;
END
$$;

-- No DDL for the service roles. PostgreSQL 15 grants PUBLIC neither CREATE on the database
-- nor CREATE on schema public; the revokes make that explicit and undo any earlier grant.
DO $$
BEGIN
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM PUBLIC, '
                 'identity_service, billing_service, questions_service', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC, identity_service, billing_service, questions_service;

-- Services may resolve names in core (its trigger function runs on their writes); they get no
-- privilege on anything created there.
GRANT USAGE ON SCHEMA core TO identity_service, billing_service, questions_service;

-- +migrate Down
REVOKE USAGE ON SCHEMA core FROM identity_service, billing_service, questions_service;

-- A role is dropped only when nothing depends on it. Roles are cluster-wide: other databases
-- of the same cluster (test databases cloned side by side, or another environment) may still
-- grant it privileges, and DROP ROLE then fails with dependent_objects_still_exist (2BP01).
-- Such a role keeps no privilege in this database, so leaving it is harmless, and failing
-- the whole rollback because of another database would be wrong.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['questions_service', 'billing_service', 'identity_service']
  LOOP
    BEGIN
      EXECUTE format('DROP ROLE IF EXISTS %I', role_name);
    EXCEPTION WHEN dependent_objects_still_exist THEN
      RAISE NOTICE 'role % kept: other databases still depend on it', role_name;
    END;
  END LOOP;
END
$$;

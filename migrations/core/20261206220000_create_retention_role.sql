-- The retention job's role (docs/retention.md): it logs in as suite_retention and may only
-- remove or thin out what each owner's retention grants name (a few tables, some of them
-- column by column). Kept apart from the service roles so that append-only tables (the audit
-- logs) can be purged after their period while the services themselves can never delete from
-- them. Roles are cluster-wide: created only when missing, as in create_service_roles.

-- +migrate Up
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'suite_retention') THEN
    BEGIN
      CREATE ROLE suite_retention LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- created concurrently by another database's migration: same outcome
    END;
  END IF;
END
$$;
DO $$
BEGIN
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM suite_retention', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM suite_retention;

-- +migrate Down
DO $$
BEGIN
  DROP ROLE IF EXISTS suite_retention;
EXCEPTION WHEN dependent_objects_still_exist THEN
  RAISE NOTICE 'role suite_retention kept: other databases still depend on it';
END
$$;

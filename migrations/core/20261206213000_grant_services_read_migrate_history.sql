-- Each service checks at start and on every health probe that the database holds every
-- migration its code was built with (shared/db/migrate/schema_guard.h), and says NOT_SERVING,
-- naming the missing file, until it does. It reads that from the migrator's history, so the
-- service roles may read the history table and nothing else of schema migrate. The migrator
-- creates schema migrate and its history table before it runs the first file, so both exist
-- here. Runs as suite_owner.

-- +migrate Up
GRANT USAGE ON SCHEMA migrate TO identity_service, billing_service, questions_service;
GRANT SELECT ON migrate.history TO identity_service, billing_service, questions_service;

-- +migrate Down
REVOKE SELECT ON migrate.history FROM identity_service, billing_service, questions_service;
REVOKE USAGE ON SCHEMA migrate FROM identity_service, billing_service, questions_service;

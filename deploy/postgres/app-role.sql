-- Perennial's two database roles, run once in the `perennial` database as a superuser (by
-- init-databases.sh, and by test/deploy/database-roles.test.ts on PostgreSQL and PGlite):
--   perennial_owner  owns the schema and every table; only `npm run migrate` connects as it
--   perennial        what the API and workers connect as: it reads and writes rows, and can neither
--                    change the schema nor disable a trigger (only a table's owner can), so the
--                    audit log's append-only trigger holds against the application itself.
-- The migration 0013_audit_privileges also takes UPDATE, DELETE and TRUNCATE on audit_events
-- back from every role but the owner, so the application role may only add to the audit log.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO perennial_owner;
GRANT USAGE ON SCHEMA public TO perennial;
ALTER DEFAULT PRIVILEGES FOR ROLE perennial_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO perennial;
ALTER DEFAULT PRIVILEGES FOR ROLE perennial_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO perennial;

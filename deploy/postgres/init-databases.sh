#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
# One cluster, two tenants with their own roles:
#   perennial_owner: owns the `perennial` database and its schema; `npm run migrate` (the migrate
#                    service) is the only part that connects as it
#   perennial:       the API and workers: rows only, no schema changes, and it cannot disable the
#                    audit log's append-only trigger (see app-role.sql)
#   temporal:        may create databases; auto-setup creates `temporal` and `temporal_visibility`
# Changing a password later needs ALTER ROLE: this script does not run again on an existing volume.
set -e
: "${PERENNIAL_DB_PASSWORD:?PERENNIAL_DB_PASSWORD is not set}"
: "${PERENNIAL_DB_OWNER_PASSWORD:?PERENNIAL_DB_OWNER_PASSWORD is not set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v perennial_password="$PERENNIAL_DB_PASSWORD" \
  -v perennial_owner_password="$PERENNIAL_DB_OWNER_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE perennial_owner LOGIN PASSWORD :'perennial_owner_password';
CREATE ROLE perennial LOGIN PASSWORD :'perennial_password';
CREATE DATABASE perennial OWNER perennial_owner;
REVOKE ALL ON DATABASE perennial FROM PUBLIC;
GRANT CONNECT ON DATABASE perennial TO perennial;
\connect perennial
\i /etc/perennial/app-role.sql
\connect postgres

CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
SQL

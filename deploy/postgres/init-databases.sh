#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
# One cluster, two tenants with their own roles:
#   perennial: owns the `perennial` database (registry, lineage, audit, predictions)
#   temporal:  may create databases; auto-setup creates `temporal` and `temporal_visibility`
# Changing a password later needs ALTER ROLE: this script does not run again on an existing volume.
set -e
: "${PERENNIAL_DB_PASSWORD:?PERENNIAL_DB_PASSWORD is not set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v perennial_password="$PERENNIAL_DB_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE perennial LOGIN PASSWORD :'perennial_password';
CREATE DATABASE perennial OWNER perennial;
REVOKE ALL ON DATABASE perennial FROM PUBLIC;

CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
SQL

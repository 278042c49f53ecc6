#!/bin/sh
# One-shot schema setup for Temporal on PostgreSQL, run by the
# `temporal-schema-setup` service (temporalio/admin-tools image).
#
# Creates the `temporal` and `temporal_visibility` databases, sets up the
# schema-version tables (setup-schema -v 0.0), then migrates to the latest
# versioned schema shipped in the admin-tools image. Every step is idempotent,
# so this is safe to run on every `docker compose up`.
#
# Connection settings come from the environment (read by temporal-sql-tool):
#   SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PLUGIN SQL_HOST SQL_PORT

echo "Waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}..."
tries=0
until nc -z "$SQL_HOST" "$SQL_PORT"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL did not become reachable" >&2
    exit 1
  fi
  sleep 1
done

# True if database $1 already exists (psql ships in the admin-tools image).
# Without psql we fall back to `create`, which tolerates an existing database
# in current temporal-sql-tool versions.
db_exists() {
  command -v psql >/dev/null 2>&1 || return 1
  PGPASSWORD="${SQL_PASSWORD:-}" psql -h "$SQL_HOST" -p "$SQL_PORT" -U "${SQL_USER:-}" -d postgres \
    -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" 2>/dev/null | grep -q 1
}

setup_db() {
  db="$1"
  dir="$2"
  echo "Setting up database '${db}' from ${dir}"
  if db_exists "$db"; then
    echo "Database '${db}' already exists"
  else
    temporal-sql-tool --db "$db" create
  fi
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
}

setup_db "$DBNAME" "${SCHEMA_DIR}/temporal/versioned"
setup_db "$VISIBILITY_DBNAME" "${SCHEMA_DIR}/visibility/versioned"

echo "PostgreSQL schema setup complete"

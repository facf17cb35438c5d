#!/bin/sh
# One database role per Shebao service, owning the schema named after the service and
# allowed nothing else: no other schema, no new schemas, no objects in public, no other
# database. The services apply their own migrations as that role.
#
# Runs from the postgres image's /docker-entrypoint-initdb.d (compose) or by hand against a
# managed PostgreSQL (Kubernetes), as a role that may create roles:
#
#   PGHOST=db.example PGUSER=postgres POSTGRES_DB=shebao \
#   SHEBAO_DB_PASSWORD_ENROLLMENT=... SHEBAO_DB_PASSWORD_DOCUMENTS=... \
#   SHEBAO_DB_PASSWORD_BILLING=... SHEBAO_DB_PASSWORD_NOTIFICATIONS=... \
#   sh deploy/postgres/init-roles.sh
#
# Idempotent: run it again to reset the passwords (key rotation) or after adding a service.
set -eu

database="${POSTGRES_DB:-shebao}"
services="enrollment documents billing notifications"

psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$database" "$@"
}

psql_admin -v db="$database" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL

for service in $services; do
    variable="SHEBAO_DB_PASSWORD_$(echo "$service" | tr '[:lower:]' '[:upper:]')"
    password="$(printenv "$variable" || true)"
    if [ -z "$password" ]; then
        echo "init-roles: $variable is not set" >&2
        exit 1
    fi
    psql_admin -v db="$database" -v role="shebao_$service" -v schema="$service" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
GRANT CONNECT ON DATABASE :"db" TO :"role";
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
ALTER ROLE :"role" IN DATABASE :"db" SET search_path = :"schema";
SQL
    echo "init-roles: role shebao_$service owns schema $service in database $database"
done

#!/bin/sh
# The official image's first start, in short: an empty data directory gets a cluster whose
# superuser is POSTGRES_USER (password POSTGRES_PASSWORD, scram-sha-256 over TCP, trust on the
# local socket) and the database POSTGRES_DB; then the server runs in the foreground.
set -eu
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?is required on the first start (the official image refuses too)}"
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    pg_ctl --silent --wait --options="-c listen_addresses=''" start
    if [ "$db" != postgres ]; then
        psql --quiet --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 \
            --set=db="$db" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
    pg_ctl --silent --wait --mode=fast stop
    echo "docker-entrypoint.sh: created the cluster, role $user and database $db"
fi
if [ "${1:-}" = postgres ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"

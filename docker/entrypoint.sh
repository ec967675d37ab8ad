#!/bin/sh
# walship-entrypoint: start PostgreSQL archiving through walship, or run any
# other command (walship list, walship-basebackup, walship-recover ...).
#
#   postgres [ARGS]   initialise $PGDATA if it is empty (initdb with
#                     $POSTGRES_INITDB_ARGS; archive_mode = on,
#                     archive_command = walship-archive; listen on
#                     $POSTGRES_LISTEN, default '*'; local trust and
#                     scram-sha-256 for the rest, password $POSTGRES_PASSWORD),
#                     then exec postgres ARGS.  A data directory that
#                     walship-recover built (recovery.signal) starts as it is.
#   anything else     exec'd as given.
set -eu

if [ "${1:-postgres}" != "postgres" ]; then
    exec "$@"
fi
shift || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        pwfile=$(mktemp)
        printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    fi
    # shellcheck disable=SC2086  # the arguments are words on purpose
    initdb -D "$PGDATA" --username=postgres ${pwfile:+--pwfile="$pwfile"} \
        ${POSTGRES_INITDB_ARGS:-} >/dev/null
    [ -z "$pwfile" ] || rm -f "$pwfile"
    cat >> "$PGDATA/postgresql.conf" <<CONF

# added by walship-entrypoint
listen_addresses = '${POSTGRES_LISTEN:-*}'
wal_level = replica
archive_mode = on
archive_command = 'walship-archive --config=${WALSHIP_CONFIG} %p %f'
archive_timeout = ${ARCHIVE_TIMEOUT:-60}
CONF
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        {
            echo "host all all all scram-sha-256"
            echo "host replication all all scram-sha-256"
        } >> "$PGDATA/pg_hba.conf"
    fi
    echo "walship-entrypoint: initialised $PGDATA, archiving with walship-archive"
fi
exec postgres -D "$PGDATA" "$@"

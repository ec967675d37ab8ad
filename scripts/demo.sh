#!/usr/bin/env bash
# walship demo: archive -> point-in-time recovery on a throwaway local cluster.
#
# Starts a PostgreSQL 15 cluster in a temporary directory (unix socket only)
# with archive_command = walship-archive (zstd + AES-256-GCM), takes a base
# backup into the repository with walship-basebackup, writes data, notes a
# target time, "accidentally" deletes rows, then walship-recover builds a new
# data directory recovering to the target time (restore_command =
# walship-restore) and the script proves the rows are back.
# Run after scripts/build.sh; as root it runs PostgreSQL as user pgtest.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
BUILD=${BUILD:-$SRC/build}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
if [ "$(id -u)" -eq 0 ]; then
    RUNAS=(runuser -u pgtest --)
    OWNER=pgtest
else
    RUNAS=()
    OWNER=$(id -un)
fi

T=$(mktemp -d /tmp/walship-demo.XXXXXX)
chmod 755 "$T"
cleanup() {
    for d in "$T/primary" "$T/restored"; do
        [ -f "$d/postmaster.pid" ] && kill -INT "$(head -1 "$d/postmaster.pid")" 2>/dev/null || true
    done
    sleep 1
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

mkdir -p "$T/bin" "$T/repo" "$T/sock1" "$T/sock2"
cp "$BUILD/walship-archive" "$BUILD/walship-restore" "$BUILD/walship-basebackup" \
    "$BUILD/walship-recover" "$T/bin/"
chmod 755 "$T/bin"/*
head -c 24 /dev/urandom | base64 > "$T/passphrase"
chmod 600 "$T/passphrase"
cat > "$T/walship.conf" <<CONF
# walship configuration for the demo
repo = '$T/repo'
compression = zstd
encryption = aes-256-gcm
encryption_passphrase_file = '$T/passphrase'
CONF
chmod 600 "$T/walship.conf"
chown -R "$OWNER" "$T"

psql_p() { psql -X -q -h "$T/sock1" -U postgres -Atc "$1" postgres; }
psql_r() { psql -X -q -h "$T/sock2" -U postgres -Atc "$1" postgres; }

say "1. a PostgreSQL 15 cluster whose archive_command is walship-archive"
(cd "$T" && "${RUNAS[@]}" "$PGBIN/initdb" -D "$T/primary" -U postgres --auth=trust --no-sync \
    -E UTF8 --locale=C >/dev/null)
cat >> "$T/primary/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock1'
wal_level = replica
archive_mode = on
archive_command = '$T/bin/walship-archive --config=$T/walship.conf %p %f'
archive_timeout = 0
CONF
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$T/primary" -l "$T/primary.log" -w start >/dev/null
echo "archive_command = '$T/bin/walship-archive --config=$T/walship.conf %p %f'"

say "2. some business data, then a base backup"
psql_p "create table invoices (id int primary key, customer text, amount numeric);
        insert into invoices select g, 'customer-' || (g % 97), (g * 7.31)::numeric(10,2)
        from generate_series(1, 20000) g;"
echo "\$ walship-basebackup --checkpoint=fast"
BACKUP=$("${RUNAS[@]}" "$T/bin/walship-basebackup" --config="$T/walship.conf" \
    -d "host=$T/sock1 user=postgres" --checkpoint=fast 2> "$T/basebackup.err") ||
    { cat "$T/basebackup.err" >&2; echo "walship-basebackup failed" >&2; exit 1; }
sed 's/^/    /' "$T/basebackup.err"
echo "base backup $BACKUP is in the repository"

say "3. more work after the backup"
for i in 1 2 3; do
    psql_p "insert into invoices select g, 'late-' || g, g from generate_series(20000 + $i * 1000, 20000 + $i * 1000 + 999) g;
            select pg_switch_wal();" >/dev/null
done
sleep 1
TARGET=$(psql_p "select now()")
SNAP=$(psql_p "select count(*) || ' rows, md5 ' || md5(string_agg(id || ':' || amount, ',' order by id)) from invoices")
echo "target time: $TARGET"
echo "data at the target: $SNAP"
sleep 1

say "4. the accident: a DELETE without the right WHERE"
psql_p "delete from invoices where amount > 100" >/dev/null
echo "after the accident: $(psql_p "select count(*) from invoices") rows"
LAST=$(psql_p "select pg_walfile_name(pg_switch_wal())")
for i in $(seq 1 120); do
    [ "$(psql_p "select coalesce(last_archived_wal, '') >= '$LAST' from pg_stat_archiver")" = t ] && break
    sleep 0.5
done
echo "archived through $LAST:"
grep walship-archive "$T/primary.log" | tail -4 | sed 's/^/    /'
echo "repository: $(find "$T/repo/wal" -type f | wc -l) objects, $(du -sh "$T/repo" | cut -f1) (WAL on the primary: $(du -sh "$T/primary/pg_wal" | cut -f1))"
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$T/primary" -w -m fast stop >/dev/null

say "5. point-in-time recovery: walship-recover builds the data directory and the recovery settings"
echo "\$ walship-recover -D restored --target-time='$TARGET' --target-action=promote"
"${RUNAS[@]}" "$T/bin/walship-recover" --config="$T/walship.conf" -D "$T/restored" \
    --target-time="$TARGET" --target-action=promote 2>&1 | sed 's/^/    /'
[ -f "$T/restored/recovery.signal" ] || { echo "walship-recover failed" >&2; exit 1; }
cat >> "$T/restored/postgresql.conf" <<CONF
unix_socket_directories = '$T/sock2'
archive_mode = off
CONF
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$T/restored" -l "$T/restored.log" -w -t 120 start >/dev/null
for i in $(seq 1 120); do
    [ "$(psql_r "select pg_is_in_recovery()")" = f ] && break
    sleep 0.5
done
grep -E 'walship-restore|recovery stopping|selected new timeline' "$T/restored.log" | sed 's/^/    /'

say "6. the result"
GOT=$(psql_r "select count(*) || ' rows, md5 ' || md5(string_agg(id || ':' || amount, ',' order by id)) from invoices")
echo "at the target:   $SNAP"
echo "after recovery:  $GOT"
if [ "$GOT" = "$SNAP" ]; then
    echo "PITR demo: OK: the deleted rows are back, the data equals the target snapshot."
else
    echo "PITR demo: FAILED: recovered data differs from the target snapshot" >&2
    exit 1
fi

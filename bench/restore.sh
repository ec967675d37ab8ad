#!/usr/bin/env bash
# Benchmark: a replay's worth of restore_command calls from S3, walship-restore
# with and without prefetch beside pgBackRest archive-get sync and async, the
# same S3 server (s3rver behind the suite's SigV4-verifying proxy, HTTPS), the
# same compression (zstd 1, no encryption), with 0 and with LAT ms of latency
# injected per request by the proxy, in the same run.
#
#   bash bench/restore.sh [NSEG]        (default 256 segments; as root)
#   LAT=20 DEPTHS="8 16" bash bench/restore.sh
#
# The driver calls the restore command for NSEG consecutive segments one
# after the other, as the startup process does (%p = pg_wal/RECOVERYXLOG,
# removed after each call: PostgreSQL replays and deletes it), and times the
# whole sequence.  Replay itself costs nothing here, so the background
# fetchers (walship's prefetch, pgBackRest's archive-async) get no free time
# to overlap with: a conservative measure of what they save.  The first
# segment is restored untimed by each (a prefetcher's start-up is in the
# timed run).  Every restored segment of one verification pass per tool is
# compared byte for byte, untimed.
set -euo pipefail
NSEG=${1:-256}
LAT=${LAT:-20}
DEPTHS=${DEPTHS:-8}
s3_up() {
    bash "$SRC/tests/s3/start-s3.sh" "$T/s3" >/dev/null
}
s3_down() {
    bash "$SRC/tests/s3/stop-s3.sh" "$T/s3" >/dev/null 2>&1 || true
}
BENCH_OUTER_HOOK=s3_up
BENCH_OUTER_CLEANUP=s3_down
BENCH_NAME=restore
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$T/s3/s3.env"

# segments: pgbench traffic mixed with bulk inserts (real WAL, ~1 min for 256
# on a quiet machine).  REUSE=DIR takes DIR/segs and DIR/data (hard links,
# owned by pgtest) of an earlier run instead.
if [ -n "${REUSE:-}" ]; then
    echo "== reusing the segments and cluster of $REUSE"
    rm -rf "$T/segs"
    cp -al "$REUSE/segs" "$T/segs"
    cp -al "$REUSE/data" "$T/data"
    # new files, not the linked ones: the paths of this run
    sed -e "s|^unix_socket_directories = .*|unix_socket_directories = '$T/sock'|" \
        -e "s|^archive_command = .*|archive_command = 'cp %p $T/segs/%f'|" \
        "$T/data/postgresql.conf" > "$T/pgconf.new"
    rm -f "$T/data/postgresql.conf" "$T/data/postmaster.pid"
    mv "$T/pgconf.new" "$T/data/postgresql.conf"
    rm -rf "$T/data/pg_wal/archive_status"/*
    mapfile -t SEGS < <(ls "$T/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n $((NSEG + 1)))
else
echo "== generating $NSEG WAL segments"
(cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
archive_command = 'cp %p $T/segs/%f'
max_wal_size = 4GB
CONF
$PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
P() { psql -h "$T/sock" -U postgres -Atqc "$1" postgres >/dev/null; }
pgbench -h "$T/sock" -U postgres -i -s 10 -q postgres >/dev/null 2>&1
P "create table bulk (id bigint, v text)"
until [ "$(ls "$T/segs" | grep -c '^[0-9A-F]\{24\}$')" -ge $((NSEG + 3)) ]; do
    pgbench -h "$T/sock" -U postgres -c 2 -T 2 -n postgres >/dev/null 2>&1
    P "insert into bulk select g, 'row ' || g from generate_series(1, 300000) g"
    P "update pgbench_accounts set abalance = abalance + 1 where aid % 50 = 0"
    P "delete from bulk where id % 2 = 0"
done
P "select pg_switch_wal()"
mapfile -t SEGS < <(ls "$T/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n $((NSEG + 1)))
$PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null
fi
echo "segments: ${#SEGS[@]} x 16 MiB (${SEGS[0]} .. ${SEGS[-1]})"

PFX=bench-$$
TLS_PORT=${S3_TLS_ENDPOINT##*:}
conf() {    # conf DEPTH
    cat <<CONF
compression = zstd
compression_level = 1
pgdata = '$T/data'
repo = 's3://$S3_BUCKET/$PFX-ws'
s3_endpoint = '$S3_TLS_ENDPOINT'
s3_ca_file = '$S3_CA_FILE'
s3_region = '$S3_REGION'
s3_access_key_id = '$S3_ACCESS_KEY'
s3_secret_access_key = '$S3_SECRET_KEY'
restore_prefetch = $1
CONF
}
conf 0 > "$T/ws0.conf"
for d in $DEPTHS; do conf "$d" > "$T/ws$d.conf"; done
chmod 600 "$T"/ws*.conf
pgbr_conf() {   # pgbr_conf ASYNC
    cat <<CONF
[global]
repo1-type=s3
repo1-path=/$PFX-pgbr
repo1-s3-bucket=$S3_BUCKET
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$TLS_PORT
repo1-storage-verify-tls=n
repo1-s3-region=$S3_REGION
repo1-s3-key=$S3_ACCESS_KEY
repo1-s3-key-secret=$S3_SECRET_KEY
repo1-s3-uri-style=path
compress-type=zst
compress-level=1
log-level-console=warn
log-level-file=off
lock-path=$T/pgbr-lock
spool-path=$T/pgbr-spool
archive-async=$1
process-max=2
[bench]
pg1-path=$T/data
pg1-socket-path=$T/sock
pg1-user=postgres
CONF
}
pgbr_conf n > "$T/pgbr.conf"
pgbr_conf y > "$T/pgbr-async.conf"
chmod 600 "$T"/pgbr*.conf
PGBR=(pgbackrest --config="$T/pgbr.conf" --stanza=bench)
$PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
"${PGBR[@]}" stanza-create >/dev/null
$PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null

echo "== archiving the segments with both tools (untimed)"
for s in "${SEGS[@]}"; do
    "$T/bin/walship-archive" --config="$T/ws0.conf" "$T/segs/$s" "$s" 2>/dev/null
    "${PGBR[@]}" archive-push "$T/segs/$s" >/dev/null
done

# the requests the proxy saw
reqs() { curl -fsS "$S3_CONTROL/__stats" | tr -d '\n' | sed -n 's/.*"total": *\([0-9]*\).*/\1/p'; }
set_latency() {
    curl -fsS -X DELETE "$S3_CONTROL/__fault" >/dev/null
    if [ "$1" -gt 0 ]; then
        curl -fsS -X POST "$S3_CONTROL/__fault" \
            -d "{\"mode\":\"delay\",\"delay_ms\":$1,\"count\":-1}" >/dev/null
    fi
}
W=$T/pg_wal
fresh() {
    wait_idle
    rm -rf "$W" "$T/pgbr-spool" "$T/pgbr-lock"
    mkdir -p "$W"
}
# a background fetcher of the previous run (walship's holds the spool lock,
# pgBackRest's async process its lock file) must be gone before the next run
wait_idle() {
    local i
    for i in $(seq 100); do
        { [ ! -e "$W/walship-prefetch/lock" ] || flock -n "$W/walship-prefetch/lock" true; } &&
            ! pgrep -u "$(id -u)" -f "pgbackrest.*archive-get:async" >/dev/null && return 0
        sleep 0.1
    done
}
# cmd_for NAME SEG: the restore command of config NAME for SEG into $W/RECOVERYXLOG
run_cmd() {
    local c=$1 s=$2
    case $c in
        ws*) "$T/bin/walship-restore" --config="$T/$c.conf" "$s" "$W/RECOVERYXLOG" 2>/dev/null ;;
        pgbr) pgbackrest --config="$T/pgbr.conf" --stanza=bench archive-get "$s" "$W/RECOVERYXLOG" ;;
        pgbr_async) pgbackrest --config="$T/pgbr-async.conf" --stanza=bench archive-get "$s" \
                        "$W/RECOVERYXLOG" ;;
    esac
}
# replay NAME [verify]: the NSEG calls; sets MS and REQS
replay() {
    local c=$1 verify=${2:-} a b r0 s
    fresh
    run_cmd "$c" "${SEGS[0]}" >/dev/null 2>&1 || { echo "FAILED: $c ${SEGS[0]}" >&2; exit 1; }
    rm -f "$W/RECOVERYXLOG"
    wait_idle
    rm -rf "$W/walship-prefetch" "$T/pgbr-spool"
    r0=$(reqs)
    a=$(now_us)
    for s in "${SEGS[@]:1}"; do
        # a failed call is retried (5 times at most) and counted (PostgreSQL would end
        # recovery there; the figure is still reported, with the count)
        local k=0
        until run_cmd "$c" "$s" >/dev/null 2>"$T/last.err"; do
            FAILS[$c]=$(( ${FAILS[$c]:-0} + 1 ))
            echo "  call failed: $c $s: $(tail -n 2 "$T/last.err" | tr '\n' ' ')" >&2
            k=$((k + 1))
            [ $k -lt 5 ] || { echo "FAILED 5 times: $c $s" >&2; exit 1; }
            sleep 0.5
        done
        if [ -n "$verify" ]; then
            cmp -s "$W/RECOVERYXLOG" "$T/segs/$s" || { echo "MISMATCH: $c $s" >&2; exit 1; }
        fi
        rm -f "$W/RECOVERYXLOG"
    done
    b=$(now_us)
    MS=$(( (b - a) / 1000 ))
    REQS=$(( $(reqs) - r0 ))
}
CONFIGS="ws0"
for d in $DEPTHS; do CONFIGS+=" ws$d"; done
CONFIGS+=" pgbr pgbr_async"

declare -A FAILS
if [ "${VERIFY:-1}" = 1 ]; then
    echo "== verification pass (untimed): every segment compared"
    set_latency 0
    for c in $CONFIGS; do replay "$c" verify; echo "  $c: ok"; done
fi

declare -A MSR RQ
for lat in 0 "$LAT"; do
    set_latency "$lat"
    for c in $CONFIGS; do
        replay "$c"
        MSR[$c,$lat]=$MS
        RQ[$c,$lat]=$REQS
        echo "  latency $lat ms, $c: $MS ms, $REQS requests"
    done
done
set_latency 0
wait_idle
n=$((${#SEGS[@]} - 1))
label() {
    case $1 in
        ws0) echo "walship-restore, no prefetch" ;;
        ws*) echo "walship-restore, restore_prefetch = ${1#ws}" ;;
        pgbr) echo "pgbackrest archive-get (sync)" ;;
        pgbr_async) echo "pgbackrest archive-get, archive-async, process-max=2" ;;
    esac
}
echo
echo "walship restore benchmark: $n consecutive restore_command calls (pgbench + bulk WAL,"
echo "16 MiB segments), S3 over HTTPS through the SigV4-verifying proxy, zstd 1, no encryption"
for lat in 0 "$LAT"; do
    echo
    echo "latency injected per request: $lat ms"
    printf '  %-55s %9s %8s %9s %10s %10s\n' "" "total ms" "ms/seg" "req/seg" "vs no-pf" "vs pgbr"
    for c in $CONFIGS; do
        t=${MSR[$c,$lat]}
        printf '  %-55s %9d %8.1f %9.2f %10.2f %10.2f\n' "$(label "$c")" "$t" \
            "$(echo "scale=2; $t / $n" | bc)" "$(echo "scale=2; ${RQ[$c,$lat]} / $n" | bc)" \
            "$(echo "scale=3; ${MSR[ws0,$lat]} / $t" | bc)" \
            "$(echo "scale=3; $t / ${MSR[pgbr,$lat]}" | bc)"
    done
done
for c in $CONFIGS; do
    [ -n "${FAILS[$c]:-}" ] && echo "  $(label "$c"): ${FAILS[$c]} failed call(s), retried (up to 5 times, 0.5 s apart; included in the time)"
done
echo
echo "vs no-pf: speed-up over walship-restore without prefetch (higher is faster);"
echo "vs pgbr: time relative to pgBackRest archive-get sync (lower is faster)"

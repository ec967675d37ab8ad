#!/usr/bin/env bash
# Benchmark: drain a backlog of NSEG real WAL segments to S3 (s3rver behind
# the suite's proxy, HTTPS), as PostgreSQL's archiver would: one
# archive_command call at a time, oldest .ready first, each success renaming
# .ready to .done.  Side by side, in one run, with zstd level 1 and AES-256
# for every tool:
#   - walship-archive with archive_parallel = 1 (serial) and = 2, 4, 8;
#   - pgbackrest archive-push, synchronous, and with archive-async=y and
#     process-max=2 (it pushes ahead from its own spool);
#   - the physical bound: CPU time of zstd-1 + AES-256-GCM of the same
#     segments (bench/bare.c, in process, warm) divided by the cores;
# once with no added latency and once with DELAY_MS (default 20) injected
# before every request by the proxy (tests/s3/proxy.js "delay" rule).
# Requests per segment are counted from the proxy's log (/__stats).
#
#   bash bench/push.sh [NSEG]          (default 256; as root)
#   SEGS_CACHE=DIR bash bench/push.sh   keep/reuse the generated segments in DIR
#   PARALLEL="2 4 8" DELAYS="0 20"      which walship settings and latencies
#   ROUNDS=N                            every drain N times, round-robin; medians
#
# Not a test: it prints a table and asserts nothing but that every drain
# ends with no .ready file left.
set -euo pipefail
NSEG=${1:-256}
PARALLEL=${PARALLEL:-2 4 8}
DELAYS=${DELAYS:-0 20}
ROUNDS=${ROUNDS:-1}
s3_up() {
    bash "$SRC/tests/s3/start-s3.sh" "$T/s3" >/dev/null
    if [ -n "${SEGS_CACHE:-}" ]; then
        mkdir -p "$SEGS_CACHE"
        chown pgtest: "$SEGS_CACHE"
        ln -s "$SEGS_CACHE" "$T/segcache"
    fi
}
s3_down() {
    bash "$SRC/tests/s3/stop-s3.sh" "$T/s3" >/dev/null 2>&1 || true
}
BENCH_OUTER_HOOK=s3_up
BENCH_OUTER_CLEANUP=s3_down
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$T/s3/s3.env"

# ---- segments: pgbench traffic without forced switches ------------------------
echo "== generating WAL with pgbench"
(cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
if [ -e "$T/segcache" ] && [ -f "$T/segcache/pg_control" ] &&
    [ "$(ls "$T/segcache" | grep -c '^[0-9A-F]\{24\}$')" -ge "$NSEG" ]; then
    echo "reusing segments from SEGS_CACHE"
    cp "$T/segcache/pg_control" "$T/data/global/pg_control"
    SEGDIR=$T/segcache
else
    SEGDIR=$T/segs
    [ -e "$T/segcache" ] && SEGDIR=$T/segcache
    cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
archive_command = 'cp %p $SEGDIR/%f'
max_wal_size = 1GB
synchronous_commit = off
checkpoint_timeout = 30s
CONF
    $PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
    pgbench -h "$T/sock" -U postgres -i -s 20 -q postgres >/dev/null 2>&1
    psql -h "$T/sock" -U postgres -Atc "checkpoint" -c "select pg_switch_wal()" >/dev/null
    sleep 2
    n0=$(ls "$SEGDIR" | grep -c '^[0-9A-F]\{24\}$')
    until [ "$(ls "$SEGDIR" | grep -c '^[0-9A-F]\{24\}$')" -ge $((n0 + NSEG + 1)) ]; do
        pgbench -h "$T/sock" -U postgres -c 4 -j 2 -T 20 -n postgres >/dev/null 2>&1
    done
    $PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null
    cp "$T/data/global/pg_control" "$SEGDIR/pg_control"
fi
# the newest ones: pure pgbench traffic (not initdb's, not the bulk load's)
mapfile -t SEGS < <(ls "$SEGDIR" | grep '^[0-9A-F]\{24\}$' | sort | tail -n "$NSEG")
echo "segments: ${#SEGS[@]} x 16 MiB (${SEGS[0]} .. ${SEGS[-1]})"

# ---- configurations -------------------------------------------------------------
head -c 24 /dev/urandom | base64 > "$T/pass"
chmod 600 "$T/pass"
TLS_PORT=${S3_TLS_ENDPOINT##*:}
ws_conf() {     # ws_conf FILE PREFIX PARALLEL
    cat > "$1" <<CONF
repo = 's3://$S3_BUCKET/$2'
compression = zstd
compression_level = 1
encryption = aes-256-gcm
encryption_passphrase_file = '$T/pass'
pgdata = '$T/w'
archive_parallel = $3
s3_endpoint = '$S3_TLS_ENDPOINT'
s3_ca_file = '$S3_CA_FILE'
s3_region = '$S3_REGION'
s3_access_key_id = '$S3_ACCESS_KEY'
s3_secret_access_key = '$S3_SECRET_KEY'
CONF
    chmod 600 "$1"
}
pgbr_conf() {   # pgbr_conf FILE PREFIX ASYNC(y/n)
    cat > "$1" <<CONF
[global]
repo1-type=s3
repo1-path=/$2
repo1-s3-bucket=$S3_BUCKET
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$TLS_PORT
repo1-storage-verify-tls=n
repo1-s3-region=$S3_REGION
repo1-s3-key=$S3_ACCESS_KEY
repo1-s3-key-secret=$S3_SECRET_KEY
repo1-s3-uri-style=path
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(cat "$T/pass")
compress-type=zst
compress-level=1
log-level-console=warn
log-level-file=off
lock-path=$T/pgbr-lock-$2
spool-path=$T/pgbr-spool-$2
archive-async=$3
process-max=2
[bench]
pg1-path=$T/w
pg1-user=postgres
CONF
    chmod 600 "$1"
}

# ---- one drain ------------------------------------------------------------------
# a fresh pg_wal: hard links to the segments, every one .ready
# (inside a skeleton data directory $T/w: pgBackRest's async mode wants
# pg_wal under pg1-path)
mkdir -p "$T/w/global"
cp "$T/data/global/pg_control" "$T/w/global/"
cp "$T/data/PG_VERSION" "$T/w/"
fresh_wal() {
    rm -rf "$T/w/pg_wal"
    mkdir -p "$T/w/pg_wal/archive_status"
    for s in "${SEGS[@]}"; do
        ln "$SEGDIR/$s" "$T/w/pg_wal/$s"
        : > "$T/w/pg_wal/archive_status/$s.ready"
    done
}
# drain CMD...: the archiver's loop; CMD gets %p %f appended
drain() {
    local s tries
    for s in "${SEGS[@]}"; do
        [ -e "$T/w/pg_wal/archive_status/$s.ready" ] || continue
        tries=0
        until "$@" "$T/w/pg_wal/$s" "$s" > /dev/null 2>> "$T/drain.err"; do
            echo "retry $s" >> "$T/drain.err"
            tries=$((tries + 1))
            [ "$tries" -lt 50 ] || { echo "$s: 50 failures, see:" >&2; tail -20 "$T/drain.err" >&2; exit 1; }
            sleep 0.1
        done
        mv "$T/w/pg_wal/archive_status/$s.ready" "$T/w/pg_wal/archive_status/$s.done"
    done
    [ -z "$(ls "$T/w/pg_wal/archive_status" | grep '\.ready$')" ] ||
        { echo "drain left .ready files" >&2; exit 1; }
}
pgbr_push() {   # pgbr_push CONF %p %f
    pgbackrest --config="$1" --stanza=bench archive-push "$2"
}
stat_reqs() {   # stat_reqs PREFIX SEQ NSEG: "total/segment (METHOD n/segment ...)" since SEQ
    python3 - "$S3_CONTROL" "$1" "$2" "$3" <<'PY'
import json, sys, urllib.parse, urllib.request
ctl, pfx, since, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
q = urllib.parse.urlencode({"path_regex": pfx + "(/|%2F)", "since": since})
j = json.load(urllib.request.urlopen(ctl + "/__stats?" + q))
by = " ".join("%s %.2f" % (m, c / n) for m, c in sorted(j["by_method"].items()))
print("%.2f (%s)" % (j["total"] / n, by))
PY
}
last_seq() {
    python3 -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/__stats"))["last_seq"])' "$S3_CONTROL"
}
set_delay() {
    curl -s -X DELETE "$S3_CONTROL/__fault" > /dev/null
    [ "$1" = 0 ] || curl -s -X POST "$S3_CONTROL/__fault" \
        -d "{\"mode\":\"delay\",\"delay_ms\":$1,\"count\":-1}" > /dev/null
}
N=0
# run NAME KIND ARG: one drain, timed; KIND ws (ARG = archive_parallel) or pgbr (ARG = y/n)
run() {
    local name=$1 kind=$2 arg=$3 pfx a b seq reqs
    N=$((N + 1))
    pfx=push-$$-$N
    if [ "$kind" = ws ]; then
        ws_conf "$T/$pfx.conf" "$pfx" "$arg"
        # the repository's creation (and the key derivation) are not the drain
        "$T/bin/walship-archive" --config="$T/$pfx.conf" "$SEGDIR/${SEGS[0]}" "${SEGS[0]}" \
            > /dev/null 2>&1 || { echo "walship prime failed" >&2; exit 1; }
    else
        pgbr_conf "$T/$pfx.conf" "$pfx" "$arg"
        pgbackrest --config="$T/$pfx.conf" --stanza=bench --no-online stanza-create > /dev/null
    fi
    fresh_wal
    rm -f "$T/w/pg_wal/archive_status/${SEGS[0]}.ready"
    sync
    seq=$(last_seq)
    a=$(now_us)
    # TIMEFORMAT: the CPU time (user + system) of the tool's processes
    if [ "$kind" = ws ]; then
        { time drain "$T/bin/walship-archive" --config="$T/$pfx.conf"; } 2> "$T/cpu"
    else
        { time drain pgbr_push "$T/$pfx.conf"; } 2> "$T/cpu"
    fi
    b=$(now_us)
    C[$name]=$(awk '{printf "%.1f", $1 + $2}' "$T/cpu")
    reqs=$(stat_reqs "$pfx" "$seq" $((${#SEGS[@]} - 1)))
    add "$name" "$(echo "scale=2; ($b - $a) / 1000000" | bc)"
    Q[$name]=${reqs%% *}
    M[$name]=${reqs#* }
    printf '  %-20s %8s s  %s requests/segment, client CPU %s s\n' "$name" \
        "$(printf '%s' "${R[$name]}" | tail -1)" "$reqs" "${C[$name]}"
    # free the server's disk: the objects are not needed any more
    rm -rf "${S3_DATA_DIR:?}/$S3_BUCKET/$pfx" 2> /dev/null || true
}
declare -A Q M C

# ---- the physical bound ------------------------------------------------------------
echo "== physical bound: zstd-1 + AES-256-GCM, in process"
# CPU time (user + system), not the sum of bare.c's wall-clock timings: on a
# busy host those count the time spent waiting for a core
TIMEFORMAT="%U %S"
{ time "$T/bin/walship-bench-bare" zstd-aes "${SEGS[@]/#/$SEGDIR/}" > "$T/bare.out"; } 2> "$T/bare.cpu"
CPU_MS=$(awk '{printf "%.1f", ($1 + $2) * 1000}' "$T/bare.cpu")
WALL_MS=$(awk '{s += $1} END {printf "%.1f", s}' "$T/bare.out")
CORES=$(nproc)
BOUND=$(echo "scale=2; $CPU_MS / 1000 / $CORES" | bc)
echo "  CPU $CPU_MS ms for ${#SEGS[@]} segments (wall $WALL_MS ms); / $CORES cores = $BOUND s"

for r in $(seq "$ROUNDS"); do
    for d in $DELAYS; do
        echo "== round $r: drain with $d ms per request"
        set_delay "$d"
        run "ws-serial-$d" ws 1
        for p in $PARALLEL; do run "ws-p$p-$d" ws "$p"; done
        run "pgbr-sync-$d" pgbr n
        run "pgbr-async-$d" pgbr y
    done
done
set_delay 0
[ -s "$T/drain.err" ] && { echo "== stderr of the drains (last lines)"; tail -5 "$T/drain.err"; }

echo
echo "walship push benchmark: drain of $((${#SEGS[@]} - 1)) real 16 MiB pgbench segments to"
echo "S3 (s3rver behind the SigV4 proxy, HTTPS), zstd-1 + AES-256 for every tool,"
echo "one archive_command call at a time as PostgreSQL's archiver does; $CORES cores."
echo "Physical bound (zstd-1 + AES-256-GCM CPU / cores): $BOUND s ($CPU_MS ms CPU)"
echo "CPU s: user + system time of the tool's own processes (not the S3 server's);"
echo "pgBackRest async: only the foreground archive-push calls are counted"
echo "(its background process detaches)."
for d in $DELAYS; do
    echo
    echo "added latency per request: $d ms"
    printf '  %-22s %9s %9s %12s %12s %10s %9s  %s\n' "" "seconds" "req/seg" "/pgbr async" "/pgbr sync" "/bound" "CPU s" "requests by method"
    for n in "ws-serial-$d" $(for p in $PARALLEL; do echo "ws-p$p-$d"; done) "pgbr-sync-$d" "pgbr-async-$d"; do
        printf '  %-22s %9s %9s %12s %12s %10s %9s  %s\n' "$n" "$(m "$n")" "${Q[$n]}" \
            "$(ratio "$n" "pgbr-async-$d")" "$(ratio "$n" "pgbr-sync-$d")" \
            "$(echo "scale=2; $(m "$n") / $BOUND" | bc)" "${C[$n]}" "${M[$n]}"
    done
done

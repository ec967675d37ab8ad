# bench/lib.sh — shared by the benchmarks: run as root, re-run the script as
# user pgtest (PostgreSQL refuses root; runuser per call would cost ~18 ms,
# more than what we measure), generate real WAL with pgbench, time commands.
#
# A script sources this after setting BENCH_NAME; the outer (root) pass
# prepares $T and re-executes the script inside it as pgtest, with
# WS_BENCH_INNER=1; the inner pass continues after the source line.
# BENCH_OUTER_HOOK (a function name, optional) runs as root before the switch,
# e.g. to start servers; BENCH_OUTER_CLEANUP after it.
PGBIN=/usr/lib/postgresql/15/bin

if [ "${WS_BENCH_INNER:-}" != 1 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "run as root (PostgreSQL runs as user pgtest)" >&2; exit 1; }
    SRC=$(cd "$(dirname "$0")/.." && pwd)
    BUILD=${BUILD:-$SRC/build}
    id -u pgtest >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pgtest
    T=$(mktemp -d /tmp/walship-bench.XXXXXX)
    mkdir -p "$T/bin"
    cp "$BUILD/walship-archive" "$BUILD/walship-restore" "$BUILD/walship-bench-bare" "$T/bin/"
    cp "$0" "$T/bench.sh"
    cp "$SRC/bench/lib.sh" "$T/lib.sh"
    [ -n "${BENCH_OUTER_HOOK:-}" ] && "$BENCH_OUTER_HOOK"
    chown -R pgtest: "$T"
    chmod 755 "$T"
    rc=0
    setpriv --reuid=pgtest --regid=pgtest --init-groups \
        env WS_BENCH_INNER=1 T="$T" HOME="$T" PATH="$PATH" bash "$T/bench.sh" "$@" || rc=$?
    [ -f "$T/data/postmaster.pid" ] && kill -INT "$(head -1 "$T/data/postmaster.pid")" 2>/dev/null
    [ -n "${BENCH_OUTER_CLEANUP:-}" ] && "$BENCH_OUTER_CLEANUP"
    sleep 1
    rm -rf "$T"
    exit $rc
fi

cd "$T"
bench_cleanup() {
    [ -f "$T/data/postmaster.pid" ] && $PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null 2>&1 || true
}
trap bench_cleanup EXIT
mkdir -p "$T/segs" "$T/sock" "$T/out"

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# time_ms CMD...: run, print elapsed ms (3 decimals)
time_ms() {
    local a b
    a=$(now_us)
    "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
    b=$(now_us)
    echo "scale=3; ($b - $a) / 1000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
declare -A R
add() { R[$1]+="$2"$'\n'; }
m() { printf '%s' "${R[$1]}" | median; }
ratio() { echo "scale=2; $(m "$1") / $(m "$2")" | bc; }

# bench_segments N: a cluster in $T/data generating pgbench WAL; sets SEGS to
# N segment names in $T/segs (pure pgbench traffic), warm in the page cache.
bench_segments() {
    local n=$1
    echo "== generating WAL with pgbench (segments collected by a cp archive_command)"
    (cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
    cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
archive_command = 'cp %p $T/segs/%f'
max_wal_size = 1GB
CONF
    $PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
    pgbench -h "$T/sock" -U postgres -i -s 10 -q postgres >/dev/null 2>&1
    until [ "$(ls "$T/segs" | grep -c '^[0-9A-F]\{24\}$')" -ge $((n + 2)) ]; do
        pgbench -h "$T/sock" -U postgres -c 2 -T 5 -n postgres >/dev/null 2>&1
        psql -h "$T/sock" -U postgres -Atc "select pg_switch_wal()" >/dev/null
        sleep 1
    done
    # skip the first two (initdb, pgbench -i bulk load)
    mapfile -t SEGS < <(ls "$T/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n "$n")
    cat "${SEGS[@]/#/$T/segs/}" > /dev/null
    echo "segments: ${#SEGS[@]} x 16 MiB (${SEGS[0]} .. ${SEGS[-1]})"
}

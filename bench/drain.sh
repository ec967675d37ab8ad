#!/usr/bin/env bash
# Benchmark: drain a backlog of NSEG real WAL segments (pgbench) from
# pg_wal through PostgreSQL's own archiver, with walship-archive as
# archive_command (a fork and exec per segment) and with the archive module
# (archive_library = 'walship_archive', in the archiver process), into a
# filesystem repository, zstd level 1.
#
#   bash bench/drain.sh [NSEG] [ROUNDS]     (default 256 segments, 2 rounds; as root)
#
# The backlog is made once (archive_command empty while pgbench writes: the
# .ready files pile up), then each round drains it once per mode, the modes
# alternating (command, module, command, module...) so that noise and the
# page cache hit both alike: before each drain the server is stopped, every
# .done is renamed back to .ready and the repository's WAL is removed
# (wal_keep_size keeps the archived segments from being recycled).  The
# time is from the server's start to the last .ready gone; the CPU time is
# the archiver's own plus that of the children it waited for (the shells
# and walship-archive processes of archive_command), which a busy machine
# disturbs far less than the wall-clock time.  The server runs
# with fsync = off so that pgbench fills the backlog quickly; walship's own
# fsyncs of the repository do not depend on it.  Not a test: it
# prints figures and asserts nothing.
set -euo pipefail
NSEG=${1:-256}
ROUNDS=${2:-2}
bench_outer_hook() {
    local so=$BUILD/archive_module/pg15/walship_archive.so
    [ -f "$so" ] || { echo "archive module not built: $so" >&2; exit 1; }
    mkdir -p "$T/lib" && cp "$so" "$T/lib/"
}
BENCH_OUTER_HOOK=bench_outer_hook
. "$(dirname "$0")/lib.sh"

ready() { find "$T/data/pg_wal/archive_status" -name '*.ready' | wc -l; }

echo "== a backlog of $NSEG segments (archive_command empty while pgbench writes)"
(cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
max_wal_size = 8GB
checkpoint_timeout = 1h
wal_keep_size = 16GB
fsync = off
synchronous_commit = off
include_if_exists = '$T/archive.conf'
CONF
: > "$T/archive.conf"
$PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
pgbench -h "$T/sock" -U postgres -i -s 10 -q postgres >/dev/null 2>&1
psql -h "$T/sock" -U postgres -Atc "select pg_switch_wal()" >/dev/null
# pgbench traffic, plus a bulk pgbench-like update of a quarter of the
# accounts each round: the same kind of WAL (heap updates, index entries,
# full-page images), only faster to produce on a small machine
i=0
until [ "$(ready)" -ge "$NSEG" ]; do
    pgbench -h "$T/sock" -U postgres -c 2 -T 3 -n postgres >/dev/null 2>&1
    psql -h "$T/sock" -U postgres -Atqc \
        "update pgbench_accounts set abalance = abalance + 1 where aid % 4 = $((i % 4))" >/dev/null
    i=$((i + 1))
done
$PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null
NREADY=$(ready)
echo "backlog: $NREADY .ready files in pg_wal ($(du -sm "$T/data/pg_wal" | cut -f1) MB)"

mkdir -p "$T/repo-cmd" "$T/repo-mod"
for mode in cmd mod; do
    cat > "$T/$mode.conf" <<CONF
repo = '$T/repo-$mode'
compression = zstd
compression_level = 1
CONF
    chmod 600 "$T/$mode.conf"
done

# drain MODE: one drain of the whole backlog; prints the seconds
drain() {
    local mode=$1 a b apid ticks
    $PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null 2>&1 || true
    for f in "$T"/data/pg_wal/archive_status/*.done; do
        [ -e "$f" ] && mv "$f" "${f%.done}.ready"
    done
    rm -rf "$T/repo-$mode/wal"
    if [ "$mode" = cmd ]; then
        echo "archive_command = '$T/bin/walship-archive --config=$T/cmd.conf %p %f'" > "$T/archive.conf"
    else
        printf "archive_library = '%s'\nwalship.config = '%s'\n" "$T/lib/walship_archive" \
            "$T/mod.conf" > "$T/archive.conf"
    fi
    a=$(now_us)
    $PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
    while [ "$(ready)" -gt 0 ]; do sleep 0.05; done
    b=$(now_us)
    # CPU time of the archiver and of the children it waited for (the
    # archive_command shells and walship-archive): utime stime cutime cstime
    apid=$(psql -h "$T/sock" -U postgres -Atc \
        "select pid from pg_stat_activity where backend_type = 'archiver'")
    ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$apid/stat")
    $PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null
    : > "$T/archive.conf"
    local n
    n=$(find "$T/repo-$mode/wal" -type f | wc -l)
    [ "$n" -ge "$NREADY" ] || { echo "drain $mode stored $n objects of $NREADY" >&2; exit 1; }
    echo "$(echo "scale=3; ($b - $a) / 1000000" | bc) $(echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc)"
}

echo "== drains, alternating"
for r in $(seq "$ROUNDS"); do
    for mode in cmd mod; do
        read -r s c < <(drain "$mode")
        add "$mode" "$s"
        add "${mode}_cpu" "$c"
        echo "round $r, $mode: $s s, archiver CPU $c s"
    done
done
n=$(find "$T/repo-mod/wal" -type f | wc -l)
echo "objects in the module's repository: $n; in the command's: $(find "$T/repo-cmd/wal" -type f | wc -l)"
fails=$(grep -c 'WARNING:  walship_archive\|walship-archive: error' "$T/pg.log" || true)
echo "failures in the server log: $fails"

echo
echo "| $NREADY segments, fs repository, zstd-1 (medians of $ROUNDS) | drain s | ms per segment | CPU s | CPU ms per segment |"
echo "|---|---|---|---|---|"
for mode in cmd mod; do
    label=$([ $mode = cmd ] && echo "archive_command = walship-archive" || echo "archive_library = walship_archive")
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$(m $mode)" \
        "$(echo "scale=1; $(m $mode) * 1000 / $NREADY" | bc)" "$(m ${mode}_cpu)" \
        "$(echo "scale=1; $(m ${mode}_cpu) * 1000 / $NREADY" | bc)"
done
echo "module / archive_command: drain time $(ratio mod cmd), CPU time $(ratio mod_cpu cmd_cpu)"

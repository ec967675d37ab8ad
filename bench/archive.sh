#!/usr/bin/env bash
# Benchmark: archive and restore real 16 MiB WAL segments from a pgbench run,
# per segment, beside the bare work on the same files in the same run and
# beside pgBackRest (archive-push / archive-get, zstd level 1).
#
#   bash bench/archive.sh [NSEG]        (default 16 segments; as root)
#
# Not a test: it prints a table, it asserts nothing.  Calls are interleaved
# (for each segment: baseline, walship, pgbackrest) so that machine noise
# hits every column alike; medians are reported.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
NSEG=${1:-16}

if [ "${WS_BENCH_INNER:-}" != 1 ]; then
    # Outer, as root: prepare, then run the measurements as user pgtest
    # directly (runuser costs ~18 ms per call here, more than what we measure).
    [ "$(id -u)" -eq 0 ] || { echo "run as root (PostgreSQL runs as user pgtest)" >&2; exit 1; }
    cd "$(dirname "$0")/.."
    BUILD=${BUILD:-$(pwd)/build}
    id -u pgtest >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pgtest
    T=$(mktemp -d /tmp/walship-bench.XXXXXX)
    mkdir -p "$T/bin"
    cp "$BUILD/walship-archive" "$BUILD/walship-restore" "$BUILD/walship-bench-bare" "$T/bin/"
    cp "$0" "$T/archive.sh"
    chown -R pgtest: "$T"
    chmod 755 "$T"
    rc=0
    setpriv --reuid=pgtest --regid=pgtest --init-groups \
        env WS_BENCH_INNER=1 T="$T" HOME="$T" PATH="$PATH" bash "$T/archive.sh" "$NSEG" || rc=$?
    [ -f "$T/data/postmaster.pid" ] && kill -INT "$(head -1 "$T/data/postmaster.pid")" 2>/dev/null
    sleep 1
    rm -rf "$T"
    exit $rc
fi

cd "$T"
RUN=()
cleanup() {
    [ -f "$T/data/postmaster.pid" ] && $PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
mkdir -p "$T/segs" "$T/sock"

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
"${RUN[@]}" $PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
pgbench -h "$T/sock" -U postgres -i -s 10 -q postgres >/dev/null 2>&1
until [ "$(ls "$T/segs" | grep -c '^[0-9A-F]\{24\}$')" -ge $((NSEG + 2)) ]; do
    pgbench -h "$T/sock" -U postgres -c 2 -T 5 -n postgres >/dev/null 2>&1
    psql -h "$T/sock" -U postgres -Atc "select pg_switch_wal()" >/dev/null
    sleep 1
done
# skip the first two (initdb + pgbench -i bulk load), keep NSEG of pure pgbench traffic
mapfile -t SEGS < <(ls "$T/segs" | grep '^[0-9A-F]\{24\}$' | sort | tail -n "$NSEG")
cat "${SEGS[@]/#/$T/segs/}" > /dev/null    # page cache, for every tool alike
echo "segments: ${#SEGS[@]} x 16 MiB (${SEGS[0]} .. ${SEGS[-1]})"

# configs
mkdir -p "$T/repo-plain" "$T/repo-enc" "$T/repo-mt" "$T/pgbr" "$T/out"
head -c 24 /dev/urandom | base64 > "$T/pass"
chmod 600 "$T/pass"
cat > "$T/plain.conf" <<CONF
repo = '$T/repo-plain'
compression = zstd
compression_level = 1
pgdata = '$T/data'
CONF
cat > "$T/enc.conf" <<CONF
repo = '$T/repo-enc'
compression = zstd
compression_level = 1
encryption = aes-256-gcm
encryption_passphrase_file = '$T/pass'
pgdata = '$T/data'
CONF
cat > "$T/mt.conf" <<CONF
repo = '$T/repo-mt'
compression = zstd
compression_level = 1
compression_threads = 2
pgdata = '$T/data'
CONF
cat > "$T/pgbackrest.conf" <<CONF
[global]
repo1-path=$T/pgbr
compress-type=zst
compress-level=1
log-level-console=warn
log-level-file=off
lock-path=$T/pgbr-lock
spool-path=$T/pgbr-spool
start-fast=y
[bench]
pg1-path=$T/data
pg1-socket-path=$T/sock
pg1-user=postgres
CONF
PGBR=(pgbackrest --config="$T/pgbackrest.conf" --stanza=bench)
"${RUN[@]}" "${PGBR[@]}" stanza-create >/dev/null
# prime: the first call creates the walship repository and caches the derived key
"${RUN[@]}" "$T/bin/walship-archive" --config="$T/enc.conf" "$T/segs/${SEGS[0]}" "${SEGS[0]}" 2>/dev/null
rm -rf "$T/repo-enc"/wal

declare -A R
add() { R[$1]+="$2"$'\n'; }

echo "== archive: per segment, interleaved"
for s in "${SEGS[@]}"; do
    f=$T/segs/$s
    add cp_fsync "$(time_ms "${RUN[@]}" bash -c "cp $f $T/out/x && sync $T/out/x")"
    add zstd_cli "$(time_ms "${RUN[@]}" zstd -1 -q -f -o "$T/out/x.zst" "$f")"
    add bare_zstd "$("$T/bin/walship-bench-bare" zstd "$f")"
    add bare_zstd_aes "$("$T/bin/walship-bench-bare" zstd-aes "$f")"
    add bare_zstd_aes_io "$("$T/bin/walship-bench-bare" zstd-aes-io "$f")"
    add bare_sha256 "$("$T/bin/walship-bench-bare" sha256 "$f")"
    add ws_plain "$(time_ms "${RUN[@]}" "$T/bin/walship-archive" --config="$T/plain.conf" "$f" "$s")"
    add ws_enc "$(time_ms "${RUN[@]}" "$T/bin/walship-archive" --config="$T/enc.conf" "$f" "$s")"
    add ws_mt "$(time_ms "${RUN[@]}" "$T/bin/walship-archive" --config="$T/mt.conf" "$f" "$s")"
    add zstd_cli_T2 "$(time_ms "${RUN[@]}" zstd -1 -T2 -q -f -o "$T/out/x.zst" "$f")"
    add pgbr_push "$(time_ms "${RUN[@]}" "${PGBR[@]}" archive-push "$f")"
    add ws_again "$(time_ms "${RUN[@]}" "$T/bin/walship-archive" --config="$T/plain.conf" "$f" "$s")"
    add ws_enc_again "$(time_ms "${RUN[@]}" "$T/bin/walship-archive" --config="$T/enc.conf" "$f" "$s")"
    add pgbr_again "$(time_ms "${RUN[@]}" "${PGBR[@]}" archive-push "$f")"
    add cat_file "$(time_ms "${RUN[@]}" cat "$f")"
    add runuser_true "$(time_ms /bin/true)"
done

echo "== restore: per segment, interleaved"
for s in "${SEGS[@]}"; do
    "${RUN[@]}" zstd -1 -q -f -o "$T/out/in.zst" "$T/segs/$s"
    add zstd_d_cli "$(time_ms "${RUN[@]}" bash -c "zstd -d -q -f -o $T/out/d $T/out/in.zst && sync $T/out/d")"
    add ws_restore "$(time_ms "${RUN[@]}" "$T/bin/walship-restore" --config="$T/plain.conf" "$s" "$T/out/r1")"
    cmp -s "$T/out/r1" "$T/segs/$s" || { echo "restore mismatch for $s" >&2; exit 1; }
    add ws_restore_enc "$(time_ms "${RUN[@]}" "$T/bin/walship-restore" --config="$T/enc.conf" "$s" "$T/out/r2")"
    cmp -s "$T/out/r2" "$T/segs/$s" || { echo "restore mismatch for $s" >&2; exit 1; }
    add pgbr_get "$(time_ms "${RUN[@]}" "${PGBR[@]}" archive-get "$s" "$T/out/r3")"
    cmp -s "$T/out/r3" "$T/segs/$s" || { echo "pgbackrest restore mismatch for $s" >&2; exit 1; }
    rm -f "$T/out/r1" "$T/out/r2" "$T/out/r3"
done

m() { printf '%s' "${R[$1]}" | median; }
ratio() { echo "scale=2; $(m "$1") / $(m "$2")" | bc; }
stored_plain=$(du -sb "$T/repo-plain/wal" | cut -f1)
stored_pgbr=$(du -sb "$T/pgbr/archive" | cut -f1)

cat <<TABLE

walship archive/restore benchmark: ${#SEGS[@]} pgbench WAL segments of 16 MiB, median ms per segment
(wall time of one call as user pgtest, process start-up included, except the
 in-process lines of the bench harness, which time the compute alone)

bare work (same files, same run)
  true (start-up of a process)                    $(m runuser_true)
  cat segment (process + read)                    $(m cat_file)
  cp + sync                                       $(m cp_fsync)
  zstd -1 (CLI)                                   $(m zstd_cli)
  zstd -1 -T2 (CLI)                               $(m zstd_cli_T2)
  in-process: read + zstd-1                       $(m bare_zstd)
  in-process: read + zstd-1 + AES-256-GCM         $(m bare_zstd_aes)
  in-process: ... + write + fsync                 $(m bare_zstd_aes_io)
  in-process: read + SHA-256                      $(m bare_sha256)

archive (archive_command)
  walship-archive zstd-1                          $(m ws_plain)     ratio to zstd CLI: $(ratio ws_plain zstd_cli), to in-process zstd: $(ratio ws_plain bare_zstd)
  walship-archive zstd-1 + AES-256-GCM            $(m ws_enc)     ratio to in-process zstd+AES: $(ratio ws_enc bare_zstd_aes), +write+fsync: $(ratio ws_enc bare_zstd_aes_io)
  walship-archive zstd-1, 2 zstd threads          $(m ws_mt)     ratio to zstd CLI: $(ratio ws_mt zstd_cli)
  pgbackrest archive-push zst-1                   $(m pgbr_push)     ratio walship/pgbackrest: $(ratio ws_plain pgbr_push)
  already archived, identical: walship            $(m ws_again)
  already archived, identical: walship encrypted  $(m ws_enc_again)
  already archived, identical: pgbackrest         $(m pgbr_again)

restore (restore_command)
  zstd -d + sync (CLI)                            $(m zstd_d_cli)
  walship-restore                                 $(m ws_restore)     ratio to zstd -d: $(ratio ws_restore zstd_d_cli)
  walship-restore encrypted                       $(m ws_restore_enc)
  pgbackrest archive-get                          $(m pgbr_get)     ratio walship/pgbackrest: $(ratio ws_restore pgbr_get)

stored bytes: walship $stored_plain, pgbackrest $stored_pgbr
TABLE

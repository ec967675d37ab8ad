#!/usr/bin/env bash
# Benchmark: a full base backup and its restore, on a throwaway PostgreSQL 15
# cluster filled by pgbench, with walship-basebackup / walship-recover beside
# pg_basebackup and pgBackRest, all measured in the same run:
#
#   (a) pg_basebackup -Ft -Z zstd:LEVEL -X none -c fast into a local directory,
#       and its restore: zstd -d | tar -x, then sync;
#   (b) walship-basebackup to a filesystem repository, walship-recover into a
#       fresh directory (-j default, and -j 1); one more walship backup at
#       walship's own default level (compression_level unset = zstd 1);
#   (c) the same against S3 on loopback over HTTPS (tests/s3: s3rver behind the
#       SigV4-verifying proxy, as bench/s3.sh);
#   (d) pgbackrest backup --type=full (zst, process-max=1) to a filesystem
#       repository and to the same S3 server (also with repo1-bundle=y), and
#       pgbackrest restore of each.
#
#   SCALE=100 bash bench/backup.sh      (as root; default SCALE=100, ~1.5 GB)
#   SCALE=5 bash bench/backup.sh        (smoke run, ~100 MB)
#
# walship-basebackup/-recover are taken from $BUILD (default build/); if they
# are missing, their rows say "(not run)".
#
# Environment: SCALE (pgbench scale, default 100), LEVEL (zstd level for all
# three tools, default 3), ROUNDS (default 1; with more, every step is repeated
# round-robin and medians are shown), VERIFY (default 1: pg_verifybackup -n on
# every walship-recover result and on the extracted pg_basebackup, untimed).
#
# For each step: wall time, MB/s (database size / wall time; MB = 10^6 bytes),
# peak RSS by /usr/bin/time (%M: the largest single process of the tree, so for
# pgBackRest, which forks a local worker, the larger of main and worker), the
# sampled sum of RSS over the process tree, and the stored size.  Before every
# timed step: sync, CHECKPOINT, and archive_command switched to the tool and
# repository being measured (each tool waits for its own WAL), all untimed.
# Not a test: it prints a table, it asserts nothing (except that the tools
# exit 0; a failing walship step is reported and the others still run).
set -euo pipefail
SCALE=${SCALE:-100}
LEVEL=${LEVEL:-3}
ROUNDS=${ROUNDS:-1}
VERIFY=${VERIFY:-1}

bench_backup_outer() {
    local b
    for b in walship-basebackup walship-recover; do
        if [ -x "$BUILD/$b" ]; then cp "$BUILD/$b" "$T/bin/"; fi
    done
    if ! command -v pgbackrest >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbackrest >/dev/null
    fi
    if [ ! -x /usr/bin/time ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
    fi
    bash "$SRC/tests/s3/start-s3.sh" "$T/s3" >/dev/null
    # on ^C the inner pass dies; let lib.sh go on to its cleanup (postmaster,
    # S3 servers, $T) instead of dying with it
    trap 'echo "interrupted; cleaning up" >&2' INT TERM
}
bench_backup_outer_cleanup() {
    bash "$SRC/tests/s3/stop-s3.sh" "$T/s3" >/dev/null 2>&1 || true
}
BENCH_OUTER_HOOK=bench_backup_outer
BENCH_OUTER_CLEANUP=bench_backup_outer_cleanup
. "$(dirname "$0")/lib.sh"
# ---- inner pass, as pgtest, in $T ----
# shellcheck disable=SC1091
. "$T/s3/s3.env"
WS=0
[ -x "$T/bin/walship-basebackup" ] && [ -x "$T/bin/walship-recover" ] && WS=1
[ "$WS" = 1 ] || echo "NOTE: walship-basebackup / walship-recover not built: walship rows skipped" >&2
PSQL=(psql -h "$T/sock" -U postgres -d postgres -X -q -At)
PFX=bench-$$

echo "== cluster: PostgreSQL 15, pgbench scale $SCALE, archive_mode=on (walship-archive)"
(cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
archive_command = '$T/bin/walship-archive --config=$T/ws-fs.conf %p %f'
max_wal_size = 2GB
CONF

# ---- configurations ----
mkdir -p "$T/repo-ws" "$T/repo-pgbr" "$T/pgbb" "$T/pgbr-lock" "$T/pgbr-spool"
ws_common() {
    cat <<CONF
compression = zstd
compression_level = $LEVEL
pgdata = '$T/data'
CONF
}
{ ws_common; echo "repo = '$T/repo-ws'"; } > "$T/ws-fs.conf"
{ ws_common; echo "repo = 's3://$S3_BUCKET/$PFX-ws'"; echo "s3_endpoint = '$S3_TLS_ENDPOINT'"
  echo "s3_ca_file = '$S3_CA_FILE'"; echo "s3_region = '$S3_REGION'"
  echo "s3_access_key_id = '$S3_ACCESS_KEY'"; echo "s3_secret_access_key = '$S3_SECRET_KEY'"; } > "$T/ws-s3.conf"
pgbr_common() {
    cat <<CONF
compress-type=zst
compress-level=$LEVEL
process-max=1
start-fast=y
repo1-retention-full=9999
log-level-console=warn
log-level-file=off
lock-path=$T/pgbr-lock
spool-path=$T/pgbr-spool
CONF
}
{ echo "[global]"; echo "repo1-path=$T/repo-pgbr"; pgbr_common
  echo "[bench]"; echo "pg1-path=$T/data"; echo "pg1-socket-path=$T/sock"; echo "pg1-user=postgres"; } > "$T/pgbr-fs.conf"
# pgBackRest 2.45 matches the certificate against DNS names only, not the IP
# SAN of the test certificate: verification off (walship verifies), as s3.sh
TLS_PORT=${S3_TLS_ENDPOINT##*:}
{ echo "[global]"; echo "repo1-type=s3"; echo "repo1-path=/$PFX-pgbr"; echo "repo1-s3-bucket=$S3_BUCKET"
  echo "repo1-s3-endpoint=127.0.0.1"; echo "repo1-storage-port=$TLS_PORT"; echo "repo1-storage-verify-tls=n"
  echo "repo1-s3-region=$S3_REGION"; echo "repo1-s3-key=$S3_ACCESS_KEY"; echo "repo1-s3-key-secret=$S3_SECRET_KEY"
  echo "repo1-s3-uri-style=path"; pgbr_common
  echo "[bench]"; echo "pg1-path=$T/data"; echo "pg1-socket-path=$T/sock"; echo "pg1-user=postgres"; } > "$T/pgbr-s3.conf"
# the same with repo1-bundle=y (small files packed together: fewer requests)
sed -e "s|^repo1-path=.*|repo1-path=/$PFX-pgbrb|" -e '/^\[global\]/a repo1-bundle=y' "$T/pgbr-s3.conf" > "$T/pgbr-s3b.conf"
chmod 600 "$T"/*.conf

ARCH_WS_FS="$T/bin/walship-archive --config=$T/ws-fs.conf %p %f"
ARCH_WS_S3="$T/bin/walship-archive --config=$T/ws-s3.conf %p %f"
ARCH_PGBR_FS="pgbackrest --config=$T/pgbr-fs.conf --stanza=bench archive-push %p"
ARCH_PGBR_S3="pgbackrest --config=$T/pgbr-s3.conf --stanza=bench archive-push %p"
ARCH_PGBR_S3B="pgbackrest --config=$T/pgbr-s3b.conf --stanza=bench archive-push %p"
PGBR_FS=(pgbackrest --config="$T/pgbr-fs.conf" --stanza=bench)
PGBR_S3=(pgbackrest --config="$T/pgbr-s3.conf" --stanza=bench)

$PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
t0=$(now_us)
pgbench -h "$T/sock" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
echo "   pgbench -i: $(( ($(now_us) - t0) / 1000000 )) s"
"${PSQL[@]}" -c "CHECKPOINT"
"${PGBR_FS[@]}" stanza-create >/dev/null
"${PGBR_S3[@]}" stanza-create >/dev/null
pgbackrest --config="$T/pgbr-s3b.conf" --stanza=bench stanza-create >/dev/null

# archive_idle: wait until the archiver has nothing left to do
archive_idle() {
    local i f0 f
    f0=$("${PSQL[@]}" -c "SELECT failed_count FROM pg_stat_archiver")
    for ((i = 0; i < 2400; i++)); do
        compgen -G "$T/data/pg_wal/archive_status/*.ready" >/dev/null || return 0
        sleep 0.25
        if ((i % 20 == 19)); then
            f=$("${PSQL[@]}" -c "SELECT failed_count FROM pg_stat_archiver")
            [ "$f" -ge $((f0 + 3)) ] && break
        fi
    done
    echo "archiving is failing or stuck:" >&2
    "${PSQL[@]}" -c "SELECT * FROM pg_stat_archiver" >&2
    tail -n 20 "$T/pg.log" >&2
    return 1
}
# use_archive CMD: archive_command = CMD from now on (after the backlog is done)
use_archive() {
    archive_idle
    "${PSQL[@]}" -c "ALTER SYSTEM SET archive_command = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 1
}
use_archive "$ARCH_WS_FS"
"${PSQL[@]}" -c "SELECT pg_switch_wal()" >/dev/null
archive_idle
DB_BYTES=$(( $(du -sb "$T/data" | cut -f1) - $(du -sb "$T/data/pg_wal" | cut -f1) ))
echo "   database: $(( DB_BYTES / 1000000 )) MB (data directory without pg_wal)"

# tree_rss PID: sum of RSS (KiB) of PID and all its descendants
tree_rss() {
    ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
        { p[$1] = $2; r[$1] = $3 }
        END { s = 0; for (x in p) { y = x; while (y != "" && y != 0 && y != root) y = p[y]; if (y == root) s += r[x] } print s }'
}
declare -A FAILED
NFAIL=0
# tm NAME CMD...: one timed step (sync first, untimed); records wall seconds,
# %M of /usr/bin/time and the sampled RSS sum of the tree; stdout kept in
# $T/out/NAME.out
tm() {
    local name=$1 a b pid rc=0 peak=0 s
    shift
    sync
    a=$(now_us)
    /usr/bin/time -f %M -o "$T/out/$name.rss" "$@" >"$T/out/$name.out" 2>"$T/out/$name.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        s=$(tree_rss "$pid")
        [ "$s" -gt "$peak" ] && peak=$s
        sleep 0.2
    done
    wait "$pid" || rc=$?
    b=$(now_us)
    if [ "$rc" -ne 0 ]; then
        echo "FAILED (exit $rc): $name: $*" >&2
        tail -n 15 "$T/out/$name.err" >&2
        FAILED[$name]=$rc
        NFAIL=$((NFAIL + 1))
        return 1
    fi
    add "t_$name" "$(echo "scale=3; ($b - $a) / 1000000" | bc)"
    add "rss_$name" "$(tail -n 1 "$T/out/$name.rss")"
    add "tree_$name" "$peak"
}
before_backup() {
    use_archive "$1"
    "${PSQL[@]}" -c "CHECKPOINT"
}
declare -A SIZE
s3_bytes() {   # s3_bytes KEYPREFIX: stored object bytes under the key prefix
    find "$S3_DATA_DIR/$S3_BUCKET/$1" -name '*._S3rver_object' -printf '%s\n' 2>/dev/null |
        awk '{s += $1} END {print s + 0}'
}
verify() {     # verify NAME DIR
    [ "$VERIFY" = 1 ] || return 0
    if $PGBIN/pg_verifybackup -n -q "$2" >"$T/out/verify-$1" 2>&1; then
        VERIFIED[$1]=ok
    else
        VERIFIED[$1]="FAILED: $(head -n 3 "$T/out/verify-$1" | tr '\n' ' ')"
    fi
}
declare -A VERIFIED

step_pgbb() {
    before_backup "$ARCH_WS_FS"
    rm -rf "$T/pgbb"
    tm pgbb_backup $PGBIN/pg_basebackup -h "$T/sock" -U postgres -D "$T/pgbb" -Ft -Z "zstd:$LEVEL" -X none -c fast || return 0
    SIZE[pgbb_backup]=$(du -sb "$T/pgbb" | cut -f1)
    rm -rf "$T/r"; mkdir -m 700 "$T/r"
    tm pgbb_restore bash -c "set -o pipefail; zstd -d -q -c '$T/pgbb/base.tar.zst' | tar -xf - -C '$T/r' && sync" || return 0
    cp "$T/pgbb/backup_manifest" "$T/r/"
    verify pgbb_restore "$T/r"
    rm -rf "$T/r"
}
step_ws() {    # step_ws fs|s3
    local k=$1 conf=$T/ws-$1.conf id arch
    [ "$WS" = 1 ] || return 0
    if [ "$k" = fs ]; then arch=$ARCH_WS_FS; else arch=$ARCH_WS_S3; fi
    before_backup "$arch"
    tm "ws_${k}_backup" "$T/bin/walship-basebackup" --config="$conf" \
        -d "host=$T/sock user=postgres dbname=postgres" -c fast --no-progress || return 0
    id=$(tail -n 1 "$T/out/ws_${k}_backup.out")
    if [ "$k" = fs ]; then
        SIZE[ws_${k}_backup]=$(du -sb "$T/repo-ws/backups/$id" | cut -f1)
    else
        SIZE[ws_${k}_backup]=$(s3_bytes "$PFX-ws/backups/$id")
    fi
    if [ "$k" = fs ] && [ "$LEVEL" != -1 ]; then
        # walship's own default level (compression_level unset: zstd 1, the WAL default)
        before_backup "$arch"
        tm ws_fsdef_backup "$T/bin/walship-basebackup" --config="$conf" --compression_level=-1 \
            -d "host=$T/sock user=postgres dbname=postgres" -c fast --no-progress &&
            SIZE[ws_fsdef_backup]=$(du -sb "$T/repo-ws/backups/$(tail -n 1 "$T/out/ws_fsdef_backup.out")" | cut -f1)
    fi
    rm -rf "$T/r"
    if tm "ws_${k}_recover" "$T/bin/walship-recover" --config="$conf" --backup="$id" -D "$T/r"; then
        verify "ws_${k}_recover" "$T/r"
    fi
    rm -rf "$T/r"
    if tm "ws_${k}_recover_j1" "$T/bin/walship-recover" --config="$conf" --backup="$id" -j 1 -D "$T/r"; then
        verify "ws_${k}_recover_j1" "$T/r"
    fi
    rm -rf "$T/r"
}
step_pgbr() {  # step_pgbr fs|s3|s3b
    local k=$1 conf=$T/pgbr-$1.conf label arch pfx=$PFX-pgbr
    case $k in
        fs) arch=$ARCH_PGBR_FS ;;
        s3) arch=$ARCH_PGBR_S3 ;;
        s3b) arch=$ARCH_PGBR_S3B; pfx=$PFX-pgbrb ;;
    esac
    before_backup "$arch"
    tm "pgbr_${k}_backup" pgbackrest --config="$conf" --stanza=bench --type=full backup || return 0
    label=$(pgbackrest --config="$conf" --stanza=bench --output=json info |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["label"])')
    if [ "$k" = fs ]; then
        SIZE[pgbr_${k}_backup]=$(du -sb "$T/repo-pgbr/backup/bench/$label" | cut -f1)
    else
        SIZE[pgbr_${k}_backup]=$(s3_bytes "$pfx/backup/bench/$label")
    fi
    rm -rf "$T/r"; mkdir -m 700 "$T/r"
    tm "pgbr_${k}_restore" pgbackrest --config="$conf" --stanza=bench --set="$label" --pg1-path="$T/r" restore || true
    rm -rf "$T/r"
}

for ((round = 1; round <= ROUNDS; round++)); do
    echo "== round $round/$ROUNDS: pg_basebackup, walship fs, pgbackrest fs, walship S3, pgbackrest S3 (plain, bundled)"
    step_pgbb
    step_ws fs
    step_pgbr fs
    step_ws s3
    step_pgbr s3
    step_pgbr s3b
done
use_archive "$ARCH_WS_FS"

# ---- report ----
medv() { if [ -n "${R[$1]:-}" ]; then m "$1"; fi; }   # median, empty if no values
range() { printf '%s' "${R[$1]:-}" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {if (NR > 1) printf "%.2f-%.2f", a, b}'; }
fmt_row() {    # fmt_row NAME LABEL
    local n=$1 label=$2 t rss tree mbs size
    if [ -n "${FAILED[$n]:-}" ]; then
        printf '  %-46s %s\n' "$label" "FAILED (exit ${FAILED[$n]}), see above"
        return
    fi
    t=$(medv "t_$n")
    if [ -z "$t" ]; then printf '  %-46s %8s\n' "$label" "(not run)"; return; fi
    rss=$(medv "rss_$n"); tree=$(medv "tree_$n")
    mbs=$(awk -v b="$DB_BYTES" -v t="$t" 'BEGIN {printf "%.1f", b / 1e6 / t}')
    size=${SIZE[$n]:-}
    [ -n "$size" ] && size=$(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1e6}')
    printf '  %-46s %8.2f %8s %9.1f %9.1f %9s  %s\n' "$label" "$t" "$mbs" \
        "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$(awk -v k="$tree" 'BEGIN {print k / 1024}')" "${size:--}" \
        "$(range "t_$n")"
}
# r3 A B: ratio of wall times, RSS (%M) and sizes of step A to step B
r3() {
    local a=$1 b=$2 lbl=$3 t r s=""
    if [ -z "$(medv "t_$a")" ] || [ -z "$(medv "t_$b")" ]; then printf '  %-52s %s\n' "$lbl" "-"; return; fi
    t=$(awk -v x="$(medv "t_$a")" -v y="$(medv "t_$b")" 'BEGIN {printf "%.2f", x / y}')
    r=$(awk -v x="$(medv "rss_$a")" -v y="$(medv "rss_$b")" 'BEGIN {printf "%.2f", x / y}')
    [ -n "${SIZE[$a]:-}" ] && [ -n "${SIZE[$b]:-}" ] &&
        s=", stored $(awk -v x="${SIZE[$a]}" -v y="${SIZE[$b]}" 'BEGIN {printf "%.3f", x / y}')"
    printf '  %-52s time %s, peak RSS %s%s\n' "$lbl" "$t" "$r" "$s"
}

cat <<HEAD

walship base backup benchmark: pgbench scale $SCALE, database $(( DB_BYTES / 1000000 )) MB
(data directory without pg_wal), zstd level $LEVEL everywhere, fast checkpoint,
$ROUNDS round(s)$( [ "$ROUNDS" -gt 1 ] && echo ", medians"); $(nproc) CPUs; PostgreSQL $($PGBIN/postgres -V | awk '{print $3}'), $(pgbackrest version)
MB = 10^6 bytes; MB/s = database size / wall time; RSS in MiB: "peak" is
/usr/bin/time %M (largest single process), "tree" the sampled sum over the
process tree; stored = backup objects only (no WAL)

HEAD
printf '  %-46s %8s %8s %9s %9s %9s  %s\n' step "wall s" "MB/s" "peak RSS" "tree RSS" "stored MB" \
    "$([ "$ROUNDS" -gt 1 ] && echo "wall min-max")"
echo " backup"
fmt_row pgbb_backup      "pg_basebackup -Ft -Z zstd:$LEVEL -X none"
fmt_row ws_fs_backup     "walship-basebackup, filesystem"
fmt_row ws_fsdef_backup  "walship-basebackup, filesystem, default level"
fmt_row pgbr_fs_backup   "pgbackrest backup full, filesystem"
fmt_row ws_s3_backup     "walship-basebackup, S3 (HTTPS)"
fmt_row pgbr_s3_backup   "pgbackrest backup full, S3 (HTTPS)"
fmt_row pgbr_s3b_backup  "pgbackrest backup full, S3, repo1-bundle=y"
echo " restore"
fmt_row pgbb_restore     "zstd -d | tar -x + sync (pg_basebackup)"
fmt_row ws_fs_recover    "walship-recover, filesystem (-j default)"
fmt_row ws_fs_recover_j1 "walship-recover, filesystem, -j 1"
fmt_row pgbr_fs_restore  "pgbackrest restore, filesystem"
fmt_row ws_s3_recover    "walship-recover, S3 (-j default)"
fmt_row ws_s3_recover_j1 "walship-recover, S3, -j 1"
fmt_row pgbr_s3_restore  "pgbackrest restore, S3"
fmt_row pgbr_s3b_restore "pgbackrest restore, S3, repo1-bundle=y"
echo
echo " ratios (same run)"
r3 ws_fs_backup pgbb_backup      "walship-basebackup fs / pg_basebackup"
r3 ws_fs_backup pgbr_fs_backup   "walship-basebackup fs / pgbackrest fs"
r3 ws_s3_backup pgbr_s3_backup   "walship-basebackup S3 / pgbackrest S3"
r3 ws_s3_backup pgbr_s3b_backup  "walship-basebackup S3 / pgbackrest S3 bundle"
r3 ws_fs_recover pgbb_restore    "walship-recover fs / zstd -d | tar -x"
r3 ws_fs_recover pgbr_fs_restore "walship-recover fs / pgbackrest restore fs"
r3 ws_fs_recover_j1 pgbr_fs_restore "walship-recover fs -j 1 / pgbackrest restore fs"
r3 ws_s3_recover pgbr_s3_restore "walship-recover S3 / pgbackrest restore S3"
r3 ws_s3_recover pgbr_s3b_restore "walship-recover S3 / pgbackrest restore S3 bundle"
r3 ws_s3_recover_j1 pgbr_s3_restore "walship-recover S3 -j 1 / pgbackrest restore S3"
if [ "$VERIFY" = 1 ]; then
    echo
    echo " pg_verifybackup -n of the restored directories"
    for k in pgbb_restore ws_fs_recover ws_fs_recover_j1 ws_s3_recover ws_s3_recover_j1; do
        [ -n "${VERIFIED[$k]:-}" ] && printf '  %-46s %s\n' "$k" "${VERIFIED[$k]}"
    done
fi
if [ "$NFAIL" -gt 0 ]; then
    echo
    echo " failed steps: ${!FAILED[*]} (stderr above)"
    exit 1
fi
exit 0

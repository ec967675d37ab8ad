#!/usr/bin/env bash
# Benchmark: the operator's tool against pgBackRest on the same data, in the
# same run (issue 11, Measure):
#
#   (a) `walship verify` of a repository of NSEG WAL segments and two full
#       backups, filesystem and S3 (s3rver behind the SigV4-verifying proxy
#       on loopback, HTTPS), beside `pgbackrest verify` of a pgBackRest
#       repository that holds the same segments and two full backups of the
#       same database, filesystem and S3; both with 1 and with 4 parallel
#       readers (walship -j, pgbackrest --process-max);
#   (b) `walship list` of a filesystem repository with NLIST WAL objects
#       beside `pgbackrest info` of one with as many, and `walship list
#       --json` beside `pgbackrest info --output=json`.
#
#   bash bench/ops.sh            (as root; NSEG=256 NLIST=10000 ROUNDS=3)
#
# The WAL is real: one cluster's archive_command stores every segment in
# all four repositories (walship-archive fs and S3, pgbackrest archive-push
# fs and S3), at zstd level 3 for both tools; the segments come from bulk
# inserts of md5 text (compressible about 2:1, like real WAL).  Each tool
# then takes two full backups of the same database (pgbench scale SCALE).
#
# For (b) the extra WAL objects are hard links of one real archived
# segment under new segment names, for both tools alike: neither `list`
# nor `info` reads a WAL object (walship binds the key into an object's
# header, so these would fail `verify`, which is not run on them).
#
# Not a test: it prints medians and ratios, asserts only that the tools
# exit 0 and find the repositories sound.
set -euo pipefail
NSEG=${NSEG:-256}
NLIST=${NLIST:-10000}
ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-10}

bench_ops_outer() {
    local b
    for b in walship walship-basebackup; do cp "$BUILD/$b" "$T/bin/"; done
    command -v pgbackrest >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbackrest >/dev/null
    bash "$SRC/tests/s3/start-s3.sh" "$T/s3" >/dev/null
    trap 'echo "interrupted; cleaning up" >&2' INT TERM
}
bench_ops_outer_cleanup() {
    bash "$SRC/tests/s3/stop-s3.sh" "$T/s3" >/dev/null 2>&1 || true
}
BENCH_OUTER_HOOK=bench_ops_outer
BENCH_OUTER_CLEANUP=bench_ops_outer_cleanup
. "$(dirname "$0")/lib.sh"
# ---- inner pass, as pgtest, in $T ----
# shellcheck disable=SC1091
. "$T/s3/s3.env"
PSQL=(psql -h "$T/sock" -U postgres -d postgres -X -q -At)
PFX=bench-$$
TLS_PORT=${S3_TLS_ENDPOINT##*:}

# ---- configurations ----
mkdir -p "$T/repo-ws" "$T/repo-pgbr" "$T/pgbr-lock" "$T/pgbr-spool"
ws_common() {
    printf '%s\n' "compression = zstd" "compression_level = 3" "pgdata = '$T/data'" \
        "pg_conninfo = 'host=$T/sock user=postgres dbname=postgres'"
}
{ ws_common; echo "repo = '$T/repo-ws'"; } > "$T/ws-fs.conf"
{ ws_common; echo "repo = 's3://$S3_BUCKET/$PFX-ws'"; echo "s3_endpoint = '$S3_TLS_ENDPOINT'"
  echo "s3_ca_file = '$S3_CA_FILE'"; echo "s3_region = '$S3_REGION'"
  echo "s3_access_key_id = '$S3_ACCESS_KEY'"; echo "s3_secret_access_key = '$S3_SECRET_KEY'"; } > "$T/ws-s3.conf"
pgbr_common() {
    printf '%s\n' "compress-type=zst" "compress-level=3" "log-level-console=warn" \
        "log-level-file=off" "lock-path=$T/pgbr-lock" "spool-path=$T/pgbr-spool" "start-fast=y" \
        "archive-timeout=300" "repo1-retention-full=9"
}
pgbr_stanza() { printf '%s\n' "[bench]" "pg1-path=$T/data" "pg1-socket-path=$T/sock" "pg1-user=postgres"; }
{ echo "[global]"; echo "repo1-path=$T/repo-pgbr"; pgbr_common; pgbr_stanza; } > "$T/pgbr-fs.conf"
# pgBackRest 2.45 matches the certificate against DNS names only (not the IP
# SAN of the test certificate), so it runs with verification off; walship verifies
{ echo "[global]"; echo "repo1-type=s3"; echo "repo1-path=/$PFX-pgbr"; echo "repo1-s3-bucket=$S3_BUCKET"
  echo "repo1-s3-endpoint=127.0.0.1"; echo "repo1-storage-port=$TLS_PORT"; echo "repo1-storage-verify-tls=n"
  echo "repo1-s3-region=$S3_REGION"; echo "repo1-s3-key=$S3_ACCESS_KEY"; echo "repo1-s3-key-secret=$S3_SECRET_KEY"
  echo "repo1-s3-uri-style=path"; pgbr_common; pgbr_stanza; } > "$T/pgbr-s3.conf"
chmod 600 "$T"/*.conf
cat > "$T/arch-walship-pgbackrest.sh" <<ARCH
#!/bin/bash
# one segment into all four repositories (pgbackrest backup insists that
# archive_command names pgbackrest: this file's name does)
set -e
$T/bin/walship-archive --config=$T/ws-fs.conf "\$1" "\$2"
$T/bin/walship-archive --config=$T/ws-s3.conf "\$1" "\$2"
pgbackrest --config=$T/pgbr-fs.conf --stanza=bench archive-push "\$1"
pgbackrest --config=$T/pgbr-s3.conf --stanza=bench archive-push "\$1"
ARCH
chmod 755 "$T/arch-walship-pgbackrest.sh"

echo "== cluster: PostgreSQL 15, archiving into 2 walship and 2 pgBackRest repositories"
(cd "$T" && $PGBIN/initdb -D "$T/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null)
cat >> "$T/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$T/sock'
wal_level = replica
archive_mode = on
archive_command = '$T/arch-walship-pgbackrest.sh %p %f'
max_wal_size = 4GB
CONF
$PGBIN/pg_ctl -D "$T/data" -l "$T/pg.log" -w start >/dev/null
pgbackrest --config="$T/pgbr-fs.conf" --stanza=bench stanza-create >/dev/null
pgbackrest --config="$T/pgbr-s3.conf" --stanza=bench stanza-create >/dev/null
pgbench -h "$T/sock" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
"${PSQL[@]}" -c "create table fill (t text)"

archived() { find "$T/repo-ws/wal" -type f -name '[0-9A-F]*' ! -name '*.*' 2>/dev/null | wc -l; }
# archive_idle: wait until the archiver has nothing left to do
archive_idle() {
    local i
    for ((i = 0; i < 4800; i++)); do
        compgen -G "$T/data/pg_wal/archive_status/*.ready" >/dev/null || return 0
        sleep 0.25
    done
    echo "archiving is stuck:" >&2; "${PSQL[@]}" -c "select * from pg_stat_archiver" >&2; return 1
}
# wal_until N: bulk inserts until N segments are archived
wal_until() {
    while [ "$(archived)" -lt "$1" ]; do
        "${PSQL[@]}" -c "insert into fill select md5(g::text) || md5((g + 1)::text) from generate_series(1, 200000) g" \
            -c "truncate fill" -c "select pg_switch_wal()" >/dev/null
        archive_idle
    done
}
backups() {
    "$T/bin/walship-basebackup" --config="$T/ws-fs.conf" -c fast --no-progress > /dev/null 2>&1
    "$T/bin/walship-basebackup" --config="$T/ws-s3.conf" -c fast --no-progress > /dev/null 2>&1
    pgbackrest --config="$T/pgbr-fs.conf" --stanza=bench --type=full backup
    pgbackrest --config="$T/pgbr-s3.conf" --stanza=bench --type=full backup
}
t0=$(now_us)
wal_until $((NSEG / 2))
echo "   backups 1 (walship fs, S3; pgbackrest fs, S3)"
backups
wal_until $((NSEG - 8))
echo "   backups 2"
backups
wal_until "$NSEG"
"${PSQL[@]}" -c "checkpoint"
archive_idle
pg_ws=$(archived)
pg_pgbr=$(find "$T/repo-pgbr/archive" -type f -name '[0-9A-F]*-*' ! -name '*.backup*' | grep -c '/[0-9A-F]\{24\}-' || true)
echo "   $pg_ws segments in walship's repository, $pg_pgbr in pgBackRest's ($(( ($(now_us) - t0) / 1000000 )) s)"
echo "   stored: walship fs $(du -sb "$T/repo-ws" | cut -f1) bytes, pgbackrest fs $(du -sb "$T/repo-pgbr" | cut -f1) bytes"
$PGBIN/pg_ctl -D "$T/data" -m fast -w stop >/dev/null

# ---- (a) verify -------------------------------------------------------------
WSV_FS=("$T/bin/walship" verify --config="$T/ws-fs.conf")
WSV_S3=("$T/bin/walship" verify --config="$T/ws-s3.conf")
PBV_FS=(pgbackrest --config="$T/pgbr-fs.conf" --stanza=bench verify)
PBV_S3=(pgbackrest --config="$T/pgbr-s3.conf" --stanza=bench verify)
# the results must be sound before they are timed
"${WSV_FS[@]}" -j 4 > "$T/out/wsv.out" 2>&1 || { cat "$T/out/wsv.out" >&2; exit 1; }
grep '^verified' "$T/out/wsv.out"
"${WSV_S3[@]}" -j 4 > "$T/out/wsv3.out" 2>&1 || { cat "$T/out/wsv3.out" >&2; exit 1; }
grep '^verified' "$T/out/wsv3.out"
# what pgbackrest verify checked (its detail lines), so that both are seen to read everything
"${PBV_FS[@]}" --log-level-console=detail > "$T/out/pbv.out" 2>&1 || { cat "$T/out/pbv.out" >&2; exit 1; }
"${PBV_S3[@]}" --log-level-console=detail > "$T/out/pbv3.out" 2>&1 || { cat "$T/out/pbv3.out" >&2; exit 1; }
for f in pbv pbv3; do
    echo "   pgbackrest verify ($f): $(grep -Eio '(checked|valid|missing|checksum invalid|total)[^:,]*: [0-9]+' "$T/out/$f.out" | tr '\n' ';' || true)"
    grep -E 'DETAIL|INFO' "$T/out/$f.out" | cut -c 1-300 | head -n 8 || true
done
echo "== verify: $ROUNDS round(s), interleaved"
for ((r = 1; r <= ROUNDS; r++)); do
    for j in 1 4; do
        add "wsv_fs_$j" "$(time_ms "${WSV_FS[@]}" -j $j)"
        add "pbv_fs_$j" "$(time_ms "${PBV_FS[@]}" --process-max=$j)"
        add "wsv_s3_$j" "$(time_ms "${WSV_S3[@]}" -j $j)"
        add "pbv_s3_$j" "$(time_ms "${PBV_S3[@]}" --process-max=$j)"
    done
done

# ---- (b) list with NLIST WAL objects ------------------------------------------
echo "== list: $NLIST WAL objects (hard links of one archived segment under new names)"
cp -al "$T/repo-ws" "$T/repo-ws-list"
cp -al "$T/repo-pgbr" "$T/repo-pgbr-list"
sed "s|^repo = .*|repo = '$T/repo-ws-list'|" "$T/ws-fs.conf" > "$T/ws-list.conf"
sed "s|^repo1-path=.*|repo1-path=$T/repo-pgbr-list|" "$T/pgbr-fs.conf" > "$T/pgbr-list.conf"
chmod 600 "$T/ws-list.conf" "$T/pgbr-list.conf"
python3 - "$T/repo-ws-list" "$T/repo-pgbr-list" "$NLIST" <<'PY'
import glob, os, sys
ws, pb, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def segs(root, pat):
    return sorted(p for p in glob.glob(root + pat, recursive=True))
w = [p for p in segs(ws, "/wal/00000001/*/*") if len(os.path.basename(p)) == 24]
b = [p for p in segs(pb, "/archive/bench/*/0000000100000000*/*") if "-" in os.path.basename(p)
     and len(os.path.basename(p).split("-")[0]) == 24 and ".backup" not in p]
last = int(os.path.basename(w[-1])[8:16], 16) * 256 + int(os.path.basename(w[-1])[16:24], 16)
arch = os.path.dirname(os.path.dirname(b[0]))
src_w, src_b = w[-1], b[-1]
suffix = os.path.basename(src_b).split("-", 1)[1]
for k in range(n - len(w)):
    s = last + 1 + k
    name = "00000001%08X%08X" % (s // 256, s % 256)
    d = os.path.join(ws, "wal", "00000001", name[:16])
    os.makedirs(d, exist_ok=True)
    os.link(src_w, os.path.join(d, name))
    d = os.path.join(arch, name[:16])
    os.makedirs(d, exist_ok=True)
    os.link(src_b, os.path.join(d, name + "-" + suffix))
print("   walship: %d, pgbackrest: %d WAL objects" % (
    sum(1 for p in glob.glob(ws + "/wal/00000001/*/*") if len(os.path.basename(p)) == 24),
    sum(1 for p in glob.glob(arch + "/*/*") if "-" in os.path.basename(p) and ".backup" not in p)))
PY
WSL=("$T/bin/walship" list --config="$T/ws-list.conf")
PBI=(pgbackrest --config="$T/pgbr-list.conf" --stanza=bench info)
"${WSL[@]}" > "$T/out/wsl.out" 2>&1 || { cat "$T/out/wsl.out" >&2; exit 1; }
"${PBI[@]}" > "$T/out/pbi.out" 2>&1 || { cat "$T/out/pbi.out" >&2; exit 1; }
grep -A3 '^WAL\|ARCHIVED' "$T/out/wsl.out" | head -n 4 || true
grep 'wal archive min/max' "$T/out/pbi.out" || true
for ((r = 1; r <= ROUNDS * 3; r++)); do
    add wsl "$(time_ms "${WSL[@]}")"
    add pbi "$(time_ms "${PBI[@]}")"
    add wslj "$(time_ms "${WSL[@]}" --json)"
    add pbij "$(time_ms "${PBI[@]}" --output=json)"
done

cat <<TABLE

walship operator-tool benchmark: $pg_ws WAL segments (bulk-insert WAL, zstd 3) and
two full backups of a pgbench scale-$SCALE database in each repository; $(nproc) CPUs;
$(pgbackrest version); median ms over $ROUNDS round(s), interleaved, process start included

verify (every object read end to end)                 walship    pgbackrest   walship/pgbackrest
  filesystem, 1 reader  (-j 1 / --process-max=1)     $(m wsv_fs_1)   $(m pbv_fs_1)   $(ratio wsv_fs_1 pbv_fs_1)
  filesystem, 4 readers (-j 4 / --process-max=4)     $(m wsv_fs_4)   $(m pbv_fs_4)   $(ratio wsv_fs_4 pbv_fs_4)
  S3 HTTPS,   1 reader                               $(m wsv_s3_1)   $(m pbv_s3_1)   $(ratio wsv_s3_1 pbv_s3_1)
  S3 HTTPS,   4 readers                              $(m wsv_s3_4)   $(m pbv_s3_4)   $(ratio wsv_s3_4 pbv_s3_4)

list with $NLIST WAL objects, filesystem         walship    pgbackrest   walship/pgbackrest
  walship list / pgbackrest info                     $(m wsl)   $(m pbi)   $(ratio wsl pbi)
  --json / --output=json                             $(m wslj)   $(m pbij)   $(ratio wslj pbij)
TABLE

#!/usr/bin/env bash
# Benchmark: per-segment archive and restore to S3 on loopback, beside the
# filesystem driver and beside pgBackRest archive-push/archive-get against the
# same server with the same compression (zstd level 1), in the same run.
#
#   bash bench/s3.sh [NSEG]        (default 12 segments; as root)
#
# The server is s3rver behind the suite's SigV4-verifying proxy
# (tests/s3/start-s3.sh), which also serves HTTPS: pgBackRest only speaks
# HTTPS, so the comparison that matters is walship over HTTPS vs pgBackRest
# over HTTPS; walship over plain HTTP is shown too.  pgBackRest 2.45 matches
# the certificate against DNS names only (not the IP SAN of our test
# certificate), so it runs with verification off; walship verifies.
set -euo pipefail
NSEG=${1:-12}
s3_up() {
    bash "$SRC/tests/s3/start-s3.sh" "$T/s3" >/dev/null
}
s3_down() {
    bash "$SRC/tests/s3/stop-s3.sh" "$T/s3" >/dev/null 2>&1 || true
}
BENCH_OUTER_HOOK=s3_up
BENCH_OUTER_CLEANUP=s3_down
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$T/s3/s3.env"
bench_segments "$NSEG"

PFX=bench-$$
common_conf() {
    cat <<CONF
compression = zstd
compression_level = 1
pgdata = '$T/data'
s3_region = '$S3_REGION'
s3_access_key_id = '$S3_ACCESS_KEY'
s3_secret_access_key = '$S3_SECRET_KEY'
CONF
}
mkdir -p "$T/repo-fs"
{ common_conf; echo "repo = '$T/repo-fs'"; } > "$T/fs.conf"
{ common_conf; echo "repo = 's3://$S3_BUCKET/$PFX-http'"; echo "s3_endpoint = '$S3_ENDPOINT'"; } > "$T/http.conf"
{ common_conf; echo "repo = 's3://$S3_BUCKET/$PFX-https'"; echo "s3_endpoint = '$S3_TLS_ENDPOINT'";
  echo "s3_ca_file = '$S3_CA_FILE'"; } > "$T/https.conf"
chmod 600 "$T"/*.conf
TLS_PORT=${S3_TLS_ENDPOINT##*:}
cat > "$T/pgbackrest.conf" <<CONF
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
[bench]
pg1-path=$T/data
pg1-socket-path=$T/sock
pg1-user=postgres
CONF
chmod 600 "$T/pgbackrest.conf"
PGBR=(pgbackrest --config="$T/pgbackrest.conf" --stanza=bench)
"${PGBR[@]}" stanza-create >/dev/null
for c in fs http https; do
    "$T/bin/walship-archive" --config="$T/$c.conf" "$T/segs/${SEGS[0]}" "${SEGS[0]}" 2>/dev/null
done
"${PGBR[@]}" archive-push "$T/segs/${SEGS[0]}"
SEGS=("${SEGS[@]:1}")

echo "== archive: per segment, interleaved"
for s in "${SEGS[@]}"; do
    f=$T/segs/$s
    add ws_fs "$(time_ms "$T/bin/walship-archive" --config="$T/fs.conf" "$f" "$s")"
    add ws_http "$(time_ms "$T/bin/walship-archive" --config="$T/http.conf" "$f" "$s")"
    add ws_https "$(time_ms "$T/bin/walship-archive" --config="$T/https.conf" "$f" "$s")"
    add pgbr_push "$(time_ms "${PGBR[@]}" archive-push "$f")"
    add ws_https_again "$(time_ms "$T/bin/walship-archive" --config="$T/https.conf" "$f" "$s")"
    add pgbr_again "$(time_ms "${PGBR[@]}" archive-push "$f")"
done
echo "== restore: per segment, interleaved"
for s in "${SEGS[@]}"; do
    for c in fs http https; do
        add "r_$c" "$(time_ms "$T/bin/walship-restore" --config="$T/$c.conf" "$s" "$T/out/$c")"
        cmp -s "$T/out/$c" "$T/segs/$s" || { echo "restore mismatch ($c) for $s" >&2; exit 1; }
        rm -f "$T/out/$c"
    done
    add r_pgbr "$(time_ms "${PGBR[@]}" archive-get "$s" "$T/out/p")"
    cmp -s "$T/out/p" "$T/segs/$s" || { echo "pgbackrest restore mismatch for $s" >&2; exit 1; }
    rm -f "$T/out/p"
done

cat <<TABLE

walship S3 benchmark: ${#SEGS[@]} pgbench WAL segments of 16 MiB, s3rver behind the
SigV4-verifying proxy on loopback; median ms per call (process start-up included)

archive (archive_command)
  walship, filesystem repository                  $(m ws_fs)
  walship, S3 over HTTP                           $(m ws_http)     ratio to filesystem: $(ratio ws_http ws_fs)
  walship, S3 over HTTPS                          $(m ws_https)     ratio to filesystem: $(ratio ws_https ws_fs)
  pgbackrest archive-push, S3 over HTTPS          $(m pgbr_push)     ratio walship/pgbackrest (HTTPS): $(ratio ws_https pgbr_push)
  already archived, identical: walship HTTPS      $(m ws_https_again)
  already archived, identical: pgbackrest HTTPS   $(m pgbr_again)

restore (restore_command)
  walship, filesystem repository                  $(m r_fs)
  walship, S3 over HTTP                           $(m r_http)     ratio to filesystem: $(ratio r_http r_fs)
  walship, S3 over HTTPS                          $(m r_https)     ratio to filesystem: $(ratio r_https r_fs)
  pgbackrest archive-get, S3 over HTTPS           $(m r_pgbr)     ratio walship/pgbackrest (HTTPS): $(ratio r_https r_pgbr)
TABLE

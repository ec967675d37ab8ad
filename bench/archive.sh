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
NSEG=${1:-16}
. "$(dirname "$0")/lib.sh"
RUN=()
bench_segments "$NSEG"

# configs
mkdir -p "$T/repo-plain" "$T/repo-enc" "$T/repo-mt" "$T/pgbr"
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

# t_backup_nospc.sh — the repository fills up in the middle of a base
# backup: walship-basebackup exits 8 (no space) naming the cause, leaves no
# descriptor, no partial object and no temporary file, and removes the
# parts it had stored; once there is room, a backup succeeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
is_root || skip "needs root to mount a small tmpfs as the repository"
try_mount_tmpfs "$T/small" 24m || skip "cannot mount a tmpfs: $(cat "$T/mount.err")"
REPO=$T/small/repo
mkdir -p "$REPO" && give_pg "$REPO"
bk_write_conf "$WS_CONF" "$REPO" "backup_part_size = 16MB"
bk_init_src "$T/pg"
bk_pgbench_init "$T/pg" 4
CONN=$(bk_conninfo "$T/pg")

# about 60 MB of data uncompressed into 24 MB
run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" --compression=none -d "$CONN" -c fast
check "[ \"\$RC\" -eq 8 ]" "exit status 8 (no space) for a full repository, got $RC"
check "err_has 'No space left on device'" "the message names the cause"
check "[ -z \"\$(find '$REPO/backups' -name backup.info 2>/dev/null)\" ]" "no backup descriptor"
check "[ -z \"\$(find '$REPO/backups' -type f 2>/dev/null)\" ]" "the stored parts were removed again"
check "[ -z \"\$(dotfiles '$REPO')\" ]" "no temporary file left"
check "! out_has 'Z'" "no backup id printed"

# with compression the same database fits
run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" -d "$CONN" -c fast
check_rc 0 "backup with zstd into the same repository"
ID=$(cat "$T/run.out")
check "[ -f '$REPO/backups/$ID/backup.info' ]" "backup $ID is complete"
run as_pg "$WS_RECOVER" --config="$WS_CONF" --list
check "grep -q '^$ID  *complete' '$T/run.out'" "--list shows $ID complete"
ws_summary

# t_backup_fs.sh — acceptance: walship-basebackup and walship-recover with a
# filesystem repository (zstd, no encryption).  A pgbench cluster archives
# through walship-archive; walship-basebackup -c fast runs while pgbench
# writes; after more load, a target time and an accidental DELETE,
# walship-recover --target-time --target-action=promote builds a new data
# directory that pg_verifybackup accepts and that, once started, holds
# exactly the data at the target, deleted rows included.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

ws_setup
bk_require
bk_trap
backup_flow "compression = zstd" "backup_part_size = 16MB"

info "the repository"
check "grep -q '^encryption = none' '$BK_REPO/walship.repo'" "repository descriptor says encryption = none"
# backup.info is a walship object stored uncompressed: unencrypted, its text
# is readable in the file (t_backup_encrypted.sh checks the opposite).
sysid=$(system_identifier "$SRC")
check "grep -qaF -- '$sysid' '$BK_REPO/backups/$BK_ID/backup.info'" \
    "backup.info (unencrypted, uncompressed) names the system identifier $sysid"
check "head -c 8 '$BK_REPO/backups/$BK_ID/base.tar.0' | od -An -c | grep -q 'W   S   O   B   J'" \
    "base.tar.0 is a walship object (WSOBJ magic)"
n=$(ls "$BK_REPO/backups" | wc -l)
check "[ '$n' = 1 ]" "exactly one backup directory under backups/ ($n)"
ws_summary

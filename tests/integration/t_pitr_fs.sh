# t_pitr_fs.sh — acceptance: point-in-time recovery through a filesystem
# repository, zstd, no encryption.  walship-archive is the live cluster's
# archive_command, walship-restore the restored cluster's restore_command;
# the data at the target time must come back exactly, including rows that
# were "accidentally" deleted after it.
. "$(dirname "$0")/lib.sh"

ws_setup
pitr_flow "compression = zstd"
check "grep -q '^encryption = none' '$REPO/walship.repo'" "repository descriptor says encryption = none"
ws_summary

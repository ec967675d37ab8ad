# t_backup_encrypted.sh — acceptance: walship-basebackup and walship-recover
# with an encrypted filesystem repository (aes-256-gcm, passphrase file).
# The backup objects are stored uncompressed, so any plaintext would show:
# nothing under backups/ may contain a file name, a table name or a marker
# string that the cluster holds (the recovered, decrypted copies show them:
# the control), and a wrong passphrase must be refused as such.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

ws_setup
bk_require
bk_trap
PASSPHRASE="backup-secret-$RANDOM$RANDOM-passphrase"
printf '%s\n' "$PASSPHRASE" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"

backup_flow "compression = none" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "backup_part_size = 16MB"

check "grep -q '^encryption = aes-256-gcm' '$BK_REPO/walship.repo'" \
    "repository descriptor says encryption = aes-256-gcm"
B=$BK_REPO/backups/$BK_ID
n_obj=$(find "$B" -type f | wc -l)
check "[ '$n_obj' -ge 3 ]" "$n_obj objects in backups/$BK_ID"
# controls: the decrypted copies hold the strings
check "grep -qF 'PG_VERSION' '$REC/backup_manifest'" "the recovered backup_manifest names PG_VERSION (control)"
check "grep -rqaF -- '$MARKER' '$REC/base'" "the recovered data files hold the marker row (control)"
for s in PG_VERSION pg_control pgbench_accounts "$MARKER"; do
    n=$(grep -rlaF -- "$s" "$BK_REPO/backups" | wc -l)
    check "[ '$n' = 0 ]" "no object under backups/ contains '$s' ($n files)"
done
sysid=$(system_identifier "$SRC")
check "! grep -qaF -- '$sysid' '$B/backup.info'" "backup.info does not show the system identifier in plaintext"
check "! grep -qaF -- 'system_identifier' '$B/backup.info'" \
    "backup.info does not show its keys in plaintext (the object header names only its key)"

info "a wrong passphrase"
printf 'not-the-passphrase\n' > "$T/wrongpass"
chmod 600 "$T/wrongpass" && give_pg "$T/wrongpass"
bk_recover "$T/wrong" --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "walship-recover with a wrong passphrase (authentication)"
check "grep -qi 'passphrase' '$T/run.err'" "the message says the passphrase is wrong"
check "absent_or_empty '$T/wrong'" "no target directory left"
bk_list --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "walship-recover --list with a wrong passphrase"
pg_start "$SRC"
before=$(ls "$BK_REPO/backups")
bk_backup --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "walship-basebackup with a wrong passphrase (authentication)"
check "[ \"\$(ls '$BK_REPO/backups')\" = '$before' ]" "no backup directory left behind"
pg_stop "$SRC"

n_pass=$(grep -rlaF -- "$PASSPHRASE" "$T"/*.log "$BK_REPO" "$REC/postgresql.auto.conf" "$T/run.out" "$T/run.err" | wc -l)
check "[ '$n_pass' = 0 ]" "the passphrase appears in no server log, repository file or postgresql.auto.conf"
ws_summary

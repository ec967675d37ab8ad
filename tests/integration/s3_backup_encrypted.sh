# s3_backup_encrypted.sh — acceptance: walship-basebackup and walship-recover
# with an encrypted (aes-256-gcm, passphrase file) S3 repository.  The backup
# objects are stored uncompressed, so any plaintext would show: no object
# below backups/ (fetched with curl) may contain a file name, a table name or
# a marker string the cluster holds (the recovered copies show them: the
# control), and a wrong passphrase is refused as such.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_require
bk_trap
BK_REPO=$S3T_REPO
mapfile -t S3_LINES < <(s3_conf_lines)
PASSPHRASE="s3-backup-secret-$RANDOM$RANDOM-passphrase"
printf '%s\n' "$PASSPHRASE" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"

bk_check_repo() {
    s3_list "$S3T_PREFIX" > "$T/keys"
    check "grep -qxF 'backups/$1/backup.info' '$T/keys' && grep -qxF 'backups/$1/base.tar.0' '$T/keys'" \
        "the bucket lists backups/$1/backup.info and base.tar.0"
    s3_uploads "$S3T_PREFIX" > "$T/uploads"
    check "[ ! -s '$T/uploads' ]" "no multipart upload left in progress below the prefix"
}

backup_flow "compression = none" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "backup_part_size = 16MB" "${S3_LINES[@]}"

info "fetch every object below backups/ with curl"
mkdir "$T/fetched"
s3_list "$S3T_PREFIX" | grep '^backups/' > "$T/bkeys"
n=0
while IFS= read -r k; do
    code=$(s3_get "$S3T_PREFIX" "$k" "$T/fetched/$(printf '%s' "$k" | tr '/' '_')")
    [ "$code" = 200 ] || fail "GET $S3T_PREFIX/$k with curl: HTTP $code"
    n=$((n + 1))
done < "$T/bkeys"
rm -f "$T"/fetched/*.hdr "$T"/fetched/*.curlerr
check "[ '$n' -ge 3 ]" "$n objects below backups/"
check "grep -qF 'PG_VERSION' '$REC/backup_manifest'" "the recovered backup_manifest names PG_VERSION (control)"
check "grep -rqaF -- '$MARKER' '$REC/base'" "the recovered data files hold the marker row (control)"
for s in PG_VERSION pg_control pgbench_accounts "$MARKER" "$(system_identifier "$SRC")"; do
    c=$(grep -rlaF -- "$s" "$T/fetched" | wc -l)
    check "[ '$c' = 0 ]" "no object below backups/ contains '$s' ($c objects)"
done

printf 'not-the-passphrase\n' > "$T/wrongpass"
chmod 600 "$T/wrongpass" && give_pg "$T/wrongpass"
bk_recover "$T/wrong" --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "walship-recover with a wrong passphrase (authentication)"
check "absent_or_empty '$T/wrong'" "no target directory left"
n_pass=$(grep -rlaF -- "$PASSPHRASE" "$T"/*.log "$T/fetched" "$REC/postgresql.auto.conf" | wc -l)
check "[ '$n_pass' = 0 ]" "the passphrase appears in no server log, object or postgresql.auto.conf"
ws_summary

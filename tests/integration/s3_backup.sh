# s3_backup.sh — acceptance: walship-basebackup and walship-recover with an
# S3 repository (repo = s3://bucket/prefix), zstd, no encryption: the flow of
# t_backup_fs.sh (pgbench load during the backup, target time, accidental
# DELETE, recovery, pg_verifybackup, data equal to the snapshot), with the
# repository checked through an independent client (curl).  Runs against
# s3rver behind the SigV4-verifying proxy and against Ceph RGW (s3lib.sh).
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_require
bk_trap
BK_REPO=$S3T_REPO
mapfile -t S3_LINES < <(s3_conf_lines)
SEQ0=
is_s3rver && SEQ0=$(proxy_seq)

bk_check_repo() {
    local id=$1 n
    s3_list "$S3T_PREFIX" > "$T/keys"
    check "grep -qxF 'backups/$id/backup.info' '$T/keys'" "the bucket lists backups/$id/backup.info"
    check "grep -qxF 'backups/$id/base.tar.0' '$T/keys' && grep -qxF 'backups/$id/backup_manifest' '$T/keys'" \
        "the bucket lists backups/$id/base.tar.0 and backup_manifest"
    n=$(grep -c "^backups/$id/base\\.tar\\.[0-9]*\$" "$T/keys")
    check "[ '$n' -ge 2 ]" "base.tar is split into $n objects (backup_part_size = 16MB)"
    check "! grep -v -e '^walship.repo\$' -e '^wal/' -e '^backups/$id/' -e '^state/backup/[0-9TZ]*-[0-9a-f]*\.success\$' '$T/keys' | grep -q ." \
        "nothing but walship.repo, wal/, backups/$id/ and the attempt's record state/backup/*.success below the prefix"
    check "[ \"\$(grep -c '^state/backup/.*\.success\$' '$T/keys')\" = 1 ] && ! grep -q '^state/backup/.*\.running\$' '$T/keys'" \
        "one attempt recorded as a success, none left running"
    check "[ \"\$(s3_get '$S3T_PREFIX' 'backups/$id/backup.info' '$T/info')\" = 200 ] && head -c 5 '$T/info' | grep -q WSOBJ" \
        "backup.info (fetched with curl) is a walship object"
    s3_uploads "$S3T_PREFIX" > "$T/uploads"
    check "[ ! -s '$T/uploads' ]" "no multipart upload left in progress below the prefix"
}

backup_flow "compression = zstd" "backup_part_size = 16MB" "${S3_LINES[@]}"

check "[ \"\$(stat -c '%a %U' '$WS_CONF')\" = '600 $(as_pg id -un)' ]" \
    "the configuration file with the secret is mode 600, owned by $(as_pg id -un)"
if [ "${#S3T_SK}" -ge 8 ]; then
    check "! grep -qF -- '$S3T_SK' $T/*.log '$REC/postgresql.auto.conf' '$T/run.out' '$T/run.err'" \
        "the secret access key appears in no server log, output or postgresql.auto.conf"
else
    skip_check "the secret access key is too short (${#S3T_SK} characters) to grep for"
fi
if is_s3rver; then
    proxy_log "/$S3T_PREFIX/" "$SEQ0" > "$T/proxy.lines"
    n=$(wc -l < "$T/proxy.lines")
    check "[ '$n' -gt 5 ] && ! awk '{print \$3}' '$T/proxy.lines' | grep -q '^403'" \
        "the verifying proxy saw $n requests for this prefix and rejected none (no 403)"
    check "grep -q '^PUT .*/backups/.* 200 ' '$T/proxy.lines' && grep -q '^GET .*/backups/.* 20[06] ' '$T/proxy.lines'" \
        "the backup went through signed PUTs and the recovery through signed GETs"
fi
ws_summary

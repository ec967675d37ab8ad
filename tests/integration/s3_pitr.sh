# s3_pitr.sh — acceptance: point-in-time recovery through an S3 repository
# (repo = s3://bucket/prefix), zstd, no encryption.  PostgreSQL 15's archiver
# runs walship-archive and the restored cluster runs walship-restore, both
# with a 0600 configuration file (owned by the server's user) holding the
# endpoint, region and credentials.  Runs against s3rver behind the SigV4-
# verifying proxy and against Ceph RGW (see s3lib.sh).
. "$(dirname "$0")/s3lib.sh"

s3_setup
PITR_REPO=$S3T_REPO
mapfile -t S3_LINES < <(s3_conf_lines)
SEQ0=
is_s3rver && SEQ0=$(proxy_seq)

# Replaces pitr_flow's filesystem checks of the repository.
pitr_check_repo() {
    local last=$1 key n
    key=$(wal_key "$last")
    s3_list "$S3T_PREFIX" > "$T/keys"
    n=$(wc -l < "$T/keys")
    info "an independent client (curl) lists $n objects below $S3T_PREFIX/"
    check "grep -qx 'walship.repo' '$T/keys'" "the bucket lists $S3T_PREFIX/walship.repo"
    check "grep -qxF '$key' '$T/keys'" "the bucket lists $S3T_PREFIX/$key"
    check "[ '$n' -ge 4 ]" "at least 4 objects in the repository ($n)"
    check "! grep -v -e '^walship.repo\$' -e '^wal/0000000[12]/' '$T/keys' | grep -q ." \
        "nothing but walship.repo and wal/<timeline>/... below the prefix"
    check "[ \"\$(s3_get '$S3T_PREFIX' walship.repo '$T/desc')\" = 200 ] && grep -q '^system_identifier = $(system_identifier "$SRC")\$' '$T/desc'" \
        "walship.repo (fetched with curl) binds the repository to the source's system identifier"
    s3_uploads "$S3T_PREFIX" > "$T/uploads"
    check "[ ! -s '$T/uploads' ]" "no multipart upload left in progress below the prefix"
}

pitr_flow "compression = zstd" "${S3_LINES[@]}"

check "grep -q '^encryption = none' '$T/desc'" "repository descriptor says encryption = none"
check "[ \"\$(stat -c '%a %U' '$WS_CONF')\" = '600 $(as_pg id -un)' ]" \
    "the configuration file with the secret is mode 600, owned by $(as_pg id -un)"
n_secret=$(grep -lF -- "s3_secret_access_key" "$T"/*.log 2>/dev/null | wc -l)
check "[ '$n_secret' = 0 ]" "no server log mentions the secret key setting"
if [ "${#S3T_SK}" -ge 8 ]; then
    check "! grep -qF -- '$S3T_SK' $T/*.log" "the secret access key appears in no server log"
else
    skip_check "the secret access key is too short (${#S3T_SK} characters) to grep for in logs"
fi
if is_s3rver; then
    proxy_log "/$S3T_PREFIX/" "$SEQ0" > "$T/proxy.lines"
    n=$(wc -l < "$T/proxy.lines")
    check "[ '$n' -gt 5 ] && ! awk '{print \$3}' '$T/proxy.lines' | grep -q '^403'" \
        "the verifying proxy saw $n requests for this prefix and rejected none (no 403)"
    check "grep -q '^PUT .* 200 ' '$T/proxy.lines' && grep -q '^GET .* 200 ' '$T/proxy.lines'" \
        "archiving went through signed PUTs and recovery through signed GETs"
fi
ws_summary

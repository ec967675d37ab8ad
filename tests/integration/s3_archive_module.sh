# s3_archive_module.sh — the archive module (archive_library =
# 'walship_archive') into an S3 repository: libcurl and SigV4 inside
# PostgreSQL 15's archiver.
#   1. the foundation's PITR flow through the module (restore with
#      walship-restore), against s3rver behind the verifying proxy and
#      against Ceph RGW;
#   2. (s3rver) every PUT of the prefix answered 500 for a while: each
#      segment fails with a WARNING after walship's retries, the archiver
#      survives (same pid), nothing is reported archived, and archiving
#      resumes once the store answers again.
. "$(dirname "$0")/s3lib.sh"

s3_setup
BUILD=${WS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
MOD=$BUILD/archive_module/pg15/walship_archive.so
[ -f "$MOD" ] || skip "archive module for PostgreSQL 15 not built ($MOD)"
mkdir "$T/lib" && cp "$MOD" "$T/lib/" && chmod 755 "$T/lib" "$T/lib/walship_archive.so" ||
    fail "copy the module"
MODLIB=$T/lib/walship_archive

PITR_REPO=$S3T_REPO
mapfile -t S3_LINES < <(s3_conf_lines)
MODULE_CONF=("archive_library = '$MODLIB'" "walship.config = '$T/walship.conf'")
PITR_ARCHIVE_CONF=MODULE_CONF
PITR_ARCHIVED_LOG='LOG:  walship_archive: archived'
pitr_check_repo() {
    local key
    key=$(wal_key "$1")
    s3_list "$S3T_PREFIX" > "$T/keys"
    check "grep -qx 'walship.repo' '$T/keys' && grep -qxF '$key' '$T/keys'" \
        "an independent client lists walship.repo and $key below the prefix"
}
pitr_before_stop() {
    sql "$SRC" "select archived_count, failed_count from pg_stat_archiver"
    check "[ '${Q#*|}' = 0 ] && [ '${Q%|*}' -ge 3 ]" "the module archived ${Q%|*} files to S3, no failure"
    check "! grep -q 'WARNING:  walship_archive' '$(pg_logfile "$SRC")'" "no WARNING from the module"
}
pitr_flow "compression = zstd" "${S3_LINES[@]}"
if [ "${#S3T_SK}" -ge 8 ]; then
    check "! grep -qF -- '$S3T_SK' $T/*.log" "the secret access key appears in no server log"
fi

if ! is_s3rver; then
    ws_summary
    exit 0
fi

info "part 2: the store answers 500 to every PUT of the prefix, then recovers"
P2=$S3T_PREFIX-outage
C2=$T/walship2.conf
D2=$T/src2
s3_write_conf "$C2" "s3://$S3T_BUCKET/$P2" "compression = zstd" "s3_max_retries = 2"
pg_init "$D2" "archive_mode = on" "archive_library = '$MODLIB'" "walship.config = '$C2'"
pg_start "$D2"
log2=$(pg_logfile "$D2")
sql "$D2" "create table t as select g from generate_series(1, 1000) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; first=$Q
wait_archived "$D2" "$first"
sql "$D2" "select pid from pg_stat_activity where backend_type = 'archiver'"; apid=$Q
id=$(ctl POST /__fault "{\"method\":\"PUT\",\"path_regex\":\"^/$S3T_BUCKET/$P2/wal/\",\"mode\":\"500\",\"count\":100000}" |
    jsget 'j.id')
[ -n "$id" ] || fail "no fault id"
sql "$D2" "insert into t select g from generate_series(1, 1000) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; stuck=$Q
for i in $(seq 600); do
    sql "$D2" "select failed_count from pg_stat_archiver"
    [ "$Q" -ge 3 ] && break
    sleep 0.1
done
check "[ '$Q' -ge 3 ]" "archiving $stuck fails while the store answers 500 ($Q failures)"
check "grep -q 'WARNING:  walship_archive: giving up after 3 attempts: S3 PUT' '$log2'" \
    "the WARNING says walship gave up after its 3 attempts at the PUT"
grep 'WARNING:  walship_archive: giving up' "$log2" | head -n 1 | sed 's/^/    | /'
sql "$D2" "select coalesce(last_archived_wal, '') from pg_stat_archiver"
check "[ '$Q' = '$first' ]" "nothing after $first reported archived"
sql "$D2" "select pid from pg_stat_activity where backend_type = 'archiver'"
check "[ '$Q' = '$apid' ]" "the archiver survived (pid $Q)"
check "! grep -qi 'FATAL\\|PANIC\\|terminated by signal' '$log2'" "no crash, FATAL or PANIC"
ctl DELETE "/__fault?id=$id" > /dev/null
sql "$D2" "insert into t select g from generate_series(1, 10) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; after=$Q   # wakes the archiver
check "[[ '$after' > '$stuck' ]]" "a new segment $after after $stuck"
wait_archived "$D2" "$after"
s3_list "$P2" > "$T/keys2"
check "grep -qxF '$(wal_key "$stuck")' '$T/keys2' && grep -qxF '$(wal_key "$after")' '$T/keys2'" \
    "$stuck and $after are in the bucket once the store recovers"
sql "$D2" "select pid from pg_stat_activity where backend_type = 'archiver'"
check "[ '$Q' = '$apid' ]" "the same archiver throughout (pid $Q)"
pg_stop "$D2"
ws_summary

# s3_tiers.sh — storage tiers on an S3 repository: `walship tier` moves an
# old backup and the WAL only it needs to GLACIER by server-side copies
# (CopyObject with x-amz-storage-class; descriptors stay STANDARD); reading
# an archived object is "in an archive storage class" (walship verify 16,
# walship-recover 16, walship-restore 157: never "corrupt", never "not
# found"); `walship thaw` issues the restore requests and reports their
# progress until everything is readable, after which recovery works.
#
# s3rver has no storage classes: the suite's proxy emulates Glacier
# (tests/s3/proxy.js, "archive storage classes"), so this runs against
# s3rver only.  A directory repository has no classes: tier says so.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
s3_require_proxy
bk_require
bk_trap
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src
WS_CONF=$T/walship.conf
P=$S3T_PREFIX
s3_write_conf "$WS_CONF" "$S3T_REPO" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SRC")'"
ops() { run as_pg "$WS_OPS" --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
storage_class() {
    s3c "$T/head" HEAD "$(obj_path "$P" "$1")" > /dev/null
    hdr_value "$T/head.hdr" x-amz-storage-class
}

info "two backups with WAL between them and after"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "the first backup"
OLD=$BK_ID
for i in 1 2 3; do
    sql "$SRC" "create table t$i as select g from generate_series(1, 1000) g"
    bk_switch_wait "$SRC"
done
sleep 1
bk_backup -c fast
check_rc 0 "the second backup"
NEW=$BK_ID
sql "$SRC" "create table t4 as select g from generate_series(1, 1000) g"
bk_switch_wait "$SRC"
pg_stop "$SRC"
ops list --json
check_rc 0 "walship list --json"
OLD_START=$(json "[b for b in j['backups'] if b['id'] == '$OLD'][0]['start_wal']")
OLD_STOP=$(json "[b for b in j['backups'] if b['id'] == '$OLD'][0]['stop_wal']")
NEW_START=$(json "[b for b in j['backups'] if b['id'] == '$NEW'][0]['start_wal']")
info "backup $OLD: WAL $OLD_START..$OLD_STOP; backup $NEW starts at $NEW_START"

ops tier --backup "$NEW" --class GLACIER
check_rc 10 "the newest backup is not moved (bad input)"
check "err_has 'is the newest complete backup'" "it says why"
ops tier --backup "$OLD" --class glacier
check_rc 2 "a lower-case storage class is a usage error"

SEQ=$(proxy_seq)
ops tier --backup "$OLD" --class GLACIER
check_rc 0 "walship tier --backup $OLD --class GLACIER"
check "out_has 'now in storage class GLACIER'" "it reports what it moved: $(cat "$T/run.out")"
proxy_log "/$P/" "$SEQ" > "$T/copies"
check "grep -q '^PUT .*/backups/$OLD/base.tar.0 200 .* sc=GLACIER' '$T/copies'" \
    "a PUT with x-amz-storage-class GLACIER was sent for base.tar.0"
check "! grep -q '^GET .*/backups/$OLD/base.tar' '$T/copies'" "no byte was downloaded (server-side copy)"
check "[ \"\$(storage_class backups/$OLD/base.tar.0)\" = GLACIER ]" "base.tar.0 is in GLACIER"
check "[ \"\$(storage_class backups/$OLD/backup_manifest)\" = GLACIER ]" "its manifest too"
check "[ -z \"\$(storage_class backups/$OLD/backup.info)\" ]" "its descriptor stays in the default class"
check "[ -z \"\$(storage_class walship.repo)\" ]" "walship.repo stays in the default class"
check "[ \"\$(storage_class "$(wal_key "$OLD_START")")\" = GLACIER ]" "its start segment $OLD_START is in GLACIER"
check "[ -z \"\$(storage_class "$(wal_key "$NEW_START")")\" ]" \
    "the newest backup's start segment $NEW_START stays readable"
ops tier --backup "$OLD" --class GLACIER
check_rc 0 "moving it again is harmless"

ops list
check_rc 0 "walship list still works (descriptors are readable)"
check "out_has '$OLD'" "and shows $OLD"
ops verify
check_rc 16 "walship verify: 16 (in an archive storage class), not damaged"
check "out_has 'archived: backups/$OLD/base.tar.0'" "it names the archived part"
check "! out_has 'damaged:'" "nothing is called damaged"
run as_pg "$WS_RESTORE" --config="$WS_CONF" --pgdata="$SRC" "$OLD_START" "$T/seg"
check_rc 157 "walship-restore of an archived segment: 157, not 1 (not found) nor 151 (corrupt)"
check "err_has 'archive storage class' && err_has 'walship thaw'" "with the cause and the hint"
bk_recover "$T/r1" --backup "$OLD"
check_rc 16 "walship-recover --backup $OLD: 16"
check "err_has 'archive storage class'" "it says the backup is archived"
check "[ ! -e '$T/r1/PG_VERSION' ]" "and leaves no data directory behind"

ops thaw --backup "$OLD" --days 2 --tier Bulk
check_rc 16 "walship thaw: restores requested (16 until readable)"
check "out_has 'restore requested'" "$(grep 'backup objects' "$T/run.out")"
check "grep -q '^POST .*/backups/$OLD/base.tar.0?restore' '$T/copies' || proxy_log '/$P/' '$SEQ' | grep -q '^POST .*base.tar.0?restore'" \
    "a RestoreObject request was sent for base.tar.0"
ops thaw --backup "$OLD"
check_rc 16 "walship thaw again: still in progress"
check "out_has 'in progress'" "it reports the progress"
ops thaw --backup "$OLD"
check_rc 0 "walship thaw a third time: everything readable"
check "out_has 'every object is readable now'" "it says so"
ops verify
check_rc 0 "walship verify: sound once restored"
bk_recover "$T/r1" --backup "$OLD"
check_rc 0 "walship-recover --backup $OLD works once restored"
check "[ -s '$T/r1/PG_VERSION' ]" "the data directory is there"

ops thaw --backup "$NEW"
check_rc 0 "thaw of a backup in no archive class: 0 at once"
check "out_has 'not archived'" "it reports its objects as not archived"

info "a directory repository has no storage classes"
mkdir -p "$T/fsrepo" && give_pg "$T/fsrepo"
run as_pg "$WS_OPS" --repo="$T/fsrepo" tier --backup "$OLD" --class GLACIER
check "[ \"\$RC\" -ne 0 ]" "walship tier on a directory repository fails (exit $RC)"
ws_summary

# t_backup_targets.sh — walship-recover with every kind of recovery target:
# --target-lsn, --target-xid (inclusive and --target-exclusive),
# --target-name, --immediate, none (end of the archive), --standby, and the
# target actions pause and shutdown.  One base backup; marker rows written
# around each target; each recovery goes into its own directory, starts, and
# must hold exactly the rows before its target.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd"
SRC=$T/src
bk_init_src "$SRC"
CONN=$(bk_conninfo "$SRC")

sql "$SRC" "create table t (id int primary key, note text);
    insert into t values (1, 'before the backup');
    create table filler as select g, md5(g::text) as m from generate_series(1, 50000) g"
bk_switch_wait "$SRC"

info "walship-basebackup -d CONNSTR -c fast -l LABEL (no pg_conninfo in the file)"
bk_backup -d "$CONN" -c fast -l "targets test $$"
check_rc 0 "walship-basebackup -d ... -c fast -l ..."
ID=$BK_ID
check "[ -s '$BK_REPO/backups/$ID/backup.info' ]" "backup $ID is complete (backup.info)"
sleep 1
sql "$SRC" "insert into t values (2, 'well after the backup')"

sql "$SRC" "insert into t values (10, 'lsn marker')"
sql "$SRC" "select pg_current_wal_lsn()"; LSN=$Q
sql "$SRC" "insert into t values (11, 'after the lsn')"

sql "$SRC" "insert into t values (20, 'xid marker') returning txid_current()"; XID=${Q%%$'\n'*}
sql "$SRC" "insert into t values (21, 'after the xid')"

sql "$SRC" "insert into t values (30, 'before the restore point')"
sql "$SRC" "select pg_create_restore_point('walship_rp_$$')"
sql "$SRC" "insert into t values (31, 'after the restore point')"

sql "$SRC" "insert into t values (40, 'the last archived row')"
bk_switch_wait "$SRC"
pass "source archived through $BK_LAST_WAL (LSN target $LSN, XID target $XID)"
pg_stop "$SRC"

# ids DIR: the ids in t, comma-separated, into $got.
ids() { sql "$1" "select string_agg(id::text, ',' order by id) from t"; got=$Q; }

# conf_has DIR KEY VALUE: postgresql.auto.conf sets KEY to VALUE (quoted or not).
conf_has() {
    grep -Eq "^[[:space:]]*$2[[:space:]]*=[[:space:]]*'?$3'?[[:space:]]*\$" "$1/postgresql.auto.conf"
}
conf_lacks() { ! grep -Eq "^[[:space:]]*$2[[:space:]]*=" "$1/postgresql.auto.conf"; }

# recover_check NAME EXPECTED_IDS RECOVER_ARGS...: recover into $T/NAME with
# promote, start, wait for promotion, compare the ids.
recover_check() {
    local name=$1 want=$2 dir=$T/$1 got
    shift 2
    info "recover $name: $*"
    bk_recover "$dir" "$@" --target-action=promote
    check_rc 0 "walship-recover $* ($name)"
    check "[ -f '$dir/recovery.signal' ] && [ ! -e '$dir/standby.signal' ]" "$name: recovery.signal"
    check "conf_has '$dir' recovery_target_timeline latest" "$name: recovery_target_timeline = latest"
    check "conf_has '$dir' recovery_target_action promote" "$name: recovery_target_action = promote"
    RC_DIR=$dir
    recover_conf_checks
    bk_start "$dir"
    wait_not_in_recovery "$dir"
    ids "$dir"
    check "[ '$got' = '$want' ]" "$name: the recovered rows are $want (got $got)"
    pg_stop "$dir"
}


recover_conf_checks() {
    check "conf_has '$RC_DIR' recovery_target immediate" "immediate: recovery_target = immediate"
}
recover_check immediate "1" --immediate
check "grep -q 'recovery stopping after reaching consistency' '$(pg_logfile "$T/immediate")'" \
    "immediate: recovery stopped at the consistency point"
check "grep -qx 'LABEL: targets test $$' '$T/immediate/backup_label.old'" \
    "the backup label given with -l is in backup_label (backup_label.old after recovery)"

recover_conf_checks() {
    check "conf_has '$RC_DIR' recovery_target_lsn '$LSN'" "lsn: recovery_target_lsn = $LSN"
    check "conf_lacks '$RC_DIR' recovery_target_inclusive" "lsn: recovery_target_inclusive not set (default on)"
}
recover_check lsn "1,2,10" --target-lsn="$LSN"

recover_conf_checks() {
    check "conf_has '$RC_DIR' recovery_target_xid '$XID'" "xid: recovery_target_xid = $XID"
    check "conf_lacks '$RC_DIR' recovery_target_time && conf_lacks '$RC_DIR' recovery_target_lsn" \
        "xid: no other recovery target"
}
recover_check xid "1,2,10,11,20" --target-xid="$XID" --backup="$ID" -j 1
check "grep -q 'recovery stopping after commit of transaction $XID' '$(pg_logfile "$T/xid")'" \
    "xid: recovery stopped after the commit of $XID"

recover_conf_checks() {
    check "conf_has '$RC_DIR' recovery_target_inclusive '(off|false)'" "xidexcl: recovery_target_inclusive = off (or false)"
}
recover_check xidexcl "1,2,10,11" --target-xid="$XID" --target-exclusive
check "grep -q 'recovery stopping before commit of transaction $XID' '$(pg_logfile "$T/xidexcl")'" \
    "xidexcl: recovery stopped before the commit of $XID"

recover_conf_checks() {
    check "conf_has '$RC_DIR' recovery_target_name 'walship_rp_$$'" "name: recovery_target_name = walship_rp_$$"
}
recover_check name "1,2,10,11,20,21,30" --target-name="walship_rp_$$"
check "grep -q 'recovery stopping at restore point \"walship_rp_$$\"' '$(pg_logfile "$T/name")'" \
    "name: recovery stopped at the restore point"

info "no target: recover to the end of the archive"
bk_recover "$T/end"
check_rc 0 "walship-recover without a target"
check "[ -f '$T/end/recovery.signal' ] && [ ! -e '$T/end/standby.signal' ]" "end: recovery.signal"
check "! grep -Eq '^[[:space:]]*recovery_target(_time|_lsn|_xid|_name|_action|_inclusive)?[[:space:]]*=' '$T/end/postgresql.auto.conf'" \
    "end: no recovery_target* setting but the timeline"
check "conf_has '$T/end' recovery_target_timeline latest" "end: recovery_target_timeline = latest"
bk_start "$T/end"
wait_not_in_recovery "$T/end"
ids "$T/end"
check "[ '$got' = '1,2,10,11,20,21,30,31,40' ]" "end: every archived row is there ($got)"
pg_stop "$T/end"

info "--standby"
bk_recover "$T/standby" --standby
check_rc 0 "walship-recover --standby"
check "[ -f '$T/standby/standby.signal' ] && [ ! -e '$T/standby/recovery.signal' ]" \
    "standby: standby.signal, no recovery.signal"
bk_start "$T/standby"
for i in $(seq 300); do
    ids "$T/standby"
    [ "$got" = '1,2,10,11,20,21,30,31,40' ] && break
    sleep 0.2
done
check "[ '$got' = '1,2,10,11,20,21,30,31,40' ]" "standby: replayed the whole archive ($got)"
sql "$T/standby" "select pg_is_in_recovery()"
check "[ '$Q' = t ]" "standby: still in recovery (a standby)"
pg_stop "$T/standby"

info "--target-action=pause"
bk_recover "$T/pause" --target-name="walship_rp_$$" --target-action=pause
check_rc 0 "walship-recover --target-name --target-action=pause"
check "conf_has '$T/pause' recovery_target_action pause" "pause: recovery_target_action = pause"
bk_start "$T/pause"
for i in $(seq 300); do
    sql "$T/pause" "select pg_get_wal_replay_pause_state()"
    [ "$Q" = paused ] && break
    sleep 0.2
done
check "[ '$Q' = paused ]" "pause: replay paused at the target"
sql "$T/pause" "select pg_is_in_recovery()"
check "[ '$Q' = t ]" "pause: still in recovery"
ids "$T/pause"
check "[ '$got' = '1,2,10,11,20,21,30' ]" "pause: the rows up to the restore point ($got)"
pg_stop "$T/pause"

info "--target-action=shutdown"
bk_recover "$T/shutdown" --target-lsn="$LSN" --target-action=shutdown
check_rc 0 "walship-recover --target-lsn --target-action=shutdown"
check "conf_has '$T/shutdown' recovery_target_action shutdown" "shutdown: recovery_target_action = shutdown"
sock=$(pg_sockdir "$T/shutdown")
mkdir -p "$sock" && give_pg "$sock"
printf '%s\n' "unix_socket_directories = '$sock'" "archive_mode = off" >> "$T/shutdown/postgresql.auto.conf"
log=$(pg_logfile "$T/shutdown")
touch "$log" && give_pg "$log"
WS_LOGS+=("$log")
WS_STARTED+=("$T/shutdown")
as_pg "$PGBIN/pg_ctl" -D "$T/shutdown" -l "$log" -W start > "$T/pg_ctl.out" 2>&1 ||
    { cat "$T/pg_ctl.out"; fail "pg_ctl start (shutdown)"; }
for i in $(seq 600); do
    grep -q 'database system is shut down' "$log" && [ ! -e "$T/shutdown/postmaster.pid" ] && break
    sleep 0.1
done
check "grep -q 'shutdown at recovery target' '$log' && [ ! -e '$T/shutdown/postmaster.pid' ]" \
    "shutdown: the server reached the target and shut down"
check "\"\$PGBIN/pg_controldata\" '$T/shutdown' | grep -q 'Database cluster state: *shut down in recovery'" \
    "shutdown: pg_control says shut down in recovery"
ws_summary

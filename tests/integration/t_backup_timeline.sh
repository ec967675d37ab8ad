# t_backup_timeline.sh — recovery across timelines.  A backup of cluster A
# (timeline 1) is recovered to a target time into cluster B, which promotes
# to timeline 2 and keeps archiving into the same repository; B writes,
# records a target time T2 and a snapshot, then an accidental DELETE.
# walship-recover --target-time=T2 from A's backup into C must follow the
# history to timeline 2 (recovery_target_timeline = latest) and end with
# exactly B's data at T2, promoting C to timeline 3.  A backup taken on B
# (timeline 2) is listed with timeline 2 and cannot reach T2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
A=$T/a
B=$T/b
C=$T/c
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd"
bk_init_src "$A"
sql "$A" "create table t (id int primary key, note text);
    insert into t select g, 'A ' || g from generate_series(1, 1000) g"
bk_switch_wait "$A"
bk_backup -d "$(bk_conninfo "$A")" -c fast
check_rc 0 "walship-basebackup of A (timeline 1)"
ID_A=$BK_ID
sql "$A" "insert into t select g, 'A after the backup' from generate_series(1001, 2000) g"
sql "$A" "insert into t values (5000, 'T1 marker')"
sql "$A" "select now()"; T1=$Q
sleep 1
sql "$A" "insert into t values (5001, 'on A after T1: not on timeline 2')"
bk_switch_wait "$A"
pg_stop "$A"

info "recover A's backup to T1 into B, promote (timeline 2), B archives into the same repository"
bk_recover "$B" --target-time="$T1" --target-action=promote
check_rc 0 "walship-recover --target-time=T1 into B"
# B keeps A's archive_command (archive_mode on): it archives timeline 2
bk_start "$B" "archive_mode = on"
wait_not_in_recovery "$B"
timeline_of "$B"
check "[ '$TL' = 00000002 ]" "B is on timeline 2 ($TL)"
sql "$B" "select count(*) filter (where id = 5000) || ',' || count(*) filter (where id = 5001) from t"
check "[ '$Q' = '1,0' ]" "B has the T1 marker and not what A wrote after T1"
sql "$B" "insert into t select g, 'B on timeline 2' from generate_series(6000, 6500) g;
    update t set note = note || ' (updated on B)' where id % 7 = 0"
sql "$B" "select pg_switch_wal()"
sql "$B" "insert into t values (7000, 'T2 marker')"
sql "$B" "select now()"; T2=$Q
sql "$B" "select count(*) || ':' || md5(string_agg(id || ':' || note, ',' order by id)) from t"; SNAP_B=$Q
sleep 1
sql "$B" "insert into t values (7001, 'after T2'); delete from t where id < 500"
bk_switch_wait "$B"
check "[ -s '$BK_REPO/wal/00000002/00000002.history' ]" "the repository has the timeline 2 history file"
check "ls '$BK_REPO'/wal/00000002/0000000200000000/ | grep -qE '^00000002[0-9A-F]{16}\$'" \
    "the repository has timeline 2 WAL segments"

info "a backup on B (timeline 2)"
bk_backup -d "$(bk_conninfo "$B")" -c fast
check_rc 0 "walship-basebackup of B (timeline 2)"
ID_B=$BK_ID
bk_list
check_rc 0 "walship-recover --list"
sed 's/^/   | /' "$T/run.out"
check "[ \"\$(bk_list_field '$ID_A' 2)\" = complete ] && [ \"\$(bk_list_field '$ID_B' 2)\" = complete ]" \
    "--list shows $ID_A and $ID_B complete"
check "head -n 1 '$T/run.out' | awk '{ exit !(\$6 == \"TIMELINE\") }' &&
    [ \"\$(bk_list_field '$ID_A' 6)\" = 1 ] && [ \"\$(bk_list_field '$ID_B' 6)\" = 2 ]" \
    "--list shows timeline 1 for $ID_A and 2 for $ID_B (column TIMELINE)"
sql "$B" "insert into t values (8000, 'after the backup of B')"
bk_switch_wait "$B"

info "walship-recover --target-time=T2 into C (from A's backup, across to timeline 2)"
bk_recover "$C" --target-time="$T2" --target-action=promote
check_rc 0 "walship-recover --target-time=T2 into C"
check "grep -q 'LABEL: walship $ID_A' '$C/backup_label'" \
    "C was built from $ID_A (timeline 1; $ID_B stops after T2)"
check "grep -Eq \"^recovery_target_timeline = '?latest'?\" '$C/postgresql.auto.conf'" \
    "recovery_target_timeline = latest"
bk_start "$C"
wait_not_in_recovery "$C"
sql "$C" "select count(*) || ':' || md5(string_agg(id || ':' || note, ',' order by id)) from t"
check "[ '$Q' = '$SNAP_B' ]" "C equals B's snapshot at T2 ($Q)"
sql "$C" "select count(*) filter (where id < 500) || ',' || count(*) filter (where id in (5001, 7001, 8000)) from t"
check "[ '$Q' = '499,0' ]" "C has the rows B deleted after T2 and nothing written after T2"
timeline_of "$C"
check "[ '$TL' = 00000003 ]" "C promoted to timeline 3 ($TL)"
check "grep -q 'walship-restore: restored \"00000002.history\"' '$(pg_logfile "$C")'" \
    "C fetched 00000002.history through walship-restore"
pg_stop "$C"

info "B's backup cannot reach T2"
bk_recover "$T/c2" --backup="$ID_B" --target-time="$T2"
check_rc 10 "walship-recover --backup=$ID_B --target-time=T2 (before its end)"
check "absent_or_empty '$T/c2'" "no target directory left"

info "--target-timeline naming a timeline the repository does not have"
bk_recover "$T/tl9" --target-timeline=9
check_rc 10 "walship-recover --target-timeline=9 (no 00000009.history)"
check "absent_or_empty '$T/tl9'" "no target directory left"

info "B's backup to the end of the archive (timeline 2)"
bk_recover "$T/d" --backup="$ID_B"
check_rc 0 "walship-recover --backup=$ID_B"
check "[ \"\$(grep -Ec '^[[:space:]]*restore_command[[:space:]]*=' '$T/d/postgresql.auto.conf')\" = 1 ] &&
    ! grep -Eq '^[[:space:]]*recovery_target_time[[:space:]]*=' '$T/d/postgresql.auto.conf' &&
    grep -Eq '^#[[:space:]]*recovery_target_time[[:space:]]*=' '$T/d/postgresql.auto.conf'" \
    "B's own recovery settings (in its backup) are commented out: one restore_command, no recovery_target_time"
bk_start "$T/d"
wait_not_in_recovery "$T/d"
sql "$T/d" "select count(*) filter (where id in (7001, 8000)) || ',' || count(*) filter (where id < 500) from t"
check "[ '$Q' = '2,0' ]" "recovered from $ID_B: everything B archived (7001, 8000) and the delete"
pg_stop "$T/d"
pg_stop "$B"
ws_summary

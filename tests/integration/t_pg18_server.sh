# t_pg18_server.sh — the PostgreSQL 18 that scripts/install-pg18.sh builds
# (from ../shared/pg-src) runs under the suite's helpers, and walship-archive
# archives an 18 cluster: pg_control version 1800 is read (the system
# identifier and segment size walship binds the repository to are the ones
# pg_controldata shows), the repository records PostgreSQL 18, and the
# segments land under wal/.  Until walship read 1800 this test pinned the
# opposite: a loud refusal with the segment kept.
. "$(dirname "$0")/lib.sh"

ws_find_pg18 || skip "no PostgreSQL 18 build (run scripts/install-pg18.sh, or set WS_PG18_BIN)"
PGBIN=$PG18BIN
ws_setup
check "'$PGBIN/postgres' --version | grep -q ' 18\.'" "PGBIN is PostgreSQL 18: $("$PGBIN/postgres" --version)"
for tool in pg_combinebackup pg_verifybackup pg_walsummary pg_amcheck pg_basebackup pg_controldata; do
    check "[ -x '$PGBIN/$tool' ]" "the build has $tool"
done

REPO=$T/repo
WS_CONF=$T/walship.conf
mkdir "$REPO" && give_pg "$REPO"
printf 'repo = %s\n' "$REPO" > "$WS_CONF"
chmod 600 "$WS_CONF" && give_pg "$WS_CONF"

SRC=$T/src
pg_init "$SRC" "archive_mode = on" "summarize_wal = on" \
    "archive_command = '$WS_ARCHIVE --config=$WS_CONF %p %f'"
check "\"\$PGBIN/pg_controldata\" '$SRC' | grep -q 'pg_control version number: *1800'" \
    "the 18 cluster's pg_control_version is 1800"
check "\"\$PGBIN/pg_controldata\" '$SRC' | grep -q 'Data page checksum version: *1'" \
    "18's initdb enabled data checksums"
pg_start "$SRC"
sql "$SRC" "show server_version_num"
check "[ '$Q' -ge 180000 ] && [ '$Q' -lt 190000 ]" "server_version_num $Q is 18"
sql "$SRC" "show summarize_wal"
check "[ '$Q' = on ]" "WAL summarization is available and on"
sql "$SRC" "create table t as select g from generate_series(1, 1000) g"
sql "$SRC" "select pg_walfile_name(pg_switch_wal())"; seg=$Q
wait_archived "$SRC" "$seg"
pass "walship-archive archived $seg from the 18 cluster"
sql "$SRC" "select failed_count from pg_stat_archiver"
check "[ '$Q' = 0 ]" "no archive failure"
sysid=$(system_identifier "$SRC")
check "grep -qx 'system_identifier = $sysid' '$REPO/walship.repo'" \
    "the repository is bound to the system identifier pg_controldata shows ($sysid)"
check "grep -qx 'pg_version = 18' '$REPO/walship.repo'" "the repository records PostgreSQL 18"
check "grep -qx 'wal_segment_size = 16777216' '$REPO/walship.repo'" "and the 16 MiB segment size"
check "[ -s '$REPO/wal/00000001/0000000100000000/$seg' ]" "the segment is stored under wal/"
log=$(pg_logfile "$SRC")
check "! grep -q 'walship-archive: error' '$log'" "no walship-archive error in the server log"
pg_stop "$SRC"
ws_summary

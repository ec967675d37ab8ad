# t_pg18_server.sh — the PostgreSQL 18 that scripts/install-pg18.sh builds
# (from ../shared/pg-src) runs under the suite's helpers, and walship meets it
# safely: until walship reads pg_control version 1800 (the PostgreSQL-versions
# issue), walship-archive must refuse an 18 cluster's segments loudly, with a
# nonzero exit that makes the archiver keep the segment, never archive it
# under a misread cluster identity.
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
pg_start "$SRC"
sql "$SRC" "show server_version_num"
check "[ '$Q' -ge 180000 ] && [ '$Q' -lt 190000 ]" "server_version_num $Q is 18"
sql "$SRC" "show summarize_wal"
check "[ '$Q' = on ]" "WAL summarization is available and on"
sql "$SRC" "create table t as select g from generate_series(1, 1000) g; select pg_switch_wal()"
check "[ -n '$Q' ]" "WAL switch on 18"

# The archiver retries a failed segment; wait for the first failure.
for i in $(seq 300); do
    sql "$SRC" "select failed_count from pg_stat_archiver"
    [ "$Q" -gt 0 ] && break
    sleep 0.1
done
check "[ '$Q' -gt 0 ]" "walship-archive failed the 18 cluster's segment (failed_count $Q)"
sql "$SRC" "select archived_count from pg_stat_archiver"
check "[ '$Q' = 0 ]" "no segment was reported archived"
log=$(pg_logfile "$SRC")
check "grep -q 'unsupported pg_control_version 1800' '$log'" \
    "the server log names the unsupported pg_control_version"
check "[ -z \"\$(find '$REPO' -type f -path '*/wal/*')\" ]" "nothing was stored under wal/"
check "ls '$SRC'/pg_wal/archive_status/*.ready >/dev/null 2>&1" "the segment is still waiting (.ready kept)"
pg_stop "$SRC"
ws_summary

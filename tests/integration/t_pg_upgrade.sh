# t_pg_upgrade.sh — after pg_upgrade from PostgreSQL 15 to 18, the old
# repository refuses the new cluster's WAL with a clear error (the archiver
# keeps the segment), and the documented procedure works: point repo at a
# new repository (a new directory here; a new s3:// prefix the same way),
# and the new cluster archives and backs up there, while the old repository
# still serves the 15 cluster's WAL.  Also pins what pg_upgrade does to the
# system identifier (docs/postgresql-versions.md relies on it).
. "$(dirname "$0")/lib.sh"

ws_find_pg18 || skip "no PostgreSQL 18 build (run scripts/install-pg18.sh, or set WS_PG18_BIN)"
ws_setup
[ "$PG_MAJOR" = 15 ] || skip "needs PostgreSQL 15 as the old cluster (PGBIN is $PG_MAJOR)"
[ -x "$PG18BIN/pg_upgrade" ] || skip "no pg_upgrade in $PG18BIN"
PG15BIN=$PGBIN

OLD_REPO=$T/repo15
NEW_REPO=$T/repo18
mkdir "$OLD_REPO" "$NEW_REPO" && give_pg "$OLD_REPO" "$NEW_REPO"
WS_CONF=$T/walship.conf
printf 'repo = %s\n' "$OLD_REPO" > "$WS_CONF"
chmod 600 "$WS_CONF" && give_pg "$WS_CONF"

OLD=$T/old
NEW=$T/new
info "PostgreSQL 15 cluster archiving into $OLD_REPO"
pg_init "$OLD" "archive_mode = on" "archive_command = '$WS_ARCHIVE --config=$WS_CONF %p %f'"
pg_start "$OLD"
# a temp table: WAL to switch, nothing for pg_upgrade to carry (see the report
# on attoptions that this machine's 15 writes and 18 refuses)
sql "$OLD" "create temp table t as select g from generate_series(1, 1000) g"
sql "$OLD" "select pg_walfile_name(pg_switch_wal())"; seg15=$Q
wait_archived "$OLD" "$seg15"
check "grep -qx 'pg_version = 15' '$OLD_REPO/walship.repo'" "the repository records PostgreSQL 15"
old_id=$(system_identifier "$OLD")
pg_stop "$OLD"

info "pg_upgrade to 18"
PGBIN=$PG18BIN
# 15 had no data checksums, and pg_upgrade needs the new cluster to match
PG_INITDB_OPTS=--no-data-checksums pg_init "$NEW"
mkdir -p "$T/upgrade" && give_pg "$T/upgrade"
(cd "$T/upgrade" && as_pg "$PG18BIN/pg_upgrade" -U postgres -b "$PG15BIN" -B "$PG18BIN" \
    -d "$OLD" -D "$NEW" --socketdir="$T/upgrade" > "$T/upgrade/out" 2>&1) ||
    { tail -30 "$T/upgrade/out"; fail "pg_upgrade"; }
pass "pg_upgrade from 15 to 18"
new_id=$(system_identifier "$NEW")
check "[ -n '$new_id' ] && [ '$new_id' != '$old_id' ]" \
    "pg_upgrade gave the new cluster its own system identifier ($old_id -> $new_id)"

info "the 18 cluster with the old repository: refused, segment kept"
{
    echo "archive_mode = on"
    echo "archive_command = '$WS_ARCHIVE --config=$WS_CONF %p %f'"
} >> "$NEW/postgresql.conf"
pg_start "$NEW"
log=$(pg_logfile "$NEW")
sql "$NEW" "select pg_walfile_name(pg_switch_wal())"
for i in $(seq 300); do
    sql "$NEW" "select failed_count from pg_stat_archiver"
    [ "$Q" -gt 0 ] && break
    sleep 0.1
done
check "[ '$Q' -gt 0 ]" "walship-archive failed the 18 cluster's segment (failed_count $Q)"
sql "$NEW" "select archived_count from pg_stat_archiver"
check "[ '$Q' = 0 ]" "nothing archived into the 15 repository"
check "grep -q 'walship-archive: error: repository \"$OLD_REPO\" belongs to database system $old_id' '$log'" \
    "the server log names the repository and its system"
check "grep -q 'PostgreSQL 15 and this cluster is PostgreSQL 18 (pg_upgrade?)' '$log'" \
    "the hint names both majors and pg_upgrade"
check "grep -q 'new repository or a new prefix' '$log'" "and the way on"
check "ls '$NEW'/pg_wal/archive_status/*.ready >/dev/null 2>&1" "the segment is still waiting (.ready kept)"
check "[ -z \"\$(find '$OLD_REPO/wal' -newer '$NEW/postgresql.conf' -type f)\" ]" \
    "nothing new under the old repository's wal/"

info "the documented procedure: repo = a new repository"
printf 'repo = %s\n' "$NEW_REPO" > "$WS_CONF"
# after three failures the archiver sleeps up to a minute; SIGHUP wakes it
sql "$NEW" "select pg_reload_conf()"
# WAL to switch (a switch right after a switch is a no-op)
sql "$NEW" "create temp table t as select g from generate_series(1, 1000) g"
sql "$NEW" "select pg_walfile_name(pg_switch_wal())"; seg18=$Q
obj=$NEW_REPO/wal/00000001/0000000100000000/$seg18
for i in $(seq 600); do
    [ -s "$obj" ] && break
    sleep 0.1
done
check "[ -s '$obj' ]" "the 18 cluster archives $seg18 into the new repository"
check "grep -qx 'pg_version = 18' '$NEW_REPO/walship.repo' && grep -qx 'system_identifier = $new_id' '$NEW_REPO/walship.repo'" \
    "the new repository records PostgreSQL 18 and the new system identifier"
run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" -d "host=$(pg_sockdir "$NEW") user=postgres"
check_rc 0 "walship-basebackup of the 18 cluster into the new repository"
pg_stop "$NEW"

info "the old repository still serves the 15 cluster's WAL"
printf 'repo = %s\n' "$OLD_REPO" > "$WS_CONF"
run as_pg "$WS_RESTORE" --config="$WS_CONF" --pgdata="$OLD" "$seg15" "$T/restored-seg"
check_rc 0 "walship-restore of $seg15 from the 15 repository into the 15 data directory"
run as_pg "$WS_RESTORE" --config="$WS_CONF" --pgdata="$NEW" "$seg15" "$T/restored-seg2"
check "[ \"\$RC\" -gt 125 ] && err_has 'pg_upgrade?'" \
    "restoring it into the 18 data directory stops recovery (exit $RC) with the upgrade hint"
ws_summary

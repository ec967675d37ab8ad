# t_ops_check.sh — `walship check` on a filesystem repository a real
# PostgreSQL 15 archives into: no backup yet (no-backup status), a healthy
# cluster with a fresh backup (0, every line OK, --json), a backup too old
# (alert_backup_age = 1s), a second much bigger backup (size change), the
# repository of another cluster (wrong cluster, 6), an unreachable server
# (7), --no-server (skipped, not failed), and archive_command broken
# (archiving failing, the failed WAL named, within --timeout 5).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read check --json)"
SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SRC")'"

chk() { run as_pg "$WS_OPS" check --config="$WS_CONF" "$@"; }
# line NAME: the state of check NAME in the last text run
line() { awk -v n="$1" 'substr($0, 6, 19) ~ "^"n" *$" { print $1; exit }' "$T/run.out"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }

info "a cluster archiving into an empty repository"
bk_init_src "$SRC"
bk_switch_wait "$SRC"

info "no backup yet"
chk --timeout 20
check_rc 12 "check exits 12 (no recent backup) without any backup"
check "[ \"\$(line 'backup age')\" = FAIL ] && out_has 'no complete backup'" "backup age FAILs: no complete backup"
check "[ \"\$(line archiving)\" = OK ]" "archiving is OK"
check "[ \"\$(line 'repository writable')\" = OK ]" "the repository is writable"
check "[ -z \"\$(ls -A '$BK_REPO/check' 2>/dev/null)\" ]" "the probe object is gone"

info "a fresh backup: healthy"
bk_pgbench_init "$SRC" 1
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast"
FIRST_ID=$BK_ID
chk --timeout 20
check_rc 0 "check exits 0 on a healthy cluster with a fresh backup"
check "! grep -qv '^OK ' '$T/run.out'" "every line is OK"
for n in configuration repository 'repository writable' server archiving 'archive failures' \
    'backup age' 'backup size' 'archive lag'; do
    check "[ \"\$(line '$n')\" = OK ]" "line '$n' is OK"
done
chk --json --timeout 20
check_rc 0 "check --json exits 0"
check "[ \"\$(json 'j[\"schema_version\"]')\" = 1 ] && [ \"\$(json 'j[\"exit_status\"]')\" = 0 ]" "schema_version 1, exit_status 0"
check "[ \"\$(json '\",\".join(c[\"status\"] for c in j[\"checks\"])')\" = 'OK,OK,OK,OK,OK,OK,OK,OK,OK' ]" "each of the nine checks has status OK"
check "[ \"\$(json 'j[\"checks\"][4][\"name\"]')\" = archiving ]" "the fifth check is archiving"

info "--no-server: the server checks are skipped, not failed"
chk --no-server
check_rc 0 "check --no-server exits 0"
check "[ \"\$(line server)\" = SKIP ] && [ \"\$(line archiving)\" = SKIP ] && [ \"\$(line 'archive lag')\" = SKIP ]" "server, archiving and archive lag are SKIP"

info "alert_backup_age = 1s after 2 s"
sleep 2
chk --no-server --alert_backup_age=1s
check_rc 12 "check exits 12 (no recent backup)"
check "[ \"\$(line 'backup age')\" = FAIL ] && out_has 'alert_backup_age = 1s'" "backup age FAILs, naming alert_backup_age"
bad=$T/bad.conf
bk_write_conf "$bad" "$BK_REPO" "alert_backup_age = 25x"
run as_pg "$WS_OPS" check --config="$bad" --no-server
check_rc 2 "alert_backup_age = 25x is a configuration error"
check "err_has alert_backup_age && err_has 25x" "the error names the key and the value"

info "a second, much bigger backup"
sql "$SRC" "create table big as select g, repeat('x', 100) as pad from generate_series(1, 200000) g"
bk_backup -c fast
check_rc 0 "second walship-basebackup"
chk --no-server --alert_backup_size_change=5%
check_rc 13 "check exits 13 (backup size changed)"
check "[ \"\$(line 'backup size')\" = FAIL ] && out_has '$BK_ID' && out_has '$FIRST_ID'" "backup size FAILs, naming both backups"
chk --no-server --alert_backup_size_change=100000%
check_rc 0 "a large enough limit passes"

info "archive lag in segments"
chk --timeout 20 --alert_archive_lag=1 --alert_backup_size_change=0
check_rc 0 "lag of at most 1 segment right after a switch"
check "[ \"\$(line 'archive lag')\" = OK ]" "archive lag is OK"

info "another cluster's repository"
OTHER=$T/other
pg_init "$OTHER"
pg_start "$OTHER"
chk -d "$(bk_conninfo "$OTHER")" --timeout 5 --alert_backup_size_change=0
check_rc 6 "check exits 6 (wrong cluster) against another cluster"
check "[ \"\$(line server)\" = FAIL ] && out_has 'another database system'" "the server line says another database system"
pg_stop "$OTHER"

info "an unreachable server"
chk -d "host=$T/no-such-socket-dir user=postgres dbname=postgres"
check_rc 7 "check exits 7 (transient) when pg_conninfo names no server"
check "[ \"\$(line server)\" = FAIL ] && [ \"\$(line archiving)\" = SKIP ]" "server FAILs, archiving is SKIP"

info "archive_command broken"
sql "$SRC" "alter system set archive_command = 'false'"
sql "$SRC" "select pg_reload_conf()"
sleep 1
sql "$SRC" "create table t2 as select g from generate_series(1, 1000) g"
start=$(date +%s)
chk --timeout 5 --alert_backup_size_change=0
check_rc 15 "check exits 15 (archiving failing)"
check "[ \$(( \$(date +%s) - $start )) -lt 30 ]" "within the timeout"
sql "$SRC" "select last_failed_wal from pg_stat_archiver"
FAILED=$Q
check "[ -n '$FAILED' ] && [ \"\$(line archiving)\" = FAIL ] && grep -q '^FAIL archiving .*$FAILED' '$T/run.out'" "the archiving line FAILs and names the failed WAL $FAILED"
check "[ \"\$(line 'archive failures')\" = FAIL ]" "the archive failures line FAILs"
chk --json --timeout 5
check_rc 15 "check --json exits 15 too"
check "[ \"\$(json '[c[\"exit_status\"] for c in j[\"checks\"] if c[\"name\"] == \"archiving\"][0]')\" = 15 ]" "--json: archiving has exit_status 15"
sql "$SRC" "alter system reset archive_command"
sql "$SRC" "select pg_reload_conf()"
pg_stop "$SRC"
ws_summary

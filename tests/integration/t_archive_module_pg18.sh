# t_archive_module_pg18.sh — the archive module built against PostgreSQL
# 18's headers (the 16+ API: a const callback table, ArchiveModuleState,
# startup and shutdown callbacks) loads into the 18 server that
# scripts/install-pg18.sh builds, and archives through it.
#
# While walship does not read pg_control version 1800 (the
# PostgreSQL-versions issue; t_pg18_server.sh), an 18 cluster's segments
# must be refused: a WARNING per attempt naming the cause, the archiver
# alive (same pid: a failure is never an ERROR), nothing stored.  Once
# walship reads 18's pg_control, the same test runs the foundation's PITR
# flow through the module on 18 instead.
. "$(dirname "$0")/lib.sh"

ws_find_pg18 || skip "no PostgreSQL 18 build (run scripts/install-pg18.sh, or set WS_PG18_BIN)"
BUILD=${WS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
MOD=$BUILD/archive_module/pg18/walship_archive.so
[ -f "$MOD" ] || skip "archive module for PostgreSQL 18 not built ($MOD): reconfigure the build once the 18 build exists"
PGBIN=$PG18BIN
ws_setup
mkdir "$T/lib" && cp "$MOD" "$T/lib/" && chmod 755 "$T/lib" "$T/lib/walship_archive.so" ||
    fail "copy the module"
MODLIB=$T/lib/walship_archive

# Probe: does this walship archive an 18 cluster at all?
P=$T/probe
PR=$T/probe-repo
PC=$T/probe.conf
mkdir "$PR" && give_pg "$PR"
printf 'repo = %s\n' "$PR" > "$PC"
chmod 600 "$PC" && give_pg "$PC"
pg_init "$P" "archive_mode = on" "archive_library = '$MODLIB'" "walship.config = '$PC'"
pg_start "$P"
plog=$(pg_logfile "$P")
sql "$P" "show server_version_num"
check "[ '$Q' -ge 180000 ] && [ '$Q' -lt 190000 ]" "server_version_num $Q is 18"
sql "$P" "show archive_library"
check "[ '$Q' = '$MODLIB' ]" "archive_library is the module"
sql "$P" "select pid from pg_stat_activity where backend_type = 'archiver'"; apid=$Q
check "[ -n '$apid' ]" "the archiver runs with the module loaded (pid $apid)"
sql "$P" "create table t as select g from generate_series(1, 1000) g"
sql "$P" "select pg_walfile_name(pg_switch_wal())"; seg=$Q
for i in $(seq 300); do
    sql "$P" "select archived_count + failed_count from pg_stat_archiver"
    [ "$Q" -gt 0 ] && break
    sleep 0.1
done
check "[ '$Q' -gt 0 ]" "the module was called for $seg"
sql "$P" "select archived_count from pg_stat_archiver"; archived=$Q

if [ "$archived" = 0 ]; then
    check "grep -q 'WARNING:  walship_archive: .*unsupported pg_control_version 1800' '$plog'" \
        "the module refuses the 18 cluster with a WARNING naming pg_control_version 1800"
    grep 'WARNING:  walship_archive' "$plog" | head -n 1 | sed 's/^/    | /'
    for i in $(seq 50); do
        sql "$P" "select failed_count from pg_stat_archiver"
        [ "$Q" -ge 3 ] && break
        sleep 0.1
    done
    check "[ '$Q' -ge 3 ]" "PostgreSQL retried ($Q failures)"
    sql "$P" "select pid from pg_stat_activity where backend_type = 'archiver'"
    check "[ '$Q' = '$apid' ]" "the archiver survived every failure (pid $Q)"
    check "! grep -qi 'FATAL\\|PANIC\\|terminated by signal' '$plog'" "no crash, FATAL or PANIC"
    check "[ -f '$P/pg_wal/archive_status/$seg.ready' ]" "$seg is still waiting (.ready kept)"
    check "[ -z \"\$(find '$PR' -type f)\" ]" "nothing was written to the repository"
    pg_stop "$P"
    check "grep -q 'database system is shut down' '$plog'" "clean shutdown with the module loaded"
    info "PITR through the module on 18 not run: this walship does not read pg_control 1800 yet (the PostgreSQL-versions issue)"
    ws_summary
    exit 0
fi

info "walship archives 18 clusters: the PITR flow through the module on 18"
pg_stop "$P"
rm -rf "$P" "$PR" "$PC"
MODULE_CONF=("archive_library = '$MODLIB'" "walship.config = '$T/walship.conf'")
PITR_ARCHIVE_CONF=MODULE_CONF
PITR_ARCHIVED_LOG='LOG:  walship_archive: archived'
pitr_flow "compression = zstd"
ws_summary

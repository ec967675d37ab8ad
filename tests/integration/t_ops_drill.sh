# t_ops_drill.sh — `walship drill` and selective recovery against a real
# PostgreSQL 15 archiving into a filesystem repository: refused as root; an
# empty repository (not found, recorded as a failure); a good drill (0,
# report, --json, state/drill, nothing left behind) while the source runs on
# the same port; a check that fails and one that errors (21, last success
# carried over); selective recovery of one tenant's deleted rows with COPY
# and with a plain SELECT (exact CSV), and their re-import with \copy; a
# wrong drill_pg_bindir (2); a WAL file missing (20, the server's log);
# a damaged backup part (4); SIGTERM and SIGINT during replay (143, 130,
# server stopped, directory removed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read drill --json)"
SRC=$T/src
DT=$T/drilltmp                  # drill_tmpdir: must be empty after every drill
mkdir "$DT" && give_pg "$DT"
bk_write_conf "$WS_CONF" "$BK_REPO" "pg_conninfo = '$(bk_conninfo "$SRC")'" \
    "drill_tmpdir = '$DT'" "drill_timeout = 120"

drill() { run as_pg "$WS_OPS" drill --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
state() { sed -n "s/^$1 = //p" "$BK_REPO/state/drill" | tr -d "'"; }
# no postgres of a drill left running (its processes are titled "postgres: walship-drill: ...")
# A drill server of this test: a postgres process whose working directory
# (every PostgreSQL process runs in its data directory) is under $DT.  Not
# "ps | grep walship-drill": other drill tests may run at the same time.
drill_server_running() {
    local p
    for p in $(pgrep -x postgres 2>/dev/null); do
        case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$DT"/*) return 0 ;; esac
    done
    return 1
}
no_drill_server() { ! drill_server_running; }
clean_after() {
    check "[ -z \"\$(ls -A '$DT')\" ]" "$1: the drill directory is gone ($(ls -A "$DT" | head -n 3 | tr '\n' ' '))"
    check "no_drill_server" "$1: no drill server left running"
}

info "as root: refused"
if is_root; then
    run "$WS_OPS" drill --config="$WS_CONF"
    check_rc 2 "walship drill as root exits 2"
    check "err_has 'cannot run as root' && err_has 'runuser'" "it says why and how to run it"
fi

info "a cluster archiving into the repository, no backup yet"
bk_init_src "$SRC"
sql "$SRC" "create table tx (id int primary key, tenant text not null, note text, amount numeric);
    insert into tx select g, case when g % 3 = 0 then 'pilot-acme-corp' else 'other-' || (g % 5) end,
        'row ' || g, g * 1.25 from generate_series(1, 3000) g;
    insert into tx values (5001, 'pilot-acme-corp', 'comma, \"quote\" and
newline', 1), (5002, 'pilot-acme-corp', NULL, NULL), (5003, 'pilot-acme-corp', '', 0)"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"

drill
check_rc 3 "drill on a repository without a backup exits 3 (not found)"
check "err_has 'no complete base backup'" "it says there is no complete backup"
check "[ \"\$(state result)\" = failure ] && [ \"\$(state step)\" = fetch ] && [ \"\$(state last_success_time)\" = 0 ]" \
    "state/drill: failure at step fetch, never succeeded"
clean_after "empty repository"

info "a backup, then a good drill while the source keeps running (same port 5432)"
bk_backup -c fast
check_rc 0 "walship-basebackup"
sql "$SRC" "insert into tx values (6000, 'other-1', 'after the backup', 1)"
bk_switch_wait "$SRC"
SRC_PID=$(head -n 1 "$SRC/postmaster.pid")
cat > "$T/checks" <<'EOF'
# NAME | EXPECTATION | SQL
accounts | = 100000 | SELECT count(*) FROM pgbench_accounts
newest row | >= 6000 | SELECT max(id) FROM tx
fresh | = t | SELECT max(id) FILTER (WHERE note = 'after the backup') IS NOT NULL FROM tx
EOF
give_pg "$T/checks"
t0=$(date +%s)
drill --checks-file="$T/checks" --check 'tenants | > 5 | SELECT count(DISTINCT tenant) FROM tx'
check_rc 0 "walship drill passes on a good repository"
check "grep -q '^restore  OK' '$T/run.out' && grep -q '^replay   OK .*promoted' '$T/run.out'" "report: restore OK, replay OK (promoted)"
check "[ \"\$(grep -c '^check    OK' '$T/run.out')\" = 4 ]" "report: the four checks are OK"
check "grep -q '^total    OK .*drill passed' '$T/run.out'" "report: total OK"
check "grep -q 'accounts: 100000, expected = 100000' '$T/run.out'" "report: a check's value and expectation"
check "err_has 'stopped the recovered server' && err_has 'removed \"$DT/walship-drill.'" "stderr: server stopped, directory removed"
check "[ \"\$(state result)\" = success ] && [ -z \"\$(state step)\" ]" "state/drill: success, no step"
check "[ \"\$(state time)\" -ge $t0 ] && [ \"\$(state last_success_time)\" = \"\$(state time)\" ]" "state/drill: time and last_success_time are this drill"
check "grep -Eq '^duration_seconds = [0-9]+\\.[0-9]+\$' '$BK_REPO/state/drill'" "state/drill: duration_seconds is a decimal"
clean_after "good drill"
check "[ \"\$(head -n 1 '$SRC/postmaster.pid')\" = '$SRC_PID' ]" "the source server kept running (PID $SRC_PID)"
drill --json --backup "$BK_ID"
check_rc 0 "walship drill --json --backup $BK_ID"
check "[ \"\$(json 'j[\"schema_version\"], j[\"result\"], j[\"exit_status\"], j[\"promoted\"], j[\"state_written\"]')\" = '1 success 0 True True' ]" \
    "--json: schema_version 1, success, exit_status 0, promoted, state written"
check "[ \"\$(json 'len(j[\"checks\"]), j[\"checks\"][0][\"name\"], j[\"checks\"][0][\"status\"]')\" = '1 server answers OK' ]" \
    "--json: without configured checks, the built-in one"
check "[ \"\$(json 'all(j[\"timings\"][k] >= 0 for k in (\"restore_seconds\", \"replay_seconds\", \"checks_seconds\", \"total_seconds\"))')\" = True ]" \
    "--json: timings restore, replay, checks, total"
check "[ \"\$(json 'j[\"backup\"]')\" = '$BK_ID' ]" "--json: the backup used ($BK_ID)"
clean_after "--json"
LAST_OK=$(state last_success_time)

info "a check that fails, a check that errors"
sleep 1
drill --check 'too many | > 1000000 | SELECT count(*) FROM pgbench_accounts' \
    --check 'broken | | SELECT * FROM no_such_table'
check_rc 21 "a failing check exits 21 (drill check failed)"
check "grep -q '^check    FAIL.*too many: 100000, expected > 1000000' '$T/run.out'" "the failed check is named with its value"
check "grep -q '^check    FAIL.*broken: error: .*no_such_table.* does not exist' '$T/run.out'" "the erroring check shows the server's error"
check "grep -q '^total    FAIL.*failed at step check' '$T/run.out' && err_has '2 of 2 drill checks failed'" "the report and stderr say the check step failed"
check "[ \"\$(state result)\" = failure ] && [ \"\$(state step)\" = check ] && [ \"\$(state last_success_time)\" = '$LAST_OK' ]" \
    "state/drill: failure at step check, last_success_time carried over ($LAST_OK)"
clean_after "failed check"
drill --check 'no bars here'
check_rc 2 "a malformed --check exits 2"
check "err_has 'NAME | EXPECTATION | SQL'" "it shows the syntax"

info "selective recovery: one tenant's rows deleted by accident"
Q_COPY="COPY (SELECT * FROM tx WHERE tenant = 'pilot-acme-corp' ORDER BY id) TO STDOUT WITH CSV HEADER"
"$PGBIN/psql" -X -h "$(pg_sockdir "$SRC")" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$Q_COPY" \
    > "$T/expected.csv" || fail "COPY on the source"
check "[ \"\$(grep -c '' '$T/expected.csv')\" -gt 1000 ]" "the tenant has $(grep -c '' "$T/expected.csv") CSV lines before the accident"
sleep 1
sql "$SRC" "select now()"; TARGET=$Q
sql "$SRC" "select pg_create_restore_point('before-the-accident')"
sql "$SRC" "select count(*) from tx where tenant = 'pilot-acme-corp'"; ACME_N=$Q
sleep 1
sql "$SRC" "delete from tx where tenant = 'pilot-acme-corp'"
sql "$SRC" "insert into tx values (7000, 'pilot-acme-corp', 'after the accident', 7)"
bk_switch_wait "$SRC"
sql "$SRC" "select count(*) from tx"; SRC_COUNT=$Q

drill --target-time="$TARGET" --sql "$Q_COPY"
check_rc 0 "drill --target-time --sql COPY ... TO STDOUT"
check "cmp -s '$T/expected.csv' '$T/run.out'" "stdout is exactly the tenant's rows as they were at the target"
check "err_has 'paused at the target' && err_has 'rows in'" "the report is on stderr"
clean_after "selective recovery"
sql "$SRC" "select count(*) from tx"
check "[ '$Q' = '$SRC_COUNT' ] && [ \"\$(head -n 1 '$SRC/postmaster.pid')\" = '$SRC_PID' ]" "the source was not touched and kept running"

info "a plain SELECT, written to --output as CSV"
echo "SELECT * FROM tx WHERE tenant = 'pilot-acme-corp' ORDER BY id" > "$T/q.sql"
give_pg "$T/q.sql"
drill --target-time="$TARGET" --sql-file="$T/q.sql" --output="$T/out.csv" --json
check_rc 0 "drill --sql-file --output"
check "[ ! -s '$T/run.out' ]" "nothing on stdout with --output"
check "cmp -s '$T/expected.csv' '$T/out.csv'" "the SELECT's CSV equals COPY's CSV (quotes, NULL, empty string)"
check "[ \"\$(stat -c %a '$T/out.csv')\" = 600 ] && [ -z \"\$(ls '$T' | grep walship-tmp)\" ]" "the output file is mode 0600, no temporary left"
drill --target-time="$TARGET" --sql-file="$T/q.sql" --output="$T/out.csv"
check_rc 10 "an existing --output file is refused (10)"
check "err_has 'already exists' && cmp -s '$T/expected.csv' '$T/out.csv'" "and left as it was"
drill --target-name=before-the-accident --json \
    --sql "SELECT count(*) AS acme FROM tx WHERE tenant = 'pilot-acme-corp'; SELECT 'x,y' AS two"
check_rc 0 "drill --target-name with two SELECTs"
check "[ \"\$(cat '$T/run.out')\" = \"\$(printf 'acme\n%s\ntwo\n\"x,y\"' $ACME_N)\" ]" \
    "each SELECT's CSV with its header, at the restore point ($(tr '\n' ' ' < "$T/run.out"))"
check "grep -q '\"mode\": \"query\"' '$T/run.err' && grep -q '\"rows\": 2' '$T/run.err'" "--json goes to stderr with --sql"
drill --target-time="$TARGET" --sql "SELECT * FROM no_such_table"
check_rc 10 "a query that errors exits 10 (bad input)"
check "err_has 'no_such_table' && [ ! -s '$T/run.out' ]" "with the server's error, nothing on stdout"
drill --target-time="$TARGET" --sql "DELETE FROM tx"
check_rc 10 "a write is refused: the recovered server is read-only"
clean_after "query errors"

info "re-import the rows into the source (the runbook's last step)"
tail -n +2 "$T/expected.csv" > /dev/null
"$PGBIN/psql" -X -h "$(pg_sockdir "$SRC")" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "\\copy tx FROM '$T/out.csv' WITH CSV HEADER" > "$T/import.out" 2>&1 ||
    { cat "$T/import.out"; fail "\\copy into the source"; }
"$PGBIN/psql" -X -h "$(pg_sockdir "$SRC")" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "COPY (SELECT * FROM tx WHERE tenant = 'pilot-acme-corp' AND id <> 7000 ORDER BY id) TO STDOUT WITH CSV HEADER" \
    > "$T/after.csv" || fail "COPY after the import"
check "cmp -s '$T/expected.csv' '$T/after.csv'" "the tenant's rows are back in the source"

info "a wrong drill_pg_bindir"
drill --drill_pg_bindir="$T/bin"
check_rc 2 "drill_pg_bindir without postgres exits 2"
check "err_has 'drill_pg_bindir' && err_has 'no runnable postgres'" "the error names the key"
clean_after "wrong bindir"

info "SIGTERM and SIGINT during replay"
# walship-restore beside walship is a slow wrapper: replay takes seconds
SLOW=$T/slowbin
mkdir "$SLOW"
cp "$WS_OPS" "$SLOW/walship"
printf '#!/bin/sh\nsleep 2\nexec %s "$@"\n' "$WS_RESTORE" > "$SLOW/walship-restore"
chmod 755 "$SLOW" "$SLOW"/*
for sig in TERM INT; do
    as_pg sh -c 'echo $$ > "$3"; exec "$1/walship" drill --config="$2"' sh "$SLOW" "$WS_CONF" "$T/drill.pid" \
        > "$T/sig.out" 2> "$T/sig.err" &
    bgpid=$!
    for i in $(seq 300); do
        grep -q 'started postgres' "$T/sig.err" 2>/dev/null && break
        sleep 0.1
    done
    check "grep -q 'started postgres' '$T/sig.err'" "SIG$sig: the drill started its server"
    sleep 1
    check "drill_server_running" "SIG$sig: the drill server is replaying"
    kill -s "$sig" "$(cat "$T/drill.pid")"
    wait "$bgpid"; rc=$?
    case $sig in TERM) want=143 ;; INT) want=130 ;; esac
    check "[ $rc -eq $want ]" "SIG$sig: exit $want (got $rc)"
    check "grep -q 'received signal' '$T/sig.err' && grep -q 'stopped the recovered server' '$T/sig.err'" \
        "SIG$sig: says so and stopped the server"
    clean_after "SIG$sig"
    check "[ \"\$(state result)\" = failure ] && [ \"\$(state step)\" = replay ]" "SIG$sig: state/drill: failure at step replay"
done

info "a WAL file the backup needs is missing (copy of the repository)"
REPO2=$T/repo2
cp -a "$BK_REPO" "$REPO2" && give_pg "$REPO2"
CONF2=$T/walship2.conf
bk_write_conf "$CONF2" "$REPO2" "drill_tmpdir = '$DT'" "drill_timeout = 120"
stop_wal=$(sed -n 's/^stop_wal = //p' "$REPO2/backups/$BK_ID/backup.info")
check "[ -f '$REPO2/wal/00000001/0000000100000000/$stop_wal' ]" "the backup's stop segment $stop_wal is archived"
rm -f "$REPO2/wal/00000001/0000000100000000/$stop_wal"
run as_pg "$WS_OPS" drill --config="$CONF2"
check_rc 20 "recovery without the backup's WAL exits 20 (server failed)"
check "err_has 'exited during recovery' && err_has 'server log: '" "it says the server exited and shows its log tail"
check "! err_has 'external PID file'" "the drill's settings start the server cleanly (no external PID file complaint)"
check "err_has 'stopped the recovered server' || err_has 'removed'" "and cleans up"
check "grep -q 'failed at step replay' '$T/run.out'" "the report names the replay step"
clean_after "missing WAL"

info "a damaged backup part"
part=$(find "$BK_REPO/backups/$BK_ID" -name 'base.tar.0')
flip_byte "$part" $(( $(file_size "$part") / 2 ))
drill
check_rc 4 "drill on a damaged backup exits 4 (corrupt)"
check "err_has 'base.tar.0'" "the error names the damaged part"
check "grep -q '^restore  FAIL' '$T/run.out' && grep -q 'failed at step fetch' '$T/run.out'" "the report says the fetch failed"
check "[ \"\$(state result)\" = failure ] && [ \"\$(state step)\" = fetch ] && [ \"\$(state last_success_time)\" = '$LAST_OK' ]" \
    "state/drill: failure at step fetch, last success kept ($LAST_OK)"
clean_after "damaged backup"

pg_stop "$SRC"
ws_summary

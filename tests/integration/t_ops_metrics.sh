# t_ops_metrics.sh — `walship metrics` on a filesystem repository a real
# PostgreSQL 15 archives into.  Each output passes a strict text-format
# check (promtext.py) and, when Debian's prometheus package is installed,
# `promtool check metrics`.  The counters grow across runs: two backups give
# attempts 2 and success 2; a backup against a stopped server counts as an
# attempt and a failure only; a walship-basebackup killed with SIGKILL while
# the server holds it at a spread checkpoint (after saying "waiting for
# checkpoint" with the --checkpoint=fast hint) counts as an attempt only.
# Also: --output is written atomically (0644, no temporary left), the
# runbook's series and the walship_ ones carry what was made, verify's
# result and a drill's state/drill show, and verify --since / --sample read
# what they promise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (for the text-format check)"
PROMTEXT=$(dirname "$0")/promtext.py
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
    info "promtool not found (Debian package prometheus): only promtext.py checks the format"
fi
SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SRC")'"

N=0
# metrics [ARG...]: walship metrics into $T/m.N.prom; the format checked by both parsers
metrics() {
    N=$((N + 1))
    M=$T/m.$N.prom
    run as_pg "$WS_OPS" metrics --config="$WS_CONF" "$@"
    check_rc 0 "walship metrics $*"
    cp "$T/run.out" "$M"
    check "python3 '$PROMTEXT' '$M' > /dev/null 2> '$T/promtext.err'" \
        "the output passes the strict text-format check ($(head -c 300 "$T/promtext.err"))"
    if [ -n "$PROMTOOL" ]; then
        check "'$PROMTOOL' check metrics < '$M' > '$T/promtool.out' 2>&1" \
            "promtool check metrics accepts it ($(head -c 300 "$T/promtool.out"))"
    fi
}
# val SERIES: its value in the last metrics output ("absent" if missing)
val() { python3 "$PROMTEXT" "$M" "$1" 2> /dev/null; }
is() { check "[ \"\$(val '$1')\" = '$2' ]" "$1 is $2 (it is $(val "$1"))"; }

info "a cluster archiving into an empty repository"
bk_init_src "$SRC" "checkpoint_timeout = 30s" "checkpoint_completion_target = 0.9"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"

info "no backup yet"
metrics
is backup_attempts_total 0
is backup_success_total 0
is backup_last_success_timestamp 0
is walship_verify_last_run_timestamp absent
is walship_drill_last_success_timestamp absent
check "[ \"\$(val walship_wal_segments)\" -ge 1 ]" "walship_wal_segments counts the archived WAL"

info "two backups: attempts 2, success 2"
T0=$(date +%s)
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast (1)"
ID1=$BK_ID
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast (2)"
ID2=$BK_ID
bk_switch_wait "$SRC"
metrics
is backup_attempts_total 2
is backup_success_total 2
is walship_backup_failures_total 0
is 'walship_backups{status="complete"}' 2
LS=$(val backup_last_success_timestamp)
check "[ '$LS' -ge '$T0' ] && [ '$LS' -le $(date +%s) ]" "backup_last_success_timestamp $LS is when $ID2 completed"
check "[ \"\$(val backup_size_bytes)\" -gt 10000000 ]" "backup_size_bytes is the newest backup's plain size ($(val backup_size_bytes))"
check "[ \"\$(val 'walship_recovery_window_start_timestamp{timeline=\"1\"}')\" -ge '$T0' ]" \
    "a recoverable window on timeline 1 starts after the first backup"
check "[ \"\$(val 'walship_recovery_window_end_timestamp{timeline=\"1\"}')\" -ge \"\$(val 'walship_recovery_window_start_timestamp{timeline=\"1\"}')\" ]" \
    "it ends no earlier than it starts"
objs=$(find "$BK_REPO" -type f ! -name '.*' | wc -l)
bytes=$(find "$BK_REPO" -type f ! -name '.*' -printf '%s\n' | awk '{s += $1} END {print s}')
is walship_repository_objects "$objs"
is walship_repository_size_bytes "$bytes"
LAG=$(val walship_wal_archive_lag_seconds)
check "[ '$LAG' -ge 0 ] && [ '$LAG' -lt 120 ]" "walship_wal_archive_lag_seconds is small ($LAG)"

info "a backup against a stopped server: an attempt and a failure, no success"
pg_stop "$SRC"
bk_backup -c fast
check "[ '$RC' -ne 0 ]" "walship-basebackup fails with the server stopped (exit $RC)"
metrics
is backup_attempts_total 3
is backup_success_total 2
is walship_backup_failures_total 1

info "--output FILE: atomic, readable by the collector"
mkdir "$T/textfile" && give_pg "$T/textfile"
metrics --output "$T/textfile/walship.prom"
check "[ ! -s '$T/run.out' ]" "nothing on stdout with --output"
cp "$T/textfile/walship.prom" "$M"
check "python3 '$PROMTEXT' '$M' > /dev/null" "the file passes the format check"
is backup_attempts_total 3
check "[ \"\$(stat -c %a '$T/textfile/walship.prom')\" = 644 ]" "the file's mode is 0644"
check "[ \"\$(ls -A '$T/textfile')\" = walship.prom ]" "no temporary left beside it ($(ls -A "$T/textfile" | tr '\n' ' '))"
run as_pg "$WS_OPS" metrics --config="$WS_CONF" --output "$T/no/such/dir/walship.prom"
check "[ '$RC' -ne 0 ] && err_has 'no/such/dir'" "an --output in a missing directory fails, naming it (exit $RC)"

info "a spread checkpoint: the wait is said; killed there, an attempt without success"
pg_start "$SRC"
# dirty every page of pgbench_accounts, so that the spread checkpoint takes
# most of checkpoint_completion_target * checkpoint_timeout (27 s)
sql "$SRC" "update pgbench_accounts set filler = filler"
rm -f "$T/bb.pid"
as_pg sh -c 'echo $$ > "$0"; exec "$@"' "$T/bb.pid" "$WS_BASEBACKUP" --config="$WS_CONF" \
    -c spread > "$T/spread.out" 2> "$T/spread.err" &
BB_BG=$!
BK_BG_PIDS+=("$BB_BG")
for i in $(seq 50); do [ -s "$T/bb.pid" ] && break; sleep 0.1; done
BB_PID=$(cat "$T/bb.pid" 2>/dev/null)
for i in $(seq 150); do
    grep -q 'waiting for checkpoint' "$T/spread.err" 2>/dev/null && break
    kill -0 "$BB_PID" 2>/dev/null || break
    sleep 0.1
done
check "grep -q 'waiting for checkpoint' '$T/spread.err'" "walship-basebackup says it is waiting for the checkpoint"
check "grep -q -- '--checkpoint=fast' '$T/spread.err'" "and hints --checkpoint=fast ($(head -c 300 "$T/spread.err"))"
check "[ \"\$(grep -c 'waiting for checkpoint' '$T/spread.err')\" = 1 ]" "once"
check "kill -0 '$BB_PID' 2>/dev/null" "it is still at the checkpoint (pid $BB_PID)"
kill -9 "$BB_PID"
wait "$BB_BG" 2>/dev/null
bk_forget "$BB_BG"
metrics
is backup_attempts_total 4
is backup_success_total 2
is walship_backup_failures_total 1
check "ls '$BK_REPO/state/backup/' | grep -q '\\.running\$'" "the killed attempt left its .running record"

info "walship verify records its result; metrics shows it"
run as_pg "$WS_OPS" verify --config="$WS_CONF"
check_rc 0 "walship verify: sound"
metrics
is walship_verify_last_success 1
VT=$(val walship_verify_last_run_timestamp)
check "[ '$VT' -ge '$T0' ]" "walship_verify_last_run_timestamp is set ($VT)"
is walship_verify_last_success_timestamp "$VT"
is walship_verify_damaged_objects 0

info "verify --sample and --since read less, and say so"
run as_pg "$WS_OPS" verify --config="$WS_CONF" -j 2
ALL=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
run as_pg "$WS_OPS" verify --config="$WS_CONF" --sample 30 --seed 7
check_rc 0 "verify --sample 30 --seed 7"
S1=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
check "out_has 'left unread:' && out_has '--sample 30% --seed 7'" "it names the sample and its seed"
run as_pg "$WS_OPS" verify --config="$WS_CONF" --sample 30 --seed 7
S2=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
check "[ '$S1' -lt '$ALL' ] && [ '$S1' = '$S2' ]" "the same seed reads the same fewer objects ($S1 = $S2 < $ALL)"
NPARTS=$(find "$BK_REPO/backups/$ID2" -type f ! -name '.*' ! -name backup.started | wc -l)
check "[ '$S1' -ge '$NPARTS' ]" "at least the newest backup's $NPARTS objects"
sleep 1
SINCE=$(date -u '+%Y-%m-%d %H:%M:%S+00')
sleep 1
for i in 1 2; do
    sql "$SRC" "create table s$i as select g from generate_series(1, 1000) g"
    bk_switch_wait "$SRC"
done
run as_pg "$WS_OPS" verify --config="$WS_CONF" --since "$SINCE"
check_rc 0 "verify --since '$SINCE'"
SN=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
NHIST=$(find "$BK_REPO/wal" -type f \( -name '*.history' -o -name '*.backup' -o -name '*.partial' \) | wc -l)
# two segments stored since, two descriptors, the history/.backup files
check "[ '$SN' = $((2 + 2 + NHIST)) ]" "it reads the 2 new segments, the 2 descriptors and the $NHIST other WAL files ($SN)"
run as_pg "$WS_OPS" verify --config="$WS_CONF" --since 1h
check_rc 0 "verify --since 1h"
S1H=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
check "[ '$S1H' = $((ALL + 2)) ]" "--since 1h reads everything made in this test ($S1H = $ALL + 2)"
run as_pg "$WS_OPS" verify --config="$WS_CONF" --since yesterday
check_rc 2 "verify --since yesterday: usage error"
check "err_has 'yesterday'" "it names the value"
run as_pg "$WS_OPS" verify --config="$WS_CONF" --sample 0
check_rc 2 "verify --sample 0: usage error"
run as_pg "$WS_OPS" verify --config="$WS_CONF" --sample 10 --backup "$ID1"
check_rc 2 "--sample with --backup: usage error"

info "a damaged WAL object: verify's failure shows, its last success stays"
metrics
VS=$(val walship_verify_last_success_timestamp)
seg=$(cd "$BK_REPO" && find wal -type f -name '0000000100000000000000??' | sort | tail -n 3 | head -n 1)
cp -p "$BK_REPO/$seg" "$T/saved"
flip_byte "$BK_REPO/$seg" $(( $(file_size "$BK_REPO/$seg") / 2 ))
run as_pg "$WS_OPS" verify --config="$WS_CONF"
check_rc 4 "verify: damaged"
metrics
is walship_verify_last_success 0
is walship_verify_damaged_objects 1
is walship_verify_last_success_timestamp "$VS"
cp -p "$T/saved" "$BK_REPO/$seg"

info "a drill's state (state/drill, the contract of walship drill)"
printf 'time = 1800000000\nresult = failure\nduration_seconds = 12.5\nstep = '\''recover'\''\nlast_success_time = 1799990000\n' \
    > "$BK_REPO/state/drill"
give_pg "$BK_REPO/state/drill"
metrics
is walship_drill_last_success_timestamp 1799990000
is walship_drill_duration_seconds 12.5
is walship_drill_last_success 0
printf 'time = soon\n' > "$BK_REPO/state/drill"
metrics
check "err_has 'state/drill'" "a damaged state/drill is a warning naming it"
is walship_drill_last_success_timestamp absent

info "the alert rules of docs/operations.md"
if [ -n "$PROMTOOL" ]; then
    sed -n '/^# \/etc\/prometheus\/rules\/walship.rules.yml/,/^```/p' \
        "$(dirname "$0")/../../docs/operations.md" | sed '$d' > "$T/walship.rules.yml"
    check "[ -s '$T/walship.rules.yml' ] && '$PROMTOOL' check rules '$T/walship.rules.yml' > '$T/rules.out' 2>&1" \
        "promtool check rules accepts them ($(tail -c 300 "$T/rules.out" 2>/dev/null))"
else
    info "promtool not found: the rules are not checked"
fi

pg_stop "$SRC"
ws_summary

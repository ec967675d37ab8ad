# t_backup_signal.sh — SIGTERM (systemd's stop, kill) and SIGINT (Ctrl-C)
# in the middle of a base backup: walship-basebackup stops, removes every
# object it stored, exits 128 + signal, and the server is left able to take
# the next backup.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
REPO=$BK_REPO
bk_write_conf "$WS_CONF" "$REPO" "backup_part_size = 16MB"
bk_init_src "$T/pg"
bk_pgbench_init "$T/pg" 3
CONN=$(bk_conninfo "$T/pg")

for sig in TERM INT; do
    # about 45 MB at 8 MB/s: several seconds of streaming
    as_pg "$WS_BASEBACKUP" --config="$WS_CONF" -d "$CONN" -c fast --max-rate=8M \
        > "$T/sig.out" 2> "$T/sig.err" &
    pid=$!
    for i in $(seq 100); do
        [ -n "$(find "$REPO/backups" -name 'base.tar.*' 2>/dev/null)" ] && break
        sleep 0.1
    done
    check "[ -n \"\$(find '$REPO/backups' -name 'base.tar.*' 2>/dev/null)\" ]" "SIG$sig: the backup was storing parts"
    # as_pg runs the tool in a child; signal the tool itself
    tool=$(pgrep -f "walship-basebackup --config=$WS_CONF" | tail -n 1)
    kill -s "$sig" "${tool:-$pid}"
    wait "$pid"; rc=$?
    case $sig in TERM) want=143 ;; INT) want=130 ;; esac
    check "[ $rc -eq $want ]" "SIG$sig: exit $want (128 + signal), got $rc"
    check "grep -q 'received signal' '$T/sig.err'" "SIG$sig: says it was stopped by a signal"
    check "grep -q 'removed the' '$T/sig.err'" "SIG$sig: says it removed what it stored"
    check "[ -z \"\$(find '$REPO/backups' -type f 2>/dev/null)\" ]" "SIG$sig: no object left under backups/"
    check "[ ! -s '$T/sig.out' ]" "SIG$sig: no backup id printed"
done

run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" -d "$CONN" -c fast
check_rc 0 "the next backup"
ID=$(cat "$T/run.out")
check "[ -f '$REPO/backups/$ID/backup.info' ]" "backup $ID is complete"
ws_summary

# t_archive_parallel.sh — parallel push (archive_parallel) under a pgbench
# load, on a filesystem repository, with a real PostgreSQL 15.
#
# Archiving is held back (archive_command fails while $T/pause exists) so a
# backlog of ready segments builds under pgbench; then it is released and
# walship-archive drains it, pushing the next ready segments ahead of the
# archiver.  While it drains, walship-archive processes are killed with
# SIGKILL at random moments (the archiver dies with them and the postmaster
# restarts it).  At the end every segment the server completed is in the
# repository exactly once, and walship-restore of each gives back the bytes
# of pg_wal's own copy (wal_keep_size keeps them all).  Then the safety
# valve: a tiny archive_queue_max drops segments past it, each with a
# WARNING and a marker under dropped/.
. "$(dirname "$0")/lib.sh"

ws_setup
command -v pgbench > /dev/null || PGBENCH=$PGBIN/pgbench
PGBENCH=${PGBENCH:-pgbench}
command -v "$PGBENCH" > /dev/null || skip "pgbench not found"

REPO=$T/repo
SRC=$T/src
CONF=$T/walship.conf
mkdir "$REPO" && give_pg "$REPO"
# zstd 9 makes each push take a while, so the kills land inside batches
printf 'repo = %s\narchive_parallel = 4\ncompression_level = 9\n' "$REPO" > "$CONF"
chmod 600 "$CONF" && give_pg "$CONF"
touch "$T/pause" && give_pg "$T/pause"

pg_init "$SRC" "archive_mode = on" \
    "archive_command = 'test ! -f $T/pause && $WS_ARCHIVE --config=$CONF %p %f'" \
    "wal_keep_size = 4GB" "max_wal_size = 4GB" "checkpoint_timeout = 1h" "archive_timeout = 0"
pg_start "$SRC"
sock=$(pg_sockdir "$SRC")
log=$(pg_logfile "$SRC")

info "backlog: pgbench while archiving is paused"
as_pg "$PGBENCH" -h "$sock" -U postgres -i -s 8 -q postgres > "$T/pgbench-i.out" 2>&1 ||
    { cat "$T/pgbench-i.out"; fail "pgbench -i"; }
for i in $(seq 6); do
    as_pg "$PGBENCH" -h "$sock" -U postgres -c 2 -T 2 -n postgres > "$T/pgbench.out" 2>&1 ||
        { cat "$T/pgbench.out"; fail "pgbench"; }
    sql "$SRC" "select pg_switch_wal()"
done
nready=$(ls "$SRC/pg_wal/archive_status" | grep -c '\.ready$')
check "[ '$nready' -ge 12 ]" "a backlog of $nready ready segments"

info "release archiving, keep writing, kill walship-archive at random moments"
as_pg "$PGBENCH" -h "$sock" -U postgres -c 2 -T 8 -n postgres > "$T/pgbench2.out" 2>&1 &
bench_pid=$!
rm -f "$T/pause"
kills=0
for i in $(seq 200); do
    sleep "0.0$((RANDOM % 10))"
    # only the processes of this test's own binary, by pid
    for p in $(pgrep -f "^$T/bin/walship-archive" || true); do
        if [ $((RANDOM % 4)) = 0 ] && kill -9 "$p" 2> /dev/null; then
            kills=$((kills + 1))
        fi
    done
    [ "$kills" -ge 6 ] && break
done
wait "$bench_pid" || { cat "$T/pgbench2.out"; fail "pgbench under archiving"; }
info "$kills walship-archive processes killed"
check "[ '$kills' -ge 1 ]" "at least one walship-archive was killed mid-push"
sql "$SRC" "select pg_walfile_name(pg_switch_wal())"; last=$Q
wait_archived "$SRC" "$last"
for i in $(seq 300); do
    [ -z "$(ls "$SRC/pg_wal/archive_status" | grep '\.ready$')" ] && break
    sleep 0.2
done
check "[ -z \"\$(ls '$SRC/pg_wal/archive_status' | grep '\.ready\$')\" ]" "no segment left ready"
check "grep -q 'next ready WAL files ahead' '$log'" "walship-archive pushed segments ahead"
check "grep -q 'was archived ahead by an earlier call' '$log'" \
    "the archiver's later calls answered from the spool"
check "! grep -q 'different content' '$log'" "no 'different content' in the server log"

info "every completed segment is in the repository once, with pg_wal's bytes"
mkdir "$T/out"
give_pg "$T/out"
n=0
bad=0
for f in "$SRC"/pg_wal/archive_status/*.done; do
    name=$(basename "$f" .done)
    case $name in *.*) continue ;; esac
    objs=$(find "$REPO/wal" -name "$name" | wc -l)
    if [ "$objs" != 1 ]; then
        say "$name: $objs objects"; bad=$((bad + 1)); continue
    fi
    as_pg "$WS_RESTORE" --config="$CONF" --pgdata="$SRC" "$name" "$T/out/$name" \
        > "$T/restore.out" 2>&1 || { cat "$T/restore.out"; bad=$((bad + 1)); continue; }
    cmp -s "$T/out/$name" "$SRC/pg_wal/$name" || { say "$name: content differs"; bad=$((bad + 1)); }
    rm -f "$T/out/$name"
    n=$((n + 1))
done
check "[ '$n' -ge '$nready' ] && [ '$bad' = 0 ]" \
    "$n segments: each stored once, walship-restore gives pg_wal's bytes ($bad bad)"
nobj=$(find "$REPO/wal" -type f -name '0*' ! -name '*.*' | wc -l)
check "[ '$nobj' = '$n' ]" "the repository holds exactly those $n segments ($nobj)"
left=$(find "$SRC/pg_wal/walship-archive" -type f ! -name '.*' 2> /dev/null | wc -l)
check "[ '$left' = 0 ]" "no spool record left once everything is done ($left)"

info "the safety valve: archive_queue_max = 32MB, 4 segments waiting"
touch "$T/pause"
for i in $(seq 4); do
    sql "$SRC" "insert into pgbench_history select * from pgbench_history limit 1000"
    sql "$SRC" "select pg_walfile_name(pg_switch_wal())"
done
last=$Q
printf 'repo = %s\narchive_parallel = 4\narchive_queue_max = 32MB\n' "$REPO" > "$CONF"
rm -f "$T/pause"
wait_archived "$SRC" "$last"
ndropped=$(grep -c 'dropped WAL file' "$log")
nmark=$(find "$REPO/dropped" -type f 2> /dev/null | wc -l)
check "[ '$ndropped' -ge 1 ] && [ '$ndropped' -le 2 ]" \
    "only segments past the limit were dropped, each with a WARNING ($ndropped)"
check "[ '$nmark' = '$ndropped' ]" "one marker under dropped/ per dropped segment ($nmark)"
check "grep -q 'WARNING.*dropped WAL file\|warning: dropped WAL file' '$log'" "the drop is a WARNING"
m=$(find "$REPO/dropped" -type f | head -1)
check "[ -n '$m' ] && grep -q '^name = ' '$m' && grep -q '^archive_queue_max = 33554432' '$m'" \
    "the marker names the segment and the limit"
check "[ ! -e \"$REPO/wal/00000001/0000000100000000/\$(basename '$m')\" ]" \
    "a dropped segment is not in the repository"

info "walship list and verify show the dropped segments"
dn=$(basename "$m")
run as_pg "$WS_OPS" list --config="$CONF"
check_rc 0 "walship list"
check "out_has 'dropped by archive_queue_max'" "walship list shows the dropped segments"
run as_pg "$WS_OPS" list --json --config="$CONF"
check_rc 0 "walship list --json"
check "python3 -c \"import json; j=json.load(open('$T/run.out')); d=j['dropped']; assert sum(x['segments'] for x in d) == $ndropped, d\"" \
    "walship list --json: 'dropped' counts $ndropped segments"
run as_pg "$WS_OPS" verify --config="$CONF"
check "out_has 'dropped: WAL' && out_has 'dropped by archive_queue_max'" "walship verify reports the drop"
run as_pg "$WS_OPS" metrics --config="$CONF"
check_rc 0 "walship metrics"
check "grep -qx 'walship_wal_dropped_segments $ndropped' '$T/run.out'" \
    "walship metrics: walship_wal_dropped_segments $ndropped"
ws_summary

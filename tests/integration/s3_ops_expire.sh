# s3_ops_expire.sh — `walship expire` on an S3 repository (repo =
# s3://bucket/prefix) a real cluster archives into, with three base
# backups: --dry-run changes nothing; retain_full = 1 keeps exactly the
# newest backup and the WAL from its start on (checked with an independent
# client, curl); the lock object (created create-if-absent) held by
# someone else is exit 7 and stays; expire killed with kill -9 at many
# points never leaves a backup that is listed complete but fails verify.
# Runs against s3rver behind the SigV4-verifying proxy and against Ceph RGW.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_require
bk_trap
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src
WS_CONF=$T/walship.conf
P=$S3T_PREFIX
conf() {
    s3_write_conf "$WS_CONF" "$S3T_REPO" "compression = zstd" \
        "pg_conninfo = '$(bk_conninfo "$SRC")'" "$@"
}
ops() { run as_pg "$WS_OPS" --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
complete_ids() { s3_list "$P" | sed -n 's|^backups/\([0-9TZ]*\)/backup.info$|\1|p' | sort; }
segs() { s3_list "$P" | sed -n 's|^wal/.*/\([0-9A-F]\{24\}\)$|\1|p' | sort; }
more_wal() {
    local i
    for i in $(seq "$1"); do
        sql "$SRC" "create table if not exists f (x int); insert into f values ($i); select pg_switch_wal()"
    done
    bk_switch_wait "$SRC"
}

conf
info "a cluster archiving into $S3T_REPO, three base backups"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
IDS=()
for n in 1 2 3; do
    more_wal 3
    bk_backup -c fast
    check_rc 0 "walship-basebackup $n"
    IDS+=("$BK_ID")
done
more_wal 3
B1=${IDS[0]} B2=${IDS[1]} B3=${IDS[2]}

info "--dry-run changes nothing"
conf "retain_full = 1"
before=$(s3_list "$P" | sort)
ops expire --dry-run
check_rc 0 "walship expire --dry-run"
check "grep -q '^would remove  $B1  complete' '$T/run.out' && grep -q '^keep  *$B3  complete  (full)' '$T/run.out'" \
    "it would remove $B1 and keep $B3"
check "[ \"\$(s3_list '$P' | sort)\" = \"\$before\" ]" "the bucket is unchanged"

info "retain_full = 1"
ops list --json
START3=$(json "[b['start_wal'] for b in j['backups'] if b['id']=='$B3'][0]")
ops expire
check_rc 0 "walship expire (retain_full = 1)"
check "[ \"\$(complete_ids)\" = '$B3' ]" "only $B3 is complete"
check "[ -z \"\$(s3_list '$P' | grep -e '^backups/$B1/' -e '^backups/$B2/')\" ]" \
    "no object of $B1 or $B2 is left"
check "[ \"\$(segs | head -n 1)\" = '$START3' ]" "the oldest segment left is $START3, where $B3 starts"
check "[ \"\$(printf '%s\n' \"\$before\" | sed -n 's|^wal/.*/\([0-9A-F]\{24\}\)\$|\1|p' | sort | awk -v s='$START3' '\$1 >= s')\" = \"\$(segs)\" ]" \
    "every segment from $START3 on is still there"
check "[ \"\$(s3_head '$P' locks/expire)\" = 404 ]" "the lock is released"
ops verify
check_rc 0 "walship verify: sound"

info "the lock held by someone else"
printf 'owner = elsewhere:4242\ntoken = x\nrefreshed = %s\n' "$(date +%s)" > "$T/lock"
code=$(s3c "$T/s3c.put" PUT "$(obj_path "$P" locks/expire)" --data-binary "@$T/lock")
check "[ '$code' = 200 ]" "a lock put with curl (HTTP $code)"
ops expire
check_rc 7 "a lock held elsewhere: transient failure"
check "err_has elsewhere:4242" "it names the holder"
check "[ \"\$(s3_head '$P' locks/expire)\" = 200 ]" "someone else's lock stays"
code=$(s3c "$T/s3c.del" DELETE "$(obj_path "$P" locks/expire)")

info "kill -9 at many points"
for n in 1 2; do
    more_wal 10
    bk_backup -c fast
    check_rc 0 "walship-basebackup (kill round $n)"
done
more_wal 10
killed=0
for round in $(seq 6); do
    rm -f "$T/ex.pid"
    as_pg sh -c 'echo $$ > "$0"; exec "$@"' "$T/ex.pid" "$WS_OPS" --config="$WS_CONF" expire \
        > "$T/ex.out" 2> "$T/ex.err" &
    EX_BG=$!
    BK_BG_PIDS+=("$EX_BG")
    for i in $(seq 50); do [ -s "$T/ex.pid" ] && break; sleep 0.01; done
    sleep "0.$(( RANDOM % 4 ))$(( RANDOM % 10 ))"
    kill -9 "$(cat "$T/ex.pid" 2>/dev/null)" 2>/dev/null && killed=$((killed + 1))
    wait "$EX_BG"; exrc=$?
    bk_forget "$EX_BG"
    info "round $round: exit $exrc after $(grep -c '^removed' "$T/ex.out") removals"
    for id in $(complete_ids); do
        ops verify --backup "$id"
        check_rc 0 "round $round: $id, listed complete, verifies"
    done
    [ "$exrc" = 0 ] && break
done
ops expire
check_rc 0 "walship expire completes after the kills"
check "[ \"\$(complete_ids | wc -l)\" = 1 ]" "one complete backup is left"
check "[ -z \"\$(s3_list '$P' | grep backup.expiring)\" ]" "no hidden leftovers remain"
ops verify
check_rc 0 "walship verify: sound"
pg_stop "$SRC"
s3_summary

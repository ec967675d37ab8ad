# t_ops_expire.sh — `walship expire` on a filesystem repository a real
# PostgreSQL 15 archives into, with four base backups: the refusals (no
# policy, a malformed key, a policy that keeps nothing, not a repository),
# --dry-run changes nothing, `walship list` names the tier that keeps each
# backup, retain_full = 2 keeps exactly the two newest and the WAL from the
# older one's start on (an abandoned incomplete backup goes, a fresh one
# stays), PITR from the kept window works on a real server, the lock (held,
# stale, dead owner), expire during a running walship-basebackup loses
# nothing, and expire killed with kill -9 at many points never leaves a
# backup that list calls complete but verify rejects.
# The tiers by date are covered with synthetic dates in tests/unit/test_retention.c;
# here all backups fall on one day, so retain_daily keeps only the newest,
# and retain_pitr is given in seconds so that its window starts between two
# backups: the older one is kept and point-in-time recovery from it works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src

conf() {
    bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" \
        "pg_conninfo = '$(bk_conninfo "$SRC")'" "$@"
}
ops() { run as_pg "$WS_OPS" --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
# the archived segments (names), sorted
segs() { find "$BK_REPO/wal" -type f -regextype egrep -regex '.*/[0-9A-F]{24}' -printf '%f\n' | sort; }
# the ids with a descriptor (what list calls complete)
complete_ids() {
    local d
    for d in "$BK_REPO"/backups/*/; do
        [ -e "$d/backup.info" ] && basename "$d"
    done
}
# the repository's signature; an empty locks/ (a released lock) does not count
repo_sig() { rmdir "$BK_REPO/locks" 2> /dev/null; tree_sig "$BK_REPO"; }
start_wal_of() { ops list --json; json "[b['start_wal'] for b in j['backups'] if b['id']=='$1'][0]"; }

# more WAL: N segments, each with a row
more_wal() {
    local i
    for i in $(seq "$1"); do
        sql "$SRC" "insert into t values (nextval('s'), 'filler'); select pg_switch_wal()"
    done
    bk_switch_wait "$SRC"
}

conf
info "a cluster archiving, four base backups with WAL between them"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
sql "$SRC" "create table t (id int primary key, note text); create sequence s start 1000"
IDS=()
for n in 1 2 3 4; do
    sql "$SRC" "insert into t values ($n, 'before backup $n')"
    more_wal 3
    bk_backup -c fast
    check_rc 0 "walship-basebackup $n"
    IDS+=("$BK_ID")
    if [ "$n" = 3 ]; then
        sql "$SRC" "insert into t values (30, 'after backup 3')"
        sql "$SRC" "select pg_create_restore_point('rp_after_b3')"
        sql "$SRC" "insert into t values (31, 'after the restore point')"
    fi
done
more_wal 3
B1=${IDS[0]} B2=${IDS[1]} B3=${IDS[2]} B4=${IDS[3]}
info "backups $B1 $B2 $B3 $B4"

info "usage"
run as_pg "$WS_OPS" help expire
check_rc 0 "walship help expire"
check "out_has --dry-run && out_has --json" "it lists --dry-run and --json"
run as_pg "$WS_OPS" help
check "out_has expire" "walship help lists expire"
ops expire --frobnicate
check_rc 2 "an unknown option is a usage error"
check "err_has frobnicate" "the error names it"

info "refusals change nothing"
sig=$(repo_sig)
ops expire
check_rc 2 "no retention key set: refused"
check "err_has 'no retention policy'" "the error says no retention policy is set"
conf "retain_daily = 30x"
ops expire
check_rc 2 "retain_daily = 30x: configuration error"
check "err_has retain_daily && err_has 30x" "the error names retain_daily and 30x"
conf "retain_daily = 1s"
sleep 1.2
ops expire
check_rc 2 "retain_daily = 1s keeps nothing: refused"
check "err_has 'would remove every backup' && err_has '$B4'" \
    "the error says it would remove every backup and names the newest, $B4"
mkdir "$T/notrepo" && give_pg "$T/notrepo"
run as_pg "$WS_OPS" --config="$WS_CONF" --repo="$T/notrepo" expire
check "[ \$RC -ne 0 ] && err_has '$T/notrepo'" "an empty directory is no repository: exit $RC, named"
check "[ '$(repo_sig)' = '$sig' ]" "the repository is unchanged"

info "walship list names the tier that keeps each backup"
conf "retain_full = 2" "retain_monthly = 1y"
ops list
check_rc 0 "walship list"
check "grep -q '$B4 .*full,monthly' '$T/run.out' && grep -q '$B3 .*full' '$T/run.out'" \
    "$B4 is kept by full,monthly and $B3 by full"
check "grep -Eq '$B1 .* +- +walship $B1\$' '$T/run.out'" "$B1 is kept by nothing"
ops list --json
check_rc 0 "walship list --json"
check "[ \"\$(json 'j[\"backups\"][3][\"kept_by\"]')\" = \"['full', 'monthly']\" ]" \
    "list --json: kept_by of $B4 is [full, monthly]"
check "[ \"\$(json 'j[\"backups\"][0][\"kept_by\"]')\" = '[]' ]" "list --json: $B1 is kept by nothing"

info "retain_daily = 1d --dry-run: only the day's newest is kept, nothing changes"
conf "retain_daily = 1d"
ops expire --dry-run
check_rc 0 "walship expire --dry-run"
check "grep -q '^would remove  $B1  complete' '$T/run.out' && grep -q '^would remove  $B3' '$T/run.out'" \
    "it would remove $B1 .. $B3"
check "grep -q '^keep  *$B4  complete  (daily)' '$T/run.out'" "it keeps $B4 (daily)"
check "grep -q '^would remove  WAL timeline 1: ' '$T/run.out'" "it would remove WAL"
check "[ '$(repo_sig)' = '$sig' ]" "the repository is unchanged"
ops expire --dry-run --json
check_rc 0 "walship expire --dry-run --json"
check "[ \"\$(json 'j[\"removed\"]')\" = 3 ] && [ \"\$(json 'j[\"dry_run\"]')\" = True ]" \
    "--json: 3 backups would go, dry_run true"

info "retain_full = 2, with an abandoned and a fresh incomplete backup"
OLD=20200101T000000Z
mkdir -p "$BK_REPO/backups/$OLD"
echo junk > "$BK_REPO/backups/$OLD/base.tar.0"
printf 'pid = 1\nstarted = 1577836800\n' > "$BK_REPO/backups/$OLD/backup.started"
touch -d '2020-01-01 00:00:00 UTC' "$BK_REPO/backups/$OLD"/*
give_pg "$BK_REPO/backups/$OLD"
START3=$(start_wal_of "$B3")
before=$(segs)
conf "retain_full = 2"
ops expire
check_rc 0 "walship expire (retain_full = 2)"
check "out_has 'removed       $B1  complete' && out_has 'removed       $B2  complete'" \
    "it says $B1 and $B2 went"
check "out_has 'removed       $OLD  incomplete'" "it says the abandoned $OLD went"
check "[ \"\$(complete_ids | tr '\n' ' ')\" = '$B3 $B4 ' ]" "exactly $B3 and $B4 remain complete"
check "[ ! -e '$BK_REPO/backups/$B1' ] && [ ! -e '$BK_REPO/backups/$B2' ] && [ ! -e '$BK_REPO/backups/$OLD' ]" \
    "their objects are gone"
after=$(segs)
check "[ \"\$(printf '%s\n' \$after | head -n 1)\" = '$START3' ]" \
    "the oldest segment left is $START3, where $B3 starts"
check "[ \"\$(printf '%s\n' \$before | awk -v s='$START3' '\$1 >= s')\" = \"\$after\" ]" \
    "every segment from $START3 on is still there"
check "[ ! -e '$BK_REPO/locks/expire' ]" "the lock is released"
ops verify
check_rc 0 "walship verify after expire: sound"
ops expire
check_rc 0 "a second run"
check "out_has 'removed 0 backups (0 incomplete), 0 WAL segments'" "a second run removes nothing"

info "PITR inside the kept window: $B3 to the restore point rp_after_b3"
bk_recover "$T/pitr" --backup="$B3" --target-name=rp_after_b3 --target-action=promote
check_rc 0 "walship-recover --backup=$B3 --target-name=rp_after_b3"
bk_start "$T/pitr"
wait_not_in_recovery "$T/pitr"
sql "$T/pitr" "select string_agg(id::text, ',' order by id) from t where id < 1000"
check "[ '$Q' = '1,2,3,30' ]" "the recovered rows are 1,2,3,30 (got $Q)"
pg_stop "$T/pitr"

info "the lock"
NOW=$(date +%s)
mkdir -p "$BK_REPO/locks" && give_pg "$BK_REPO/locks"
printf 'owner = elsewhere:4242\ntoken = x\nrefreshed = %s\n' "$NOW" > "$BK_REPO/locks/expire"
give_pg "$BK_REPO/locks/expire"
ops expire
check_rc 7 "a lock held elsewhere: transient failure"
check "err_has 'another walship expire is running' && err_has elsewhere:4242" "it names the holder"
check "[ -e '$BK_REPO/locks/expire' ]" "someone else's lock stays"
printf 'owner = elsewhere:4242\ntoken = x\nrefreshed = %s\n' "$((NOW - 1000))" > "$BK_REPO/locks/expire"
ops expire
check_rc 0 "a lock not refreshed for 1000 s is taken over"
check "err_has 'taking over the stale lock'" "with a warning"
check "[ ! -e '$BK_REPO/locks/expire' ]" "and released"

info "a backup that may be running keeps its WAL"
RUN=$(date -u -d "@$(( $(date +%s) - 30 ))" +%Y%m%dT%H%M%SZ)
mkdir -p "$BK_REPO/backups/$RUN"
printf 'pid = 1\nstarted = %s\n' "$(( $(date +%s) - 30 ))" > "$BK_REPO/backups/$RUN/backup.started"
give_pg "$BK_REPO/backups/$RUN"
conf "retain_full = 1"
before=$(segs)
ops expire
check_rc 0 "walship expire (retain_full = 1) with a fresh incomplete backup $RUN"
check "grep -q '^keep  *$RUN  incomplete  (grace)' '$T/run.out'" "it keeps $RUN (grace)"
check "err_has 'may still be running'" "it says $RUN may still be running"
check "[ \"\$(segs)\" = \"\$before\" ] && [ ! -e '$BK_REPO/backups/$B3' ]" \
    "no WAL went, but $B3 did"
rm -r "$BK_REPO/backups/$RUN"

info "expire during a running walship-basebackup (--max-rate=1M, 16MB parts)"
conf "retain_full = 1" "backup_part_size = 16MB"
rm -f "$T/bb.pid"
as_pg sh -c 'echo $$ > "$0"; exec "$@"' "$T/bb.pid" "$WS_BASEBACKUP" --config="$WS_CONF" -c fast \
    --max-rate=1M > "$T/bb.out" 2> "$T/bb.err" &
BB_BG=$!
BK_BG_PIDS+=("$BB_BG")
KID=
for i in $(seq 600); do
    KID=$(ls "$BK_REPO/backups" | grep -v -x -e "$B4" | head -n 1)
    [ -n "$KID" ] && [ -n "$(find "$BK_REPO/backups/$KID" -name 'base.tar.*' 2>/dev/null)" ] && break
    sleep 0.1
done
check "[ -n '$KID' ] && [ ! -e '$BK_REPO/backups/$KID/backup.info' ]" \
    "walship-basebackup is storing backup $KID (a first part is stored, no descriptor yet)"
ops expire
check_rc 0 "walship expire while $KID is being taken"
check "grep -q '^keep  *$KID  incomplete  (grace)' '$T/run.out'" "it keeps $KID"
wait "$BB_BG"; bbrc=$?
bk_forget "$BB_BG"
check "[ $bbrc = 0 ] && [ \"\$(head -n 1 '$T/bb.out')\" = '$KID' ]" "walship-basebackup finished $KID"
ops verify --backup "$KID"
check_rc 0 "walship verify --backup $KID"

info "kill -9 at many points"
conf "retain_full = 1"
for n in 1 2 3; do
    more_wal 25
    bk_backup -c fast
    check_rc 0 "walship-basebackup (kill round $n)"
done
more_wal 25
killed=0
for round in $(seq 10); do
    rm -f "$T/ex.pid"
    as_pg sh -c 'echo $$ > "$0"; exec "$@"' "$T/ex.pid" "$WS_OPS" --config="$WS_CONF" expire \
        > "$T/ex.out" 2> "$T/ex.err" &
    EX_BG=$!
    BK_BG_PIDS+=("$EX_BG")
    for i in $(seq 50); do [ -s "$T/ex.pid" ] && break; sleep 0.01; done
    # early rounds kill early (round r: (r-1)*10 ms plus 0..9 ms), so that
    # the first is killed even when a whole run takes only a few ms
    sleep "0.0$(( round - 1 ))$(( RANDOM % 10 ))"
    EX_PID=$(cat "$T/ex.pid" 2>/dev/null)
    kill -9 "$EX_PID" 2>/dev/null && killed=$((killed + 1))
    wait "$EX_BG"; exrc=$?
    bk_forget "$EX_BG"
    info "round $round: exit $exrc after $(grep -c '^removed' "$T/ex.out") removals;" \
        "hidden leftovers: $(find "$BK_REPO/backups" -name backup.expiring | wc -l)"
    for id in $(complete_ids); do
        ops verify --backup "$id"
        check_rc 0 "round $round: $id, listed complete, verifies"
    done
    [ "$exrc" = 0 ] && break
done
check "[ $killed -ge 1 ]" "at least one run was killed ($killed)"
ops expire
check_rc 0 "walship expire completes after the kills (a dead owner's lock is taken over)"
check "[ \"\$(complete_ids | wc -l)\" = 1 ]" "one complete backup is left"
check "[ -z \"\$(find '$BK_REPO/backups' -name backup.expiring)\" ]" "no hidden leftovers remain"
ops verify
check_rc 0 "walship verify: sound"
OLDEST=$(complete_ids)

info "retain_pitr: the backup the window starts from is kept, and PITR from it works"
bk_backup -c fast
check_rc 0 "walship-basebackup (the PITR backup)"
PB=$BK_ID
sql "$SRC" "insert into t values (50, 'after the PITR backup')"
sql "$SRC" "select pg_create_restore_point('rp_after_pb')"
sql "$SRC" "insert into t values (51, 'after rp_after_pb')"
more_wal 2
sleep 6
bk_backup -c fast
check_rc 0 "walship-basebackup (the newest)"
PC=$BK_ID
more_wal 2
ops list --json
PB_STOP=$(date -d "$(json "[b['stop_time'] for b in j['backups'] if b['id']=='$PB'][0]")" +%s)
PB_START=$(json "[b['start_wal'] for b in j['backups'] if b['id']=='$PB'][0]")
# the window starts just after $PB stopped, well before $PC did
WINDOW=$(( $(date +%s) - PB_STOP - 1 ))
# An older backup kept by another rule keeps only its own start..stop WAL:
# verify must not call the stretch expire removed on purpose a gap.
conf "retain_full = 3" "retain_pitr = ${WINDOW}s"
NSEG0=$(segs | wc -l)
ops expire
check_rc 0 "walship expire (retain_full = 3, retain_pitr = ${WINDOW}s)"
check "grep -q '^keep  *$OLDEST  complete  (full)' '$T/run.out'" "$OLDEST is kept by full"
check "[ \"\$(segs | wc -l)\" -lt '$NSEG0' ]" \
    "the WAL between $OLDEST's stop and $PB's start went ($NSEG0 -> $(segs | wc -l) segments)"
ops verify
check_rc 0 "walship verify: sound, the thinned stretch is no gap"
check "out_has 'retain_pitr: WAL before backup $PB is checked from each older backup'" \
    "verify says how it checked the WAL before the window"
conf "retain_full = 1" "retain_pitr = ${WINDOW}s"
ops expire
check_rc 0 "walship expire (retain_full = 1, retain_pitr = ${WINDOW}s)"
check "grep -q '^keep  *$PB  complete  (pitr)' '$T/run.out' && grep -q '^keep  *$PC  complete  (full)' '$T/run.out'" \
    "$PB is kept by pitr, $PC by full"
check "grep -q '^removed       $OLDEST  complete' '$T/run.out'" "$OLDEST went"
check "[ \"\$(segs | head -n 1)\" = '$PB_START' ]" "the oldest segment left is $PB_START, where $PB starts"
ops verify
check_rc 0 "walship verify: sound"
bk_recover "$T/pitr2" --backup="$PB" --target-name=rp_after_pb --target-action=promote
check_rc 0 "walship-recover --backup=$PB --target-name=rp_after_pb"
bk_start "$T/pitr2"
wait_not_in_recovery "$T/pitr2"
sql "$T/pitr2" "select string_agg(id::text, ',' order by id) from t where id >= 50 and id < 1000"
check "[ '$Q' = 50 ]" "the recovered server has row 50 but not 51 (got $Q)"
pg_stop "$T/pitr2"
pg_stop "$SRC"
ws_summary

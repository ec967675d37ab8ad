# t_restore_prefetch.sh — walship-restore's prefetch spool (restore_prefetch)
# against a real PostgreSQL 15 and a filesystem repository:
#   1. by hand on a copy of the base backup: the fetcher fills the window;
#      a prefetched segment is handed over by rename, byte-identical to the
#      repository's; a corrupt, truncated, half-written (temporary) or renamed
#      spool file is never handed over (the segment comes from the repository);
#      a segment that is not archived is "not found" (exit 1), every time, and
#      found once it is archived; a history request empties the spool;
#   2. PITR to a target time with prefetch on: the right data, segments came
#      from the spool, and the spool is gone after the promotion;
#   3. the promoted cluster (timeline 2) archives into the same repository,
#      whose timeline 1 goes on past the fork: a recovery with
#      recovery_target_timeline = latest follows the switch and ends with
#      timeline 2's data, not timeline 1's (the spool held timeline 1 files
#      past the fork);
#   4. a standby following the archive (no streaming) keeps up through
#      restore_command with prefetch, and its spool is gone once promoted.
. "$(dirname "$0")/lib.sh"

ws_setup
REPO=$T/repo
mkdir "$REPO" && give_pg "$REPO"
CONF=$T/prefetch.conf
CONF0=$T/noprefetch.conf
printf 'repo = %s\ncompression = zstd\nrestore_prefetch = 4\n' "$REPO" > "$CONF"
printf 'repo = %s\ncompression = zstd\nrestore_prefetch = 0\n' "$REPO" > "$CONF0"
chmod 600 "$CONF" "$CONF0" && give_pg "$CONF" "$CONF0"
SRC=$T/src
WALDIR=$REPO/wal/00000001/0000000100000000

# wait_fetcher SPOOL: until no fetcher holds SPOOL/lock (30 s)
wait_fetcher() {
    local i
    for i in $(seq 300); do
        [ -e "$1/lock" ] || return 0
        flock -n "$1/lock" true 2>/dev/null && return 0
        sleep 0.1
    done
    fail "a prefetch fetcher still holds $1/lock after 30 s"
}
# wait_gone DIR: until DIR does not exist (30 s)
wait_gone() {
    local i
    for i in $(seq 300); do
        [ -e "$1" ] || return 0
        sleep 0.1
    done
    ls -la "$1"
    fail "$1 still exists after 30 s"
}
timeline_of() {
    sql "$1" "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"
    TL=$Q
}
ready_of() { ls "$SP" 2>/dev/null | grep -E "^$1\.[0-9A-F]{16}\$"; }
switch_n() {    # switch_n DIR N TAG: N times: write, switch WAL
    local i
    for i in $(seq "$2"); do
        sql "$1" "insert into t select g, '$3 $i' from generate_series(1, 2000) g"
        sql "$1" "select pg_switch_wal()"
    done
}

info "source cluster, base backup, then 12 WAL switches"
pg_init "$SRC" "archive_mode = on" "archive_command = '$WS_ARCHIVE --config=$CONF0 %p %f'"
pg_start "$SRC"
sql "$SRC" "create table t (id int, val text)"
"$PGBIN/pg_basebackup" -h "$(pg_sockdir "$SRC")" -U postgres -D "$T/base" -X none -c fast \
    > "$T/basebackup.out" 2>&1 || { cat "$T/basebackup.out"; fail "pg_basebackup"; }
switch_n "$SRC" 6 before
sql "$SRC" "select now()"; TARGET=$Q
sql "$SRC" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t"; SNAP=$Q
sleep 1
switch_n "$SRC" 6 after
sql "$SRC" "select pg_walfile_name(pg_switch_wal())"; LAST=$Q
wait_archived "$SRC" "$LAST"
pg_stop "$SRC"
mapfile -t SEGS < <(ls "$WALDIR" | grep -E '^[0-9A-F]{24}$' | sort)
check "[ ${#SEGS[@]} -ge 12 ]" "the repository holds ${#SEGS[@]} timeline 1 segments"

info "1. by hand, on a copy of the base backup"
D=$T/hand
cp -a "$T/base" "$D" && give_pg "$D" && chmod 700 "$D"
SP=$D/pg_wal/walship-prefetch
OUT=$D/pg_wal/RECOVERYXLOG
R() { run as_pg "$WS_RESTORE" --config="$CONF" --pgdata="$D" "$@"; }
ref() {     # ref SEG: the segment as restored without prefetch, into $T/ref
    as_pg "$WS_RESTORE" --config="$CONF0" --pgdata="$D" "$1" "$T/refdir/ref" 2>/dev/null ||
        fail "reference restore of $1"
}
mkdir -p "$T/refdir" && give_pg "$T/refdir"
R "${SEGS[1]}" "$OUT"
check_rc 0 "restore ${SEGS[1]} (from the repository)"
check "! err_has 'prefetch spool'" "the first call came from the repository"
wait_fetcher "$SP"
for i in 2 3 4 5; do
    check "[ -n \"\$(ready_of ${SEGS[$i]})\" ]" "the fetcher put ${SEGS[$i]} in the spool"
done
check "[ -z \"\$(ready_of ${SEGS[6]})\" ]" "the window is 4 segments: ${SEGS[6]} is not fetched"
check "[ -z \"\$(ls '$SP' | grep walship-tmp)\" ]" "no temporary file left by the fetcher"

R "${SEGS[2]}" "$OUT"
check_rc 0 "restore ${SEGS[2]}"
check "err_has 'from the prefetch spool'" "${SEGS[2]} came from the spool"
ref "${SEGS[2]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "the prefetched ${SEGS[2]} is byte-identical to the repository's"
check "[ -z \"\$(ready_of ${SEGS[2]})\" ]" "the spool no longer holds ${SEGS[2]}"
wait_fetcher "$SP"
check "[ -n \"\$(ready_of ${SEGS[6]})\" ]" "the window moved: ${SEGS[6]} was fetched"

f=$SP/$(ready_of "${SEGS[3]}")
flip_byte "$f" 5000000
R "${SEGS[3]}" "$OUT"
check_rc 0 "restore ${SEGS[3]} with a corrupt spool file"
check "err_has 'unusable (checksum mismatch)'" "the corrupt spool file is refused"
ref "${SEGS[3]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "${SEGS[3]} came from the repository, intact"
check "[ ! -e '$f' ]" "the corrupt spool file was removed"
wait_fetcher "$SP"

f=$SP/$(ready_of "${SEGS[4]}")
truncate -s 8M "$f"
R "${SEGS[4]}" "$OUT"
check_rc 0 "restore ${SEGS[4]} with a truncated spool file"
check "err_has 'unusable (wrong size)'" "the truncated spool file is refused"
ref "${SEGS[4]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "${SEGS[4]} came from the repository, intact"
wait_fetcher "$SP"

# a fetcher killed in the middle leaves "<seg>.walship-tmp.<pid>"
f=$SP/$(ready_of "${SEGS[5]}")
rm -f "$f"
head -c 1000000 /dev/urandom > "$SP/${SEGS[5]}.walship-tmp.999999"
give_pg "$SP"
R "${SEGS[5]}" "$OUT"
check_rc 0 "restore ${SEGS[5]} with only a half-written spool file"
check "! err_has 'from the prefetch spool'" "the half-written file was not handed over"
ref "${SEGS[5]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "${SEGS[5]} came from the repository, intact"
check "[ ! -e '$SP/${SEGS[5]}.walship-tmp.999999' ]" "the dead fetcher's temporary was removed"
wait_fetcher "$SP"

# a spool file under another segment's name (same tag): the tag binds the name
f7=$SP/$(ready_of "${SEGS[7]}")
f6=$SP/$(ready_of "${SEGS[6]}")
rm -f "$f6"
mv "$f7" "$SP/${SEGS[6]}.${f7##*.}"
R "${SEGS[6]}" "$OUT"
check_rc 0 "restore ${SEGS[6]} with ${SEGS[7]}'s file under its name"
check "err_has 'unusable (checksum mismatch)'" "the renamed spool file is refused"
ref "${SEGS[6]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "${SEGS[6]} came from the repository, not ${SEGS[7]}"
wait_fetcher "$SP"

# not archived yet: a standby asks for it; "not found" every time, no cached negative answer
NEXT=$(printf '%s%08X' "${LAST:0:16}" $((16#${LAST:16:8} + 1)))
R "$NEXT" "$OUT"
check_rc 1 "restore of $NEXT (not archived): not found"
R "$NEXT" "$OUT"
check_rc 1 "asked again: still not found"
hid=$T/hidden
mv "$WALDIR/${SEGS[9]}" "$hid"
rm -f "$SP/$(ready_of "${SEGS[9]}")"     # as if it had never been archived
R "${SEGS[8]}" "$OUT"
check_rc 0 "restore ${SEGS[8]} while ${SEGS[9]} is missing from the repository"
wait_fetcher "$SP"
check "[ -z \"\$(ready_of ${SEGS[9]})\" ]" "the missing ${SEGS[9]} is not in the spool"
R "${SEGS[9]}" "$OUT"
check_rc 1 "restore ${SEGS[9]}: not found"
mv "$hid" "$WALDIR/${SEGS[9]}"
R "${SEGS[9]}" "$OUT"
check_rc 0 "once archived, ${SEGS[9]} is found (no negative result was kept)"
ref "${SEGS[9]}"
check "cmp -s '$OUT' '$T/refdir/ref'" "${SEGS[9]} intact"
wait_fetcher "$SP"
check "[ -n \"\$(ready_of ${SEGS[10]})\" ]" "the spool holds segments again"

R 00000002.history "$OUT"
check_rc 1 "a history file request (not in the archive): not found"
wait_gone "$SP"
pass "a history file request removed the spool"

info "2. PITR to a target time with prefetch"
REST=$T/restored
# start_recovery DIR CONF_LINE...: base backup into DIR, recovery.signal
start_recovery() {
    local dir=$1 l; shift
    cp -a "$T/base" "$dir" && give_pg "$dir" && chmod 700 "$dir"
    mkdir -p "$(pg_sockdir "$dir")" && give_pg "$(pg_sockdir "$dir")"
    {
        echo "restore_command = '$WS_RESTORE --config=$CONF %f %p'"
        echo "unix_socket_directories = '$(pg_sockdir "$dir")'"
        for l in "$@"; do echo "$l"; done
    } >> "$dir/postgresql.auto.conf"
}
start_recovery "$REST" "recovery_target_time = '$TARGET'" "recovery_target_action = 'promote'" \
    "archive_mode = on" "archive_command = '$WS_ARCHIVE --config=$CONF0 %p %f'"
touch "$REST/recovery.signal" && give_pg "$REST/recovery.signal"
pg_start "$REST"
wait_not_in_recovery "$REST"
sql "$REST" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t"
check "[ '$Q' = '$SNAP' ]" "the restored data equals the snapshot at the target time"
RLOG=$(pg_logfile "$REST")
n=$(grep -c 'from the prefetch spool' "$RLOG")
check "[ '$n' -ge 3 ]" "$n segments were handed over from the spool"
check "! grep -q 'walship-restore: error' '$RLOG'" "no walship-restore error"
check "! grep -q 'unusable' '$RLOG'" "no spool file was refused"
wait_gone "$REST/pg_wal/walship-prefetch"
pass "the spool is gone after the promotion"

info "3. a timeline switch: the promoted cluster archives timeline 2 into the same repository"
timeline_of "$REST"
check "[ '$TL' = 00000002 ]" "the restored cluster is on timeline 2"
# a standby of timeline 2, following the archive only (part 4)
"$PGBIN/pg_basebackup" -h "$(pg_sockdir "$REST")" -U postgres -D "$T/sbase" -X none -c fast \
    > "$T/basebackup.out" 2>&1 || { cat "$T/basebackup.out"; fail "pg_basebackup of timeline 2"; }
SB=$T/standby
cp -a "$T/sbase" "$SB" && give_pg "$SB" && chmod 700 "$SB"
sed -i '/^recovery_target/d' "$SB/postgresql.auto.conf"    # the primary's own recovery settings
mkdir -p "$(pg_sockdir "$SB")" && give_pg "$(pg_sockdir "$SB")"
{
    echo "restore_command = '$WS_RESTORE --config=$CONF %f %p'"
    echo "unix_socket_directories = '$(pg_sockdir "$SB")'"
    echo "wal_retrieve_retry_interval = 200ms"
    echo "archive_mode = off"
} >> "$SB/postgresql.auto.conf"
touch "$SB/standby.signal" && give_pg "$SB/standby.signal"
pg_start "$SB"
pass "standby started (archive only, no primary_conninfo)"

switch_n "$REST" 6 "timeline two"
sql "$REST" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t"; SNAP2=$Q
sql "$REST" "select pg_walfile_name(pg_switch_wal())"; LAST2=$Q
wait_archived "$REST" "$LAST2"

info "4. the standby follows the archive"
for i in $(seq 600); do
    Q=$(psql_at "$SB" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t" 2>/dev/null)
    [ "$Q" = "$SNAP2" ] && break
    sleep 0.1
done
check "[ '$Q' = '$SNAP2' ]" "the standby caught up with timeline 2 through the archive"
SBLOG=$(pg_logfile "$SB")
check "grep -q 'from the prefetch spool' '$SBLOG'" "the standby used the spool"
check "! grep -q 'walship-restore: error' '$SBLOG'" "no walship-restore error on the standby"
sleep 1     # the standby has asked for the next segment, not archived yet
sql "$REST" "insert into t values (424242, 'late row')"
sql "$REST" "select pg_switch_wal()"
for i in $(seq 600); do
    Q=$(psql_at "$SB" "select count(*) from t where id = 424242" 2>/dev/null)
    [ "$Q" = 1 ] && break
    sleep 0.1
done
check "[ '$Q' = 1 ]" "a segment archived after the standby found nothing still arrives"
sql "$REST" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t"; SNAP2=$Q
sql "$REST" "select pg_walfile_name(pg_switch_wal())"; LAST2=$Q
wait_archived "$REST" "$LAST2"
pg_stop "$REST"
as_pg "$PGBIN/pg_ctl" -D "$SB" -w promote > "$T/pg_ctl.out" 2>&1 || { cat "$T/pg_ctl.out"; fail "promote standby"; }
wait_not_in_recovery "$SB"
wait_gone "$SB/pg_wal/walship-prefetch"
pass "the promoted standby's spool is gone"
pg_stop "$SB"

info "3b. recovery from timeline 1's backup across the switch to timeline 2"
C=$T/c
start_recovery "$C" "recovery_target_timeline = 'latest'" "recovery_target_action = 'promote'"
touch "$C/recovery.signal" && give_pg "$C/recovery.signal"
pg_start "$C"
wait_not_in_recovery "$C"
sql "$C" "select count(*) || ':' || md5(string_agg(val, ',' order by val)) from t"
check "[ '$Q' = '$SNAP2' ]" "recovery across the switch ends with timeline 2's data"
timeline_of "$C"
check "[ '$TL' = 00000003 ]" "promoted to timeline 3"
CLOG=$(pg_logfile "$C")
check "grep -q 'from the prefetch spool' '$CLOG'" "segments came from the spool"
# the first timeline 2 segment replayed, and no timeline 1 segment from there on
first2=$(grep -o 'restored log file "00000002[0-9A-F]\{16\}"' "$CLOG" | head -1 | grep -o '[0-9A-F]\{24\}')
check "[ -n '$first2' ]" "timeline 2 segments were replayed from $first2 on"
late1=$(grep -o 'restored log file "00000001[0-9A-F]\{16\}"' "$CLOG" | grep -o '[0-9A-F]\{24\}' |
    awk -v f="${first2:8}" 'substr($0, 9) >= f')
check "[ -z '$late1' ]" "no timeline 1 segment past the fork was handed over ($late1)"
check "! grep -q 'walship-restore: error' '$CLOG'" "no walship-restore error"
wait_gone "$C/pg_wal/walship-prefetch"
pass "the spool is gone after the promotion"
pg_stop "$C"
ws_summary

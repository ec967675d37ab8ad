# t_archive_module.sh — the archive module (archive_library =
# 'walship_archive') on the real PostgreSQL 15:
#   1. the foundation's PITR acceptance flow with the module archiving
#      instead of archive_command;
#   2. a repository that becomes unwritable, then one renamed away: each
#      segment fails with a WARNING naming the cause, the archiver and the
#      server keep running (same pids, no crash), nothing is reported
#      archived, no empty repository is made in its place, and archiving
#      resumes on its own once the repository is back;
#   2b. an encrypted repository: what the module stores, walship-restore
#      reads back byte for byte, and the passphrase is never logged;
#   3. an S3 endpoint that refuses connections with a long retry budget:
#      SIGTERM to the archiver ends the retries at once (WARNING
#      "interrupted"), instead of the archiver hanging in them.
# The module is loaded by absolute path from a copy in $T: nothing is
# written under /usr.
. "$(dirname "$0")/lib.sh"

ws_setup
BUILD=${WS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
MOD=$BUILD/archive_module/pg15/walship_archive.so
[ -f "$MOD" ] || skip "archive module for PostgreSQL 15 not built ($MOD): configure with postgresql-server-dev-15"
mkdir "$T/lib" && cp "$MOD" "$T/lib/" && chmod 755 "$T/lib" "$T/lib/walship_archive.so" ||
    fail "copy the module"
MODLIB=$T/lib/walship_archive

# archiver_pid DIR: the archiver's pid ("" if none)
archiver_pid() {
    sql "$1" "select coalesce((select pid from pg_stat_activity where backend_type = 'archiver'), 0)"
    APID=$Q
}

# ---- 1. PITR through the module -----------------------------------------------
MODULE_CONF=("archive_library = '$MODLIB'" "walship.config = '$T/walship.conf'")
PITR_ARCHIVE_CONF=MODULE_CONF
PITR_ARCHIVED_LOG='LOG:  walship_archive: archived'
pitr_before_stop() {
    local log
    log=$(pg_logfile "$SRC")
    sql "$SRC" "show archive_library"
    check "[ '$Q' = '$MODLIB' ]" "archive_library is the module"
    sql "$SRC" "show archive_command"
    check "[ -z '$Q' ]" "archive_command is empty: nothing is exec'd"
    sql "$SRC" "select archived_count from pg_stat_archiver"
    check "[ '$Q' -ge 3 ]" "the module archived $Q segments"
    check "! grep -q 'WARNING:  walship_archive' '$log'" "no WARNING from the module"
    check "! grep -q 'walship-archive' '$log'" "walship-archive never ran"
}
pitr_flow "compression = zstd"

# ---- 2. the repository goes away and comes back ---------------------------------
info "part 2: an unwritable repository"
R2=$T/repo2
C2=$T/walship2.conf
D2=$T/src2
mkdir "$R2" && give_pg "$R2"
printf 'repo = %s\ncompression = zstd\n' "$R2" > "$C2"
chmod 600 "$C2" && give_pg "$C2"
pg_init "$D2" "archive_mode = on" "archive_library = '$MODLIB'" "walship.config = '$C2'"
pg_start "$D2"
log2=$(pg_logfile "$D2")
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; first=$Q
[ -n "$first" ] || fail "no WAL switch"
sql "$D2" "create table t as select g from generate_series(1, 1000) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; first=$Q
wait_archived "$D2" "$first"
pass "module archived $first"
archiver_pid "$D2"; apid0=$APID
check "[ '$apid0' -gt 0 ]" "archiver runs (pid $apid0)"
pm0=$(head -n 1 "$D2/postmaster.pid")

chmod 000 "$R2"
sql "$D2" "select failed_count from pg_stat_archiver"; f0=$Q
sql "$D2" "insert into t select g from generate_series(1, 1000) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; stuck=$Q
for i in $(seq 300); do
    sql "$D2" "select failed_count from pg_stat_archiver"
    [ "$Q" -ge $((f0 + 3)) ] && break
    sleep 0.1
done
check "[ '$Q' -ge $((f0 + 3)) ]" "archiving $stuck failed and was retried ($Q failures)"
check "grep -q 'WARNING:  walship_archive: .*Permission denied' '$log2'" \
    "the server log has the module's WARNING with the cause"
grep 'WARNING:  walship_archive' "$log2" | head -n 2 | sed 's/^/    | /'
check "grep -q 'archive_library \"$MODLIB\" failed\\|archiving write-ahead log file \"$stuck\" failed' '$log2'" \
    "PostgreSQL reports the failure of $stuck and keeps it"
check "[ -f '$D2/pg_wal/archive_status/$stuck.ready' ]" "$stuck is still .ready"
sql "$D2" "select coalesce(last_archived_wal, '') from pg_stat_archiver"
check "[ '$Q' = '$first' ]" "nothing after $first was reported archived"
archiver_pid "$D2"
check "[ '$APID' = '$apid0' ]" "the archiver did not restart (pid $APID)"
check "[ \"\$(head -n 1 '$D2/postmaster.pid')\" = '$pm0' ]" "the postmaster is the same"
check "! grep -qi 'terminated by signal\\|server process .* was terminated\\|FATAL\\|PANIC' '$log2'" \
    "no crash, FATAL or PANIC in the server log"
sql "$D2" "select count(*) from t"
check "[ '$Q' = 2000 ]" "the server keeps answering queries"

info "the repository comes back"
chmod 755 "$R2"
sql "$D2" "insert into t select g from generate_series(1, 10) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; after=$Q   # wakes the archiver
wait_archived "$D2" "$after"
pass "archiving resumed through $after"
objdir=$R2/wal/00000001/0000000100000000
check "[ -s '$objdir/$stuck' ] && [ -s '$objdir/$after' ]" "$stuck and $after are in the repository"
check "[ ! -f '$D2/pg_wal/archive_status/$stuck.ready' ]" "$stuck is no longer .ready"
check "grep -q 'walship_archive: archived \"$stuck\"' '$log2'" "the module logged $stuck archived"
archiver_pid "$D2"
check "[ '$APID' = '$apid0' ]" "still the same archiver (pid $APID)"
check "[ -z \"\$(dotfiles '$R2')\" ]" "no temporary files left in the repository"

info "the repository directory disappears (renamed away), then comes back"
mv "$R2" "$R2.away"
sql "$D2" "select failed_count from pg_stat_archiver"; f0=$Q
sql "$D2" "insert into t select g from generate_series(1, 10) g"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; gone=$Q
for i in $(seq 300); do
    sql "$D2" "select failed_count from pg_stat_archiver"
    [ "$Q" -ge $((f0 + 2)) ] && break
    sleep 0.1
done
check "[ '$Q' -ge $((f0 + 2)) ]" "archiving $gone fails while the repository is gone"
# the open handle's call fails first ("could not create directory .../wal"),
# the next one opens the repository afresh and finds it gone
check "grep -q 'WARNING:  walship_archive: repository directory \"$R2\" is not accessible' '$log2'" \
    "after a failure the module opens the repository afresh: not accessible"
check "[ ! -e '$R2' ]" "the module did not create an empty repository in its place"
mv "$R2.away" "$R2"
sql "$D2" "select pg_walfile_name(pg_switch_wal())"; after=$Q
wait_archived "$D2" "$after"
check "[ -s '$objdir/$gone' ]" "$gone archived once the repository is back"
archiver_pid "$D2"
check "[ '$APID' = '$apid0' ]" "the same archiver throughout (pid $APID)"
pg_stop "$D2"
check "grep -q 'database system is shut down' '$log2'" "clean shutdown"

# ---- 2b. an encrypted repository: what the module stores, walship-restore reads -------
info "part 2b: an encrypted repository (aes-256-gcm), read back by walship-restore"
R4=$T/repo4
C4=$T/walship4.conf
D4=$T/src4
PASS4="module-secret-$RANDOM$RANDOM"
mkdir "$R4" && give_pg "$R4"
printf '%s\n' "$PASS4" > "$T/pass4" && chmod 600 "$T/pass4" && give_pg "$T/pass4"
printf 'repo = %s\ncompression = zstd\nencryption = aes-256-gcm\nencryption_passphrase_file = %s\n' \
    "$R4" "$T/pass4" > "$C4"
chmod 600 "$C4" && give_pg "$C4"
pg_init "$D4" "archive_mode = on" "archive_library = '$MODLIB'" "walship.config = '$C4'"
pg_start "$D4"
log4=$(pg_logfile "$D4")
sql "$D4" "create table t as select g, md5(g::text) m from generate_series(1, 20000) g"
sql "$D4" "select pg_walfile_name(pg_switch_wal())"; e1=$Q
sql "$D4" "insert into t select g, md5(g::text) from generate_series(1, 20000) g"
sql "$D4" "select pg_walfile_name(pg_switch_wal())"; e2=$Q
# complete once switched; copied now, before a checkpoint could recycle it
cp "$D4/pg_wal/$e2" "$T/e2.orig" || fail "copy $e2 from pg_wal"
wait_archived "$D4" "$e2"
pass "module archived $e1 and $e2 encrypted"
check "grep -q '^encryption = aes-256-gcm' '$R4/walship.repo'" "the descriptor says aes-256-gcm"
check "grep -q 'walship_archive: archived \"$e2\": .*(zstd, aes-256-gcm)' '$log4'" \
    "the module's line names zstd and aes-256-gcm"
mkdir "$T/out4" && give_pg "$T/out4"
run as_pg "$WS_RESTORE" --config="$C4" --pgdata="$D4" "$e2" "$T/out4/$e2"
check_rc 0 "walship-restore reads $e2 back from the module's encrypted repository"
check "cmp -s '$T/e2.orig' '$T/out4/$e2'" "restored $e2 is byte for byte the segment in pg_wal"
check "! grep -q '$PASS4' '$log4'" "the passphrase never reaches the server log"
pg_stop "$D4"

# ---- 3. SIGTERM ends S3 retries -----------------------------------------------------
info "part 3: an S3 endpoint that refuses, 100 retries allowed, then SIGTERM"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
C3=$T/walship3.conf
D3=$T/src3
{
    echo "repo = s3://walship-test/module"
    echo "s3_endpoint = http://127.0.0.1:$port"
    echo "s3_region = us-east-1"
    echo "s3_access_key_id = AKIDEXAMPLE"
    echo "s3_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    echo "s3_max_retries = 100"
} > "$C3"
chmod 600 "$C3" && give_pg "$C3"
pg_init "$D3" "archive_mode = on" "archive_library = '$MODLIB'" "walship.config = '$C3'"
pg_start "$D3"
log3=$(pg_logfile "$D3")
sql "$D3" "create table t as select 1 g; select pg_switch_wal()"
for i in $(seq 300); do
    grep -q 'WARNING:  walship_archive: .*attempt 3 of 101' "$log3" && break
    sleep 0.1
done
check "grep -q 'WARNING:  walship_archive: .*attempt 3 of 101' '$log3'" \
    "the module retries the refused endpoint, reporting each retry as a WARNING"
archiver_pid "$D3"; apid=$APID
check "[ '$apid' -gt 0 ]" "archiver runs (pid $apid)"
t0=$(date +%s%N)
kill -TERM "$apid"
for i in $(seq 100); do
    grep -q 'WARNING:  walship_archive: .*interrupted after' "$log3" && break
    sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "grep -q 'WARNING:  walship_archive: .*interrupted after' '$log3'" \
    "SIGTERM ended the retries within $ms ms (of a budget of minutes)"
grep 'walship_archive: .*interrupted' "$log3" | head -n 1 | sed 's/^/    | /'
check "! grep -qi 'FATAL\\|PANIC\\|terminated by signal' '$log3'" "no crash after SIGTERM"
check "! grep -q 'wJalrXUtnFEMI' '$log3'" "the secret key never reaches the server log"
sql "$D3" "select archived_count from pg_stat_archiver"
check "[ '$Q' = 0 ]" "nothing was reported archived"
pg_stop "$D3"
ws_summary

# t_backup_faults.sh — walship-basebackup and walship-recover on bad input
# and broken environments.  Each case asserts the exit code of the contract
# (0 ok, 2 configuration/usage, 3 not found, 4 corrupt, 7 transient, 9 WAL
# timeout, 10 bad input), words of the message, and that nothing is left
# behind: no backup.info for a failed backup, no objects of a backup that
# failed cleanly, no target directory (or an empty one) after a failed
# recovery, and an untouched directory when it was refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "backup_part_size = 16MB" \
    "pg_conninfo = '$(bk_conninfo "$SRC")'"

# backup_dirs: the backup directories in the repository, one a line.
backup_dirs() { ls "$BK_REPO/backups" 2>/dev/null | sort; }
# no_new_backup BEFORE: no backup object appeared since BEFORE (in a
# backup directory that is not in BEFORE).  An empty directory left behind by
# the filesystem driver is reported (EMPTY_DIRS_LEFT), not failed.
EMPTY_DIRS_LEFT=()
no_new_backup() {
    local d
    for d in $(comm -13 <(printf '%s\n' "$1") <(backup_dirs)); do
        [ -n "$(find "$BK_REPO/backups/$d" -type f)" ] && return 1
        say "NOTE: an empty directory backups/$d was left behind"
        EMPTY_DIRS_LEFT+=("$d")
    done
    return 0
}
err_matches() { grep -qiE -- "$1" "$T/run.err"; }

info "usage errors (exit 2, nothing created)"
bk_backup --checkpoint=slow
check_rc 2 "walship-basebackup --checkpoint=slow"
check "err_matches 'checkpoint'" "the message names --checkpoint"
bk_backup --max-rate=1k
check_rc 2 "walship-basebackup --max-rate=1k (below 32k)"
bk_backup --wal-timeout=soon
check_rc 2 "walship-basebackup --wal-timeout=soon"
bk_backup --no-such-option
check_rc 2 "walship-basebackup --no-such-option"
check "[ ! -e '$BK_REPO/backups' ] || [ -z \"\$(ls -A '$BK_REPO/backups')\" ]" "no backup directory created by usage errors"
run as_pg "$WS_RECOVER" --config="$WS_CONF"
check_rc 2 "walship-recover without -D"
bk_recover "$T/x" --target-time='2030-01-01 00:00:00+00' --target-lsn=0/1000000
check_rc 2 "walship-recover with two targets"
bk_recover "$T/x" --target-action=explode
check_rc 2 "walship-recover --target-action=explode"
bk_recover "$T/x" --target-time='yesterday-ish'
check_rc 2 "walship-recover --target-time=<garbage>"
check "err_matches 'yesterday-ish'" "the message quotes the unparseable time"
check "[ ! -e '$T/x' ]" "no target directory created by usage errors"

info "the source cluster: 40 tables of about 1 MB"
bk_init_src "$SRC"
sql "$SRC" "do \$\$ begin for i in 1..40 loop
    execute format('create table filler_%s as select g, md5(g::text) || md5((g + 1)::text) as m from generate_series(1, 12000) g', i);
    end loop; end \$\$"
sql "$SRC" "create table t (id int primary key); insert into t values (1)"
sql "$SRC" "select now()"; T_BEFORE=$Q
sleep 1
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "the first backup"
ID1=$BK_ID
check "[ -s '$BK_REPO/backups/$ID1/backup.info' ]" "backup $ID1 is complete"

info "server unreachable"
before=$(backup_dirs)
bk_backup -d 'host=/nonexistent port=1'
check_rc 7 "walship-basebackup -d 'host=/nonexistent port=1' (transient)"
check "err_matches 'connect'" "the message says the server could not be connected to"
check "no_new_backup '$before'" "no backup directory left behind"

info "role without REPLICATION"
sql "$SRC" "create role norepl login"
bk_backup -d "$(bk_conninfo "$SRC" norepl)"
check_rc 2 "walship-basebackup as a role without REPLICATION (configuration)"
check "grep -qE 'REPLICATION|replication role' '$T/run.err'" "the message names the REPLICATION attribute"
check "no_new_backup '$before'" "no backup directory left behind"

info "wal_level = minimal (and max_wal_senders = 0, which it requires)"
MIN=$T/minimal
pg_init "$MIN" "wal_level = minimal" "max_wal_senders = 0"
pg_start "$MIN"
# its own repository, bound to it by archiving one segment by hand
mkdir "$T/minrepo" && give_pg "$T/minrepo"
seg=$(ls "$MIN/pg_wal" | grep -E '^[0-9A-F]{24}$' | head -n 1)
cp "$MIN/pg_wal/$seg" "$T/minseg" && give_pg "$T/minseg"
run as_pg "$WS_ARCHIVE" --config="$WS_CONF" --repo="$T/minrepo" --pgdata="$MIN" "$T/minseg" "$seg"
check_rc 0 "bind $T/minrepo to the minimal cluster (walship-archive $seg)"
run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" --repo="$T/minrepo" -d "$(bk_conninfo "$MIN")"
check_rc 2 "walship-basebackup against wal_level = minimal (configuration)"
check "err_matches 'wal_level|max_wal_senders'" "the message names wal_level or max_wal_senders"
check "[ ! -e '$T/minrepo/backups' ] || [ -z \"\$(ls -A '$T/minrepo/backups')\" ]" "no backup directory left behind"

info "--force on a directory where a postmaster runs is refused"
sum_conf=$(md5sum < "$MIN/postgresql.conf")
bk_recover "$MIN" --force
check_rc 10 "walship-recover --force -D <running cluster> is refused"
check "err_matches 'postmaster|running|in use'" "the message says a server runs there"
check "[ -f '$MIN/PG_VERSION' ] && [ -d '$MIN/base' ] && [ \"\$(md5sum < '$MIN/postgresql.conf')\" = '$sum_conf' ]" \
    "the running cluster's files are untouched"
sql "$MIN" "select 1"
check "[ '$Q' = 1 ]" "the running cluster still answers"
pg_stop "$MIN"

info "max_wal_senders exhausted (max_wal_senders = 1, held by pg_receivewal)"
SEND=$T/senders
bk_write_conf "$T/send.conf" "$T/sendrepo" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SEND")'"
mkdir "$T/sendrepo" && give_pg "$T/sendrepo"
pg_init "$SEND" "max_wal_senders = 1" "archive_mode = on" \
    "archive_command = '$WS_ARCHIVE --config=$T/send.conf %p %f'"
pg_start "$SEND"
bk_switch_wait "$SEND"
mkdir "$T/recvwal"
"$PGBIN/pg_receivewal" -D "$T/recvwal" -h "$(pg_sockdir "$SEND")" -U postgres -n > "$T/receivewal.out" 2>&1 &
RECV_PID=$!
BK_BG_PIDS+=("$RECV_PID")
for i in $(seq 100); do
    sql "$SEND" "select count(*) from pg_stat_replication"
    [ "$Q" = 1 ] && break
    sleep 0.1
done
check "[ '$Q' = 1 ]" "pg_receivewal holds the only WAL sender"
run as_pg "$WS_BASEBACKUP" --config="$T/send.conf" -c fast
check_rc 7 "walship-basebackup with no free WAL sender (transient)"
check "err_matches 'max_wal_senders|wal sender|walsender'" "the message says there is no free WAL sender"
check "[ ! -e '$T/sendrepo/backups' ] || [ -z \"\$(ls -A '$T/sendrepo/backups')\" ]" "no backup directory left behind"
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null
bk_forget "$RECV_PID"
for i in $(seq 100); do
    sql "$SEND" "select count(*) from pg_stat_replication"
    [ "$Q" = 0 ] && break
    sleep 0.1
done
run as_pg "$WS_BASEBACKUP" --config="$T/send.conf" -c fast
check_rc 0 "the same backup succeeds once the WAL sender is free"

info "another cluster's repository"
before=$(backup_dirs)
run as_pg "$WS_BASEBACKUP" --config="$T/send.conf" --repo="$BK_REPO" -c fast
check_rc 6 "walship-basebackup of cluster SEND into SRC's repository (cluster mismatch)"
check "err_matches 'system|cluster'" "the message says the repository belongs to another database system"
check "no_new_backup '$before'" "nothing stored in the other cluster's repository"

info "archive_mode = off"
sql "$SEND" "alter system set archive_mode = off"
pg_stop "$SEND"
pg_start "$SEND"
run as_pg "$WS_BASEBACKUP" --config="$T/send.conf" -c fast
check_rc 2 "walship-basebackup with archive_mode = off (configuration)"
check "err_matches 'archive_mode'" "the message names archive_mode"
pg_stop "$SEND"

info "archiving broken: archive_command = 'false', --wal-timeout=5"
sql "$SRC" "alter system set archive_command = 'false'"
sql "$SRC" "select pg_reload_conf()"
sleep 1
before=$(backup_dirs)
t0=$(date +%s)
bk_backup -c fast --wal-timeout=5
elapsed=$(( $(date +%s) - t0 ))
check_rc 9 "walship-basebackup while archiving is broken (timeout)"
check "grep -qE '[0-9A-F]{24}' '$T/run.err'" "the message names the WAL segment that never arrived"
check "[ '$elapsed' -lt 60 ]" "it gave up after $elapsed s (--wal-timeout=5)"
check "[ ! -s '$T/run.out' ]" "no backup id printed on stdout"
check "[ -z \"\$(find '$BK_REPO/backups' -name backup.info -newer '$BK_REPO/backups/$ID1/backup.info')\" ]" \
    "no new backup.info"
check "no_new_backup '$before'" "the failed backup's objects were removed"
before=$(backup_dirs)
sql "$SRC" "alter system reset archive_command"
sql "$SRC" "select pg_reload_conf()"
sleep 0.5
bk_switch_wait "$SRC"
pass "archiving works again ($BK_LAST_WAL)"

info "kill -9 of walship-basebackup mid-stream (--max-rate=2M)"
before=$(backup_dirs)
rm -f "$T/bb.pid"
as_pg sh -c 'echo $$ > "$0"; exec "$@"' "$T/bb.pid" "$WS_BASEBACKUP" --config="$WS_CONF" -c fast \
    --max-rate=2M > "$T/killed.out" 2> "$T/killed.err" &
BB_BG=$!
BK_BG_PIDS+=("$BB_BG")
for i in $(seq 50); do [ -s "$T/bb.pid" ] && break; sleep 0.1; done
BB_PID=$(cat "$T/bb.pid" 2>/dev/null)
KID=
for i in $(seq 900); do
    KID=$(comm -13 <(printf '%s\n' "$before") <(backup_dirs) | head -n 1)
    if [ -n "$KID" ] && [ -n "$(find "$BK_REPO/backups/$KID" -type f -name 'base.tar.*' 2>/dev/null)" ]; then
        break
    fi
    kill -0 "$BB_PID" 2>/dev/null || break
    sleep 0.1
done
check "[ -n '$BB_PID' ] && kill -0 '$BB_PID' 2>/dev/null" "walship-basebackup (pid $BB_PID) is still streaming"
check "[ -n '$KID' ] && [ -n \"\$(find '$BK_REPO/backups/$KID' -type f -name 'base.tar.*')\" ]" \
    "it has stored a first data part of backup $KID ($(cd "$BK_REPO/backups/$KID" 2>/dev/null && ls | tr '\n' ' '))"
kill -9 "$BB_PID"
wait "$BB_BG" 2>/dev/null
bk_forget "$BB_BG"
check "[ ! -s '$T/killed.out' ]" "the killed run printed no backup id"
check "[ ! -e '$BK_REPO/backups/$KID/backup.info' ]" "no backup.info for the killed backup $KID"
for i in $(seq 100); do
    sql "$SRC" "select count(*) from pg_stat_replication"
    [ "$Q" = 0 ] && break
    sleep 0.1
done
bk_list
check_rc 0 "walship-recover --list"
check "[ \"\$(bk_list_field '$KID' 2)\" = incomplete ]" "--list shows $KID as incomplete"
check "[ \"\$(bk_list_field '$ID1' 2)\" = complete ]" "--list shows $ID1 as complete"
check "head -n 1 '$T/run.out' | grep -q 'ID' && [ \"\$(grep -c '' '$T/run.out')\" = 3 ]" \
    "--list: a header line and one line per backup"
bk_list_times "$ID1" > "$T/id1.times"
ID1_STOP=$(sed -n 2p "$T/id1.times")
check "[ -n '$ID1_STOP' ]" "--list shows the start and stop time of $ID1 (stop: $ID1_STOP)"
bk_recover "$T/fromkilled" --backup="$KID"
check_rc 10 "walship-recover --backup=<incomplete backup>"
check "err_matches 'incomplete'" "the message says the backup is incomplete"
check "absent_or_empty '$T/fromkilled'" "no target directory left"
bk_backup -c fast
check_rc 0 "a later backup succeeds"
ID3=$BK_ID
check "[ '$ID3' != '$KID' ] && [ -s '$BK_REPO/backups/$ID3/backup.info' ]" "the later backup $ID3 is complete"
bk_list
check "[ \"\$(bk_list_field '$ID3' 2)\" = complete ] && [ \"\$(bk_list_field '$KID' 2)\" = incomplete ]" \
    "--list: $ID3 complete, $KID still incomplete"
sql "$SRC" "insert into t values (2)"
bk_switch_wait "$SRC"

info "non-empty target directory"
mkdir -p "$T/busy/sub" && echo precious > "$T/busy/file" && echo more > "$T/busy/sub/f2"
give_pg "$T/busy"
sig=$(tree_sig "$T/busy")
bk_recover "$T/busy"
check_rc 10 "walship-recover -D <non-empty directory>"
check "grep -qF '$T/busy' '$T/run.err' && err_matches 'not empty|non-empty|--force'" \
    "the message names the directory and says it is not empty"
check "[ '$(tree_sig "$T/busy")' = '$sig' ]" "the directory is unchanged"
bk_recover "$T/busy" --force --immediate
check_rc 0 "walship-recover --force -D <non-empty directory>"
check "[ ! -e '$T/busy/file' ] && [ ! -e '$T/busy/sub' ] && [ -f '$T/busy/PG_VERSION' ] && [ -f '$T/busy/recovery.signal' ]" \
    "--force emptied the directory and recovered into it"
check "grep -q 'LABEL: walship $ID3' '$T/busy/backup_label'" \
    "without --backup, the newest complete backup ($ID3) was used"

info "target time in the future"
future="$(date -u -d '+1 day' '+%Y-%m-%d %H:%M:%S')+00"
bk_recover "$T/future" --target-time="$future"
check_rc 10 "walship-recover --target-time=<tomorrow>"
check "err_matches 'future'" "the message says the target is in the future"
check "absent_or_empty '$T/future'" "no target directory left"

info "target time before the first backup"
bk_recover "$T/early" --target-time="$T_BEFORE"
check_rc 10 "walship-recover --target-time=<before the first backup>"
check "grep -qF '$ID1_STOP' '$T/run.err' || grep -qF '${ID1_STOP/ /T}' '$T/run.err'" \
    "the message names the earliest recoverable time ($ID1_STOP)"
check "absent_or_empty '$T/early'" "no target directory left"

info "not a backup id"
bk_recover "$T/notid" --backup=latest-please
check_rc 3 "walship-recover --backup=latest-please (not a backup id: not found)"
check "err_matches 'latest-please'" "the message names it"
check "absent_or_empty '$T/notid'" "no target directory left"

info "encryption configured, the repository is not encrypted"
printf 'some-passphrase\n' > "$T/pass" && chmod 600 "$T/pass" && give_pg "$T/pass"
bk_recover "$T/enc" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pass"
check_rc 2 "walship-recover with encryption = aes-256-gcm on an unencrypted repository (configuration)"
check "err_matches 'encrypt'" "the message is about encryption"
check "absent_or_empty '$T/enc'" "no target directory left"

info "unknown backup id"
bk_recover "$T/unknown" --backup=20000101T000000Z
check_rc 3 "walship-recover --backup=20000101T000000Z (not found)"
check "err_matches '20000101T000000Z'" "the message names the id"
check "absent_or_empty '$T/unknown'" "no target directory left"

info "a repository without any complete backup"
mkdir "$T/nobackups" && cp "$BK_REPO/walship.repo" "$T/nobackups/" && give_pg "$T/nobackups"
bk_recover "$T/none" --repo="$T/nobackups"
check_rc 3 "walship-recover from a repository without backups (not found)"
check "absent_or_empty '$T/none'" "no target directory left"

info "a missing object (base.tar.0 deleted)"
cp -a "$BK_REPO" "$T/repo_missing"
rm "$T/repo_missing/backups/$ID1/base.tar.0"
bk_recover "$T/missing" --repo="$T/repo_missing" --backup="$ID1"
check_rc 4 "walship-recover with base.tar.0 missing (corrupt)"
check "err_matches 'base\\.tar\\.0'" "the message names base.tar.0"
check "absent_or_empty '$T/missing'" "no target directory left"

info "a corrupted object (one byte flipped in the middle of base.tar.0)"
cp -a "$BK_REPO" "$T/repo_corrupt"
f=$T/repo_corrupt/backups/$ID1/base.tar.0
flip_byte "$f" $(( $(file_size "$f") / 2 ))
mkdir "$T/corrupt" && give_pg "$T/corrupt" && chmod 700 "$T/corrupt"
bk_recover "$T/corrupt" --repo="$T/repo_corrupt" --backup="$ID1"
check_rc 4 "walship-recover with a corrupted base.tar.0 (corrupt)"
check "err_matches 'base\\.tar\\.0'" "the message names base.tar.0"
check "absent_or_empty '$T/corrupt'" "the (existing, empty) target directory is left empty"
bk_recover "$T/corrupt3" --repo="$T/repo_corrupt"
check_rc 0 "the other backup ($ID3) in that repository still recovers"
info "a corrupted backup.info (docs/walship-recover.md: listed as damaged, only the chosen one fails)"
f=$T/repo_corrupt/backups/$ID1/backup.info
flip_byte "$f" $(( $(file_size "$f") / 2 ))
bk_list --repo="$T/repo_corrupt"
check_rc 0 "walship-recover --list with one corrupted backup.info"
check "[ \"\$(bk_list_field '$ID1' 2)\" = damaged ] && [ \"\$(bk_list_field '$ID3' 2)\" = complete ]" \
    "--list shows $ID1 as damaged and $ID3 as complete"
check "err_matches 'warning' && err_matches 'backups/$ID1/backup\\.info'" "a warning names backups/$ID1/backup.info"
bk_recover "$T/damaged" --repo="$T/repo_corrupt" --backup="$ID1"
check_rc 4 "walship-recover --backup=<backup with a damaged backup.info> (corrupt)"
check "err_matches 'backup\\.info|damaged'" "the message says the descriptor is damaged"
check "absent_or_empty '$T/damaged'" "no target directory left"
bk_recover "$T/damaged3" --repo="$T/repo_corrupt" --immediate
check_rc 0 "without --backup, the other (intact) backup is still recovered"
check "grep -q 'LABEL: walship $ID3' '$T/damaged3/backup_label'" "it is $ID3"
[ "${#EMPTY_DIRS_LEFT[@]}" = 0 ] || say "NOTE: empty backup directories left behind by failed backups: ${EMPTY_DIRS_LEFT[*]}"
ws_summary

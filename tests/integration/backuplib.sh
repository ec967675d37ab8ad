# backuplib.sh — helpers for the base backup tests (t_backup_*.sh,
# s3_backup*.sh): walship-basebackup and walship-recover.  Sourced after
# lib.sh (or s3lib.sh, which sources lib.sh).
#
# Both tools run as the PostgreSQL user (as_pg): the repository, the
# configuration file and the recovered data directories belong to it, as they
# do on a real host where the tools run as postgres.
#
# Variables used throughout: WS_CONF (the configuration file), BK_REPO (the
# repository: a directory or s3://...), BK_ID (the id the last successful
# walship-basebackup printed).

[ -n "${WS_TEST_NAME:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BK_BG_PIDS=()

# bk_require: the two tools must have been built (they are part of the suite).
# bk_setup: test directory, binaries checked, background jobs trapped; an
# empty filesystem repository in $BK_REPO and the configuration path $WS_CONF.
bk_setup() {
    ws_setup
    bk_require
    bk_trap
    BK_REPO=$T/repo
    mkdir "$BK_REPO" && give_pg "$BK_REPO"
    WS_CONF=$T/walship.conf
}

bk_require() {
    local b
    for b in "$WS_BASEBACKUP" "$WS_RECOVER"; do
        [ -x "$b" ] || fail "$(basename "$b") not found in the build directory (build first, or set WS_BUILD_DIR)"
    done
    [ -x "$PGBIN/pgbench" ] || skip "pgbench not found in $PGBIN"
    [ -x "$PGBIN/pg_verifybackup" ] || skip "pg_verifybackup not found in $PGBIN"
}

# bk_kill_bg: stop the background helpers this test started (by PID).
bk_kill_bg() {
    local p i
    for p in "${BK_BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null || continue
        for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    BK_BG_PIDS=()
}

# bk_forget PID: PID was waited for; never signal it again (it may be reused).
bk_forget() {
    local i
    for i in "${!BK_BG_PIDS[@]}"; do
        [ "${BK_BG_PIDS[$i]}" = "$1" ] && unset 'BK_BG_PIDS[i]'
    done
}

# bk_trap: install an EXIT trap that stops background helpers, then runs the
# trap that was there (ws_cleanup or s3_cleanup).
bk_trap() {
    local prev
    prev=$(trap -p EXIT | sed -n "s/^trap -- '\(.*\)' EXIT\$/\1/p")
    [ -n "$prev" ] || prev=ws_cleanup
    BK_PREV_TRAP=$prev
    trap 'bk_exit_trap' EXIT
}
bk_exit_trap() {
    local rc=$?
    bk_kill_bg
    (exit "$rc")
    $BK_PREV_TRAP
}

# bk_write_conf FILE REPO [LINE...]: a 0600 configuration file owned by the
# PostgreSQL user.
bk_write_conf() {
    local f=$1 repo=$2 l
    shift 2
    {
        echo "# walship configuration for $WS_TEST_NAME"
        echo "repo = '${repo//\'/\'\'}'"
        for l in "$@"; do echo "$l"; done
    } > "$f"
    chmod 600 "$f" && give_pg "$f"
}

# bk_conninfo DIR: a libpq connection string for the server of DIR.
bk_conninfo() { printf 'host=%s user=%s dbname=postgres' "$(pg_sockdir "$1")" "${2:-postgres}"; }

# bk_init_src DIR [CONF_LINE...]: a cluster archiving with walship-archive
# and $WS_CONF, started.
bk_init_src() {
    local dir=$1; shift
    pg_init "$dir" "archive_mode = on" \
        "archive_command = '$WS_ARCHIVE --config=$WS_CONF %p %f'" "$@"
    pg_start "$dir"
}

# bk_pgbench_init DIR SCALE: pgbench tables at that scale.
bk_pgbench_init() {
    as_pg "$PGBIN/pgbench" -h "$(pg_sockdir "$1")" -U postgres -i -s "$2" postgres \
        > "$T/pgbench-init.out" 2>&1 || { cat "$T/pgbench-init.out"; fail "pgbench -i -s $2 on $1"; }
}

# bk_switch_wait DIR: switch WAL and wait until the closed segment is archived.
bk_switch_wait() {
    local seg
    sql "$1" "select pg_walfile_name(pg_switch_wal())"; seg=$Q
    wait_archived "$1" "$seg"
    BK_LAST_WAL=$seg
}

# bk_backup [ARG...]: walship-basebackup --config=$WS_CONF ARG... (run, as the
# PostgreSQL user).  BK_ID: stdout's first line.
bk_backup() {
    run as_pg "$WS_BASEBACKUP" --config="$WS_CONF" "$@"
    BK_ID=$(head -n 1 "$T/run.out" 2>/dev/null)
}

# bk_recover DIR [ARG...]: walship-recover --config=$WS_CONF -D DIR ARG...
bk_recover() {
    local dir=$1; shift
    run as_pg "$WS_RECOVER" --config="$WS_CONF" -D "$dir" "$@"
}

# bk_list [ARG...]: walship-recover --list into $T/run.out.
bk_list() { run as_pg "$WS_RECOVER" --config="$WS_CONF" --list "$@"; }

# bk_list_field ID N: field N of ID's line in the last --list output.
bk_list_field() { awk -v id="$1" -v n="$2" '$1 == id { print $n; exit }' "$T/run.out"; }

# bk_list_times ID: the timestamps (YYYY-MM-DD HH:MM:SS) on ID's line, one a line.
bk_list_times() {
    awk -v id="$1" '$1 == id' "$T/run.out" |
        grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}' | tr T ' '
}

# bk_check_id: the last walship-basebackup printed exactly one line, a
# backup id, and it is the UTC start time (between $1 and now, unix seconds).
bk_check_id() {
    local t0=$1 lines t
    lines=$(grep -c '' "$T/run.out")
    check "[ '$lines' = 1 ] && grep -Eqx '[0-9]{8}T[0-9]{6}Z' '$T/run.out'" \
        "walship-basebackup printed exactly one line on stdout, a backup id ('$BK_ID', $lines line(s))"
    t=$(date -u -d "${BK_ID:0:4}-${BK_ID:4:2}-${BK_ID:6:2} ${BK_ID:9:2}:${BK_ID:11:2}:${BK_ID:13:2}" +%s 2>/dev/null)
    check "[ -n '$t' ] && [ '$t' -ge $((t0 - 1)) ] && [ '$t' -le $(date +%s) ]" \
        "the backup id $BK_ID is the UTC start time of the backup"
}

# bk_start DIR [CONF_LINE...]: start a recovered data directory on its own
# socket directory, archiving off (unless a CONF_LINE says otherwise).
bk_start() {
    local dir=$1 l sock
    shift
    sock=$(pg_sockdir "$dir")
    mkdir -p "$sock" && give_pg "$sock"
    {
        echo "# added by $WS_TEST_NAME to start the recovered cluster"
        echo "unix_socket_directories = '$sock'"
        echo "archive_mode = off"
        for l in "$@"; do echo "$l"; done
    } >> "$dir/postgresql.auto.conf"
    pg_start "$dir"
}

# bk_verify DIR: pg_verifybackup -n against the manifest walship-recover wrote.
bk_verify() {
    as_pg "$PGBIN/pg_verifybackup" -n -m "$1/backup_manifest" "$1" > "$T/verify.out" 2>&1
}

# bk_restore_command_ok DIR: DIR's postgresql.auto.conf has exactly one
# restore_command, calling walship-restore beside walship-recover with the
# absolute configuration file, %f %p.
bk_restore_command_ok() {
    local lines
    lines=$(grep -E '^[[:space:]]*restore_command[[:space:]]*=' "$1/postgresql.auto.conf")
    [ "$(printf '%s\n' "$lines" | grep -c .)" = 1 ] &&
        printf '%s' "$lines" | grep -qF "'$T/bin/walship-restore " &&
        printf '%s' "$lines" | grep -qF -- "--config=$WS_CONF " &&
        printf '%s' "$lines" | grep -qE "%f %p'[[:space:]]*\$"
}

# bk_conf_time_is DIR TIME: DIR's postgresql.auto.conf has one
# recovery_target_time, the same instant as TIME (it may be normalised).
bk_conf_time_is() {
    local v
    v=$(sed -n "s/^[[:space:]]*recovery_target_time[[:space:]]*=[[:space:]]*'\(.*\)'[[:space:]]*\$/\1/p" "$1/postgresql.auto.conf")
    [ "$(printf '%s\n' "$v" | grep -c .)" = 1 ] &&
        [ "$(date -d "$v" +%s.%N)" = "$(date -d "$2" +%s.%N)" ]
}

# absent_or_empty DIR
absent_or_empty() { [ ! -e "$1" ] || { [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; }; }

# tree_sig DIR: a signature of DIR's names, sizes, modes and contents.
tree_sig() {
    (cd "$1" 2>/dev/null && find . -printf '%p %s %m %l\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0r md5sum) | md5sum | cut -d' ' -f1
}

# timeline_of DIR: the server's current timeline, 8 hex digits, into $TL.
timeline_of() {
    sql "$1" "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"
    TL=$Q
}

# ---- the acceptance flow ---------------------------------------------------------

# backup_flow CONF_LINE...: a cluster archives through walship-archive into
# $BK_REPO (a fresh directory unless BK_REPO is set, e.g. to s3://...),
# configured by $WS_CONF (repo + CONF_LINE...); pgbench writes while
# walship-basebackup -c fast runs, then more load, a snapshot and a target
# time, then an accidental DELETE; walship-recover --target-time rebuilds a
# new data directory, pg_verifybackup checks it, it starts and must hold
# exactly the snapshot.
# Hooks: bk_check_repo ID (default: filesystem checks), bk_before_stop
# (while the source runs).  Leaves SRC, REC, BK_ID, TARGET, MARKER set.
backup_flow() {
    local t0 snap got pgpid sock n

    if [ -z "${BK_REPO:-}" ]; then
        BK_REPO=$T/repo
        mkdir "$BK_REPO" && give_pg "$BK_REPO"
    fi
    WS_CONF=$T/walship.conf
    SRC=$T/src
    REC=$T/recovered
    MARKER="walship-backup-plaintext-marker-$RANDOM$RANDOM-$$"
    bk_write_conf "$WS_CONF" "$BK_REPO" "$@" "pg_conninfo = '$(bk_conninfo "$SRC")'"

    info "source cluster archiving into $BK_REPO; pgbench -i -s 5"
    bk_init_src "$SRC"
    sock=$(pg_sockdir "$SRC")
    "$PGBIN/pgbench" -h "$sock" -U postgres -i -s 5 -q postgres > "$T/pgbench-init.out" 2>&1 ||
        { cat "$T/pgbench-init.out"; fail "pgbench -i"; }
    sql "$SRC" "create table marker (id int primary key, note text);
        insert into marker values (1, 'before the backup'), (2, '$MARKER')"
    sql "$SRC" "select count(*) from pgbench_accounts"
    check "[ '$Q' = 500000 ]" "pgbench_accounts has 500000 rows"
    bk_switch_wait "$SRC"
    pass "source archives through walship-archive ($BK_LAST_WAL)"

    info "walship-basebackup -c fast while pgbench -c 2 writes"
    "$PGBIN/pgbench" -h "$sock" -U postgres -n -c 2 -T 120 postgres > "$T/pgbench-bg.out" 2>&1 &
    pgpid=$!
    BK_BG_PIDS+=("$pgpid")
    sleep 1
    t0=$(date +%s)
    bk_backup -c fast
    check_rc 0 "walship-basebackup -c fast under load ($(( $(date +%s) - t0 )) s)"
    check "kill -0 $pgpid 2>/dev/null" "pgbench was still writing when the backup finished"
    bk_check_id "$t0"
    kill "$pgpid"
    wait "$pgpid"
    bk_forget "$pgpid"
    check "! grep -qi 'error' '$T/pgbench-bg.out'" "the background pgbench saw no error until it was stopped"
    if declare -F bk_check_repo > /dev/null; then
        bk_check_repo "$BK_ID"
    else
        check "[ -s '$BK_REPO/backups/$BK_ID/backup.info' ]" "$BK_REPO/backups/$BK_ID/backup.info exists"
        check "[ -s '$BK_REPO/backups/$BK_ID/base.tar.0' ] && [ -s '$BK_REPO/backups/$BK_ID/backup_manifest' ]" \
            "backups/$BK_ID has base.tar.0 and backup_manifest"
        n=$(find "$BK_REPO/backups/$BK_ID" -name 'base.tar.*' | wc -l)
        check "[ '$n' -ge 2 ]" "base.tar is split into $n parts (backup_part_size = 16MB)"
        check "[ -z \"\$(dotfiles '$BK_REPO')\" ]" "no temporary file left in the repository"
    fi

    bk_list
    check_rc 0 "walship-recover --list"
    check "[ \"\$(bk_list_field '$BK_ID' 2)\" = complete ]" "--list shows $BK_ID as complete"

    info "more load, then the target"
    "$PGBIN/pgbench" -h "$sock" -U postgres -n -c 2 -T 3 postgres > "$T/pgbench-2.out" 2>&1 ||
        { cat "$T/pgbench-2.out"; fail "pgbench after the backup"; }
    sql "$SRC" "select pg_switch_wal()"
    sql "$SRC" "insert into marker values (3, 'the last commit before the target')"
    sql "$SRC" "select now()"; TARGET=$Q
    sql "$SRC" "select (select count(*) from pgbench_accounts) || '|' ||
        (select md5(string_agg(aid || ':' || bid || ':' || abalance, ',' order by aid)) from pgbench_accounts) || '|' ||
        (select count(*) || ':' || coalesce(sum(delta), 0) from pgbench_history) || '|' ||
        (select md5(string_agg(tid || ':' || tbalance, ',' order by tid)) from pgbench_tellers) || '|' ||
        (select md5(string_agg(id || ':' || note, ',' order by id)) from marker)"
    snap=$Q
    sql "$SRC" "select count(*) from pgbench_history"
    check "[ '$Q' -gt 0 ]" "pgbench wrote history rows ($Q)"
    sql "$SRC" "select count(*) from pgbench_accounts where abalance <> 0"
    check "[ '$Q' -gt 0 ]" "pgbench changed account balances ($Q rows)"
    info "target time '$TARGET', snapshot $snap"
    sleep 1

    info "the accident: DELETE FROM pgbench_accounts WHERE aid % 10 = 0"
    sql "$SRC" "delete from pgbench_accounts where aid % 10 = 0"
    sql "$SRC" "select count(*) from pgbench_accounts"
    check "[ '$Q' = 450000 ]" "50000 accounts are gone from the source"
    sql "$SRC" "insert into marker values (4, 'after the accident')"
    bk_switch_wait "$SRC"
    pass "source archived through $BK_LAST_WAL"
    sql "$SRC" "select failed_count from pg_stat_archiver"
    check "[ '$Q' = 0 ]" "pg_stat_archiver.failed_count = 0"
    if declare -F bk_before_stop > /dev/null; then
        bk_before_stop
    fi
    pg_stop "$SRC"

    info "walship-recover --target-time='$TARGET' --target-action=promote -D $REC"
    bk_recover "$REC" --target-time="$TARGET" --target-action=promote
    check_rc 0 "walship-recover"
    check "out_has 'pg_ctl'" "walship-recover tells the next step (pg_ctl start)"
    check "[ -f '$REC/PG_VERSION' ] && [ -f '$REC/global/pg_control' ] && [ -f '$REC/backup_label' ]" \
        "the new data directory has PG_VERSION, global/pg_control and backup_label"
    check "[[ \"\$(stat -c %a '$REC')\" =~ ^7[05]0\$ ]]" "the new data directory is mode 0700 or 0750 ($(stat -c %a "$REC"))"
    check "[ \"\$(stat -c %U '$REC')\" = \"\$(as_pg id -un)\" ]" "the new data directory belongs to the PostgreSQL user"
    check "[ -f '$REC/recovery.signal' ] && [ ! -e '$REC/standby.signal' ]" "recovery.signal, no standby.signal"
    check "bk_restore_command_ok '$REC'" \
        "postgresql.auto.conf: restore_command = '<bin>/walship-restore --config=<conf> %f %p'"
    check "bk_conf_time_is '$REC' '$TARGET'" \
        "postgresql.auto.conf: recovery_target_time is the target ($TARGET)"
    check "grep -qE \"^recovery_target_action = '?promote'?\" '$REC/postgresql.auto.conf'" \
        "postgresql.auto.conf: recovery_target_action = promote"
    check "[ -s '$REC/backup_manifest' ]" "backup_manifest written into the data directory"
    if bk_verify "$REC"; then
        pass "pg_verifybackup -n -m $REC/backup_manifest $REC: $(tail -n 1 "$T/verify.out")"
    else
        cat "$T/verify.out"
        fail "pg_verifybackup -n rejects the recovered data directory"
    fi
    check "[ -z \"\$(find '$REC' -name '.*tmp*')\" ]" "no temporary file in the new data directory"

    bk_start "$REC"
    wait_not_in_recovery "$REC"
    pass "the recovered cluster reached the target and was promoted"
    sql "$REC" "select (select count(*) from pgbench_accounts) || '|' ||
        (select md5(string_agg(aid || ':' || bid || ':' || abalance, ',' order by aid)) from pgbench_accounts) || '|' ||
        (select count(*) || ':' || coalesce(sum(delta), 0) from pgbench_history) || '|' ||
        (select md5(string_agg(tid || ':' || tbalance, ',' order by tid)) from pgbench_tellers) || '|' ||
        (select md5(string_agg(id || ':' || note, ',' order by id)) from marker)"
    got=$Q
    check "[ '$got' = '$snap' ]" "the recovered data equals the snapshot at the target ($got)"
    sql "$REC" "select count(*) from pgbench_accounts where aid % 10 = 0"
    check "[ '$Q' = 50000 ]" "the 50000 deleted accounts are back"
    sql "$REC" "select count(*) from marker where id = 4"
    check "[ '$Q' = 0 ]" "nothing written after the target is there"
    timeline_of "$REC"
    check "[ '$TL' = 00000002 ]" "the recovered cluster is on timeline 2 ($TL)"
    check "grep -q 'walship-restore: restored \"' '$(pg_logfile "$REC")'" "recovery fetched WAL with walship-restore"
    check "grep -q 'recovery stopping before commit of transaction' '$(pg_logfile "$REC")'" \
        "recovery stopped before the first commit after the target"
    check "! grep -q 'walship-restore: error' '$(pg_logfile "$REC")'" "no walship-restore error in the recovered cluster's log"
    sql "$REC" "insert into marker values (100, 'written after promotion')"
    pass "the recovered cluster accepts writes"
    pg_stop "$REC"
}

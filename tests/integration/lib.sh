# lib.sh — helpers sourced by tests/integration/t_*.sh.
#
# Each test gets its own temporary directory $T (mode 0755) holding copies of
# the binaries under test ($T/bin), its data directories, socket directories
# and logs, so tests can run in parallel under `ctest -j2`.  PostgreSQL
# refuses to run as root: when root, every PostgreSQL command runs as the
# unprivileged user pgtest (created if missing); otherwise commands run
# directly.  Servers listen only on a Unix socket in a directory under $T.
#
# Everything started here is stopped (by pid) and $T removed in the EXIT trap,
# also on failure.  Set WS_KEEP=1 to keep $T for debugging.
#
# Conventions: `check COND MSG` evaluates COND; `fail MSG` prints MSG and the
# diagnostics (last walship command's output, server log tails) and exits 1;
# `skip MSG` exits 77 (ctest SKIP_RETURN_CODE); `ws_summary` prints the count.

set -u
set -o pipefail

WS_TEST_NAME=$(basename "${0:-test}" .sh)
WS_CHECKS=0
WS_T0=$(date +%s%N)
WS_STARTED=()          # data directories with a running server
WS_MOUNTS=()           # mount points to unmount on exit
WS_LOGS=()             # server logs, tailed on failure
WS_PG_USER=pgtest
T=""

# Nothing from the caller's environment may change what a test checks.
for _v in $(env | sed -n 's/^\(WALSHIP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$_v"; done
unset _v PGHOST PGPORT PGUSER PGDATABASE PGDATA PGOPTIONS PGSERVICE

say()  { printf '%s\n' "$*"; }
info() { printf -- '-- %s\n' "$*"; }

# ---- failure and diagnostics ------------------------------------------------

ws_diagnostics() {
    if [ -n "$T" ] && [ -f "$T/run.cmd" ]; then
        say "---- last command: $(cat "$T/run.cmd") (exit ${RC:-?})"
        say "---- its stdout:"; tail -n 40 "$T/run.out" 2>/dev/null
        say "---- its stderr (walship):"; tail -n 40 "$T/run.err" 2>/dev/null
    fi
    local log
    for log in "${WS_LOGS[@]}"; do
        [ -f "$log" ] || continue
        say "---- tail of server log $log:"
        tail -n 60 "$log"
    done
}

fail() {
    say "FAIL: $WS_TEST_NAME: $*"
    ws_diagnostics
    say "FAIL: $WS_TEST_NAME: $* (after $WS_CHECKS passed checks)"
    exit 1
}

skip() {
    say "SKIP: $WS_TEST_NAME: $*"
    exit 77
}

pass() {
    WS_CHECKS=$((WS_CHECKS + 1))
    printf 'ok %d - %s\n' "$WS_CHECKS" "$*"
}

# check COND MSG: COND is evaluated by the shell (eval).
check() {
    local cond=$1; shift
    if eval "$cond"; then
        pass "$*"
    else
        fail "$* (condition failed: $cond)"
    fi
}

ws_summary() {
    local ms=$(( ($(date +%s%N) - WS_T0) / 1000000 ))
    printf 'PASS: %s: %d checks passed in %d.%01d s\n' "$WS_TEST_NAME" "$WS_CHECKS" \
        $((ms / 1000)) $((ms % 1000 / 100))
}

# ---- running walship ------------------------------------------------------------

# run CMD...: run, capturing stdout/stderr in $T/run.out / $T/run.err; sets RC.
run() {
    printf '%q ' "$@" > "$T/run.cmd"
    "$@" > "$T/run.out" 2> "$T/run.err"
    RC=$?
    return 0
}

out_has() { grep -qF -- "$1" "$T/run.out"; }
err_has() { grep -qF -- "$1" "$T/run.err"; }
err_empty() { [ ! -s "$T/run.err" ]; }

# check_rc EXPECTED MSG
check_rc() {
    local want=$1; shift
    check "[ \"\$RC\" -eq $want ]" "$* (exit $want)"
}

# check_rc_retryable MSG: an archive_command failure must stay in 1..125.
check_rc_retryable() {
    check '[ "$RC" -ge 1 ] && [ "$RC" -le 125 ]' "$* (exit $RC, in 1..125)"
}

# ---- environment -------------------------------------------------------------

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_pg CMD...: run as the unprivileged PostgreSQL user when root.
as_pg() {
    if is_root; then
        runuser -u "$WS_PG_USER" -- "$@"
    else
        "$@"
    fi
}

# give_pg PATH...: make PATH owned by the PostgreSQL user (no-op if not root).
give_pg() {
    if is_root; then
        chown -R "$WS_PG_USER:" "$@" || fail "chown $*"
    fi
}

ws_find_pgbin() {
    local d
    for d in "${PGBIN:-}" /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null)"; do
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ] &&
            [ -x "$d/pg_basebackup" ] && [ -x "$d/pg_controldata" ]; then
            PGBIN=$d
            return 0
        fi
    done
    return 1
}

# ws_setup sets PG_MAJOR (15, 18) from $PGBIN/postgres --version.
# ws_find_pg18: PG18BIN = the PostgreSQL 18 that scripts/install-pg18.sh
# built (or $WS_PG18_BIN); 1 if there is none.
ws_find_pg18() {
    local d
    for d in "${WS_PG18_BIN:-}" "${WS_PG18_CACHE:-/var/cache/walship}/pg18/bin"; do
        if [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] &&
            [ -x "$d/psql" ] && "$d/postgres" --version 2>/dev/null | grep -q ' 18\.'; then
            PG18BIN=$d
            return 0
        fi
    done
    return 1
}

ws_cleanup() {
    local rc=$? d pid i m
    trap - EXIT
    for d in "${WS_STARTED[@]}"; do
        pid=$(head -n 1 "$d/postmaster.pid" 2>/dev/null)
        [ -n "$pid" ] || continue
        kill -INT "$pid" 2>/dev/null || continue    # SIGINT = fast shutdown
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -QUIT "$pid" 2>/dev/null
    done
    for m in "${WS_MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${WS_KEEP:-0}" = 1 ]; then
            say "WS_KEEP=1: keeping $T"
        else
            # permission tests may leave unreadable directories behind
            chmod -R u+rwX "$T" 2>/dev/null
            rm -rf "$T"
        fi
    fi
    exit "$rc"
}

# ws_setup: $T, pgtest user, binaries in $T/bin.  Call first.
ws_setup() {
    local build=${WS_BUILD_DIR:-}
    if [ -z "$build" ]; then
        build=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build
    fi
    # WS_PG_MAJOR=18 (the integration/pg18/* ctest entries): run the same
    # test against the PostgreSQL 18 build, or skip when there is none.
    if [ "${WS_PG_MAJOR:-}" = 18 ]; then
        ws_find_pg18 || skip "no PostgreSQL 18 build (run scripts/install-pg18.sh, or set WS_PG18_BIN)"
        PGBIN=$PG18BIN
    fi
    ws_find_pgbin || skip "PostgreSQL server binaries (initdb, pg_ctl, psql, pg_basebackup) not found; install postgresql-15 or set PGBIN"
    PG_MAJOR=$("$PGBIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\.[0-9].*/\1/p')
    if [ -n "${WS_PG_MAJOR:-}" ] && [ "$PG_MAJOR" != "$WS_PG_MAJOR" ]; then
        say "FAIL: $WS_TEST_NAME: WS_PG_MAJOR=$WS_PG_MAJOR but $PGBIN/postgres is PostgreSQL ${PG_MAJOR:-?}"
        exit 1
    fi
    [ -x "$build/walship-archive" ] && [ -x "$build/walship-restore" ] ||
        { say "FAIL: $WS_TEST_NAME: walship binaries not found in $build (build first, or set WS_BUILD_DIR)"; exit 1; }

    if is_root; then
        if ! id -u "$WS_PG_USER" >/dev/null 2>&1; then
            useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$WS_PG_USER" ||
                skip "cannot create user $WS_PG_USER to run PostgreSQL as non-root"
        fi
        command -v runuser >/dev/null || skip "runuser not found (needed to run PostgreSQL as $WS_PG_USER)"
    fi

    T=$(mktemp -d "/tmp/ws.$WS_TEST_NAME.XXXXXX") || { say "FAIL: mktemp"; exit 1; }
    trap ws_cleanup EXIT
    trap 'exit 130' INT TERM
    chmod 755 "$T"
    give_pg "$T"
    cd "$T" || fail "cd $T"
    mkdir "$T/bin"
    cp "$build/walship-archive" "$build/walship-restore" "$T/bin/" || fail "copy binaries"
    local b
    for b in walship-basebackup walship-recover walship; do
        [ -x "$build/$b" ] && { cp "$build/$b" "$T/bin/" || fail "copy $b"; }
    done
    chmod 755 "$T/bin" "$T/bin"/walship*
    WS_ARCHIVE=$T/bin/walship-archive
    WS_RESTORE=$T/bin/walship-restore
    WS_BASEBACKUP=$T/bin/walship-basebackup
    WS_RECOVER=$T/bin/walship-recover
    WS_OPS=$T/bin/walship
    info "test dir $T, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') from $PGBIN, $(id -un)"
}

# ---- PostgreSQL ------------------------------------------------------------------

pg_sockdir() { printf '%s/sock.%s' "$T" "$(basename "$1")"; }
pg_logfile() { printf '%s/%s.log' "$T" "$(basename "$1")"; }

# pg_init DIR [CONF_LINE...]: initdb (plus $PG_INITDB_OPTS, split on blanks);
# socket-only; extra lines appended.
pg_init() {
    local dir=$1; shift
    local sock line
    sock=$(pg_sockdir "$dir")
    mkdir -p "$sock" && give_pg "$sock"
    # shellcheck disable=SC2086
    as_pg "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
        ${PG_INITDB_OPTS:-} > "$T/initdb.$(basename "$dir").out" 2>&1 ||
        { cat "$T/initdb.$(basename "$dir").out"; fail "initdb $dir"; }
    {
        echo "# added by $WS_TEST_NAME"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$sock'"
        echo "wal_level = replica"
        echo "max_wal_senders = 4"
        echo "fsync = off"
        echo "shared_buffers = 32MB"
        for line in "$@"; do echo "$line"; done
    } >> "$dir/postgresql.conf"
}

# pg_start DIR: start, wait for connections (or end of startup).
pg_start() {
    local dir=$1 log
    log=$(pg_logfile "$dir")
    WS_LOGS+=("$log")
    touch "$log" && give_pg "$log"
    WS_STARTED+=("$dir")
    as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$log" -w -t 90 start > "$T/pg_ctl.out" 2>&1 ||
        { cat "$T/pg_ctl.out"; fail "could not start server in $dir"; }
}

pg_stop() {
    local dir=$1 i
    as_pg "$PGBIN/pg_ctl" -D "$dir" -w -t 60 -m fast stop > "$T/pg_ctl.out" 2>&1 ||
        { cat "$T/pg_ctl.out"; fail "could not stop server in $dir"; }
    for i in "${!WS_STARTED[@]}"; do
        [ "${WS_STARTED[$i]}" = "$dir" ] && unset 'WS_STARTED[i]'
    done
}

# psql_at DIR SQL: one query, unaligned tuples only, on stdout; nonzero on
# error (for use in $(...), where fail would only leave the subshell).
psql_at() {
    "$PGBIN/psql" -X -h "$(pg_sockdir "$1")" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -Atc "$2"
}

# sql DIR SQL: psql_at into $Q; fails the test on error.
sql() {
    Q=$(psql_at "$1" "$2" 2> "$T/psql.err") ||
        { cat "$T/psql.err"; fail "query failed on $1: $2"; }
}

# wait_archived DIR SEGNAME: pg_stat_archiver.last_archived_wal >= SEGNAME (60 s).
wait_archived() {
    local dir=$1 seg=$2 last i
    for i in $(seq 600); do
        sql "$dir" "select coalesce(last_archived_wal, '') from pg_stat_archiver"
        last=$Q
        if [ -n "$last" ] && { [[ "$last" > "$seg" ]] || [ "$last" = "$seg" ]; }; then
            return 0
        fi
        sleep 0.1
    done
    sql "$dir" "select * from pg_stat_archiver"
    say "pg_stat_archiver: $Q"
    fail "WAL file $seg was not archived within 60 s (last archived: ${last:-none})"
}

# wait_not_in_recovery DIR: poll pg_is_in_recovery() until false (60 s).
wait_not_in_recovery() {
    local dir=$1 i
    for i in $(seq 600); do
        sql "$dir" "select pg_is_in_recovery()"
        [ "$Q" = f ] && return 0
        sleep 0.1
    done
    fail "$dir is still in recovery after 60 s"
}

system_identifier() {
    "$PGBIN/pg_controldata" "$1" | sed -n 's/^Database system identifier: *//p'
}

# ---- files ---------------------------------------------------------------------

# flip_byte FILE OFFSET: invert one byte in place.
flip_byte() {
    local f=$1 off=$2 b
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    [ -n "$b" ] || fail "flip_byte: no byte at $off in $f"
    printf "\\$(printf '%03o' $((b ^ 255)))" |
        dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none || fail "flip_byte $f"
}

file_size() { stat -c %s "$1"; }

# dotfiles DIR: temporary files (names starting with '.') left anywhere in DIR.
dotfiles() { find "$1" -mindepth 1 -name '.*' 2>/dev/null; }

# try_mount_tmpfs DIR SIZE: 0 if mounted (and registered for unmount).
try_mount_tmpfs() {
    local dir=$1 size=$2
    is_root || return 1
    mkdir -p "$dir"
    mount -t tmpfs -o "size=$size,mode=0755" tmpfs "$dir" 2> "$T/mount.err" || return 1
    WS_MOUNTS+=("$dir")
    return 0
}

# ---- the PITR acceptance flow --------------------------------------------------

# pitr_flow CONF_LINE...: archive from a live cluster into a fresh filesystem
# repository configured by $T/walship.conf (repo + CONF_LINE...), take a base
# backup, write, record a target time and a snapshot, "accidentally" delete
# rows, then restore the base backup with walship-restore up to the target
# and check the data.  MARKER is a distinctive string in one row.  Calls
# pitr_before_stop, if defined, while the source still runs.  Leaves SRC,
# REST, REPO, WS_CONF, TARGET and MARKER set (both servers stopped).
# Another kind of repository (e.g. s3://...): set PITR_REPO to it and define
# pitr_check_repo LAST_WAL_NAME, which replaces the filesystem checks of the
# repository's contents.  Another way of archiving (the archive module): set
# PITR_ARCHIVE_CONF to an array name whose postgresql.conf lines replace the
# archive_command line (the configuration is $T/walship.conf), and PITR_ARCHIVED_LOG to the
# server log text that precedes the archived name ("walship-archive: archived").
pitr_flow() {
    local sock last snap snap3 got got3 log rlog nrestored objdir l
    local -a archive_conf
    local archived_log=${PITR_ARCHIVED_LOG:-walship-archive: archived}

    REPO=${PITR_REPO:-$T/repo}
    WS_CONF=$T/walship.conf
    SRC=$T/src
    REST=$T/restored
    MARKER="walship-plaintext-marker-$RANDOM$RANDOM-$$"
    if [ -z "${PITR_REPO:-}" ]; then
        mkdir "$REPO" && give_pg "$REPO"
    fi
    {
        echo "# walship configuration for $WS_TEST_NAME"
        echo "repo = $REPO"
        for l in "$@"; do echo "$l"; done
    } > "$WS_CONF"
    chmod 600 "$WS_CONF" && give_pg "$WS_CONF"

    if [ -n "${PITR_ARCHIVE_CONF:-}" ]; then
        local -n _pitr_conf=$PITR_ARCHIVE_CONF
        archive_conf=("${_pitr_conf[@]}")
    else
        archive_conf=("archive_command = '$WS_ARCHIVE --config=$WS_CONF %p %f'")
    fi
    info "source cluster: ${archive_conf[*]}, config: $*"
    pg_init "$SRC" "archive_mode = on" "${archive_conf[@]}"
    pg_start "$SRC"
    sock=$(pg_sockdir "$SRC")
    log=$(pg_logfile "$SRC")

    sql "$SRC" "create table t (id int primary key, val text);
        insert into t select g, md5(g::text) from generate_series(1, 10000) g;
        insert into t values (1000001, '$MARKER')"
    sql "$SRC" "select count(*) from t"
    check "[ '$Q' = 10001 ]" "source has 10001 rows"

    info "base backup (pg_basebackup -X none -c fast)"
    "$PGBIN/pg_basebackup" -h "$sock" -U postgres -D "$T/base" -X none -c fast \
        > "$T/basebackup.out" 2>&1 || { cat "$T/basebackup.out"; fail "pg_basebackup"; }
    check "[ -f '$T/base/backup_label' ] && [ -f '$T/base/global/pg_control' ]" \
        "base backup has backup_label and pg_control"

    info "writes after the backup, across WAL switches"
    sql "$SRC" "insert into t select g, md5(g::text) from generate_series(10001, 15000) g;
        update t set val = md5(val) where id % 7 = 0"
    sql "$SRC" "select pg_switch_wal()"
    sql "$SRC" "insert into t select g, md5((g * 3)::text) from generate_series(15001, 20000) g;
        update t set val = val || 'u' where id % 11 = 0;
        delete from t where id between 19000 and 19100"
    sql "$SRC" "select pg_switch_wal()"
    sql "$SRC" "insert into t values (1000002, 'last row before the target')"

    sleep 0.3
    sql "$SRC" "select now()"; TARGET=$Q
    sql "$SRC" "select count(*), md5(string_agg(id::text || ':' || val, ',' order by id)) from t"
    snap=$Q
    sql "$SRC" "select count(*) from t where id % 3 = 0"; snap3=$Q
    info "target time '$TARGET': snapshot count|md5 = $snap, rows with id % 3 = 0: $snap3"
    check "[ '$snap3' -gt 0 ]" "snapshot has rows with id % 3 = 0"
    sleep 1

    info "the accident: DELETE FROM t WHERE id % 3 = 0, then more writes"
    sql "$SRC" "delete from t where id % 3 = 0"
    sql "$SRC" "select count(*) from t where id % 3 = 0"
    check "[ '$Q' = 0 ]" "rows with id % 3 = 0 are gone from the source"
    sql "$SRC" "insert into t select g, 'after the accident' from generate_series(20001, 22000) g;
        update t set val = 'changed after the accident' where id % 5 = 0"
    sql "$SRC" "select pg_walfile_name(pg_switch_wal())"; last=$Q
    info "waiting for $last to be archived"
    wait_archived "$SRC" "$last"
    pass "source archived through $last"
    sql "$SRC" "select failed_count from pg_stat_archiver"
    check "[ '$Q' = 0 ]" "pg_stat_archiver.failed_count = 0"
    if declare -F pitr_check_repo > /dev/null; then
        pitr_check_repo "$last"
    else
        objdir=$REPO/wal/00000001/0000000100000000
        check "[ -f '$REPO/walship.repo' ] && [ -s '$objdir/$last' ]" \
            "repository has walship.repo and object wal/00000001/0000000100000000/$last"
    fi
    check "grep -q '$archived_log \"$last\"' '$log'" \
        "server log has the line '$archived_log \"$last\"'"
    if [ -z "${PITR_REPO:-}" ]; then
        check "[ -z \"\$(dotfiles '$REPO')\" ]" "no temporary files left in the repository"
    fi
    # a test may look at the live source here (define pitr_before_stop)
    if declare -F pitr_before_stop > /dev/null; then
        pitr_before_stop
    fi
    pg_stop "$SRC"

    info "restore the base backup to the target time"
    cp -a "$T/base" "$REST" || fail "copy base backup"
    give_pg "$REST"
    chmod 700 "$REST"
    mkdir -p "$(pg_sockdir "$REST")" && give_pg "$(pg_sockdir "$REST")"
    {
        echo "# added by $WS_TEST_NAME for the restore"
        echo "restore_command = '$WS_RESTORE --config=$WS_CONF %f %p'"
        echo "recovery_target_time = '$TARGET'"
        echo "recovery_target_action = 'promote'"
        echo "unix_socket_directories = '$(pg_sockdir "$REST")'"
        echo "archive_mode = off"
    } >> "$REST/postgresql.auto.conf"
    touch "$REST/recovery.signal" && give_pg "$REST/recovery.signal"
    pg_start "$REST"
    wait_not_in_recovery "$REST"
    pass "restored cluster finished recovery and was promoted"
    rlog=$(pg_logfile "$REST")

    sql "$REST" "select count(*), md5(string_agg(id::text || ':' || val, ',' order by id)) from t"
    got=$Q
    sql "$REST" "select count(*) from t where id % 3 = 0"; got3=$Q
    check "[ '$got' = '$snap' ]" "restored count|md5 '$got' equals the target snapshot"
    check "[ '$got3' -gt 0 ] && [ '$got3' = '$snap3' ]" \
        "the deleted rows are back ($got3 rows with id % 3 = 0, snapshot $snap3)"
    sql "$REST" "select count(*) from t where id > 20000 and id < 1000000 or val like '%after the accident%'"
    check "[ '$Q' = 0 ]" "no write from after the target is present"
    nrestored=$(grep -c 'walship-restore: restored "' "$rlog")
    check "[ '$nrestored' -ge 3 ]" "restored cluster's log has $nrestored 'restored' lines from walship-restore"
    check "grep -q 'recovery stopping before commit of transaction' '$rlog'" \
        "recovery stopped before the first commit after the target"
    check "grep -q 'selected new timeline ID: 2' '$rlog'" "promoted to timeline 2"
    check "! grep -q 'walship-restore: error' '$rlog'" "no walship-restore error in the restored log"
    check "! grep -q 'walship-archive: error' '$log'" "no walship-archive error in the source log"
    check "[ -z \"\$(find '$REST/pg_wal' -name '*walship-tmp*')\" ]" \
        "no walship temporary file left in pg_wal"
    sql "$REST" "insert into t values (2000000, 'written after promotion')"
    pass "restored cluster accepts writes"
    pg_stop "$REST"
}

# t_ops_drill_encrypted.sh — `walship drill` on an encrypted repository
# (aes-256-gcm, passphrase file): the drill's server fetches WAL through
# walship-restore with the same configuration, so the passphrase reaches it
# without ever being on a command line; a check and a selective query pass;
# a wrong passphrase is refused (5) with nothing left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
SRC=$T/src
DT=$T/drilltmp
mkdir "$DT" && give_pg "$DT"
PASSPHRASE="drill-secret-$RANDOM$RANDOM-passphrase"
printf '%s\n' "$PASSPHRASE" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"
bk_write_conf "$WS_CONF" "$BK_REPO" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "pg_conninfo = '$(bk_conninfo "$SRC")'" \
    "drill_tmpdir = '$DT'" "drill_timeout = 120"
# A drill server of this test: a postgres process whose working directory
# (every PostgreSQL process runs in its data directory) is under $DT.  Not
# "ps | grep walship-drill": other drill tests may run at the same time.
drill_server_running() {
    local p
    for p in $(pgrep -x postgres 2>/dev/null); do
        case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$DT"/*) return 0 ;; esac
    done
    return 1
}
drill() { run as_pg "$WS_OPS" drill --config="$WS_CONF" "$@"; }
clean_after() {
    check "[ -z \"\$(ls -A '$DT')\" ]" "$1: the drill directory is gone"
    check "! drill_server_running" "$1: no drill server left running"
}

bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
bk_backup -c fast
check_rc 0 "walship-basebackup into the encrypted repository"
sql "$SRC" "create table after_backup as select g from generate_series(1, 500) g"
bk_switch_wait "$SRC"

drill --check 'accounts | = 100000 | SELECT count(*) FROM pgbench_accounts' \
    --check 'replayed WAL | = 500 | SELECT count(*) FROM after_backup'
check_rc 0 "drill on the encrypted repository"
check "[ \"\$(grep -c '^check    OK' '$T/run.out')\" = 2 ]" "both checks pass (the WAL after the backup was replayed)"
check "! grep -rqF '$PASSPHRASE' '$T/run.out' '$T/run.err'" "the passphrase appears in no output"
clean_after "encrypted drill"

drill --sql "SELECT count(*) FROM after_backup"
check_rc 0 "selective query on the encrypted repository"
check "[ \"\$(cat '$T/run.out')\" = \"\$(printf 'count\\n500')\" ]" "its CSV on stdout"
clean_after "encrypted query"

printf 'not-the-passphrase\n' > "$T/wrongpass"
chmod 600 "$T/wrongpass" && give_pg "$T/wrongpass"
drill --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "a wrong passphrase exits 5 (authentication failed)"
check "grep -qi 'passphrase' '$T/run.err'" "the message says the passphrase is wrong"
clean_after "wrong passphrase"

pg_stop "$SRC"
ws_summary

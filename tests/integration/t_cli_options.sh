# t_cli_options.sh — the command line every executable shares, run directly
# (no server): command-line aliases of configuration keys (-d, -D, -j,
# --wal-timeout) are settings from the command line, as --print-config
# must say; "--" ends the options; --help lists the exit statuses from the
# one table and names docs/exit-codes.md.
. "$(dirname "$0")/lib.sh"

ws_setup
REPO=$T/repo
mkdir "$REPO"
printf 'repo = %s\npg_conninfo = host=from-file\nrecover_jobs = 2\n' "$REPO" > "$T/c.conf"
chmod 600 "$T/c.conf"

# print_source KEY: "# ..." of KEY's line in the last --print-config output
print_source() { sed -n "s/^$1 = .*# //p" "$T/run.out"; }

info "walship-basebackup: -d and --wal-timeout set pg_conninfo and backup_wal_timeout"
for form in "-d host=x" "-dhost=x" "--dbname=host=x" "--dbname host=x" "--pg_conninfo=host=x"; do
    # shellcheck disable=SC2086
    run "$WS_BASEBACKUP" --config="$T/c.conf" $form --print-config
    check_rc 0 "walship-basebackup $form --print-config"
    check "out_has \"pg_conninfo = 'host=x'\"" "$form: pg_conninfo is host=x"
    check "[ \"\$(print_source pg_conninfo)\" = 'command line' ]" \
        "$form: pg_conninfo's source is the command line (was: $(print_source pg_conninfo))"
done
run "$WS_BASEBACKUP" --config="$T/c.conf" --wal-timeout=5 --print-config
check "out_has \"backup_wal_timeout = '5'\" && [ \"\$(print_source backup_wal_timeout)\" = 'command line' ]" \
    "--wal-timeout=5: backup_wal_timeout 5 from the command line"
run "$WS_BASEBACKUP" --config="$T/c.conf" --wal-timeout=soon
check_rc 2 "--wal-timeout=soon"
check "err_has 'wal-timeout' && err_has 'soon'" "the message names the option and the value"

info "walship-recover: -D and -j set pgdata and recover_jobs"
run "$WS_RECOVER" --config="$T/c.conf" -D "$T/target" -j 8 --print-config
check_rc 0 "walship-recover -D DIR -j 8 --print-config"
check "out_has \"pgdata = '$T/target'\" && [ \"\$(print_source pgdata)\" = 'command line' ]" \
    "-D: pgdata from the command line"
check "out_has \"recover_jobs = '8'\" && [ \"\$(print_source recover_jobs)\" = 'command line' ]" \
    "-j 8 beats the file's recover_jobs = 2, from the command line"
run "$WS_RECOVER" --config="$T/c.conf" -D "$T/target" --jobs=0
check_rc 2 "--jobs=0"
check "err_has 'jobs' && err_has '1 .. 64'" "the message names the option and the range"

info "\"--\" ends the options"
run "$WS_ARCHIVE" --config="$T/c.conf" -- "$T/no-such-file" 000000010000000000000001
check "! err_has 'unrecognized'" "walship-archive -- PATH NAME: -- is not an unrecognized option"
run "$WS_RECOVER" --config="$T/c.conf" -D "$T/target" -- --list
check_rc 2 "walship-recover ... -- --list"
check "err_has 'unrecognized argument \"--list\"'" "after --, --list is an argument"

info "--help: exit statuses from the table, not typed into each usage text"
for b in "$WS_ARCHIVE" "$WS_RESTORE" "$WS_BASEBACKUP" "$WS_RECOVER"; do
    run "$b" --help
    check "[ \"\$RC\" = 0 ] && out_has 'Exit status: 0 ' && out_has '(docs/exit-codes.md).'" \
        "$(basename "$b") --help lists the exit statuses and names docs/exit-codes.md"
done
run "$WS_RESTORE" --help
check "out_has '1 not in the archive' && out_has '150 configuration or usage error' && out_has 'with standby.signal'" \
    "walship-restore --help: not found, the fatal statuses and the standby exception"
run "$WS_BASEBACKUP" --help
check "out_has '128+N stopped by signal N'" "walship-basebackup --help: the signal statuses"

ws_summary

# s3_ops_metrics.sh — `walship metrics` on an encrypted S3 repository: the
# counters live in the bucket (state/backup/), so two backups give attempts
# 2 and success 2 and a backup against a stopped server adds an attempt and
# a failure; the output passes promtext.py (and promtool when installed);
# the object count matches an independent listing (curl); walship verify's
# result (an encrypted walship object, state/verify) shows; verify --sample
# reads the newest backup whole and fewer objects in all.
# Runs against s3rver behind the SigV4-verifying proxy and against Ceph RGW.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_require
bk_trap
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (for the text-format check)"
PROMTEXT=$(dirname "$0")/promtext.py
PROMTOOL=$(command -v promtool || true)
[ -n "$PROMTOOL" ] || info "promtool not found (Debian package prometheus): only promtext.py checks the format"
SRC=$T/src
WS_CONF=$T/walship.conf
P=$S3T_PREFIX
printf 'metrics-secret-%s\n' "$RANDOM$RANDOM" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"
s3_write_conf "$WS_CONF" "$S3T_REPO" "compression = zstd" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "pg_conninfo = '$(bk_conninfo "$SRC")'"

metrics() {
    M=$T/m.prom
    run as_pg "$WS_OPS" metrics --config="$WS_CONF" "$@"
    check_rc 0 "walship metrics $*"
    cp "$T/run.out" "$M"
    check "python3 '$PROMTEXT' '$M' > /dev/null 2> '$T/promtext.err'" \
        "the output passes the strict text-format check ($(head -c 300 "$T/promtext.err"))"
    if [ -n "$PROMTOOL" ]; then
        check "'$PROMTOOL' check metrics < '$M' > '$T/promtool.out' 2>&1" \
            "promtool check metrics accepts it ($(head -c 300 "$T/promtool.out"))"
    fi
}
val() { python3 "$PROMTEXT" "$M" "$1" 2> /dev/null; }
is() { check "[ \"\$(val '$1')\" = '$2' ]" "$1 is $2 (it is $(val "$1"))"; }

info "a cluster archiving into $S3T_REPO, two backups"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast (1)"
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast (2)"
ID2=$BK_ID
bk_switch_wait "$SRC"
metrics
is backup_attempts_total 2
is backup_success_total 2
is 'walship_backups{status="complete"}' 2
check "[ \"\$(s3_list "$P" | grep -c '^state/backup/.*\\.success\$')\" = 2 ]" "two .success records in the bucket"
check "[ \"\$(s3_list "$P" | grep -c '^state/backup/.*\\.running\$')\" = 0 ]" "no .running record left"
is walship_repository_objects "$(s3_list "$P" | grep -c .)"

info "a backup against a stopped server: an attempt and a failure"
pg_stop "$SRC"
bk_backup -c fast
check "[ '$RC' -ne 0 ]" "walship-basebackup fails with the server stopped (exit $RC)"
metrics
is backup_attempts_total 3
is backup_success_total 2
is walship_backup_failures_total 1

info "walship verify's result, encrypted in the bucket"
run as_pg "$WS_OPS" verify --config="$WS_CONF" -j 4
check_rc 0 "walship verify -j 4: sound"
ALL=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
check "s3_list '$P' | grep -qx state/verify" "state/verify is in the bucket"
s3_get "$P" state/verify "$T/verify.obj" > /dev/null
check "! grep -q 'result' '$T/verify.obj'" "its text is not readable in the bucket (encrypted)"
metrics
is walship_verify_last_success 1
is walship_verify_damaged_objects 0
run as_pg "$WS_OPS" verify --config="$WS_CONF" --sample 20 --seed 3
check_rc 0 "walship verify --sample 20 --seed 3"
S=$(sed -n 's/^verified \([0-9]*\) objects.*/\1/p' "$T/run.out")
NB=$(s3_list "$P" | grep -c "^backups/$ID2/" || true)
check "[ '$S' -lt '$ALL' ] && [ '$S' -ge $((NB - 1)) ]" \
    "the sample reads fewer objects ($S < $ALL), at least the newest backup's $((NB - 1))"

s3_summary

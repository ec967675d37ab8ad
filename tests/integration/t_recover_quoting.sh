# t_recover_quoting.sh — walship-recover writes a restore_command that
# PostgreSQL reads back exactly, whatever the paths hold.  The configuration
# file, the repository and the walship binaries live in a directory whose
# name holds a single quote, a backslash, percent signs (one before a
# blank, one before f, which PostgreSQL would take for %f), blanks and a
# dollar sign.  After a base backup, walship-recover --config=<that file>
# must write a postgresql.auto.conf from which `postgres -C restore_command`
# prints exactly the intended command (words quoted for /bin/sh, every
# literal % doubled, then " %f %p"), and the server must start, replay the
# archived WAL through that command and hold the data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
# the literal name is: o'br\ien 100% %file $HOME
W="$T/o'br\\ien 100% %file \$HOME"
SRC=$T/src
REC=$T/recovered
mkdir -p "$W/bin" "$W/repo" || fail "mkdir $W"
cp "$WS_RECOVER" "$WS_RESTORE" "$W/bin/" || fail "copy binaries into $W/bin"
chmod 755 "$W" "$W/bin" "$W/bin"/walship-*
give_pg "$W"

# walship's configuration syntax: '...' with ' doubled and \ escaped
ws_conf_quote() {
    local s=${1//\\/\\\\}
    s=${s//\'/\'\'}
    printf "'%s'" "$s"
}
W_CONF=$W/walship.conf
{
    echo "# walship configuration for $WS_TEST_NAME, in an awkward directory"
    echo "repo = $(ws_conf_quote "$W/repo")"
    echo "compression = zstd"
} > "$W_CONF"
chmod 600 "$W_CONF" && give_pg "$W_CONF"
# the archiving side reads the same repository through a plainly named file
{
    echo "# walship configuration for $WS_TEST_NAME (archive, base backup)"
    echo "repo = $(ws_conf_quote "$W/repo")"
    echo "compression = zstd"
} > "$WS_CONF"
chmod 600 "$WS_CONF" && give_pg "$WS_CONF"

info "source cluster archiving into '$W/repo'; a base backup"
bk_init_src "$SRC"
sql "$SRC" "create table t (id int primary key, note text);
    insert into t select g, 'before the backup ' || g from generate_series(1, 1000) g"
bk_switch_wait "$SRC"
bk_backup -d "$(bk_conninfo "$SRC")" -c fast
check_rc 0 "walship-basebackup into the repository under the awkward directory"
sql "$SRC" "insert into t select g, 'after the backup ' || g from generate_series(1001, 1500) g"
sql "$SRC" "select count(*) || ':' || md5(string_agg(id || ':' || note, ',' order by id)) from t"
SNAP=$Q
bk_switch_wait "$SRC"
pg_stop "$SRC"

info "walship-recover --config='$W_CONF' -D $REC (from '$W/bin')"
run as_pg "$W/bin/walship-recover" --config="$W_CONF" -D "$REC"
check_rc 0 "walship-recover with the awkward --config"

# The intended command, computed here independently of walship: each word in
# single quotes for /bin/sh with ' written '\'', every % doubled (PostgreSQL
# replaces %p, %f, %r and %% in restore_command), then the real placeholders.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
abs_conf=$(realpath "$W_CONF") || fail "realpath $W_CONF"
words="$(sh_quote "$W/bin/walship-restore") $(sh_quote "--config=$abs_conf")"
want="${words//%/%%} %f %p"

run as_pg "$PGBIN/postgres" -C restore_command -D "$REC"
check_rc 0 "postgres -C restore_command reads the recovered postgresql.auto.conf"
got=$(cat "$T/run.out")
say "   | wanted: $want"
say "   | got:    $got"
check '[ "$got" = "$want" ]' "postgres -C restore_command prints exactly the intended command"

# What /bin/sh makes of it once PostgreSQL has replaced %% (and %f %p).
cmd=${got% %f %p}
cmd=${cmd//%%/%}
sh -c "printf '%s\n' $cmd" > "$T/words.out" || fail "sh could not split the command"
printf '%s\n' "$W/bin/walship-restore" "--config=$abs_conf" > "$T/words.want"
check "cmp -s '$T/words.out' '$T/words.want'" \
    "/bin/sh splits it into the program and --config=<the awkward path>, unchanged"

info "a configuration file whose path holds a newline is refused, naming restore_command"
NL_DIR="$T/two
lines"
mkdir "$NL_DIR" && cp "$W_CONF" "$NL_DIR/walship.conf" && chmod 755 "$NL_DIR" && give_pg "$NL_DIR" ||
    fail "a configuration file under a directory with a newline"
run as_pg "$W/bin/walship-recover" --config="$NL_DIR/walship.conf" -D "$T/rec-newline"
check '[ "$RC" -ne 0 ]' "walship-recover fails (exit $RC)"
sed 's/^/   | /' "$T/run.err"
check "err_has '\"restore_command\"' && err_has 'newline'" \
    "the error names restore_command and the newline"
check "absent_or_empty '$T/rec-newline'" "nothing is left of the new data directory"

info "start the recovered cluster: it replays the archive through that command"
bk_start "$REC"
wait_not_in_recovery "$REC"
pass "recovery completed and the server was promoted"
sql "$REC" "select count(*) || ':' || md5(string_agg(id || ':' || note, ',' order by id)) from t"
check "[ '$Q' = '$SNAP' ]" "the recovered cluster holds all the data, WAL after the backup included ($Q)"
check "grep -q 'walship-restore: restored \"' '$(pg_logfile "$REC")'" \
    "recovery fetched WAL with walship-restore from the awkward directory"
check "! grep -q 'walship-restore: error' '$(pg_logfile "$REC")'" "no walship-restore error in the log"
pg_stop "$REC"
ws_summary

# t_ops_dump.sh — logical dumps through the repository's pipeline on an
# encrypted, zstd-compressed filesystem repository a real cluster archives
# into: `pg_dump -Fc | walship put NAME`, `walship get NAME | pg_restore`
# into a new database with equal data; the stored bytes are pg_dump's
# exactly (sha256, cmp); no plaintext in the repository; `walship list`
# (text, --json) shows the dump; `walship verify` reads it and finds a
# flipped byte, which `get` refuses too (nonzero, --output leaves no file);
# bad names, an unknown name, an empty input, a name taken; kill -9 and
# SIGTERM during a large put leave nothing under the final name and no
# listed dump; `walship dump` names its dump <db>_YYYYmmdd_HHMMSS, records
# the system identifier, and stores nothing when pg_dump fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
[ -x "$PGBIN/pg_dump" ] && [ -x "$PGBIN/pg_restore" ] || skip "pg_dump or pg_restore not found in $PGBIN"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
command -v sha256sum > /dev/null || skip "sha256sum not found"
SRC=$T/src
PASS="dump-secret-$RANDOM$RANDOM"
printf '%s\n' "$PASS" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "pg_conninfo = '$(bk_conninfo "$SRC")'"

ops() { run as_pg "$WS_OPS" --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
SOCK=
pgdump() { as_pg "$PGBIN/pg_dump" -h "$SOCK" -U postgres "$@"; }
# pipe NAME CMD...: "CMD | walship put NAME" under pipefail; RC, run.err.
put_from() {
    local name=$1; shift
    set -o pipefail
    "$@" 2> "$T/producer.err" | as_pg "$WS_OPS" --config="$WS_CONF" put "$name" > "$T/run.out" 2> "$T/run.err"
    RC=$?
    set +o pipefail
}
# digest DB: one line that changes with any row of the test tables.
digest() {
    "$PGBIN/psql" -X -h "$SOCK" -U postgres -d "$1" -Atc \
        "select (select count(*) || ':' || md5(string_agg(id || '|' || tenant || '|' || note, ',' order by id)) from accounts) || ' ' || (select count(*) from events)"
}
MARKER="tenant-marker-$RANDOM$RANDOM"
# walship_under PID: the walship process below PID (as_pg is a function in a
# subshell, then runuser when root), by parent pid, never by name alone.
walship_under() {
    local c
    for c in $(pgrep -P "$1"); do
        [ "$(ps -o comm= -p "$c")" = walship ] && { echo "$c"; return 0; }
        walship_under "$c" && return 0
    done
    return 1
}
# put_big NAME: a slow producer (50 MB, then 30 s of silence) into walship put
# NAME in the background, until its temporary holds 10 MB; WPID: walship's pid.
put_big() {
    local i
    ( head -c 50M /dev/urandom; sleep 30 ) | as_pg "$WS_OPS" --config="$WS_CONF" put "$1" > /dev/null 2> "$T/$1.err" &
    PUTPID=$!
    BK_BG_PIDS+=("$PUTPID")
    for i in $(seq 100); do
        [ -n "$(find "$BK_REPO/dumps" -name '.data.tmp.*' -size +10M 2>/dev/null)" ] && break
        sleep 0.2
    done
    WPID=$(walship_under "$PUTPID")
}

info "a cluster archiving into the repository, a database with data"
bk_init_src "$SRC"
SOCK=$(pg_sockdir "$SRC")
bk_switch_wait "$SRC"
sql "$SRC" "create database app"
"$PGBIN/psql" -X -q -h "$SOCK" -U postgres -d app -v ON_ERROR_STOP=1 > /dev/null <<SQL || fail "load app"
create table accounts (id int primary key, tenant text not null, note text);
insert into accounts select g, 'tenant-' || (g % 17), md5(g::text) from generate_series(1, 20000) g;
insert into accounts values (20001, '$MARKER', 'the marker row');
create table events (id bigserial primary key, account int references accounts, at timestamptz default now());
insert into events (account) select 1 + g % 20000 from generate_series(1, 5000) g;
create index on accounts (tenant);
SQL
WANT=$(digest app)
info "app: $WANT"

info "walship help"
ops help
check "out_has put && out_has get && out_has dump" "walship help lists put, get and dump"
ops help put
check "out_has NAME && out_has pipefail" "walship help put names NAME and the pipefail note"

info "pg_dump -Fc | walship put, walship get | pg_restore"
NAME=daily-2026-12-04
put_from "$NAME" pgdump -Fc app
check_rc 0 "pg_dump -Fc app | walship put $NAME"
check "[ ! -s '$T/run.out' ]" "put prints nothing on stdout"
check "[ -f '$BK_REPO/dumps/$NAME/data' ] && [ -f '$BK_REPO/dumps/$NAME/dump.info' ]" \
    "the repository holds dumps/$NAME/data and dump.info"
n=$(grep -rlaF -- "$MARKER" "$BK_REPO" | wc -l)
check "[ '$n' = 0 ]" "no file of the repository contains the marker row in plaintext ($n)"
sql "$SRC" "create database newdb"
set -o pipefail
as_pg "$WS_OPS" get "$NAME" --config="$WS_CONF" 2> "$T/get.err" |
    as_pg "$PGBIN/pg_restore" -h "$SOCK" -U postgres -d newdb --exit-on-error 2> "$T/restore.err"
RC=$?
set +o pipefail
check_rc 0 "walship get $NAME (--config after) | pg_restore -d newdb"
[ "$RC" = 0 ] || cat "$T/get.err" "$T/restore.err"
GOT=$(digest newdb)
check "[ '$GOT' = '$WANT' ]" "newdb's data equals app's ($GOT)"

info "the bytes stored are pg_dump's exactly"
pgdump -Fc app > "$T/app.dump" || fail "pg_dump to a file"
put_from fromfile cat "$T/app.dump"
check_rc 0 "walship put fromfile < app.dump"
ops get fromfile --output "$T/back.dump"
check_rc 0 "walship get fromfile --output FILE"
check "cmp -s '$T/app.dump' '$T/back.dump'" "the file is byte for byte what was put"
as_pg "$WS_OPS" --config="$WS_CONF" get fromfile > "$T/back2.dump" 2> "$T/run.err"
check "cmp -s '$T/app.dump' '$T/back2.dump'" "so is standard output"
SHA=$(sha256sum < "$T/app.dump" | cut -d' ' -f1)

info "walship list"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check_rc 0 "walship list --json"
check "[ \"\$(json 'len(j[\"dumps\"])')\" = 2 ]" "two dumps listed"
check "[ \"\$(json 'j[\"schema_version\"]')\" = 1 ]" "schema_version stays 1"
check "[ \"\$(json '[d[\"name\"] for d in j[\"dumps\"]]')\" = \"['$NAME', 'fromfile']\" ]" \
    "oldest first: $NAME, fromfile"
check "[ \"\$(json 'j[\"dumps\"][1][\"sha256\"]')\" = '$SHA' ]" "fromfile's sha256 is the file's"
check "[ \"\$(json 'j[\"dumps\"][1][\"size\"]')\" = '$(file_size "$T/app.dump")' ]" "its size is the file's"
check "[ \"\$(json 'j[\"dumps\"][0][\"pg_dump_format\"]')\" = custom ]" "pg_dump_format is custom"
check "[ \"\$(json 'j[\"dumps\"][0][\"system_identifier\"]')\" = None ]" "a put from stdin has no system identifier"
ops list
check_rc 0 "walship list"
check "out_has DUMPS && grep -q '^  $NAME .* custom ' '$T/run.out'" "the table lists $NAME"

info "walship verify"
ops verify
check_rc 0 "walship verify"
check "out_has 'verified 2 dumps'" "verify read the two dumps"

info "bad input"
for bad in .hidden -dash 'a/b' 'sp ace' "$(printf 'x%.0s' $(seq 129))" ''; do
    run as_pg "$WS_OPS" --config="$WS_CONF" put -- "$bad" < "$T/app.dump"
    check_rc 10 "put '${bad:0:20}' is refused as bad input"
    check "err_has 'invalid dump name'" "the error says the name is invalid"
done
check "[ \"\$(ls '$BK_REPO/dumps')\" = \"$(printf '%s\n' "$NAME" fromfile | sort)\" ]" "nothing else under dumps/"
ops put < "$T/app.dump"
check_rc 2 "put without NAME is a usage error"
check "err_has 'expected 1 arguments (NAME)'" "the error says NAME is missing"
ops put a b < "$T/app.dump"
check_rc 2 "put with two names is a usage error"
ops get
check_rc 2 "get without NAME is a usage error"
ops get no-such-dump --output "$T/none"
check_rc 3 "get of an unknown name is \"not found\""
check "err_has 'dump \"no-such-dump\" is not in repository' && [ ! -e '$T/none' ]" \
    "the error names the dump; no output file"
as_pg "$WS_OPS" --config="$WS_CONF" get no-such-dump > "$T/none.out" 2> "$T/run.err"; RC=$?
check_rc 3 "get of an unknown name to stdout"
check "[ ! -s '$T/none.out' ]" "nothing written to stdout"
put_from empty true
check_rc 10 "an empty input is refused (pg_dump failed without pipefail)"
check "err_has 'no data on standard input' && err_has pipefail" "the error says so and hints at pipefail"
check "[ ! -e '$BK_REPO/dumps/empty/data' ]" "nothing stored for it"
put_from "$NAME" cat "$T/app.dump"
check_rc 17 "a put to an existing name is refused (already exists)"
check "err_has 'already exists'" "the error says the name exists"
ops get "$NAME" --output "$T/again.dump"
check "[ \$RC = 0 ] && cmp -s '$T/again.dump' <(as_pg '$WS_OPS' --config='$WS_CONF' get '$NAME')" \
    "the existing dump is untouched"

info "kill -9 during a large put"
put_big big
check "[ -n \"\$(find '$BK_REPO/dumps' -name '.data.tmp.*' -size +10M)\" ] && [ -n '$WPID' ]" \
    "the put is under way (walship $WPID, a temporary over 10 MB)"
kill -9 "$WPID"
wait "$PUTPID" 2>/dev/null
bk_forget "$PUTPID"
check "[ ! -e '$BK_REPO/dumps/big/data' ] && [ ! -e '$BK_REPO/dumps/big/dump.info' ]" \
    "nothing under the final name dumps/big/"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check "[ \"\$(json '[d[\"name\"] for d in j[\"dumps\"] if d[\"name\"] == \"big\"]')\" = '[]' ]" "big is not listed"
ops get big --output "$T/big.out"
check_rc 3 "get big: not found"
find "$BK_REPO/dumps" -name '.data.tmp.*' -delete      # what a killed process cannot remove

info "SIGTERM during a large put"
put_big big2
kill -TERM "$WPID"
wait "$PUTPID"; RC=$?
bk_forget "$PUTPID"
check_rc 143 "walship put stopped by SIGTERM"
check "[ ! -e '$BK_REPO/dumps/big2/data' ] && [ -z \"\$(dotfiles '$BK_REPO/dumps')\" ]" \
    "nothing under dumps/big2/, not even a temporary"

info "a put killed between data and descriptor: not listed, replaced by the next put"
mkdir -p "$BK_REPO/dumps/half" && cp "$BK_REPO/dumps/fromfile/data" "$BK_REPO/dumps/half/data" && give_pg "$BK_REPO/dumps/half"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check "[ \"\$(json '[d[\"name\"] for d in j[\"dumps\"] if d[\"name\"] == \"half\"]')\" = '[]' ]" "data without dump.info is not listed"
ops verify
check_rc 0 "verify: an incomplete dump is no damage"
check "out_has 'incomplete: dump half'" "verify reports it as incomplete"
put_from half cat "$T/app.dump"
check_rc 0 "a put of that name replaces the leftover"
check "err_has 'replacing the data of incomplete dump'" "with a warning"
ops get half --output "$T/half.dump"
check "[ \$RC = 0 ] && cmp -s '$T/half.dump' '$T/app.dump'" "and reads back"

info "damage: a byte flipped in a dump's data"
D=$BK_REPO/dumps/$NAME/data
cp "$D" "$T/data.orig"
flip_byte "$D" $(( $(file_size "$D") / 2 ))
ops verify
check_rc 4 "walship verify: corrupt"
check "out_has 'damaged: dump $NAME:'" "verify names the damaged dump"
ops get "$NAME" --output "$T/bad.dump"
check_rc 4 "get --output of the damaged dump: corrupt"
check "! ls -A '$T' | grep -q 'bad\.dump'" "no output file, no temporary (bad.dump*)"
as_pg "$WS_OPS" --config="$WS_CONF" get "$NAME" > "$T/bad.out" 2> "$T/run.err"; RC=$?
check_rc 4 "get of the damaged dump to stdout: corrupt"
check "err_has 'not the dump'" "the error says the output is not the dump"
cp "$T/data.orig" "$D"
I=$BK_REPO/dumps/$NAME/dump.info
cp "$I" "$T/info.orig"
flip_byte "$I" $(( $(file_size "$I") - 20 ))
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check_rc 0 "list with a damaged dump.info"
check "[ \"\$(json '[d[\"name\"] for d in j[\"dumps\"] if d[\"name\"] == \"$NAME\"]')\" = '[]' ] && err_has 'is unusable'" \
    "the dump is not listed; a warning names it"
ops verify
check_rc 4 "verify: a damaged dump.info is corrupt"
cp "$T/info.orig" "$I"
ops verify
check_rc 0 "verify is sound again once both are restored"

info "walship dump"
SYSID=$(system_identifier "$SRC")
run as_pg "$WS_OPS" dump --config="$WS_CONF" -d "host=$SOCK user=postgres dbname=app"
check_rc 0 "walship dump -d 'dbname=app'"
DNAME=$(head -n 1 "$T/run.out")
check "[[ '$DNAME' =~ ^app_[0-9]{8}_[0-9]{6}\$ ]]" "it prints its name, app_YYYYmmdd_HHMMSS ($DNAME)"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check "[ \"\$(json '[d[\"system_identifier\"] for d in j[\"dumps\"] if d[\"name\"] == \"$DNAME\"][0]')\" = '$SYSID' ]" \
    "its descriptor has the cluster's system identifier"
check "[ \"\$(json '[d[\"database\"] for d in j[\"dumps\"] if d[\"name\"] == \"$DNAME\"][0]')\" = app ]" \
    "and the database app"
sql "$SRC" "create database newdb2"
set -o pipefail
as_pg "$WS_OPS" --config="$WS_CONF" get "$DNAME" |
    as_pg "$PGBIN/pg_restore" -h "$SOCK" -U postgres -d newdb2 --exit-on-error 2> "$T/restore.err"
RC=$?
set +o pipefail
check "[ \$RC = 0 ] && [ \"\$(digest newdb2)\" = '$WANT' ]" "it restores to equal data"
run as_pg "$WS_OPS" dump --config="$WS_CONF" --name failing -d "host=$SOCK user=postgres dbname=app" -- --table=no_such_table
check "[ \$RC -ne 0 ]" "walship dump fails when pg_dump fails (exit $RC)"
check "err_has 'pg_dump failed with exit status'" "the error names pg_dump's failure"
check "[ ! -e '$BK_REPO/dumps/failing' ] || [ -z \"\$(ls -A '$BK_REPO/dumps/failing')\" ]" "nothing stored for it"
printf '#!/bin/sh\nhead -c 3000000 /dev/urandom\necho "fake pg_dump: error: connection lost" >&2\nexit 1\n' > "$T/bin/fake_pg_dump"
chmod 755 "$T/bin/fake_pg_dump"
run as_pg "$WS_OPS" dump --config="$WS_CONF" --name failing2 --pg-dump "$T/bin/fake_pg_dump" -d "host=$SOCK user=postgres dbname=app"
check_rc 1 "walship dump fails when pg_dump fails after writing 3 MB"
check "err_has 'fake_pg_dump failed with exit status 1'" "the error names the failure"
check "[ ! -e '$BK_REPO/dumps/failing2/data' ] && [ -z \"\$(dotfiles '$BK_REPO/dumps')\" ]" \
    "nothing stored for it, no temporary left"
run as_pg "$WS_OPS" dump --config="$WS_CONF" --name .x
check_rc 10 "walship dump --name .x: bad input"
run as_pg "$WS_OPS" dump --config="$WS_CONF" --name x -- -Fp
check_rc 2 "pg_dump's -F is walship dump's own"

info "walship expire: retain_dumps (no backup policy: backups and WAL untouched)"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
NDUMPS=$(json "len(j['dumps'])")
NEWEST2=$(json "' '.join(sorted(d['name'] for d in sorted(j['dumps'], key=lambda d: d['start_time'])[-2:]))")
sleep 2
run as_pg "$WS_OPS" expire --dry-run --config="$WS_CONF" --retain_dumps=1s --retain_dumps_min=2
check_rc 0 "walship expire --dry-run with retain_dumps = 1s, retain_dumps_min = 2"
check "[ \"\$(grep -c '^would remove  dump ' '$T/run.out')\" = $((NDUMPS - 2)) ]" \
    "it would remove all but the 2 newest of $NDUMPS dumps"
run as_pg "$WS_OPS" expire --config="$WS_CONF" --retain_dumps=1s --retain_dumps_min=2
check_rc 0 "walship expire"
check "out_has 'backups and WAL untouched'" "it says backups and WAL are untouched"
run as_pg "$WS_OPS" list --json --config="$WS_CONF"
check "[ \"\$(json \"' '.join(sorted(d['name'] for d in j['dumps']))\")\" = '$NEWEST2' ]" \
    "the 2 newest dumps are left: $NEWEST2"
for n in $NEWEST2; do
    run sh -c "'$WS_OPS' get --config='$WS_CONF' '$n' > /dev/null"
    check_rc 0 "walship get $n still works"
done
run as_pg "$WS_OPS" expire --config="$WS_CONF"
check_rc 2 "no retain_* key at all: refused"

ws_summary

# s3_ops_dump.sh — logical dumps on an encrypted S3 repository
# (repo = s3://bucket/prefix, aes-256-gcm, no compression, s3_part_size =
# 5MB): a pg_dump -Fc -Z0 of about 15 MB through `walship put` is stored as a
# multipart upload (seen at the verifying proxy on s3rver) and nothing stays
# in progress; `walship get | pg_restore` gives equal data; list --json and
# verify see it; the data object altered with curl is damage for verify and
# get; an existing name is refused, an unknown one is "not found"; kill -9
# during a large put leaves no key under the final name and no listed dump,
# and SIGTERM aborts the multipart upload.  Runs against s3rver behind the
# SigV4-verifying proxy and against Ceph RGW.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_trap
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
[ -x "$PGBIN/pg_dump" ] && [ -x "$PGBIN/pg_restore" ] || skip "pg_dump or pg_restore not found in $PGBIN"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src
WS_CONF=$T/walship.conf
P=$S3T_PREFIX
printf 'dump-secret-%s\n' "$RANDOM$RANDOM" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"
s3_write_conf "$WS_CONF" "$S3T_REPO" "compression = none" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "s3_part_size = 5MB"

ops() { run as_pg "$WS_OPS" --config="$WS_CONF" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }
SOCK=
digest() {
    "$PGBIN/psql" -X -h "$SOCK" -U postgres -d "$1" -Atc \
        "select count(*) || ':' || md5(string_agg(id || '|' || note, ',' order by id)) from accounts"
}
walship_under() {
    local c
    for c in $(pgrep -P "$1"); do
        [ "$(ps -o comm= -p "$c")" = walship ] && { echo "$c"; return 0; }
        walship_under "$c" && return 0
    done
    return 1
}
# put_big NAME: 50 MB then 30 s of silence into walship put NAME, in the
# background, until at least one part has been uploaded; WPID: walship's pid.
put_big() {
    local i
    ( head -c 50M /dev/urandom; sleep 30 ) | as_pg "$WS_OPS" --config="$WS_CONF" put "$1" > /dev/null 2> "$T/$1.err" &
    PUTPID=$!
    BK_BG_PIDS+=("$PUTPID")
    for i in $(seq 100); do
        s3_uploads "$P" | grep -qx "dumps/$1/data" && break
        sleep 0.2
    done
    sleep 2     # a few parts
    WPID=$(walship_under "$PUTPID")
}

info "a cluster archiving into $S3T_REPO, a database of about 15 MB"
bk_init_src "$SRC"
SOCK=$(pg_sockdir "$SRC")
bk_switch_wait "$SRC"
sql "$SRC" "create database app"
"$PGBIN/psql" -X -q -h "$SOCK" -U postgres -d app -v ON_ERROR_STOP=1 \
    -c "create table accounts (id int primary key, note text)" \
    -c "insert into accounts select g, md5(g::text) || md5((g * 7)::text) from generate_series(1, 200000) g" \
    > /dev/null || fail "load app"
WANT=$(digest app)

NAME=daily-2026-12-04
SEQ=
is_s3rver && SEQ=$(proxy_seq)
set -o pipefail
as_pg "$PGBIN/pg_dump" -h "$SOCK" -U postgres -Fc -Z0 app |
    as_pg "$WS_OPS" put "$NAME" --config="$WS_CONF" > "$T/run.out" 2> "$T/run.err"
RC=$?
set +o pipefail
check_rc 0 "pg_dump -Fc -Z0 app | walship put $NAME"
[ "$RC" = 0 ] || cat "$T/run.err"
s3_list "$P" > "$T/keys"
check "grep -qxF 'dumps/$NAME/data' '$T/keys' && grep -qxF 'dumps/$NAME/dump.info' '$T/keys'" \
    "the bucket lists dumps/$NAME/data and dump.info"
if is_s3rver; then
    proxy_log "/$P/dumps/$NAME/data" "$SEQ" > "$T/pl"
    n=$(grep -c '^PUT .*partNumber=' "$T/pl")
    check "[ '$n' -ge 3 ] && grep -q '^POST .*uploads' '$T/pl' && grep -q '^POST .*uploadId=' '$T/pl'" \
        "a multipart upload: initiated, $n parts, completed"
    check "! awk '{print \$3}' '$T/pl' | grep -q '^403'" "the proxy verified every signature"
else
    skip_check "the request log is the s3rver proxy's"
fi
s3_uploads "$P" > "$T/uploads"
check "[ ! -s '$T/uploads' ]" "no multipart upload left in progress"

ops list --json
check_rc 0 "walship list --json"
SIZE=$(json 'j["dumps"][0]["size"]')
check "[ \"\$(json 'j[\"dumps\"][0][\"name\"]')\" = '$NAME' ] && [ '$SIZE' -gt $((10 * 1024 * 1024)) ]" \
    "it lists $NAME, $SIZE bytes (over two parts of 5 MB)"

sql "$SRC" "create database newdb"
set -o pipefail
as_pg "$WS_OPS" --config="$WS_CONF" get "$NAME" 2> "$T/get.err" |
    as_pg "$PGBIN/pg_restore" -h "$SOCK" -U postgres -d newdb --exit-on-error 2> "$T/restore.err"
RC=$?
set +o pipefail
check_rc 0 "walship get $NAME | pg_restore -d newdb"
check "[ \"\$(digest newdb)\" = '$WANT' ]" "newdb's data equals app's"

ops verify
check_rc 0 "walship verify: sound"
check "out_has 'verified 1 dump'" "it read the dump"

info "bad input"
echo x | as_pg "$WS_OPS" --config="$WS_CONF" put "$NAME" > /dev/null 2> "$T/run.err"; RC=$?
check_rc 17 "a put to an existing name is refused (already exists)"
ops get no-such-dump --output "$T/none"
check_rc 3 "an unknown name is \"not found\""
check "err_has 'dump \"no-such-dump\" is not in repository' && [ ! -e '$T/none' ]" "the error names it"

info "kill -9 during a large put"
put_big big
check "[ -n '$WPID' ]" "the put is under way (walship $WPID, an upload in progress)"
kill -9 "$WPID"
wait "$PUTPID" 2>/dev/null
bk_forget "$PUTPID"
s3_list "$P" > "$T/keys"
check "! grep -q '^dumps/big/' '$T/keys'" "no key under dumps/big/"
ops list --json
check "[ \"\$(json 'len(j[\"dumps\"])')\" = 1 ]" "big is not listed"
ops get big --output "$T/big"
check_rc 3 "get big: not found"

info "SIGTERM during a large put"
put_big big2
kill -TERM "$WPID"
wait "$PUTPID"; RC=$?
bk_forget "$PUTPID"
check_rc 143 "walship put stopped by SIGTERM"
s3_list "$P" > "$T/keys"
check "! grep -q '^dumps/big2/' '$T/keys'" "no key under dumps/big2/"
check "! s3_uploads '$P' | grep -qx 'dumps/big2/data'" "its multipart upload was aborted"

info "the data object altered with curl"
key=dumps/$NAME/data
check "[ \"\$(s3_get '$P' '$key' '$T/data')\" = 200 ]" "GET $key"
cp "$T/data" "$T/data.orig"
flip_byte "$T/data" $(( $(file_size "$T/data") / 2 ))
check "[ \"\$(s3c '$T/put' PUT '$(obj_path "$P" "$key")' --data-binary @'$T/data')\" = 200 ]" "PUT the altered $key"
ops verify
check_rc 4 "verify: corrupt"
check "out_has 'damaged: dump $NAME:'" "it names the dump"
as_pg "$WS_OPS" --config="$WS_CONF" get "$NAME" > /dev/null 2> "$T/run.err"; RC=$?
check_rc 4 "get: corrupt"
check "err_has 'not the dump'" "the error says the output is not the dump"
check "[ \"\$(s3c '$T/put' PUT '$(obj_path "$P" "$key")' --data-binary @'$T/data.orig')\" = 200 ]" "PUT $key back"
ops verify
check_rc 0 "sound again once undone"
ws_summary

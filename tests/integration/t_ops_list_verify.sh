# t_ops_list_verify.sh — `walship list` and `walship verify` on a
# filesystem repository a real cluster archives into, with one base backup:
# list --json parses and says what was made; verify passes; then, one at a
# time (each undone before the next), a WAL segment deleted (gap status,
# named, two ranges), a byte flipped in a WAL object, in a backup part and in
# backup.info (damaged status, the key named).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SRC")'"

ops() { run as_pg "$WS_OPS" "$@"; }
# json EXPR: evaluate a python expression over the last list --json (j).
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }

info "a cluster archiving, a base backup, then more WAL"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast"
for i in 1 2 3 4 5 6; do
    sql "$SRC" "create table t$i as select g from generate_series(1, 1000) g"
    bk_switch_wait "$SRC"
done
LAST=$BK_LAST_WAL
pg_stop "$SRC"

info "walship help, usage errors"
ops help
check_rc 0 "walship help"
check "out_has list && out_has verify" "walship help lists list and verify"
ops frobnicate
check_rc 2 "an unknown subcommand is a usage error"
check "err_has frobnicate" "the error names the unknown subcommand"
ops
check_rc 2 "no subcommand is a usage error"

info "walship list --json"
ops list --json --config="$WS_CONF"
check_rc 0 "walship list --json (--config after the subcommand)"
check "json 'j[\"schema_version\"]' | grep -qx 1" "schema_version is 1"
check "[ \"\$(json 'j[\"backups\"][0][\"id\"]')\" = '$BK_ID' ]" "the backup is $BK_ID"
check "[ \"\$(json 'j[\"backups\"][0][\"status\"]')\" = complete ]" "its status is complete"
START=$(json 'j["backups"][0]["start_wal"]')
STOP=$(json 'j["backups"][0]["stop_wal"]')
check "[ \"\$(json 'len(j[\"wal\"][0][\"ranges\"])')\" = 1 ]" "timeline 1 has one range of WAL"
FIRST=$(json 'j["wal"][0]["ranges"][0]["first"]')
RLAST=$(json 'j["wal"][0]["ranges"][0]["last"]')
check "[[ ! '$FIRST' > '$START' ]] && [[ ! '$STOP' > '$RLAST' ]]" \
    "the range $FIRST..$RLAST covers the backup's $START..$STOP"
check "[ '$RLAST' = '$LAST' ]" "the range ends at the last archived segment $LAST"
check "[ \"\$(json 'j[\"windows\"][0][\"backup\"]')\" = '$BK_ID' ]" "a recoverable window from $BK_ID"
check "[ \"\$(json 'j[\"windows\"][0][\"end_wal\"]')\" = '$LAST' ]" "the window ends with $LAST"
ops --config="$WS_CONF" list
check_rc 0 "walship --config FILE list (table)"
check "out_has RECOVERABLE && grep -q '$BK_ID *complete' '$T/run.out'" "the table shows $BK_ID complete"

info "walship verify on a sound repository"
ops --config="$WS_CONF" verify -j 3
check_rc 0 "walship verify -j 3: sound"
check "out_has 'result: sound'" "it says sound"
ops verify --config="$WS_CONF" --backup "$BK_ID" -j 1
check_rc 0 "walship verify --backup $BK_ID -j 1"
ops --config="$WS_CONF" verify --backup 20990101T000000Z
check_rc 3 "verify --backup naming no backup: not found"
check "err_has 20990101T000000Z" "the error names the id"
ops --config="$WS_CONF" verify -j 0
check_rc 2 "verify -j 0: usage error"

wal_key() { printf 'wal/%s/%s/%s' "${1:0:8}" "${1:0:16}" "$1"; }
# a segment strictly between the backup's stop segment and the last one
segs=$(cd "$BK_REPO" && find wal -type f -name '0000000100000000000000??' -printf '%f\n' | sort)
MID=$(printf '%s\n' $segs | awk -v s="$STOP" -v l="$LAST" '($1 "") > s && ($1 "") < l' | sed -n 2p)
OTHER=$(printf '%s\n' $segs | awk -v s="$STOP" -v l="$LAST" '($1 "") > s && ($1 "") < l' | sed -n 3p)
[ -n "$MID" ] && [ -n "$OTHER" ] || fail "no segments between $STOP and $LAST"
save() { cp -p "$BK_REPO/$1" "$T/saved" || fail "save $1"; }
undo() { cp -p "$T/saved" "$BK_REPO/$1" || fail "undo $1"; }

info "a WAL segment deleted: $MID"
save "$(wal_key "$MID")"
rm "$BK_REPO/$(wal_key "$MID")"
ops --config="$WS_CONF" verify
check_rc 11 "verify exits 11 (WAL missing)"
check "grep -q \"gap: timeline 1: $MID..$MID missing\" '$T/run.out'" "it names the missing segment $MID"
check "err_has gap" "stderr says there is a gap"
ops --config="$WS_CONF" list --json
check_rc 0 "list --json"
check "[ \"\$(json 'len(j[\"wal\"][0][\"ranges\"])')\" = 2 ]" "timeline 1 has two ranges"
check "[ \"\$(json 'j[\"wal\"][0][\"gaps\"][0][\"first\"]')\" = '$MID' ]" "the gap is $MID"
undo "$(wal_key "$MID")"

info "a byte flipped in WAL object $OTHER"
key=$(wal_key "$OTHER")
save "$key"
flip_byte "$BK_REPO/$key" $(( $(file_size "$BK_REPO/$key") / 2 ))
ops --config="$WS_CONF" verify -j 2
check_rc 4 "verify exits 4 (damaged)"
check "out_has 'damaged: $key:'" "it names $key"
check "grep -q \"gap: timeline 1: $OTHER..$OTHER\" '$T/run.out'" "the damaged segment counts as a gap"
undo "$key"

info "a byte flipped in a backup part"
key=backups/$BK_ID/base.tar.0
save "$key"
flip_byte "$BK_REPO/$key" $(( $(file_size "$BK_REPO/$key") / 2 ))
ops --config="$WS_CONF" verify
check_rc 4 "verify exits 4 (damaged)"
check "out_has 'damaged: $key:'" "it names $key"
check "! grep -q '$BK_ID' <(sed -n '/RECOVERABLE/,\$p' '$T/run.out' | tail -n +3)" \
    "no recoverable window remains from $BK_ID"
undo "$key"

info "backup.info corrupted"
key=backups/$BK_ID/backup.info
save "$key"
flip_byte "$BK_REPO/$key" $(( $(file_size "$BK_REPO/$key") / 2 ))
ops --config="$WS_CONF" verify
check_rc 4 "verify exits 4 (damaged)"
check "out_has 'damaged: $key:'" "it names $key"
ops --config="$WS_CONF" list --json
check_rc 0 "list --json with a damaged descriptor"
check "[ \"\$(json 'j[\"backups\"][0][\"status\"]')\" = damaged ]" "list shows the backup as damaged"
undo "$key"

ops --config="$WS_CONF" verify
check_rc 0 "verify is sound again once everything is undone"
ws_summary

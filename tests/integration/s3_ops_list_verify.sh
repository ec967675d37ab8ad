# s3_ops_list_verify.sh — `walship list` and `walship verify` on an
# encrypted S3 repository (repo = s3://bucket/prefix, aes-256-gcm): list
# --json says what was made; verify -j 8 (threads sharing one S3 handle)
# passes; a WAL segment deleted through an independent client (curl) is a
# gap naming it; a backup part altered and put back is damage naming it
# (decryption fails); a wrong passphrase is "authentication failed".
# Runs against s3rver behind the SigV4-verifying proxy and against Ceph RGW.
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/backuplib.sh"

s3_setup
bk_require
bk_trap
[ -x "$WS_OPS" ] || fail "walship not found in the build directory"
command -v python3 > /dev/null || skip "python3 not found (to read list --json)"
SRC=$T/src
WS_CONF=$T/walship.conf
P=$S3T_PREFIX
printf 'ops-secret-%s\n' "$RANDOM$RANDOM" > "$T/passphrase"
printf 'wrong-%s\n' "$RANDOM$RANDOM" > "$T/wrongpass"
chmod 600 "$T/passphrase" "$T/wrongpass" && give_pg "$T/passphrase" && give_pg "$T/wrongpass"
s3_write_conf "$WS_CONF" "$S3T_REPO" "compression = zstd" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "pg_conninfo = '$(bk_conninfo "$SRC")'"

ops() { run as_pg "$WS_OPS" "$@"; }
json() { python3 -c "import json,sys; j=json.load(open('$T/run.out')); print($1)"; }

info "a cluster archiving into $S3T_REPO, a base backup, then more WAL"
bk_init_src "$SRC"
bk_pgbench_init "$SRC" 1
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "walship-basebackup -c fast"
for i in 1 2 3 4 5; do
    sql "$SRC" "create table t$i as select g from generate_series(1, 1000) g"
    bk_switch_wait "$SRC"
done
LAST=$BK_LAST_WAL
pg_stop "$SRC"

ops list --json --config="$WS_CONF"
check_rc 0 "walship list --json"
check "[ \"\$(json 'j[\"repository\"]')\" = '$S3T_REPO' ]" "it names the repository $S3T_REPO"
check "[ \"\$(json 'j[\"backups\"][0][\"id\"]')\" = '$BK_ID' ] && [ \"\$(json 'j[\"backups\"][0][\"status\"]')\" = complete ]" \
    "the backup $BK_ID is complete"
STOP=$(json 'j["backups"][0]["stop_wal"]')
check "[ \"\$(json 'len(j[\"wal\"][0][\"ranges\"])')\" = 1 ] && [ \"\$(json 'j[\"wal\"][0][\"ranges\"][0][\"last\"]')\" = '$LAST' ]" \
    "timeline 1: one range up to $LAST"
check "[ \"\$(json 'j[\"windows\"][0][\"end_wal\"]')\" = '$LAST' ]" "the window from $BK_ID ends with $LAST"

ops --config="$WS_CONF" verify -j 8
check_rc 0 "walship verify -j 8: sound"
check "out_has 'result: sound'" "it says sound"
ops --config="$WS_CONF" verify --encryption_passphrase_file="$T/wrongpass"
check_rc 5 "a wrong passphrase: authentication failed"

info "a WAL segment deleted with curl"
MID=$(s3_list "$P" | sed -n 's|^wal/00000001/0000000100000000/\(0000000100000000000000[0-9A-F][0-9A-F]\)$|\1|p' |
    sort | awk -v s="$STOP" -v l="$LAST" '($1 "") > s && ($1 "") < l' | sed -n 2p)
[ -n "$MID" ] || fail "no segment between $STOP and $LAST"
key=$(wal_key "$MID")
check "[ \"\$(s3_get '$P' '$key' '$T/saved.wal')\" = 200 ]" "GET $key"
check "[ \"\$(s3c '$T/rm' DELETE '$(obj_path "$P" "$key")')\" = 204 ]" "DELETE $key"
ops --config="$WS_CONF" verify
check_rc 11 "verify exits 11 (WAL missing)"
check "grep -q \"gap: timeline 1: $MID..$MID missing\" '$T/run.out'" "it names the missing segment $MID"
check "[ \"\$(s3c '$T/put' PUT '$(obj_path "$P" "$key")' --data-binary @'$T/saved.wal')\" = 200 ]" "PUT $key back"

info "a backup part altered and put back"
key=backups/$BK_ID/base.tar.0
check "[ \"\$(s3_get '$P' '$key' '$T/part')\" = 200 ]" "GET $key"
cp "$T/part" "$T/part.orig"
flip_byte "$T/part" $(( $(file_size "$T/part") / 2 ))
check "[ \"\$(s3c '$T/put' PUT '$(obj_path "$P" "$key")' --data-binary @'$T/part')\" = 200 ]" "PUT the altered $key"
ops --config="$WS_CONF" verify -j 4
check_rc 4 "verify exits 4 (damaged)"
check "out_has 'damaged: $key:'" "it names $key"
check "[ \"\$(s3c '$T/put' PUT '$(obj_path "$P" "$key")' --data-binary @'$T/part.orig')\" = 200 ]" "PUT $key back"
ops --config="$WS_CONF" verify
check_rc 0 "sound again once undone"
ws_summary

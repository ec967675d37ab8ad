# s3_pitr_encrypted.sh — acceptance: point-in-time recovery through an
# encrypted (aes-256-gcm, passphrase file) and zstd-compressed S3 repository.
# Besides pitr_flow's data checks: no object in the bucket (fetched with an
# independent client, curl) may contain plaintext that the cluster's WAL
# holds, with an unencrypted control proving the check can see it, and the
# passphrase must not reach the server logs or the bucket.
. "$(dirname "$0")/s3lib.sh"

s3_setup
PITR_REPO=$S3T_REPO
mapfile -t S3_LINES < <(s3_conf_lines)
PASSPHRASE="s3-pitr-secret-$RANDOM$RANDOM-passphrase"
printf '%s\n' "$PASSPHRASE" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"

# fetch_all PREFIX DIR: every object below PREFIX/ into DIR (flattened names).
fetch_all() {
    local p=$1 d=$2 k code n=0
    mkdir -p "$d"
    s3_list "$p" > "$d.keys"
    while IFS= read -r k; do
        code=$(s3_get "$p" "$k" "$d/$(printf '%s' "$k" | tr '/' '_')")
        [ "$code" = 200 ] || fail "GET $p/$k with curl: HTTP $code"
        n=$((n + 1))
    done < "$d.keys"
    rm -f "$d"/*.hdr "$d"/*.curlerr
    FETCHED=$n
}

pitr_check_repo() {
    local last=$1
    s3_list "$S3T_PREFIX" > "$T/keys"
    check "grep -qx 'walship.repo' '$T/keys' && grep -qxF '$(wal_key "$last")' '$T/keys'" \
        "the bucket lists walship.repo and $(wal_key "$last")"
    s3_uploads "$S3T_PREFIX" > "$T/uploads"
    check "[ ! -s '$T/uploads' ]" "no multipart upload left in progress below the prefix"
}

# While the source runs, keep a WAL file that holds the marker in plaintext.
pitr_before_stop() {
    local f
    f=$(grep -laF -- "$MARKER" "$SRC"/pg_wal/0* 2>/dev/null | head -n 1)
    check "[ -n '$f' ]" "the plaintext marker is in the source's WAL (${f##*/}) (control)"
    mkdir "$T/marker"
    cp "$f" "$T/marker/"
}

pitr_flow "compression = zstd" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase" "${S3_LINES[@]}"

fetch_all "$S3T_PREFIX" "$T/fetched"
check "grep -q '^encryption = aes-256-gcm' '$T/fetched/walship.repo'" \
    "repository descriptor (fetched with curl) says encryption = aes-256-gcm"
n_repo=$(grep -rlaF -- "$MARKER" "$T/fetched" | wc -l)
check "[ '$FETCHED' -ge 4 ] && [ '$n_repo' = 0 ]" \
    "no object in the bucket contains the marker ($n_repo of $FETCHED objects)"
n_pass=$(grep -rlaF -- "$PASSPHRASE" "$T"/*.log "$T/fetched" | wc -l)
check "[ '$n_pass' = 0 ]" "the passphrase appears in no server log and no object"

# zstd could hide the marker even without encryption, so archive a WAL file
# holding it uncompressed into two scratch prefixes: without encryption the
# fetched object must show it (the control), with encryption it must not.
seg=$(ls "$T"/marker/0*)
name=$(basename "$seg")
run "$WS_ARCHIVE" --config="$WS_CONF" --pgdata="$SRC" --repo="$S3T_REPO-plain" --encryption=none \
    --encryption_passphrase_file= --compression=none "$seg" "$name"
check_rc 0 "archive $name uncompressed, unencrypted into $S3T_PREFIX-plain"
fetch_all "$S3T_PREFIX-plain" "$T/plain"
check "grep -rqaF -- '$MARKER' '$T/plain'" "the unencrypted object shows the marker (control)"
run "$WS_ARCHIVE" --config="$WS_CONF" --pgdata="$SRC" --repo="$S3T_REPO-crypt" --compression=none \
    "$seg" "$name"
check_rc 0 "archive $name uncompressed, encrypted into $S3T_PREFIX-crypt"
fetch_all "$S3T_PREFIX-crypt" "$T/crypt"
check "[ '$FETCHED' = 2 ] && ! grep -rqaF -- '$MARKER' '$T/crypt'" \
    "the encrypted uncompressed object does not show the marker"
run "$WS_RESTORE" --config="$WS_CONF" --pgdata="$SRC" --repo="$S3T_REPO-crypt" "$name" "$T/crypt.restored"
check_rc 0 "restore $name from the encrypted scratch prefix"
check "cmp -s '$seg' '$T/crypt.restored'" "restored byte-identical"
printf 'a-wrong-passphrase\n' > "$T/wrongpass"
chmod 600 "$T/wrongpass"
run "$WS_RESTORE" --config="$WS_CONF" --pgdata="$SRC" --repo="$S3T_REPO-crypt" \
    --encryption_passphrase_file="$T/wrongpass" "$name" "$T/crypt.wrong"
check_rc 152 "restore with a wrong passphrase"
check "[ ! -e '$T/crypt.wrong' ]" "nothing written at %p with the wrong passphrase"
check "! grep -qF -- '$PASSPHRASE' <('$WS_ARCHIVE' --config='$WS_CONF' --print-config 2>&1)" \
    "--print-config does not show the passphrase"
ws_summary

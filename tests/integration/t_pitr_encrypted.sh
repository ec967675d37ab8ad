# t_pitr_encrypted.sh — acceptance: point-in-time recovery through an
# encrypted (aes-256-gcm, passphrase file) and zstd-compressed filesystem
# repository.  Besides the data checks of pitr_flow: nothing in the repository
# may contain plaintext that the cluster's WAL holds, and the passphrase must
# never reach the server logs.
. "$(dirname "$0")/lib.sh"

ws_setup
PASSPHRASE="pitr-secret-$RANDOM$RANDOM-passphrase"
printf '%s\n' "$PASSPHRASE" > "$T/passphrase"
chmod 600 "$T/passphrase" && give_pg "$T/passphrase"

# While the source runs, keep a WAL file that holds the marker in plaintext.
pitr_before_stop() {
    local f
    f=$(grep -laF -- "$MARKER" "$SRC"/pg_wal/0* 2>/dev/null | head -n 1)
    check "[ -n '$f' ]" "the plaintext marker is in the source's WAL (${f##*/}) (control)"
    mkdir "$T/marker"
    cp "$f" "$T/marker/"
}

pitr_flow "compression = zstd" "encryption = aes-256-gcm" \
    "encryption_passphrase_file = $T/passphrase"

check "grep -q '^encryption = aes-256-gcm' '$REPO/walship.repo'" \
    "repository descriptor says encryption = aes-256-gcm"
n_repo=$(grep -rlaF -- "$MARKER" "$REPO" | wc -l)
n_objects=$(find "$REPO/wal" -type f | wc -l)
check "[ '$n_objects' -ge 4 ] && [ '$n_repo' = 0 ]" \
    "no repository file contains the marker ($n_repo of $n_objects objects)"

# zstd's Huffman-coded literals could hide the marker even without
# encryption, so also archive a WAL file holding the marker uncompressed into
# two scratch repositories: without encryption grep must find it (the control),
# with it grep must not.
seg=$(ls "$T"/marker/0*)
mkdir "$T/plainrepo" "$T/cryptrepo"
run "$WS_ARCHIVE" --config="$WS_CONF" --pgdata="$SRC" --repo="$T/plainrepo" --encryption=none \
    --encryption_passphrase_file= --compression=none "$seg" "$(basename "$seg")"
check_rc 0 "archive $(basename "$seg") uncompressed, unencrypted"
check "grep -rqaF -- '$MARKER' '$T/plainrepo/wal'" "an unencrypted object shows the marker (control)"
run "$WS_ARCHIVE" --config="$WS_CONF" --pgdata="$SRC" --repo="$T/cryptrepo" --compression=none \
    "$seg" "$(basename "$seg")"
check_rc 0 "archive $(basename "$seg") uncompressed, encrypted"
check "! grep -rqaF -- '$MARKER' '$T/cryptrepo'" "the encrypted uncompressed object does not show the marker"
n_pass=$(grep -rlaF -- "$PASSPHRASE" "$T"/*.log "$REPO" | wc -l)
check "[ '$n_pass' = 0 ]" "the passphrase appears in no server log and no repository file"
check "! grep -qF -- '$PASSPHRASE' <('$WS_ARCHIVE' --config='$WS_CONF' --print-config 2>&1)" \
    "--print-config does not show the passphrase"
ws_summary

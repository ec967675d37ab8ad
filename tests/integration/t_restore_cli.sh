# t_restore_cli.sh — walship-restore's command-line contract, run directly
# (no server).  Exit statuses: 0 restored, 1 not in the archive (quiet),
# 150 config/usage, 151 corrupt/truncated/altered/swapped object, 152 wrong
# passphrase, 153 repository of another cluster, 154 no space, 155 bad input,
# 156 I/O error after retries; with standby.signal every failure is 1.
# The data directory's global/pg_control: missing or unreadable -> a warning
# that the cluster check is skipped; damaged (CRC, size, version) -> 151.
# Whatever fails, %p never appears partially and no temporary file remains.
. "$(dirname "$0")/lib.sh"

ws_setup
D1=$T/d1
D2=$T/d2
pg_init "$D1"
pg_init "$D2"
N1=000000010000000000000001
N2=000000010000000000000002
N3=000000010000000000000003
N4=000000010000000000000004
SEG1=$D1/pg_wal/$N1
REPO=$T/repo
OBJDIR=$REPO/wal/00000001/0000000100000000
OUT=$T/out
mkdir "$REPO" "$T/in" "$OUT" "$T/pristine"
printf 'repo = %s\n' "$REPO" > "$T/c.conf"
chmod 644 "$T/c.conf"

A() { run "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$@"; }
R() { run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" "$@"; }

# no_trace NAME: neither NAME nor any temporary file in $OUT.
no_trace() {
    [ ! -e "$OUT/$1" ] && [ -z "$(find "$OUT" -mindepth 1 \( -name '*walship-tmp*' -o -name '.*' \))" ]
}

info "fill a repository: WAL segments (zstd), a random segment, .partial, .history, .backup"
A "$SEG1" "$N1"; [ "$RC" = 0 ] || fail "archive $N1"
head -c 16777216 /dev/urandom > "$T/in/$N2"
A "$T/in/$N2" "$N2"; [ "$RC" = 0 ] || fail "archive $N2"
head -c 16777216 /dev/urandom > "$T/in/$N4.partial"
A "$T/in/$N4.partial" "$N4.partial"; [ "$RC" = 0 ] || fail "archive $N4.partial"
printf '1\t0/3000060\tno recovery target specified\n' > "$T/in/00000002.history"
A "$T/in/00000002.history" 00000002.history; [ "$RC" = 0 ] || fail "archive 00000002.history"
BK=$N1.00000028.backup
printf 'START WAL LOCATION: 0/1000028 (file %s)\nSTOP WAL LOCATION: 0/1000100 (file %s)\nLABEL: test\n' \
    "$N1" "$N1" > "$T/in/$BK"
A "$T/in/$BK" "$BK"; [ "$RC" = 0 ] || fail "archive $BK"
cp -p "$SEG1" "$T/in/$N1"
cp -p "$OBJDIR/$N1" "$OBJDIR/$N2" "$T/pristine/"

info "--help, --version, usage and configuration errors"
run "$WS_RESTORE" --help
check_rc 0 "--help"
check "out_has 'Usage:' && out_has '%f %p'" "--help prints usage on stdout"
run "$WS_RESTORE" --version
check_rc 0 "--version"
check "grep -qE '^walship-restore \(walship\) [0-9]+\.[0-9]+' '$T/run.out'" "--version prints the version"
run "$WS_RESTORE" --no-such-option "$N1" "$OUT/$N1"
check_rc 150 "unknown option"
: > "$T/empty.conf"
run "$WS_RESTORE" --config="$T/empty.conf" --pgdata="$D1" "$N1" "$OUT/$N1"
check_rc 150 "no repo configured"
check "no_trace $N1" "nothing written on a configuration error"
R "$N1"
check_rc 150 "one argument only"

info "not in the archive"
R 000000010000000000000009 "$OUT/000000010000000000000009"
check_rc 1 "missing segment"
check "err_empty" "nothing on stderr for a missing segment (quiet)"
check "no_trace 000000010000000000000009" "no file created for a missing segment"
R 00000005.history "$OUT/00000005.history"
check_rc 1 "missing history file"
check "err_empty" "nothing on stderr for a missing history file"
R 000000020000000000000001 "$OUT/000000020000000000000001"
check_rc 1 "segment of a timeline never archived"
check "err_empty" "nothing on stderr for a missing timeline directory"

info "restore each archived kind byte-identical"
for name in "$N1" "$N2" "$N4.partial" 00000002.history "$BK"; do
    R "$name" "$OUT/$name"
    check_rc 0 "restore $name"
    check "cmp -s '$T/in/$name' '$OUT/$name'" "$name restored byte-identical"
    check "err_has 'restored \"$name\"'" "walship-restore reports 'restored \"$name\"'"
done
check "[ -z \"\$(find '$OUT' -name '*walship-tmp*')\" ]" "no temporary file left in the target directory"
rm -f "$OUT"/*

# damaged NAME MSG: restoring NAME must exit 151 and leave no trace.
damaged() {
    local name=$1; shift
    R "$name" "$OUT/$name"
    check_rc 151 "$*"
    check "err_has 'error'" "an error is logged ($*)"
    check "no_trace $name" "no file at %p and no temporary file ($*)"
}

info "corrupt, truncated and swapped objects"
s1=$(file_size "$OBJDIR/$N1")
flip_byte "$OBJDIR/$N1" $((s1 / 2))
damaged "$N1" "zstd object with a byte flipped in the middle"
cp -p "$T/pristine/$N1" "$OBJDIR/$N1"
s2=$(file_size "$OBJDIR/$N2")
flip_byte "$OBJDIR/$N2" $((s2 / 2))
damaged "$N2" "stored (incompressible) object with a byte flipped in the middle"
cp -p "$T/pristine/$N2" "$OBJDIR/$N2"
flip_byte "$OBJDIR/$N2" $((s2 - 3))
damaged "$N2" "object with a byte flipped in its end record"
cp -p "$T/pristine/$N2" "$OBJDIR/$N2"
truncate -s $((s1 / 2)) "$OBJDIR/$N1"
damaged "$N1" "object truncated to half"
cp -p "$T/pristine/$N1" "$OBJDIR/$N1"
truncate -s $((s1 - 1)) "$OBJDIR/$N1"
damaged "$N1" "object missing its last byte"
: > "$OBJDIR/$N1"
damaged "$N1" "empty object"
cp -p "$T/pristine/$N1" "$OBJDIR/$N1"
cp -p "$T/pristine/$N2" "$OBJDIR/$N3"
damaged "$N3" "object of $N2 stored under the key of $N3 (swapped)"
rm -f "$OBJDIR/$N3"
R "$N1" "$OUT/$N1"
check_rc 0 "pristine object restores again"
check "cmp -s '$T/in/$N1' '$OUT/$N1'" "and is byte-identical"
rm -f "$OUT"/*

info "standby.signal: failures exit 1 after logging"
touch "$D1/standby.signal"
flip_byte "$OBJDIR/$N1" $((s1 / 2))
R "$N1" "$OUT/$N1"
check_rc 1 "corrupt object with standby.signal present"
check "err_has 'error'" "stderr has an error line"
check "no_trace $N1" "no file at %p and no temporary file (standby)"
R 000000010000000000000009 "$OUT/000000010000000000000009"
check_rc 1 "missing segment with standby.signal present"
check "err_empty" "missing segment still quiet with standby.signal present"
rm -f "$D1/standby.signal"
cp -p "$T/pristine/$N1" "$OBJDIR/$N1"

info "bad input"
R "$OUT/$N1" "$N1"
check_rc 155 "swapped arguments (%p %f)"
check "err_has 'not a WAL file name'" "message says 'not a WAL file name'"
check "[ ! -e '$N1' ] && [ ! -e '$T/$N1' ]" "nothing written for swapped arguments"
R foo "$OUT/foo"
check_rc 155 "name 'foo'"

info "encrypted repository and a wrong passphrase"
mkdir "$T/erepo"
printf 'restore-passphrase-one\n' > "$T/pp1"
printf 'restore-passphrase-two\n' > "$T/pp2"
chmod 600 "$T/pp1" "$T/pp2"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$SEG1" "$N1"
check_rc 0 "archive into an encrypted repository"
R --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$N1" "$OUT/$N1"
check_rc 0 "restore from the encrypted repository"
check "cmp -s '$T/in/$N1' '$OUT/$N1'" "encrypted round trip is byte-identical"
rm -f "$OUT"/*
R --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp2" "$N1" "$OUT/$N1"
check_rc 152 "wrong passphrase"
check "err_has 'passphrase'" "message mentions the passphrase"
check "no_trace $N1" "no file at %p (wrong passphrase)"
R --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp2" \
    000000010000000000000009 "$OUT/000000010000000000000009"
check_rc 152 "wrong passphrase is not mistaken for 'not found'"
eobj=$T/erepo/wal/00000001/0000000100000000/$N1
flip_byte "$eobj" $(($(file_size "$eobj") / 2))
R --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$N1" "$OUT/$N1"
check_rc 151 "encrypted object with a flipped byte"
check "no_trace $N1" "no file at %p (tampered ciphertext)"

info "restore into another cluster's data directory"
R --pgdata="$D2" "$N1" "$OUT/$N1"
check_rc 153 "repository of another cluster"
check "err_has '$(system_identifier "$D1")' && err_has '$(system_identifier "$D2")'" \
    "message names both system identifiers"
check "no_trace $N1" "no file at %p (other cluster)"

info "data directory without global/pg_control: restores, with a warning"
D3=$T/d3
mkdir -p "$D3"
R --pgdata="$D3" "$N1" "$OUT/$N1"
check_rc 0 "restore with no global/pg_control"
check "cmp -s '$T/in/$N1' '$OUT/$N1'" "and is byte-identical"
check "err_has 'warning:' && err_has '$D3/global/pg_control'" \
    "a warning names the missing file"
check "err_has 'not checking'" "the warning says the cluster check is skipped"
check "[ \"\$(grep -c 'warning:' '$T/run.err')\" -eq 1 ]" "one warning per call"
rm -f "$OUT"/*

# bad_control WHAT MSG...: with $D4/global/pg_control damaged, restore exits
# 151 (stop recovery), names the file and says WHAT, leaves no trace.
D4=$T/d4
mkdir -p "$D4/global"
cp -p "$D1/PG_VERSION" "$D4/"
bad_control() {
    local what=$1; shift
    R --pgdata="$D4" "$N1" "$OUT/$N1"
    check_rc 151 "$*"
    check "err_has 'error:' && err_has '$D4/global/pg_control'" "the error names the file ($*)"
    check "err_has '$what'" "the error says '$what' ($*)"
    check "err_has 'hint:'" "with a hint ($*)"
    check "no_trace $N1" "no file at %p ($*)"
}
info "damaged pg_control stops recovery (151)"
cp -p "$D1/global/pg_control" "$D4/global/pg_control"
flip_byte "$D4/global/pg_control" 100
bad_control CRC "pg_control with one byte flipped"
cp -p "$D1/global/pg_control" "$D4/global/pg_control"
truncate -s 200 "$D4/global/pg_control"
bad_control 'read 200 of 8192' "pg_control truncated to 200 bytes"
cp -p "$D1/global/pg_control" "$D4/global/pg_control"
flip_byte "$D4/global/pg_control" 9
bad_control 'pg_control_version' "pg_control with a bad pg_control_version"
cp -p "$D1/global/pg_control" "$D4/global/pg_control"
R --pgdata="$D4" "$N1" "$OUT/$N1"
check_rc 0 "an intact copy of pg_control restores again"
check "! err_has 'warning:'" "without a warning"
rm -f "$OUT"/*

info "damaged repository descriptor"
cp -p "$REPO/walship.repo" "$T/walship.repo.orig"
sed -i 's/^system_identifier = .*/system_identifier = garbage/; s/^format_version = .*/format_version =/' "$REPO/walship.repo"
R "$N1" "$OUT/$N1"
check_rc 151 "garbled walship.repo"
check "no_trace $N1" "no file at %p (garbled descriptor)"
cp -p "$T/walship.repo.orig" "$REPO/walship.repo"
rm "$REPO/walship.repo"
R "$N1" "$OUT/$N1"
check "[ \"\$RC\" -gt 125 ]" "missing walship.repo stops recovery (exit $RC > 125), not 'not found'"
check "no_trace $N1" "no file at %p (missing descriptor)"
cp -p "$T/walship.repo.orig" "$REPO/walship.repo"

info "unreadable repository (as $(as_pg id -un)), retried then 156"
give_pg "$REPO" "$OUT"
chmod 000 "$OBJDIR"
run as_pg "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" --retry_delay_ms=10 --retry_attempts=3 \
    "$N1" "$OUT/$N1"
chmod 700 "$OBJDIR"
check_rc 156 "unreadable repository directory"
check "[ \"\$(grep -c 'retrying' '$T/run.err')\" -eq 3 ]" "the log shows 3 retries"
check "err_has 'giving up after 4 attempts'" "the error says it gave up after 4 attempts"
check "no_trace $N1" "no file at %p (unreadable repository)"

info "pg_control the restoring user cannot read: restores, with a warning"
if is_root; then
    chmod 700 "$D4/global"
    chmod 600 "$D4/global/pg_control"
    run as_pg "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D4" "$N1" "$OUT/$N1"
    check_rc 0 "restore with an unreadable pg_control (as $(as_pg id -un))"
    check "err_has 'warning:' && err_has '$D4/global/pg_control' && err_has 'Permission denied'" \
        "a warning names the file and the cause"
    rm -f "$OUT"/*
else
    say "SKIP (check): unreadable pg_control: needs root to run as another user"
fi

info "no space left in the target directory"
if try_mount_tmpfs "$T/small" 1m; then
    give_pg "$T/small"
    R "$N1" "$T/small/$N1"
    check_rc 154 "restore 16 MiB into a 1 MiB filesystem"
    check "[ -z \"\$(find '$T/small' -mindepth 1)\" ]" "no partial file and no temporary file left"
else
    say "SKIP (check): no space in the target directory: cannot mount a tmpfs ($(is_root && cat "$T/mount.err" || echo 'not root'))"
fi

ws_summary

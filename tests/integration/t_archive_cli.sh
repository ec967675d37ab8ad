# t_archive_cli.sh — walship-archive's command-line contract, run directly
# (no server): exit statuses, messages, and what is (not) left in the
# repository.  An initdb'd data directory supplies pg_control and a real
# 16 MiB segment (pg_wal/000000010000000000000001).
#
# Exit statuses: 0 ok (also identical re-push), 1 other, 2 config/usage,
# 3 bad input, 4 archived with different content, 5 other cluster,
# 6 wrong passphrase, 7 corrupt, 8 no space; never above 125.
. "$(dirname "$0")/lib.sh"

ws_setup
D1=$T/d1
D2=$T/d2
pg_init "$D1"
pg_init "$D2"
SEG1=$D1/pg_wal/000000010000000000000001
N1=000000010000000000000001
N2=000000010000000000000002
REPO=$T/repo
OBJDIR=$REPO/wal/00000001/0000000100000000
mkdir "$REPO" "$T/in" "$T/out"
printf 'repo = %s\n' "$REPO" > "$T/c.conf"
chmod 644 "$T/c.conf"
SYSID1=$(system_identifier "$D1")
SYSID2=$(system_identifier "$D2")
check "[ -f '$SEG1' ] && [ \"\$(file_size '$SEG1')\" = 16777216 ]" "initdb left a 16 MiB segment $N1"
check "[ -n '$SYSID1' ] && [ -n '$SYSID2' ] && [ '$SYSID1' != '$SYSID2' ]" \
    "two clusters with distinct system identifiers ($SYSID1, $SYSID2)"

# A: walship-archive with the test's config and the first cluster's pg_control.
A() { run "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$@"; }
R() { run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" "$@"; }

info "--help, --version"
run "$WS_ARCHIVE" --help
check_rc 0 "--help"
check "out_has 'Usage:' && out_has '%p %f'" "--help prints usage on stdout"
run "$WS_ARCHIVE" --version
check_rc 0 "--version"
check "grep -qE '^walship-archive \(walship\) [0-9]+\.[0-9]+' '$T/run.out'" "--version prints the version"
run "$WS_ARCHIVE" --no-such-option
check_rc 2 "unknown option"
check "err_has 'no-such-option'" "message names the unknown option"

info "archive a segment, then the same segment again"
A "$SEG1" "$N1"
check_rc 0 "first archive of $N1"
check "[ -s '$OBJDIR/$N1' ]" "object wal/00000001/0000000100000000/$N1 exists"
check "grep -q '^system_identifier = $SYSID1\$' '$REPO/walship.repo'" \
    "walship.repo binds the repository to system $SYSID1"
check "[ -z \"\$(dotfiles '$REPO')\" ]" "no temporary file left"
cp -p "$OBJDIR/$N1" "$T/obj1.before"
A "$SEG1" "$N1"
check_rc 0 "second archive of the identical segment"
check "err_has 'already archived'" "second archive says 'already archived'"
check "cmp -s '$OBJDIR/$N1' '$T/obj1.before'" "object unchanged by the identical re-push"

info "a different file under an archived name"
cp "$SEG1" "$T/in/$N1"
flip_byte "$T/in/$N1" 8000000
A "$T/in/$N1" "$N1"
check_rc 4 "different content under the same name"
check "err_has 'different content'" "message says 'different content'"
check "cmp -s '$OBJDIR/$N1' '$T/obj1.before'" "archived object unchanged (cmp before/after)"
check "[ -z \"\$(dotfiles '$REPO')\" ]" "no temporary file left"

info "bad input"
head -c 8388608 "$SEG1" > "$T/in/short"
A "$T/in/short" "$N2"
check_rc 3 "wrong-size segment"
check "err_has 'size'" "message mentions the size"
check "[ ! -e '$OBJDIR/$N2' ]" "nothing archived for the wrong-size segment"
A "$T/in/does-not-exist" "$N2"
check_rc 3 "missing %p"
check "err_has '$T/in/does-not-exist'" "message names the missing file"
cp "$SEG1" "$T/in/unreadable"
chmod 000 "$T/in/unreadable"
give_pg "$REPO"      # only %p may be unreadable
run as_pg "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$T/in/unreadable" "$N2"
check_rc 3 "unreadable %p (as $(as_pg id -un))"
check "err_has 'Permission denied'" "message says 'Permission denied'"
A "$SEG1" foo
check_rc 3 "name 'foo'"
A "$SEG1" "$N1.bogus"
check_rc 3 "name '$N1.bogus'"
A "$N1" "$SEG1"
check_rc 3 "swapped arguments (%f %p)"
check "err_has 'not a WAL file name'" "message says 'not a WAL file name'"
A "$SEG1"
check_rc 2 "one argument only"
check "[ \"\$(find '$REPO/wal' -type f | wc -l)\" = 1 ]" "still exactly one object in the repository"

info "configuration errors"
: > "$T/empty.conf"
run "$WS_ARCHIVE" --config="$T/empty.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 2 "no repo configured"
check "err_has 'no repository is configured'" "message says no repository is configured"
WALSHIP_REPO=$REPO run "$WS_ARCHIVE" --config="$T/empty.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 0 "repo from WALSHIP_REPO (identical re-push)"
A --repo="$T/no-such-repo" "$SEG1" "$N1"
check_rc_retryable "repository directory missing"
check "err_has '$T/no-such-repo'" "message names the missing repository path"
check "[ ! -e '$T/no-such-repo' ]" "the missing repository is not created"
printf 'repo = %s\nbogus_key = 1\n' "$REPO" > "$T/badkey.conf"
run "$WS_ARCHIVE" --config="$T/badkey.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 2 "unknown key in the configuration file"
check "err_has 'bogus_key' && err_has '$T/badkey.conf' && err_has 'line 2'" \
    "message names file, line and key"
printf 'repo = %s\nencryption = aes-256-gcm\nencryption_passphrase = cfg-secret-7f3a9\n' \
    "$T/erepo" > "$T/pass.conf"
chmod 644 "$T/pass.conf"
run "$WS_ARCHIVE" --config="$T/pass.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 2 "config file with a passphrase and mode 0644"
check "err_has 'group or others'" "message says the file is accessible by group or others"
check "! grep -qF cfg-secret-7f3a9 '$T/run.err' '$T/run.out'" "the passphrase is not echoed"
printf 'encrypted-repo-passphrase-1\n' > "$T/pp1"
chmod 644 "$T/pp1"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$SEG1" "$N1"
check_rc 2 "passphrase file with mode 0644"
check "err_has 'group or others'" "message says the passphrase file is accessible by group or others"

info "--print-config"
WALSHIP_ENCRYPTION_PASSPHRASE=print-secret-0c1d2e \
    run "$WS_ARCHIVE" --config="$T/c.conf" --encryption=aes-256-gcm --print-config
check_rc 0 "--print-config"
check "out_has '$REPO' && out_has 'aes-256-gcm'" "--print-config shows the effective settings"
check "! grep -qF print-secret-0c1d2e '$T/run.out' '$T/run.err'" "--print-config masks the passphrase"
check "grep -qE \"^encryption_passphrase = '[*]+' +# environment\\\$\" '$T/run.out'" \
    "--print-config shows the passphrase from WALSHIP_ENCRYPTION_PASSPHRASE as masked"

info "secrets are refused on the command line (ps and pg_settings show it to everyone)"
run "$WS_ARCHIVE" --config="$T/c.conf" --encryption=aes-256-gcm \
    --encryption_passphrase=argv-secret-5e6f7a --print-config
check_rc 2 "--encryption_passphrase=... on the command line (configuration error)"
check "err_has 'option --encryption_passphrase cannot be given on the command line' && \
    err_has 'configuration file (mode 0600)' && err_has 'WALSHIP_ENCRYPTION_PASSPHRASE' && \
    err_has 'encryption_passphrase_file'" \
    "the message names the key and the configuration file, the environment and the passphrase file"
check "! grep -qF argv-secret-5e6f7a '$T/run.out' '$T/run.err'" "the refused passphrase is not echoed"
A --s3_session_token argv-secret-5e6f7a "$SEG1" "$N2"
check_rc 2 "--s3_session_token VALUE (separate argument) is refused too"
check "err_has '--s3_session_token' && err_has 'WALSHIP_S3_SESSION_TOKEN' && \
    ! grep -qF argv-secret-5e6f7a '$T/run.out' '$T/run.err'" \
    "the message names --s3_session_token and WALSHIP_S3_SESSION_TOKEN, not the value"
A --s3-secret-access-key=argv-secret-5e6f7a "$SEG1" "$N2"
check "[ \"\$RC\" = 2 ] && err_has '--s3_secret_access_key' && ! grep -qF argv-secret-5e6f7a '$T/run.err'" \
    "a hyphenated spelling is refused as the secret, not echoed as an unrecognized option"
check "[ ! -e '$OBJDIR/$N2' ]" "nothing archived"
R --encryption_passphrase argv-secret-5e6f7a "$N1" "$T/out/argv.$N1"
check "[ \"\$RC\" = 150 ] && err_has '--encryption_passphrase' && ! grep -qF argv-secret-5e6f7a '$T/run.err'" \
    "walship-restore refuses it with its configuration exit status 150"
check "[ ! -e '$T/out/argv.$N1' ]" "walship-restore wrote nothing at %p"
for b in "$WS_BASEBACKUP" "$WS_RECOVER"; do
    [ -x "$b" ] || continue
    run "$b" --config="$T/c.conf" --s3_secret_access_key=argv-secret-5e6f7a
    check "[ \"\$RC\" = 2 ] && err_has '--s3_secret_access_key' && ! grep -qF argv-secret-5e6f7a '$T/run.err'" \
        "$(basename "$b") refuses it with its configuration exit status 2"
done
info "a misspelled secret is an unrecognized option whose value is never quoted"
A --encryption_pasphrase=typo-secret-8b9c "$SEG1" "$N2"
check "[ \"\$RC\" = 2 ] && err_has 'unrecognized option \"--encryption_pasphrase\"' && ! grep -qF typo-secret-8b9c '$T/run.err'" \
    "walship-archive names the misspelled option, not its value"
for b in "$WS_BASEBACKUP" "$WS_RECOVER"; do
    [ -x "$b" ] || continue
    run "$b" --config="$T/c.conf" --s3-secret-acess-key=typo-secret-8b9c
    check "[ \"\$RC\" = 2 ] && err_has '--s3-secret-acess-key' && ! grep -qF typo-secret-8b9c '$T/run.err'" \
        "$(basename "$b") names the misspelled option, not its value"
done

info "another cluster archiving into this repository"
A --pgdata="$D2" "$D2/pg_wal/$N1" "$N1"
check_rc 5 "other cluster's segment into this repository"
check "err_has '$SYSID1' && err_has '$SYSID2'" "message names both system identifiers"
check "cmp -s '$OBJDIR/$N1' '$T/obj1.before'" "archived object unchanged"

info "encrypted repository and a wrong passphrase"
mkdir "$T/erepo"
printf 'encrypted-repo-passphrase-1\n' > "$T/pp1"
printf 'encrypted-repo-passphrase-2\n' > "$T/pp2"
chmod 600 "$T/pp1" "$T/pp2"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$SEG1" "$N1"
check_rc 0 "archive into a new encrypted repository"
check "grep -q '^encryption = aes-256-gcm' '$T/erepo/walship.repo'" "descriptor records the encryption"
cp "$SEG1" "$T/in/$N2"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp2" "$T/in/$N2" "$N2"
check_rc 6 "wrong passphrase"
check "err_has 'passphrase'" "message mentions the passphrase"
check "[ ! -e '$T/erepo/wal/00000001/0000000100000000/$N2' ]" "nothing archived with the wrong passphrase"
A --repo="$T/erepo" "$T/in/$N2" "$N2"
check_rc 2 "encryption = none against an encrypted repository"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$SEG1" "$N1"
check_rc 0 "identical re-push into the encrypted repository"
check "err_has 'already archived'" "encrypted re-push says 'already archived'"
A --repo="$T/erepo" --encryption=aes-256-gcm --encryption_passphrase_file="$T/pp1" "$T/in/$N1" "$N1"
check_rc 4 "different content under the same name (encrypted)"

info "history and backup history files"
printf '1\t0/3000060\tno recovery target specified\n' > "$T/in/00000002.history"
A "$T/in/00000002.history" 00000002.history
check_rc 0 "archive 00000002.history"
check "[ -s '$REPO/wal/00000002/00000002.history' ]" "object wal/00000002/00000002.history exists"
R 00000002.history "$T/out/00000002.history"
check_rc 0 "restore 00000002.history"
check "cmp -s '$T/in/00000002.history' '$T/out/00000002.history'" "history file restored byte-identical"
printf '2\t0/5000000\tbefore 2026-01-01 00:00:00+00\n' > "$T/in/other.history"
A "$T/in/other.history" 00000002.history
check_rc 4 "a different 00000002.history"
BK=$N1.00000028.backup
printf 'START WAL LOCATION: 0/1000028 (file %s)\nSTOP WAL LOCATION: 0/1000100 (file %s)\nCHECKPOINT LOCATION: 0/1000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-01-01 00:00:00 UTC\nLABEL: test\nSTART TIMELINE: 1\nSTOP TIME: 2026-01-01 00:00:01 UTC\nSTOP TIMELINE: 1\n' \
    "$N1" "$N1" > "$T/in/$BK"
A "$T/in/$BK" "$BK"
check_rc 0 "archive $BK"
check "[ -s '$OBJDIR/$BK' ]" "object for $BK exists"
R "$BK" "$T/out/$BK"
check_rc 0 "restore $BK"
check "cmp -s '$T/in/$BK' '$T/out/$BK'" "backup history file restored byte-identical"
R "$N1" "$T/out/$N1"
check_rc 0 "restore $N1"
check "cmp -s '$SEG1' '$T/out/$N1'" "segment restored byte-identical"

info "damaged repository descriptor"
mkdir "$T/badrepo"
printf 'this is not a walship descriptor\n' > "$T/badrepo/walship.repo"
A --repo="$T/badrepo" "$SEG1" "$N1"
check_rc 7 "garbled walship.repo"
check "err_has '$T/badrepo'" "message names the repository"
check "[ ! -e '$T/badrepo/wal' ] && [ \"\$(cat '$T/badrepo/walship.repo')\" = 'this is not a walship descriptor' ]" \
    "nothing archived and the descriptor left as it was"

info "four archivers racing to create a repository and archive the same segment"
mkdir "$T/racerepo"
for i in 1 2 3 4; do
    "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$T/racerepo" "$SEG1" "$N1" \
        > "$T/race.$i.out" 2> "$T/race.$i.err" &
    pids[i]=$!
done
race_rcs=""
for i in 1 2 3 4; do
    wait "${pids[i]}"
    race_rcs="$race_rcs $?"
done
cat "$T"/race.*.err > "$T/run.err"
echo "4 concurrent walship-archive into $T/racerepo" > "$T/run.cmd"
check "[ '$race_rcs' = ' 0 0 0 0' ]" "all four exit 0 (exits:$race_rcs)"
check "[ \"\$(grep -c 'created repository' '$T/run.err')\" = 1 ] && [ \"\$(grep -c 'archived \"$N1\"' '$T/run.err')\" = 1 ]" \
    "exactly one created the repository and exactly one stored the segment"
check "[ \"\$(find '$T/racerepo' -type f | wc -l)\" = 2 ] && [ -z \"\$(dotfiles '$T/racerepo')\" ]" \
    "the repository holds walship.repo and one object, no temporary file"

info "read-only repository (as $(as_pg id -un), since root ignores permissions)"
mkdir "$T/rorepo"
give_pg "$T/rorepo"
chmod 555 "$T/rorepo"
run as_pg "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$T/rorepo" "$SEG1" "$N1"
check_rc_retryable "archive into a read-only fresh repository"
check "err_has '$T/rorepo'" "message names the repository path"
check "[ -z \"\$(find '$T/rorepo' -mindepth 1)\" ]" "nothing left behind in the read-only repository"
# an initialised repository that then becomes read-only
chmod 755 "$T/rorepo"
run as_pg "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$T/rorepo" \
    "$T/in/00000002.history" 00000003.history
check_rc 0 "archive a history file into the writable repository (as $(as_pg id -un))"
chmod -R a-w "$T/rorepo"
run as_pg "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$T/rorepo" "$SEG1" "$N1"
check_rc_retryable "archive into an initialised repository made read-only"
check "[ -z \"\$(dotfiles '$T/rorepo')\" ] && [ ! -e '$T/rorepo/wal/00000001' ]" \
    "no temporary file or object left behind"
chmod -R u+w "$T/rorepo"

info "repository on a full filesystem"
if try_mount_tmpfs "$T/small" 1m; then
    A --repo="$T/small" --compression=none "$SEG1" "$N1"
    check_rc_retryable "archive 16 MiB uncompressed into a 1 MiB filesystem"
    if [ "$RC" -ne 8 ]; then
        say "note: exit $RC, not the documented 8 (no space)"
    fi
    check "[ \"\$RC\" -eq 8 ]" "exit status 8 (no space)"
    check "err_has 'No space left on device'" "message says 'No space left on device'"
    check "[ ! -e '$T/small/wal/00000001/0000000100000000/$N1' ]" "no partial object"
    check "[ -z \"\$(dotfiles '$T/small')\" ]" "no temporary file left in the full repository"
else
    say "SKIP (check): repository on a full filesystem: cannot mount a tmpfs ($(is_root && cat "$T/mount.err" || echo 'not root'))"
fi

ws_summary

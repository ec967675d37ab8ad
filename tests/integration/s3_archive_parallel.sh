# s3_archive_parallel.sh — parallel push to S3 (archive_parallel): one call
# for the oldest ready segment stores the next ready ones too, each with one
# create-if-absent PUT and no HEAD; the archiver's later calls for them are
# answered from the spool with no request at all; walship-restore of each
# gives back the file's bytes; a re-push after losing the spool finds every
# object identical.  Request counts come from the proxy's log (s3rver only).
. "$(dirname "$0")/s3lib.sh"

s3_setup
D1=$T/d1
pg_init "$D1"
W=$D1/pg_wal
SEG1=$W/000000010000000000000001
check "[ \"\$(file_size '$SEG1')\" = 16777216 ]" "initdb left a 16 MiB segment"
# eight segments with distinct content (walship archives bytes; it does not parse WAL)
NAMES=()
for i in 2 3 4 5 6 7 8 9; do
    n=00000001000000000000000$i
    cp "$SEG1" "$W/$n"
    flip_byte "$W/$n" $((i * 1000003))
    : > "$W/archive_status/$n.ready"
    NAMES+=("$n")
done
give_pg "$D1"
s3_write_conf "$T/c.conf" "$S3T_REPO" "archive_parallel = 3"
A() { run as_pg "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$@"; }

info "create the repository (its descriptor) first, from a copy outside pg_wal (no batch)"
mkdir "$T/in" && cp "$SEG1" "$T/in/" && give_pg "$T/in"
A "$T/in/000000010000000000000001" 000000010000000000000001
check_rc 0 "first segment archived"

is_s3rver && seq=$(proxy_seq)
info "one call for ${NAMES[0]} pushes the next ready segments"
A "$W/${NAMES[0]}" "${NAMES[0]}"
check_rc 0 "archive ${NAMES[0]}"
check "err_has 'also archived 7 next ready WAL files ahead'" "7 segments pushed ahead"
if is_s3rver; then
    proxy_log "^/$S3T_BUCKET/$S3T_PREFIX/" "$seq" > "$T/req.log"
    puts=$(grep -c '^PUT .*/wal/.* 200 ' "$T/req.log")
    inm=$(grep -c '^PUT .*if-none-match=\*' "$T/req.log")
    heads=$(grep -c '^HEAD ' "$T/req.log")
    gets=$(grep -c '^GET ' "$T/req.log")
    total=$(wc -l < "$T/req.log")
    check "[ '$puts' = 8 ] && [ '$inm' = 8 ] && [ '$heads' = 0 ] && [ '$gets' = 1 ] && [ '$total' = 9 ]" \
        "8 segments: 8 PUTs with If-None-Match: *, no HEAD, 1 GET (the descriptor): $total requests"
fi

info "the archiver's calls for the others: answered from the spool"
is_s3rver && seq=$(proxy_seq)
for n in "${NAMES[@]:1}"; do
    A "$W/$n" "$n"
    check_rc 0 "archive $n"
    check "err_has 'was archived ahead by an earlier call'" "$n answered from the spool"
    mv "$W/archive_status/$n.ready" "$W/archive_status/$n.done"
done
if is_s3rver; then
    n=$(proxy_log "^/$S3T_BUCKET/$S3T_PREFIX/" "$seq" | wc -l)
    check "[ '$n' = 0 ]" "those 7 calls made no request ($n)"
fi

info "every object reads back as the file"
mkdir "$T/out" && give_pg "$T/out"
for n in "${NAMES[@]}"; do
    run as_pg "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" "$n" "$T/out/$n"
    check "[ '$RC' = 0 ] && cmp -s '$T/out/$n' '$W/$n'" "walship-restore $n gives the file's bytes"
done

info "the spool lost, the archiver goes again: identical, nothing overwritten"
rm -rf "$W/walship-archive"
for n in "${NAMES[@]}"; do : > "$W/archive_status/$n.ready"; done
give_pg "$W"
A "$W/${NAMES[0]}" "${NAMES[0]}"
check_rc 0 "re-push of ${NAMES[0]}"
check "err_has 'already archived with identical content'" "found identical after the 412"
s3_summary

# s3_faults.sh — the S3 driver under injected faults: retries, resumed
# downloads, timeouts, multipart uploads that fail half-way, replies that are
# not what S3 sends.  Uses the control API of tests/s3/proxy.js (s3rver
# target only; skipped on RGW, where faults cannot be injected).
#
# The proxy is shared with tests running at the same time, so every fault
# rule is scoped by path_regex to a sub-prefix of this run used by one check
# only (a rule that is not used up can never hit anything else), and
# statistics are read with ?since=<seq>&path_regex=<that sub-prefix>.
. "$(dirname "$0")/s3lib.sh"

s3_setup
s3_require_proxy
command -v node > /dev/null || skip "node not found (needed to read the proxy's JSON)"
D1=$T/d1
pg_init "$D1"
SEG1=$D1/pg_wal/000000010000000000000001
N1=000000010000000000000001
KEY1=$(wal_key "$N1")
P=$S3T_PREFIX
mkdir "$T/out"
check "[ \"\$(file_size '$SEG1')\" = 16777216 ]" "initdb left a 16 MiB segment $N1"
s3_write_conf "$T/c.conf" "$S3T_REPO"

# FA SUB ARGS...: walship-archive into s3://bucket/$P/SUB (SUB: one check's own prefix).
FA() { local sub=$1; shift; run "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO/$sub" "$@"; }
FR() { local sub=$1; shift; run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO/$sub" "$@"; }
# re SUB [KEY]: path regex for the object KEY (default: $KEY1) below SUB.
re() { printf '/%s/%s/%s' "$P" "$1" "${2:-$KEY1}"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# archived_ok SUB: the object exists and restores byte-identical.
archived_ok() {
    [ "$(s3_head "$P/$1" "$KEY1")" = 200 ] || return 1
    run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO/$1" "$N1" "$T/out/$1.check"
    [ "$RC" = 0 ] && cmp -s "$SEG1" "$T/out/$1.check"
}
# fault_archive SUB FAULT_JSON_FIELDS DESCRIPTION [WALSHIP ARGS...]: inject a
# fault on the PUT of the WAL object, archive, expect success.
fault_archive() {
    local sub=$1 spec=$2 what=$3 seq n
    shift 3
    seq=$(proxy_seq)
    fault "{\"method\":\"PUT\",\"path_regex\":\"$(re "$sub")\$\",$spec}"
    FA "$sub" "$@" "$SEG1" "$N1"
    n=$(faults_injected "/$P/$sub/" "$seq")
    check_rc 0 "archive through $what"
    FAULTS=$n
    cp "$T/run.err" "$T/fault.err"
}

info "transient server errors on PUT: retried"
fault_archive put500 '"mode":"500","count":2' "HTTP 500 on the next 2 PUTs"
check "[ '$FAULTS' = 2 ]" "the proxy injected 2 faults ($FAULTS)"
check "[ \"\$(grep -c 'HTTP 500 InternalError.*retrying in' '$T/fault.err')\" = 2 ]" "two warnings name HTTP 500 InternalError and the retry"
check "archived_ok put500" "the object is there and restores byte-identical"

t0=$(date +%s%N)
fault_archive put503 '"mode":"503slowdown","count":2,"retry_after":"1"' "503 SlowDown (Retry-After: 1) on the next 2 PUTs"
ms=$(ms_since "$t0")
check "[ '$FAULTS' = 2 ] && grep -q 'SlowDown' '$T/fault.err'" "2 SlowDown faults injected and reported"
check "[ '$ms' -ge 2000 ]" "Retry-After: 1 was honoured (archive took $ms ms >= 2000)"
check "archived_ok put503" "the object is there and restores byte-identical"

fault_archive put429 '"mode":"429","count":1' "429 TooManyRequests on the next PUT"
check "[ '$FAULTS' = 1 ] && archived_ok put429" "fault injected; object there and byte-identical"

info "connections lost on PUT"
fault_archive putrst '"mode":"reset","count":1' "a TCP reset instead of the PUT's response"
check "[ '$FAULTS' = 1 ] && archived_ok putrst" "fault injected; object there and byte-identical"
fault_archive putclose '"mode":"close","count":1' "the connection closed without a response to the PUT"
check "[ '$FAULTS' = 1 ] && archived_ok putclose" "fault injected; object there and byte-identical"
fault_archive putlost '"mode":"reset-after","count":1' "a reset after the PUT was stored (response lost)"
check "[ '$FAULTS' = 1 ] && archived_ok putlost" "fault injected; object there and byte-identical"
say "note: after a lost PUT response walship said: $(grep -v -e warning -e 'created repository' "$T/fault.err" | head -n 1)"
# A new segment has no HEAD (create-if-absent PUT first); the HEAD comes in a
# re-push, after the 412, to compare.
FA headrst2 "$SEG1" "$N1"
check_rc 0 "archive into headrst2"
seq=$(proxy_seq)
fault "{\"method\":\"HEAD\",\"path_regex\":\"$(re headrst2)\$\",\"mode\":\"reset\",\"count\":1}"
FA headrst2 "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && [ \"\$(faults_injected '/$P/headrst2/' '$seq')\" = 1 ] && err_has 'already archived' && archived_ok headrst2" \
    "a reset on the HEAD of the comparison after the 412 of a re-push: retried, exit 0, object byte-identical"

info "a PUT slower than s3_timeout (delay before the response headers)"
# The proxy holds the response 20 s; s3_timeout is "seconds without any
# progress", so walship must abandon the request after about 1 s and retry.
t0=$(date +%s%N)
fault_archive putslow '"mode":"delay","delay_ms":20000,"count":1' "a 20 s delay before the PUT's response, s3_timeout = 1" --s3_timeout=1
ms=$(ms_since "$t0")
defer_check "[ '$ms' -lt 4000 ]" \
    "s3_timeout = 1 after an upload: the response-less PUT was abandoned within about 1 s (archive took $ms ms, want < 4000)"
check "[ '$FAULTS' = 1 ] && [ '$ms' -lt 20000 ]" "delay injected; walship abandoned the request and retried ($ms ms < 20000)"
check "grep -qiE 'timed out|too slow|timeout' '$T/fault.err'" "the warning says the request timed out or was too slow"
check "archived_ok putslow" "the object is there and restores byte-identical"

info "persistent 500 on PUT (s3_max_retries = 2)"
seq=$(proxy_seq)
fault "{\"method\":\"PUT\",\"path_regex\":\"$(re put500x)\$\",\"mode\":\"500\",\"count\":10}"
FA put500x --s3_max_retries=2 "$SEG1" "$N1"
check_rc_retryable "archive against persistent 500s"
check "err_has 'giving up after 3 attempts' && err_has 'InternalError'" "message: giving up after 3 attempts, InternalError"
check "[ \"\$(faults_injected '/$P/put500x/' '$seq')\" = 3 ]" "exactly 3 PUT attempts (1 + s3_max_retries)"
check "[ \"\$(s3_head '$P/put500x' '$KEY1')\" = 404 ]" "no object under the final key"

info "GET faults during restore"
# restore_fault SUB SPEC DESCRIPTION [ARGS...]: archive cleanly, then inject
# a fault on the GET of the object and restore.
restore_fault() {
    local sub=$1 spec=$2 what=$3
    shift 3
    FA "$sub" "$SEG1" "$N1"
    [ "$RC" = 0 ] || fail "archive into $sub"
    RSEQ=$(proxy_seq)
    fault "{\"method\":\"GET\",\"path_regex\":\"$(re "$sub")\$\",$spec}"
    rm -f "$T/out/$sub"
    FR "$sub" "$@" "$N1" "$T/out/$sub"
    FAULTS=$(faults_injected "/$P/$sub/" "$RSEQ")
    info "$what: restore exit $RC, $FAULTS fault(s) injected"
}
restore_fault getrst '"mode":"reset-mid-body","count":1' "a reset in the middle of the GET body"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/getrst'" "restore succeeded, byte-identical"
proxy_log "$(re getrst)" "$RSEQ" > "$T/pl"
check "[ '$FAULTS' = 1 ] && grep -q '^GET .* 206 .*range=bytes=[1-9][0-9]*- .*if-match=\"' '$T/pl'" \
    "the proxy saw the reset, then a Range GET from the offset reached, pinned with If-Match"
check "no_tmp '$T/out'" "no temporary file left"

restore_fault gettrunc '"mode":"truncate","count":1' "a GET body cut short (connection closed)"
if [ "$RC" = 0 ]; then
    check "cmp -s '$SEG1' '$T/out/gettrunc'" "truncated body: restore recovered (retry/resume), byte-identical"
else
    check "[ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/gettrunc' ]" "truncated body: clean failure (exit $RC > 125), nothing at %p"
fi
check "[ '$FAULTS' = 1 ] && no_tmp '$T/out'" "fault injected, no temporary file left"

t0=$(date +%s%N)
restore_fault getstall '"mode":"stall-mid-body","count":1,"delay_ms":20000' \
    "a GET body that stalls half-way (s3_timeout = 1)" --s3_timeout=1
ms=$(ms_since "$t0")
defer_check "[ '$ms' -lt 4000 ]" \
    "s3_timeout = 1: the GET stalled half-way was abandoned within about 1 s (archive + restore took $ms ms, want < 4000)"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/getstall' && [ '$FAULTS' = 1 ] && [ '$ms' -lt 20000 ]" \
    "stalled body: abandoned, resumed, byte-identical ($ms ms < 20000)"

restore_fault gethang '"mode":"hang","count":1,"delay_ms":20000' "a GET with no response at all (s3_timeout = 1)" --s3_timeout=1
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/gethang' && [ '$FAULTS' = 1 ]" "hanging GET: retried, byte-identical"

restore_fault get503 '"mode":"503slowdown","count":2,"retry_after":"0"' "503 SlowDown on the next 2 GETs"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/get503' && [ '$FAULTS' = 2 ]" "restore through 2 SlowDowns: byte-identical"

# The S3 driver is the one layer that retries an S3 request: restore does not
# retry it again, so retry_attempts does not multiply the attempts.
restore_fault get500x '"mode":"500","count":50' "persistent 500 on GET (s3_max_retries = 2, retry_attempts = 1)" \
    --s3_max_retries=2 --retry_attempts=1 --retry_delay_ms=50
check_rc 156 "restore against persistent 500s: I/O error, not 'not found'"
check "[ ! -e '$T/out/get500x' ] && no_tmp '$T/out'" "nothing at %p, no temporary file"
proxy_log "$(re get500x)" "$RSEQ" > "$T/pl"
check "[ '$FAULTS' = 3 ] && [ \"\$(grep -c '^GET ' '$T/pl')\" = 3 ]" \
    "exactly 3 GETs reached the proxy: 1 + s3_max_retries, not multiplied by retry_attempts ($FAULTS faults)"
check "err_has 'giving up after 3 attempts' && err_has 'InternalError'" \
    "message: giving up after 3 attempts, names the S3 error"
check "[ \"\$(grep -c 'retrying in' '$T/run.err')\" = 2 ]" "2 retry warnings, all from the S3 driver"

restore_fault getcorrupt '"mode":"corrupt","count":1' "one byte flipped in the GET body"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/getcorrupt' || { [ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/getcorrupt' ]; }" \
    "flipped byte in transit: restored intact after a retry, or refused (exit $RC > 125) with nothing at %p"
check "[ '$FAULTS' = 1 ] && no_tmp '$T/out'" "fault injected, no temporary file left"

restore_fault gethtml '"mode":"html","count":1' "200 with an HTML page instead of the object"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/gethtml' || { [ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/gethtml' ]; }" \
    "HTML instead of the object: never written to %p as WAL (exit $RC)"
check "[ '$FAULTS' = 1 ] && no_tmp '$T/out'" "fault injected, no temporary file left"

FA desc500 "$SEG1" "$N1"
seq=$(proxy_seq)
fault "{\"method\":\"GET\",\"path_regex\":\"/$P/desc500/walship.repo\$\",\"mode\":\"500\",\"count\":2}"
FR desc500 "$N1" "$T/out/desc500"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/desc500' && [ \"\$(faults_injected '/$P/desc500/' '$seq')\" = 2 ]" \
    "2 x 500 on the GET of walship.repo: retried, restore byte-identical"

info "expired temporary credentials"
# Credentials from a (fake, loopback) instance metadata service; the proxy
# answers the first GET of the object with 400 ExpiredToken: walship must
# drop its cached credentials, fetch new ones and retry.
imds_start "$S3T_AK" "$S3T_SK"
FA expired "$SEG1" "$N1"
[ "$RC" = 0 ] || fail "archive into expired/"
{
    echo "repo = '$S3T_REPO/expired'"
    echo "s3_endpoint = '$S3T_ENDPOINT'"
    echo "s3_region = '$S3T_REGION'"
} > "$T/imds.conf"
chmod 600 "$T/imds.conf"
seq=$(proxy_seq)
fault "{\"method\":\"GET\",\"path_regex\":\"$(re expired)\$\",\"mode\":\"error\",\"status\":400,\"code\":\"ExpiredToken\",\"message\":\"The provided token has expired.\",\"count\":1}"
before=$(grep -c 'security-credentials/walship-role' "$IMDS_LOG")
run env -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IMDS_PORT" \
    "$WS_RESTORE" --config="$T/imds.conf" --pgdata="$D1" "$N1" "$T/out/expired"
after=$(grep -c 'security-credentials/walship-role' "$IMDS_LOG")
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/expired' && [ \"\$(faults_injected '/$P/expired/' '$seq')\" = 1 ]" \
    "400 ExpiredToken on the GET: retried, restore byte-identical"
check "[ \$((after - before)) -ge 2 ]" "the credentials were fetched again after ExpiredToken ($((after - before)) fetches from the metadata service)"

info "multipart uploads (s3_part_size = 5MB, compression = none: 4 parts)"
MPA=(--s3_part_size=5MB --compression=none)
seq=$(proxy_seq)
FA mp "${MPA[@]}" "$SEG1" "$N1"
check_rc 0 "multipart archive"
proxy_log "/$P/mp/wal/" "$seq" > "$T/pl"
check "grep -q '^POST .*?uploads= 200 ' '$T/pl' && [ \"\$(grep -c '^PUT .*?partNumber=[1-4]&uploadId=.* 200 ' '$T/pl')\" = 4 ] && grep -q '^POST .*?uploadId=.* 200 ' '$T/pl'" \
    "proxy log: ?uploads=, 4 x partNumber=, complete"
check "archived_ok mp" "round trip byte-identical"

seq=$(proxy_seq)
fault "{\"method\":\"PUT\",\"path_regex\":\"$(re mpretry)\\\\?partNumber=2&\",\"mode\":\"500\",\"count\":2}"
FA mpretry "${MPA[@]}" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && [ \"\$(faults_injected '/$P/mpretry/' '$seq')\" = 2 ] && archived_ok mpretry" \
    "2 x 500 on part 2: the part is retried, archive exit 0, byte-identical"

seq=$(proxy_seq)
fault "{\"method\":\"PUT\",\"path_regex\":\"$(re mpfail)\\\\?partNumber=3&\",\"mode\":\"500\",\"count\":3}"
FA mpfail "${MPA[@]}" --s3_max_retries=2 "$SEG1" "$N1"
check_rc_retryable "persistent 500 on part 3: archive fails"
proxy_log "/$P/mpfail/wal/" "$seq" > "$T/pl"
check "[ \"\$(grep -c '^PUT .*?partNumber=3&.* 500 ' '$T/pl')\" = 3 ] && ! grep -q 'partNumber=4' '$T/pl'" \
    "part 3 was tried 3 times, part 4 never"
check "grep -q '^DELETE .*?uploadId=.* 204 ' '$T/pl'" "walship aborted the upload (DELETE ?uploadId= -> 204)"
s3_uploads "$P/mpfail" > "$T/mpu"
check "[ ! -s '$T/mpu' ]" "ListMultipartUploads (curl): no upload left below the prefix"
ctl GET /__uploads | jsget "j.filter(u => u.key.startsWith('$P/mpfail/')).map(u => u.state).join(',')" > "$T/states"
check "[ \"\$(cat '$T/states')\" = aborted ]" "the proxy's bookkeeping: the upload is aborted ($(cat "$T/states"))"
check "[ \"\$(s3_head '$P/mpfail' '$KEY1')\" = 404 ]" "no object under the final key"
FA mpfail "${MPA[@]}" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && archived_ok mpfail" "the next attempt (fault used up) archives it, byte-identical"

seq=$(proxy_seq)
fault "{\"method\":\"POST\",\"path_regex\":\"$(re mpcomp)\\\\?uploadId=\",\"mode\":\"500\",\"count\":1}"
FA mpcomp "${MPA[@]}" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && [ \"\$(faults_injected '/$P/mpcomp/' '$seq')\" = 1 ] && archived_ok mpcomp" \
    "500 on CompleteMultipartUpload: retried, exit 0, byte-identical"

seq=$(proxy_seq)
fault "{\"method\":\"POST\",\"path_regex\":\"$(re mp200e)\\\\?uploadId=\",\"mode\":\"200-error\",\"count\":1}"
FA mp200e "${MPA[@]}" "$SEG1" "$N1"
n=$(faults_injected "/$P/mp200e/" "$seq")
s3_uploads "$P/mp200e" > "$T/mpu"
if [ "$RC" = 0 ]; then
    check "[ '$n' = 1 ] && archived_ok mp200e" "200 with <Error> on CompleteMultipartUpload: retried, byte-identical"
else
    check "[ '$n' = 1 ] && [ \"\$RC\" -le 125 ] && [ \"\$(s3_head '$P/mp200e' '$KEY1')\" = 404 ]" \
        "200 with <Error> on CompleteMultipartUpload: archive fails (exit $RC), no object"
    check "err_has 'InternalError'" "message names the error from the 200 reply"
fi
check "[ ! -s '$T/mpu' ]" "no upload left in progress after the 200-with-error reply"

seq=$(proxy_seq)
fault "{\"method\":\"POST\",\"path_regex\":\"$(re mpxml)\\\\?uploads=\",\"mode\":\"malformed-xml\",\"count\":1}"
FA mpxml "${MPA[@]}" "$SEG1" "$N1"
check_rc_retryable "malformed XML in reply to CreateMultipartUpload"
check "err_has 'UploadId'" "message: no UploadId in the reply"
check "[ \"\$(s3_head '$P/mpxml' '$KEY1')\" = 404 ]" "no object"

info "create-only commits under a race (deterministic, with a delayed request)"
# B's PUT (other content) is held by the proxy after walship checked that the
# key is free; meanwhile A archives.  B's PUT must then get 412 and exit 4.
cp "$SEG1" "$T/other"
flip_byte "$T/other" 9000000
race_delayed() {
    local sub=$1 bfile=$2 method=$3 rx bpid i id held
    rx="$(re "$sub")$4"      # a regular expression; in JSON its backslashes double
    shift 4
    FA "$sub" "$SEG1" 000000010000000000000003
    [ "$RC" = 0 ] || fail "initialise $sub"
    RSEQ=$(proxy_seq)
    id=$(ctl POST /__fault "{\"method\":\"$method\",\"path_regex\":\"${rx//\\/\\\\}\",\"mode\":\"delay\",\"delay_ms\":5000,\"count\":1}" |
        sed -n 's/^ *"id": *\([0-9]*\),*$/\1/p')
    [ -n "$id" ] || fail "could not add the delay rule"
    "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO/$sub" "$@" "$bfile" "$N1" \
        > "$T/b.out" 2> "$T/b.err" &
    bpid=$!
    # the rule disappears from the pending list when B's request takes it
    for i in $(seq 300); do
        curl -sS --max-time 5 "$S3T_CONTROL/__fault" | grep -q "\"id\": $id," || break
        sleep 0.05
    done
    curl -sS --max-time 5 "$S3T_CONTROL/__fault" | grep -q "\"id\": $id," && fail "B's request did not reach the delay rule"
    FA "$sub" "$SEG1" "$N1"
    ARC=$RC
    kill -0 "$bpid" 2>/dev/null && held=yes || held=no
    wait "$bpid"
    BRC=$?
    check "[ '$held' = yes ]" "(premise) B's request was still held by the proxy when A had finished"
    cp "$T/b.err" "$T/run.err"
    echo "delayed walship-archive (B) into $sub" > "$T/run.cmd"
    proxy_log "$(re "$sub")" "$RSEQ" > "$T/pl.$sub"
}
race_delayed inm "$T/other" PUT '$'
check "[ '$ARC' = 0 ] && [ '$BRC' = 4 ] && err_has 'different content'" \
    "A exits 0; B, whose PUT was held, exits 4 'different content' (A $ARC, B $BRC)"
check "grep -q '^PUT .* 412 .*PreconditionFailed' '$T/pl.inm'" "B's PUT got 412 PreconditionFailed (If-None-Match: *)"
check "archived_ok inm" "the stored object is A's"
race_delayed inmsame "$SEG1" PUT '$'
check "[ '$ARC' = 0 ] && [ '$BRC' = 0 ] && err_has 'already archived'" \
    "same content: B's held PUT gets 412 and B exits 0 'already archived' (A $ARC, B $BRC)"
check "grep -q '^PUT .* 412 ' '$T/pl.inmsame'" "B's PUT got 412"
race_delayed inmmp "$T/other" POST '\?uploadId=' "${MPA[@]}"
check "[ '$ARC' = 0 ] && [ '$BRC' = 4 ]" "multipart B whose CompleteMultipartUpload was held exits 4 (A $ARC, B $BRC)"
check "grep -q '^POST .*?uploadId=.* 412 ' '$T/pl.inmmp'" "B's CompleteMultipartUpload got 412"
check "grep -q '^DELETE .*?uploadId=.* 204 ' '$T/pl.inmmp'" "B aborted its upload"
s3_uploads "$P/inmmp" > "$T/mpu"
check "[ ! -s '$T/mpu' ] && archived_ok inmmp" "no upload left in progress; the stored object is A's"

skip_check "malformed XML in a list reply: nothing in walship-archive or walship-restore lists the bucket today"
s3_summary

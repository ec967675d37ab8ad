# s3_cli.sh — walship-archive/walship-restore's command-line contract against
# an S3 repository (repo = s3://bucket/prefix), run directly with an initdb'd
# data directory for pg_control and its real 16 MiB segment: exit statuses,
# messages, what is (not) left in the bucket, and that the objects are plain
# S3 objects an independent client (curl's own SigV4 signer) can list and
# fetch.  Runs against s3rver behind the verifying proxy and against Ceph RGW;
# a few checks need the proxy (its request log, fault rules) and are skipped
# on RGW.
. "$(dirname "$0")/s3lib.sh"

s3_setup
D1=$T/d1
pg_init "$D1"
SEG1=$D1/pg_wal/000000010000000000000001
N1=000000010000000000000001
N2=000000010000000000000002
KEY1=$(wal_key "$N1")
P=$S3T_PREFIX
mkdir "$T/in" "$T/out"
SYSID1=$(system_identifier "$D1")
check "[ -f '$SEG1' ] && [ \"\$(file_size '$SEG1')\" = 16777216 ]" "initdb left a 16 MiB segment $N1"
cp "$SEG1" "$T/in/$N1.other"
flip_byte "$T/in/$N1.other" 8000000
s3_write_conf "$T/c.conf" "$S3T_REPO"

A() { run "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$@"; }
R() { run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" "$@"; }
SEQ=0
is_s3rver && SEQ=$(proxy_seq)

info "archive a segment, then the same segment again, then a different one under its name"
A "$SEG1" "$N1"
check_rc 0 "first archive of $N1 into $S3T_REPO"
check "err_has 'created repository \"$S3T_REPO\"' && err_has 'archived \"$N1\"'" \
    "messages say the repository was created and $N1 archived"
check "[ \"\$(s3_head '$P' '$KEY1')\" = 200 ]" "HEAD $P/$KEY1 (curl): 200"
check "[ \"\$(s3_get '$P' '$KEY1' '$T/obj1.before')\" = 200 ] && [ -s '$T/obj1.before' ]" \
    "GET $P/$KEY1 (curl): 200"
A "$SEG1" "$N1"
check_rc 0 "second archive of the identical segment"
check "err_has 'already archived'" "second archive says 'already archived'"
A "$T/in/$N1.other" "$N1"
check_rc 4 "different content under the same name"
check "err_has 'different content'" "message says 'different content'"
check "[ \"\$(s3_get '$P' '$KEY1' '$T/obj1.after')\" = 200 ] && cmp -s '$T/obj1.before' '$T/obj1.after'" \
    "the archived object is unchanged (curl GET before/after)"
if is_s3rver; then
    proxy_log "/$P/wal/" "$SEQ" > "$T/pl"
    # create-if-absent first: the re-push and the refused push each send a
    # PUT with If-None-Match: *, which the store refuses (412), then compare
    check "[ \"\$(grep -c '^PUT .* 200 ' '$T/pl')\" = 1 ] && [ \"\$(grep -c '^PUT .* 412 .*if-none-match=\\*' '$T/pl')\" = 2 ] && [ \"\$(grep -c '^PUT ' '$T/pl')\" = 3 ]" \
        "one PUT of a WAL object stored it; the re-push and the refused push got 412 and wrote nothing"
    check "grep -q '^PUT .* 200 .*if-none-match=\\*' '$T/pl'" "the PUT carried If-None-Match: * (create-only)"
    check "! grep -q '^HEAD .* 404 ' '$T/pl'" "no HEAD before the first PUT (nothing looked up a missing object)"
fi

info "restore"
R "$N1" "$T/out/$N1"
check_rc 0 "restore $N1"
check "cmp -s '$SEG1' '$T/out/$N1'" "restored byte-identical"
check "err_has 'restored \"$N1\"'" "message says restored"
R "$N2" "$T/out/$N2"
check_rc 1 "restore of a segment that is not in the archive"
check "err_empty && [ ! -s '$T/run.out' ]" "'not found' is silent at the default log level"
check "[ ! -e '$T/out/$N2' ] && no_tmp '$T/out'" "nothing at %p and no temporary file"
R "$N2" "$T/out/$N2" --log_level=debug
check_rc 1 "restore of a missing segment at log_level=debug"
check "err_has '$N2'" "at debug level the message names the missing file"

info "history and backup history files"
printf '1\t0/3000060\tno recovery target specified\n' > "$T/in/00000002.history"
A "$T/in/00000002.history" 00000002.history
check_rc 0 "archive 00000002.history"
check "[ \"\$(s3_head '$P' wal/00000002/00000002.history)\" = 200 ]" "object wal/00000002/00000002.history exists (curl HEAD)"
R 00000002.history "$T/out/00000002.history"
check "[ \"\$RC\" = 0 ] && cmp -s '$T/in/00000002.history' '$T/out/00000002.history'" "history file restored byte-identical"
R 00000003.history "$T/out/00000003.history"
check "[ \"\$RC\" = 1 ] && err_empty" "a timeline history file that does not exist: exit 1, silent (PostgreSQL probes for it)"
BK=$N1.00000028.backup
printf 'START WAL LOCATION: 0/1000028 (file %s)\nSTOP WAL LOCATION: 0/1000100 (file %s)\nLABEL: test\n' "$N1" "$N1" > "$T/in/$BK"
A "$T/in/$BK" "$BK"
check_rc 0 "archive $BK"
R "$BK" "$T/out/$BK"
check "[ \"\$RC\" = 0 ] && cmp -s '$T/in/$BK' '$T/out/$BK'" "backup history file restored byte-identical"
# keep the listing below to walship.repo and $KEY1
s3c "$T/rmh1" DELETE "$(obj_path "$P" wal/00000002/00000002.history)" > /dev/null
s3c "$T/rmh2" DELETE "$(obj_path "$P" "$(wal_key "$N1").00000028.backup")" > /dev/null

info "the objects are plain S3 objects: an independent client lists and fetches them"
s3_list "$P" > "$T/keys"
check "[ \"\$(LC_ALL=C sort '$T/keys' | tr '\n' ' ')\" = '$KEY1 walship.repo ' ]" \
    "ListObjectsV2 (curl) below $P/ shows exactly walship.repo and $KEY1"
check "[ \"\$(s3_get '$P' walship.repo '$T/desc')\" = 200 ] && grep -q '^system_identifier = $SYSID1\$' '$T/desc'" \
    "walship.repo (curl) binds the repository to system $SYSID1"
check "[ \"\$(head -c 8 '$T/obj1.before' | od -An -tx1 | tr -d ' \n')\" = 57534f424a0d0a1a ]" \
    "the object starts with the magic bytes \"WSOBJ\\r\\n\\x1a\""
etag=$(hdr_value "$T/obj1.before.hdr" etag | tr -d '"')
md5=$(md5sum < "$T/obj1.before" | cut -d' ' -f1)
check "[ '$etag' = '$md5' ]" "the server's ETag ($etag) is the MD5 of the bytes curl fetched (single PUT)"
check "[ \"\$(hdr_value '$T/obj1.before.hdr' content-length)\" = \"\$(file_size '$T/obj1.before')\" ]" \
    "Content-Length matches the fetched size ($(file_size "$T/obj1.before") bytes, compressed from 16 MiB)"
if is_s3rver && [ -n "$S3T_DATA_DIR" ]; then
    check "cmp -s '$T/obj1.before' '$S3T_DATA_DIR/$S3T_BUCKET/$P/$KEY1._S3rver_object'" \
        "the fetched bytes equal what s3rver stored on disk"
else
    skip_check "comparison with the server's on-disk copy (only s3rver stores plain files)"
fi

info "a prefix with unusual characters"
UP="$P/sp ace+plus=eq@at,semi;ünï€~"
s3_write_conf "$T/u.conf" "s3://$S3T_BUCKET/$UP"
useq=0
is_s3rver && useq=$(proxy_seq)
run "$WS_ARCHIVE" --config="$T/u.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 0 "archive into s3://$S3T_BUCKET/$UP"
check "err_has 'created repository \"s3://$S3T_BUCKET/$UP\"'" "the message names the repository with its prefix as written"
s3_list "$UP" > "$T/ukeys"
check "[ \"\$(LC_ALL=C sort '$T/ukeys' | tr '\n' ' ')\" = '$KEY1 walship.repo ' ]" \
    "ListObjectsV2 below the unusual prefix shows walship.repo and $KEY1 (keys decoded exactly)"
check "[ \"\$(s3_head '$UP' '$KEY1')\" = 200 ]" "HEAD of the object under the exact unusual key (curl): 200"
run "$WS_RESTORE" --config="$T/u.conf" --pgdata="$D1" "$N1" "$T/out/u.$N1"
check_rc 0 "restore from the unusual prefix"
check "cmp -s '$SEG1' '$T/out/u.$N1'" "restored byte-identical"
run "$WS_ARCHIVE" --config="$T/u.conf" --pgdata="$D1" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && err_has 'already archived'" "re-push under the unusual prefix: exit 0, already archived"
if is_s3rver; then
    proxy_log "/" "$useq" | grep -F "/$S3T_BUCKET/$(uri_enc "$UP" 1)/" > "$T/upl"
    check "[ -s '$T/upl' ] && ! awk '{print \$3}' '$T/upl' | grep -qvE '^(200|204|206|404|412)\$'" \
        "the proxy saw the prefix percent-encoded ($(uri_enc "$UP" 1)) and verified every signature (no 403; the re-push's 412 is create-if-absent)"
fi

info "wrong secret access key"
BADSECRET="wrong-secret-$RANDOM$RANDOM-xyzzy"
s3_write_conf "$T/bad.conf" "$S3T_REPO-badsecret" "s3_secret_access_key = '$BADSECRET'"
run "$WS_ARCHIVE" --config="$T/bad.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc_retryable "archive with a wrong secret into a fresh prefix"
say "note: walship-archive exits $RC for an authentication failure"
check "err_has 'SignatureDoesNotMatch'" "message says SignatureDoesNotMatch"
check "err_has '$P-badsecret/walship.repo' && err_has 'bucket \"$S3T_BUCKET\"'" \
    "message names the object key and the bucket"
check "err_has 's3_secret_access_key'" "hint names s3_secret_access_key"
check "! grep -qF -- '$BADSECRET' '$T/run.err' '$T/run.out' && ! grep -qF -- \"s3_secret_access_key = '\" '$T/run.err'" \
    "the secret does not appear in the output"
s3_list "$P-badsecret" > "$T/badkeys"
check "[ ! -s '$T/badkeys' ]" "nothing was created below $P-badsecret/"
run "$WS_RESTORE" --config="$T/bad.conf" --pgdata="$D1" "$N1" "$T/out/bad.$N1"
check_rc 152 "restore with a wrong secret (authentication failure)"
check "err_has 'SignatureDoesNotMatch' && ! grep -qF -- '$BADSECRET' '$T/run.err'" \
    "restore: message says SignatureDoesNotMatch, secret not shown"
check "[ ! -e '$T/out/bad.$N1' ] && no_tmp '$T/out'" "nothing at %p"
# the secret through the environment: the command line refuses secrets
WALSHIP_S3_SECRET_ACCESS_KEY=$BADSECRET A "$SEG1" "$N2"
check_rc_retryable "archive with a wrong secret (WALSHIP_S3_SECRET_ACCESS_KEY) into the existing repository"
check "err_has 'SignatureDoesNotMatch' && ! grep -qF -- '$BADSECRET' '$T/run.err' '$T/run.out'" \
    "the wrong secret from the environment was used (SignatureDoesNotMatch) and is not shown"
check "[ \"\$(s3_head '$P' '$(wal_key "$N2")')\" = 404 ]" "no object for $N2"
A --s3_access_key_id="NOSUCHKEY$RANDOM" "$SEG1" "$N2"
check_rc_retryable "archive with an unknown access key id"
check "err_has 'InvalidAccessKeyId' && err_has 's3_access_key_id'" \
    "message says InvalidAccessKeyId and the hint names s3_access_key_id"
run "$WS_ARCHIVE" --config="$T/bad.conf" --print-config
check "[ \"\$RC\" = 0 ] && ! grep -qF -- '$BADSECRET' '$T/run.out' '$T/run.err' && out_has 's3_secret_access_key'" \
    "--print-config lists s3_secret_access_key but masks its value"

info "credentials from the AWS chain instead of the configuration file"
# nokeys.conf: endpoint and region only.
{
    echo "repo = '$S3T_REPO-chain'"
    echo "s3_endpoint = '$S3T_ENDPOINT'"
    echo "s3_region = '$S3T_REGION'"
} > "$T/nokeys.conf"
chmod 600 "$T/nokeys.conf"
CA=(--config="$T/nokeys.conf" --pgdata="$D1")
run env AWS_ACCESS_KEY_ID="$S3T_AK" AWS_SECRET_ACCESS_KEY="$S3T_SK" "$WS_ARCHIVE" "${CA[@]}" "$SEG1" "$N1"
check_rc 0 "archive with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment"
run env AWS_ACCESS_KEY_ID="$S3T_AK" AWS_SECRET_ACCESS_KEY="$S3T_SK" "$WS_RESTORE" "${CA[@]}" "$N1" "$T/out/env.$N1"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/env.$N1'" "restore with credentials from the environment: byte-identical"
printf '[default]\naws_access_key_id = NOTTHISONE\naws_secret_access_key = nope\n\n[walship-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$S3T_AK" "$S3T_SK" > "$T/aws-credentials"
chmod 600 "$T/aws-credentials"
run env AWS_SHARED_CREDENTIALS_FILE="$T/aws-credentials" AWS_PROFILE=walship-test \
    "$WS_RESTORE" "${CA[@]}" "$N1" "$T/out/prof.$N1"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/prof.$N1'" \
    "restore with profile walship-test of AWS_SHARED_CREDENTIALS_FILE: byte-identical"
run env AWS_SHARED_CREDENTIALS_FILE="$T/aws-credentials" "$WS_RESTORE" "${CA[@]}" "$N1" "$T/out/prof2.$N1"
check "[ \"\$RC\" = 152 ] && err_has 'InvalidAccessKeyId' && [ ! -e '$T/out/prof2.$N1' ]" \
    "without AWS_PROFILE the [default] profile is used (its unknown key: exit $RC, InvalidAccessKeyId)"
run "$WS_ARCHIVE" "${CA[@]}" "$SEG1" "$N2"
check_rc_retryable "archive with no credentials anywhere (metadata service disabled)"
check "err_has 'no S3 credentials' && err_has 'AWS_ACCESS_KEY_ID'" \
    "message says no S3 credentials were found and lists the sources tried"
run "$WS_RESTORE" "${CA[@]}" "$N1" "$T/out/nocred.$N1"
check "[ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/nocred.$N1' ]" "restore with no credentials: exit $RC > 125, nothing at %p"
if command -v python3 > /dev/null; then
    imds_start "$S3T_AK" "$S3T_SK"
    IP=$IMDS_PORT
    run env -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IP" \
        "$WS_RESTORE" "${CA[@]}" "$N1" "$T/out/imds.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/imds.$N1'" \
        "restore with credentials from a (fake, loopback) instance metadata service: byte-identical"
    check "grep -q 'PUT /latest/api/token' '$IMDS_LOG' && grep -q 'GET /latest/meta-data/iam/security-credentials/walship-role' '$IMDS_LOG'" \
        "walship used IMDSv2 (token, role name, role credentials)"
    check "! grep -q session-token-from-imds '$T/run.err' '$T/run.out'" "the session token is not shown in the output"
else
    skip_check "instance metadata credentials: python3 not found"
fi

info "wrong region"
if is_s3rver; then
    A --s3_region=eu-west-1 "$SEG1" "$N2"
    check_rc_retryable "archive signed for region eu-west-1 (the proxy expects $S3T_REGION)"
    check "err_has 'AuthorizationHeaderMalformed' && err_has 'eu-west-1'" "message names the error and the region"
    R --s3_region=eu-west-1 "$N1" "$T/out/reg.$N1"
    check "[ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/reg.$N1' ]" "restore with the wrong region: exit $RC > 125, nothing at %p"
else
    skip_check "wrong region: $S3T_TARGET accepts any region in the signature scope"
fi

info "the repository at the root of a bucket of its own (repo = s3://bucket)"
RB=$(printf 'ws-%s-%s' "$S3T_TARGET" "$RANDOM$RANDOM$RANDOM" | tr 'A-Z' 'a-z' | cut -c1-40)
c=$(s3c "$T/mkb" PUT "/$RB")
if [ "$c" = 200 ]; then
    A --repo="s3://$RB" "$SEG1" "$N1"
    check_rc 0 "archive into s3://$RB (no prefix)"
    c=$(s3c "$T/rootlist" GET "/$RB?list-type=2&prefix=")
    check "[ '$c' = 200 ] && [ \"\$(grep -o '<Key>[^<]*</Key>' '$T/rootlist' | LC_ALL=C sort | tr '\n' ' ')\" = '<Key>$KEY1</Key> <Key>walship.repo</Key> ' ]" \
        "the bucket holds exactly walship.repo and $KEY1 at its root"
    R --repo="s3://$RB/" "$N1" "$T/out/root.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/root.$N1'" "restore from s3://$RB/ (trailing slash): byte-identical"
    s3c "$T/rm1" DELETE "/$RB/$KEY1" > /dev/null
    s3c "$T/rm2" DELETE "/$RB/walship.repo" > /dev/null
    s3c "$T/rm3" DELETE "/$RB" > /dev/null
else
    skip_check "repository at a bucket root: could not create bucket $RB (HTTP $c)"
fi

info "storage class and server-side encryption headers"
if is_s3rver; then
    sseq=$(proxy_seq)
    A --repo="$S3T_REPO-sc" --s3_storage_class=STANDARD_IA --s3_sse=AES256 "$SEG1" "$N1"
    check_rc 0 "archive with s3_storage_class = STANDARD_IA, s3_sse = AES256"
    proxy_log "/$P-sc/" "$sseq" | grep '^PUT ' > "$T/scl"
    check "[ \"\$(wc -l < '$T/scl')\" = 2 ] && grep -q '/$N1 .*sc=STANDARD_IA sse=AES256\$' '$T/scl' && grep -q '/walship.repo .* sc= sse=AES256\$' '$T/scl'" \
        "the WAL object's PUT carried x-amz-storage-class and x-amz-server-side-encryption, walship.repo's only the latter (descriptors stay in the default class)"
    sseq=$(proxy_seq)
    A --repo="$S3T_REPO-sc" --s3_storage_class=STANDARD_IA --s3_sse=AES256 --s3_part_size=5MB --compression=none \
        "$SEG1" "$N2"
    proxy_log "/$P-sc/" "$sseq" > "$T/scl2"
    check "[ \"\$RC\" = 0 ] && grep -q '^POST .*?uploads= 200 .*sc=STANDARD_IA sse=AES256\$' '$T/scl2'" \
        "a multipart upload sends them on CreateMultipartUpload"
else
    skip_check "storage class / SSE headers: seen only in the proxy's request log (RGW here knows neither STANDARD_IA nor SSE-S3)"
fi

info "a configuration file holding the secret must be private"
s3_write_conf "$T/open.conf" "$S3T_REPO"
chmod 644 "$T/open.conf"
run "$WS_ARCHIVE" --config="$T/open.conf" --pgdata="$D1" "$SEG1" "$N1"
check_rc 2 "configuration file with s3_secret_access_key and mode 0644"
check "err_has 'group or others' && ! grep -qF -- \"s3_secret_access_key = '\" '$T/run.err'" \
    "message says the file is accessible by group or others"

info "unknown bucket"
NB="walship-no-such-$RANDOM$RANDOM"
A --repo="s3://$NB/p" "$SEG1" "$N1"
check_rc_retryable "archive into an unknown bucket"
say "note: walship-archive exits $RC for an unknown bucket"
check "err_has 'NoSuchBucket' && err_has \"\\\"$NB\\\"\"" "message says NoSuchBucket and names the bucket"
R --repo="s3://$NB/p" "$N1" "$T/out/nb.$N1"
check_rc 150 "restore from an unknown bucket (configuration error)"
check "err_has '$NB' && [ ! -e '$T/out/nb.$N1' ]" "restore: message names the bucket, nothing at %p"

info "endpoint not reachable (a closed loopback port)"
CP=$(closed_port)
t0=$(date +%s%N)
A --s3_endpoint="http://127.0.0.1:$CP" --s3_max_retries=2 --s3_connect_timeout=2 "$SEG1" "$N1"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_rc_retryable "archive to http://127.0.0.1:$CP"
check "err_has 'giving up after 3 attempts' && [ \"\$(grep -c 'retrying in' '$T/run.err')\" = 2 ]" \
    "it retried (s3_max_retries = 2: 3 attempts, $ms ms)"
check "err_has '127.0.0.1:$CP' && err_has 'reachable'" "message names the endpoint and asks whether it is reachable"
R --s3_endpoint="http://127.0.0.1:$CP" --s3_max_retries=2 --s3_connect_timeout=2 \
    --retry_attempts=1 --retry_delay_ms=50 "$N1" "$T/out/cp.$N1"
check_rc 156 "restore from an unreachable endpoint: I/O error, not 'not found' (1)"
check "[ ! -e '$T/out/cp.$N1' ] && no_tmp '$T/out'" "nothing at %p"

info "an endpoint that is not S3"
if command -v python3 > /dev/null; then
    mkdir "$T/html"
    printf '<!DOCTYPE html>\n<html><body><h1>Directory</h1></body></html>\n' > "$T/html/index.html"
    s3_bg python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/html" > "$T/http.log" 2>&1
    HP=$(wait_port_line "$T/http.log" 's/.*Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p') ||
        fail "python3 -m http.server did not start: $(cat "$T/http.log")"
    A --s3_endpoint="http://127.0.0.1:$HP" --s3_max_retries=1 "$SEG1" "$N1"
    check_rc_retryable "archive to python's http.server (404/501 with HTML bodies)"
    say "note: walship-archive's message: $(grep -m1 error: "$T/run.err")"
    R --s3_endpoint="http://127.0.0.1:$HP" --s3_max_retries=1 --retry_attempts=0 "$N1" "$T/out/h.$N1"
    check "[ \"\$RC\" -gt 125 ]" "restore from python's http.server: exit $RC > 125, not 'not found'"
    check "! err_empty && [ ! -e '$T/out/h.$N1' ]" "restore: an error message, nothing at %p"
    say "note: walship-restore's message: $(grep -m1 error: "$T/run.err")"

    cat > "$T/h200.py" <<'PY'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def any(self):
        n = int(self.headers.get('content-length') or 0)
        if n:
            self.rfile.read(n)
        b = b'<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n'
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(b)
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = any
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print('listening on port %d' % s.server_address[1], flush=True)
s.serve_forever()
PY
    s3_bg python3 -u "$T/h200.py" > "$T/h200.log" 2>&1
    HP2=$(wait_port_line "$T/h200.log" 's/^listening on port \([0-9]*\)$/\1/p') ||
        fail "the 200-for-everything server did not start: $(cat "$T/h200.log")"
    A --s3_endpoint="http://127.0.0.1:$HP2" --s3_max_retries=1 "$SEG1" "$N1"
    check_rc_retryable "archive to a server answering 200 + HTML to everything"
    say "note: walship-archive's message: $(grep -m1 error: "$T/run.err")"
    R --s3_endpoint="http://127.0.0.1:$HP2" --s3_max_retries=1 --retry_attempts=0 "$N1" "$T/out/h2.$N1"
    check "[ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/h2.$N1' ]" \
        "restore from a server answering 200 + HTML: exit $RC > 125, nothing at %p"
    say "note: walship-restore's message: $(grep -m1 error: "$T/run.err")"
else
    skip_check "non-S3 endpoint: python3 not found"
fi

info "TLS"
if [ -n "$S3T_TLS_ENDPOINT" ] && [ -n "$S3T_CA_FILE" ]; then
    TP=$P-tls
    A --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_ca_file="$S3T_CA_FILE" "$SEG1" "$N1"
    check_rc 0 "archive over $S3T_TLS_ENDPOINT with s3_ca_file"
    R --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_ca_file="$S3T_CA_FILE" "$N1" "$T/out/tls.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/tls.$N1'" "restore over TLS: exit 0, byte-identical"
    A --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" "$SEG1" "$N2"
    check_rc_retryable "archive over TLS without the CA (self-signed certificate)"
    check "grep -qiE 'TLS|certificate' '$T/run.err' && err_has 's3_ca_file'" \
        "message is about TLS/the certificate and the hint names s3_ca_file"
    check "[ \"\$(s3_head '$TP' '$(wal_key "$N2")')\" = 404 ]" "nothing archived without the CA"
    R --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" "$N1" "$T/out/tls2.$N1"
    check "[ \"\$RC\" -gt 125 ] && grep -qiE 'TLS|certificate' '$T/run.err' && [ ! -e '$T/out/tls2.$N1' ]" \
        "restore over TLS without the CA: exit $RC > 125, TLS message, nothing at %p"
    A --repo="s3://$S3T_BUCKET/$TP-mp" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_ca_file="$S3T_CA_FILE" \
        --s3_part_size=5MB --compression=none "$SEG1" "$N1"
    check_rc 0 "multipart archive over TLS (UNSIGNED-PAYLOAD, Content-MD5 per part)"
    R --repo="s3://$S3T_BUCKET/$TP-mp" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_ca_file="$S3T_CA_FILE" "$N1" "$T/out/tlsmp.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/tlsmp.$N1'" "restore of the multipart object over TLS: byte-identical"
    run env AWS_CA_BUNDLE="$S3T_CA_FILE" "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" \
        --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" "$N1" "$T/out/tls4.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/tls4.$N1'" "AWS_CA_BUNDLE instead of s3_ca_file: restore works"
    R --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_verify_tls=off "$N1" "$T/out/tls3.$N1"
    check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/tls3.$N1'" "s3_verify_tls = off: restore works"
    A --repo="s3://$S3T_BUCKET/$TP" --s3_endpoint="$S3T_TLS_ENDPOINT" --s3_ca_file="$T/no-such-ca.pem" "$SEG1" "$N2"
    check "[ \"\$RC\" -ge 1 ] && [ \"\$RC\" -le 125 ] && { err_has 'no-such-ca.pem' || err_has 's3_ca_file'; }" \
        "a missing s3_ca_file: archive exit $RC, message names the CA file or s3_ca_file"
else
    skip_check "TLS: the $S3T_TARGET target has no TLS endpoint/CA in its environment"
fi

info "clock skew (the host's clock 1 hour ahead, via faketime)"
if command -v faketime > /dev/null &&
    [ $(( $(faketime -f '+1h' date +%s 2>/dev/null || echo 0) - $(date +%s) )) -ge 3500 ]; then
    run faketime -f '+1h' "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" "$SEG1" "$N2"
    check_rc_retryable "archive with the clock 1 hour ahead"
    check "err_has 'RequestTimeTooSkewed' && err_has 'clock'" "message says RequestTimeTooSkewed and the hint talks about the clock"
    check "[ \"\$(s3_head '$P' '$(wal_key "$N2")')\" = 404 ]" "nothing archived with a skewed clock"
    run faketime -f '-1h' "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" "$N1" "$T/out/skew.$N1"
    check_rc 152 "restore with the clock 1 hour behind (authentication failure)"
    check "err_has 'RequestTimeTooSkewed' && [ ! -e '$T/out/skew.$N1' ]" "restore: RequestTimeTooSkewed, nothing at %p"
else
    skip_check "clock skew: faketime (Debian package faketime) is not installed or does not work here"
fi

info "multipart upload (s3_part_size = 5MB, compression = none: 16 MiB -> 4 parts)"
MP=$P-mp
mseq=0
is_s3rver && mseq=$(proxy_seq)
A --repo="s3://$S3T_BUCKET/$MP" --s3_part_size=5MB --compression=none "$SEG1" "$N1"
check_rc 0 "archive $N1 as a multipart upload"
check "[ \"\$(s3_head '$MP' '$KEY1')\" = 200 ] && [ \"\$(hdr_value '$T/s3c.head.hdr' content-length)\" -gt 16777216 ]" \
    "the object exists and holds more than 16 MiB (uncompressed)"
if is_s3rver; then
    proxy_log "/$MP/wal/" "$mseq" > "$T/mpl"
    check "grep -q '^POST .*?uploads= 200 ' '$T/mpl' && [ \"\$(grep -c '^PUT .*?partNumber=[1-4]&uploadId=.* 200 ' '$T/mpl')\" = 4 ] && grep -q '^POST .*?uploadId=.* 200 ' '$T/mpl'" \
        "the proxy saw CreateMultipartUpload, 4 UploadPart (partNumber=1..4) and CompleteMultipartUpload"
    check "grep -q '^POST .*?uploadId=.* if-none-match=\\*' '$T/mpl'" "CompleteMultipartUpload carried If-None-Match: *"
else
    etag=$(hdr_value "$T/s3c.head.hdr" etag | tr -d '"')
    check "[[ '$etag' == *-4 ]]" "the ETag ($etag) is a 4-part multipart ETag"
fi
s3_uploads "$MP" > "$T/mpu"
check "[ ! -s '$T/mpu' ]" "ListMultipartUploads below $MP/: no upload left in progress"
R --repo="s3://$S3T_BUCKET/$MP" "$N1" "$T/out/mp.$N1"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/mp.$N1'" "restore of the multipart object: byte-identical"
A --repo="s3://$S3T_BUCKET/$MP" --s3_part_size=5MB --compression=none "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && err_has 'already archived'" "identical re-push of the multipart object: exit 0, already archived"
A --repo="s3://$S3T_BUCKET/$MP" --s3_part_size=5MB --compression=none "$T/in/$N1.other" "$N1"
check_rc 4 "different content under the multipart object's name"
R --repo="s3://$S3T_BUCKET/$MP" "$N1" "$T/out/mp2.$N1"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/mp2.$N1'" "the multipart object is unchanged"

ws_summary

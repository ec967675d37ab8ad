#!/bin/bash
# selftest.sh: prove the S3 test infrastructure with independent clients
# (curl --aws-sigv4; Debian's awscli and s3cmd when installed).
#
#   tests/s3/selftest.sh [--no-rgw] [--keep] [--no-big]
#
# Starts its own s3rver + proxy (start-s3.sh) and, unless --no-rgw or the
# Ceph binaries are missing, its own RGW (start-rgw.sh) in a temporary
# directory, and stops them at the end.  To test already running instances
# instead, set S3_ENV_FILE=.../s3.env and/or RGW_ENV_FILE=.../rgw.env (the
# fault-injection checks then disturb whoever else uses that proxy).
# Prints "N passed, N failed, N skipped"; exits 1 if anything failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WANT_RGW=1 KEEP=0 BIG=1
for a in "$@"; do
    case "$a" in
        --no-rgw) WANT_RGW=0 ;;
        --keep) KEEP=1 ;;
        --no-big) BIG=0 ;;
        *) echo "usage: $0 [--no-rgw] [--keep] [--no-big]" >&2; exit 2 ;;
    esac
done

PASS=0 FAIL=0 SKIP=0
pass() { PASS=$((PASS + 1)); echo "ok   - $*"; }
nok()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; [ -s "$W/body" ] && echo "       body: $(head -c 400 "$W/body" | tr -d '\n')"; return 0; }
skip() { SKIP=$((SKIP + 1)); echo "skip - $*"; }
# expect NAME EXPECTED ACTUAL
expect() { if [ "$2" = "$3" ]; then pass "$1"; else nok "$1: expected '$2', got '$3'"; fi; }
# expect_s3 NAME AWS_EXPECTED ACTUAL [RGW_EXPECTED]: against RGW, RGW_EXPECTED
# (a documented deviation of Ceph 16 from AWS S3) is accepted and reported.
DEV=0
expect_s3() {
    if [ "$3" = "$2" ]; then pass "$1"
    elif [ "${L:-}" = rgw ] && [ -n "${4:-}" ] && [ "$3" = "$4" ]; then
        DEV=$((DEV + 1)); pass "$1 [Ceph 16 deviates from AWS: '$3']"
    else nok "$1: expected '$2', got '$3'"; fi
}
# expect_in NAME "A|B|C" ACTUAL
expect_in() { if [[ "|$2|" == *"|$3|"* ]]; then pass "$1 ($3)"; else nok "$1: expected one of '$2', got '$3'"; fi; }

W=$(mktemp -d /tmp/ws-s3-selftest.XXXXXX)
STARTED_S3="" STARTED_RGW=""
cleanup() {
    [ -n "$STARTED_S3" ] && "$HERE/stop-s3.sh" "$STARTED_S3" >/dev/null 2>&1
    [ -n "$STARTED_RGW" ] && "$HERE/stop-rgw.sh" "$STARTED_RGW" >/dev/null 2>&1
    if [ "$KEEP" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# ---- request helpers (target: EP AK SK RG) -------------------------------------------
EP="" AK="" SK="" RG=""
PH=UNSIGNED-PAYLOAD
target() { EP=$1 AK=$2 SK=$3 RG=$4; }
# req [curl args] URL: body -> $W/body, headers -> $W/hdr, stderr -> $W/err;
# prints the HTTP status; curl's exit status is the function's.
req() {
    rm -f "$W/body" "$W/hdr"
    curl -sS -o "$W/body" -D "$W/hdr" -w '%{http_code}' --max-time 120 \
        --aws-sigv4 "aws:amz:$RG:s3" --user "$AK:$SK" -H "x-amz-content-sha256: $PH" "$@" 2>"$W/err"
}
code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$W/body" 2>/dev/null | head -n 1; }
hdr() { tr -d '\r' < "$W/hdr" 2>/dev/null | sed -n "s/^$1: //Ip" | tail -n 1; }
st_code() { local s; s=$(req "$@"); echo "$s $(code)"; }

mp_init() {  # mp_init URL -> upload id
    req -X POST "$1?uploads=" >/dev/null
    sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$W/body" | head -n 1
}
mp_part() {  # mp_part URL ID N FILE -> ETag (with quotes)
    local s
    s=$(req -T "$4" "$1?partNumber=$3&uploadId=$2")
    [ "$s" = 200 ] || { echo "part-upload-failed-$s"; return; }
    hdr etag
}
mp_xml() {   # mp_xml "1:ETAG 2:ETAG" -> CompleteMultipartUpload XML in $W/complete.xml
    local p
    printf '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' > "$W/complete.xml"
    for p in $1; do
        printf '<Part><PartNumber>%s</PartNumber><ETag>%s</ETag></Part>' "${p%%:*}" "${p#*:}" >> "$W/complete.xml"
    done
    printf '</CompleteMultipartUpload>' >> "$W/complete.xml"
}
mp_complete() {  # mp_complete URL ID "1:ETAG 2:ETAG" [curl args] -> status + code
    local url=$1 id=$2 parts=$3; shift 3
    mp_xml "$parts"
    st_code -X POST -H 'Content-Type: application/xml' --data-binary "@$W/complete.xml" "$@" "$url?uploadId=$id"
}
list_uploads() { req "$EP/$1?uploads=" >/dev/null; cat "$W/body"; }

# ---- test data -----------------------------------------------------------------------
head -c 3000 /dev/urandom > "$W/small"
head -c 3001 /dev/urandom > "$W/small2"
head -c $((5 * 1024 * 1024)) /dev/urandom > "$W/p5m"
head -c 1000 /dev/urandom > "$W/p1k"
head -c 1048576 /dev/urandom > "$W/m1"
cat "$W/p5m" "$W/p1k" > "$W/p5m1k"
sha() { sha256sum "$1" | cut -c1-64; }

# ---- checks every S3 implementation must pass ------------------------------------------
# basic_suite LABEL BUCKET [proxy]
basic_suite() {
    local L=$1 B=$2 isproxy=${3:-}
    local K="$EP/$B/selftest-$$/$L"
    local s id e1 e2 e3 t0

    s=$(req -T "$W/small" "$K/obj"); expect "[$L] PUT object" 200 "$s"
    s=$(req "$K/obj") && cmp -s "$W/body" "$W/small"; expect "[$L] GET returns the same bytes" "200 0" "$s $?"
    s=$(req -I "$K/obj"); expect "[$L] HEAD" "200 3000" "$s $(hdr content-length)"
    s=$(req "$EP/$B?list-type=2&prefix=selftest-$$%2F$L%2F")
    grep -q "<Key>selftest-$$/$L/obj</Key>" "$W/body"; expect "[$L] ListObjectsV2 with prefix shows the key" "200 0" "$s $?"
    grep -q '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' "$W/body"; expect "[$L] ... in S3's XML namespace" 0 $?
    s=$(req "$EP/$B?delimiter=%2F&list-type=2&prefix=selftest-$$%2F")
    grep -q "<CommonPrefixes><Prefix>selftest-$$/$L/</Prefix>" "$W/body"; expect "[$L] ListObjectsV2 with delimiter gives CommonPrefixes" "200 0" "$s $?"

    # authentication and digests
    s=$(SK=wrong-secret st_code "$K/obj"); expect "[$L] wrong secret on GET -> 403" "403 SignatureDoesNotMatch" "$s"
    s=$(SK=wrong-secret st_code -T "$W/small2" "$K/obj"); expect "[$L] wrong secret on PUT -> 403" "403 SignatureDoesNotMatch" "$s"
    s=$(req "$K/obj") && cmp -s "$W/body" "$W/small"; expect "[$L] ... and the object is unchanged" "200 0" "$s $?"
    s=$(AK=NOSUCHKEY st_code "$K/obj"); expect "[$L] unknown access key -> 403" "403 InvalidAccessKeyId" "$s"
    s=$(PH=$(sha "$W/small") st_code -T "$W/small2" "$K/obj2"); expect "[$L] x-amz-content-sha256 mismatch -> 400" "400 XAmzContentSHA256Mismatch" "$s"
    s=$(PH=$(sha "$W/small2") st_code -T "$W/small2" "$K/obj2"); expect "[$L] signed payload sha256 PUT" "200 " "$s"
    s=$(st_code -T "$W/small2" -H "Content-MD5: $(openssl dgst -md5 -binary "$W/small" | base64)" "$K/obj3")
    expect "[$L] Content-MD5 mismatch -> 400" "400 BadDigest" "$s"
    s=$(st_code -T "$W/small2" -H "Content-MD5: $(openssl dgst -md5 -binary "$W/small2" | base64)" "$K/obj3")
    expect "[$L] correct Content-MD5" "200 " "$s"
    s=$(st_code -H "x-amz-date: 20200101T000000Z" "$K/obj"); expect "[$L] x-amz-date 5 years off -> 403" "403 RequestTimeTooSkewed" "$s"
    s=$(st_code "$EP/$B?prefix=selftest-$$%2F&list-type=2"); expect "[$L] unsorted query string -> 403" "403 SignatureDoesNotMatch" "$s"
    s=$(cat "$W/small" | st_code -H 'Transfer-Encoding: chunked' -T - "$K/chunked"); expect "[$L] PUT without Content-Length (chunked) -> 411" "411 MissingContentLength" "$s"

    # conditional writes
    s=$(st_code -T "$W/small2" -H 'If-None-Match: *' "$K/obj"); expect "[$L] If-None-Match: * on an existing key -> 412" "412 PreconditionFailed" "$s"
    s=$(req "$K/obj") && cmp -s "$W/body" "$W/small"; expect "[$L] ... and the object is unchanged" "200 0" "$s $?"
    s=$(st_code -T "$W/small2" -H 'If-None-Match: *' "$K/new"); expect "[$L] If-None-Match: * on a new key" "200 " "$s"

    # multipart: 5 MiB + 1000 B
    id=$(mp_init "$K/mp"); [ -n "$id" ] && pass "[$L] CreateMultipartUpload -> $id" || nok "[$L] CreateMultipartUpload"
    grep -q '<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' "$W/body"; expect "[$L] ... in S3's XML namespace" 0 $?
    e1=$(mp_part "$K/mp" "$id" 1 "$W/p5m"); e2=$(mp_part "$K/mp" "$id" 2 "$W/p1k")
    [[ "$e1$e2" == \"*\"\"*\" ]] && pass "[$L] UploadPart x2 (ETags $e1 $e2)" || nok "[$L] UploadPart: '$e1' '$e2'"
    list_uploads "$B" | grep -q "<UploadId>$id</UploadId>"; expect "[$L] ListMultipartUploads shows the in-flight upload" 0 $?
    s=$(req "$K/mp?uploadId=$id"); grep -q "<Size>1000</Size>" "$W/body"; expect "[$L] ListParts shows both parts" "200 0" "$s $?"
    s=$(mp_complete "$K/mp" "$id" "1:$e1 2:$e2"); expect "[$L] CompleteMultipartUpload" "200 " "$s"
    s=$(req "$K/mp") && cmp -s "$W/body" "$W/p5m1k"; expect "[$L] GET of the multipart object = concatenation" "200 0" "$s $?"
    s=$(req -I "$K/mp"); [[ "$(hdr etag)" =~ ^\"[0-9a-f]{32}-2\"$ ]]; expect "[$L] multipart ETag has the S3 form \"md5-2\" ($(hdr etag))" "200 0" "$s $?"
    list_uploads "$B" | grep -q "<UploadId>$id</UploadId>"; expect "[$L] ListMultipartUploads no longer shows the completed upload" 1 $?

    # abort
    id=$(mp_init "$K/ab"); e1=$(mp_part "$K/ab" "$id" 1 "$W/p1k")
    list_uploads "$B" | grep -q "<UploadId>$id</UploadId>"; expect "[$L] second upload in flight" 0 $?
    s=$(req -X DELETE "$K/ab?uploadId=$id"); expect "[$L] AbortMultipartUpload -> 204" 204 "$s"
    list_uploads "$B" | grep -q "<UploadId>$id</UploadId>"; expect "[$L] ListMultipartUploads no longer shows the aborted upload" 1 $?
    s=$(st_code -T "$W/p1k" "$K/ab?partNumber=2&uploadId=$id"); expect "[$L] UploadPart after abort -> 404" "404 NoSuchUpload" "$s"
    s=$(mp_complete "$K/ab" "$id" "1:$e1"); expect_s3 "[$L] Complete after abort -> 404" "404 NoSuchUpload" "$s" "500 InternalError"
    s=$(req -I "$K/ab"); expect "[$L] aborted upload left no object" 404 "$s"
    s=$(st_code -X DELETE "$K/ab?uploadId=$id"); expect "[$L] second abort -> 404" "404 NoSuchUpload" "$s"

    # part-size and part-list rules
    id=$(mp_init "$K/small-parts"); e1=$(mp_part "$K/small-parts" "$id" 1 "$W/p1k"); e2=$(mp_part "$K/small-parts" "$id" 2 "$W/p1k")
    s=$(mp_complete "$K/small-parts" "$id" "1:$e1 2:$e2"); expect "[$L] 1000-byte non-last part -> 400" "400 EntityTooSmall" "$s"
    s=$(req -X DELETE "$K/small-parts?uploadId=$id"); expect "[$L] abort (cleanup)" 204 "$s"
    id=$(mp_init "$K/order"); e1=$(mp_part "$K/order" "$id" 1 "$W/p5m"); e2=$(mp_part "$K/order" "$id" 2 "$W/p5m")
    s=$(mp_complete "$K/order" "$id" "1:\"0123456789abcdef0123456789abcdef\" 2:$e2"); expect "[$L] wrong part ETag -> 400" "400 InvalidPart" "$s"
    s=$(mp_complete "$K/order" "$id" "1:$e1 3:$e2"); expect "[$L] part never uploaded -> 400" "400 InvalidPart" "$s"
    s=$(mp_complete "$K/order" "$id" "2:$e2 1:$e1"); expect_s3 "[$L] parts out of order -> 400" "400 InvalidPartOrder" "$s" "200 "
    if [ "$s" != "200 " ]; then
        s=$(mp_complete "$K/order" "$id" "1:$e1 2:$e2"); expect "[$L] ... then in order -> 200" "200 " "$s"
    fi
    id=$(mp_init "$K/single"); e1=$(mp_part "$K/single" "$id" 1 "$W/p1k")
    s=$(mp_complete "$K/single" "$id" "1:$e1"); expect "[$L] a single small part is fine" "200 " "$s"
    grep -q '<ETag>[^<]' "$W/body"; expect_s3 "[$L] ... and CompleteMultipartUploadResult has an ETag" 0 $? 1
    s=$(req -I "$K/single"); [[ "$(hdr etag)" =~ ^\"[0-9a-f]{32}-1\"$ ]]; expect "[$L] ... whose HEAD ETag is \"md5-1\" ($(hdr etag))" "200 0" "$s $?"
    s=$(mp_complete "$K/single" "$id" "1:$e1"); expect_s3 "[$L] Complete of a completed upload -> 404" "404 NoSuchUpload" "$s" "200 "

    # If-None-Match on CompleteMultipartUpload (AWS since 2024; Ceph 16 ignores it)
    if [ -n "$isproxy" ]; then
        id=$(mp_init "$K/mp"); e1=$(mp_part "$K/mp" "$id" 1 "$W/p1k")
        s=$(mp_complete "$K/mp" "$id" "1:$e1" -H 'If-None-Match: *'); expect "[$L] Complete with If-None-Match: * on an existing key -> 412" "412 PreconditionFailed" "$s"
        list_uploads "$B" | grep -q "<UploadId>$id</UploadId>"; expect "[$L] ... and the upload is still in flight" 0 $?
        s=$(mp_complete "$K/mp-new" "$id" "1:$e1"); expect "[$L] Complete with a different key -> 404" "404 NoSuchUpload" "$s"
        s=$(req -X DELETE "$K/mp?uploadId=$id"); expect "[$L] abort (cleanup)" 204 "$s"
    else
        skip "[$L] If-None-Match on CompleteMultipartUpload (not implemented by Ceph 16 RGW)"
    fi

    # delete
    s=$(req -X DELETE "$K/obj"); expect "[$L] DELETE -> 204" 204 "$s"
    s=$(req -I "$K/obj"); expect "[$L] HEAD after DELETE -> 404" 404 "$s"
    s=$(st_code "$K/obj"); expect "[$L] GET after DELETE -> 404" "404 NoSuchKey" "$s"
    s=$(st_code "$EP/no-such-bucket-$$/x"); expect "[$L] missing bucket -> 404" "404 NoSuchBucket" "$s"
}

# ---- awscli / s3cmd --------------------------------------------------------------------
aws_() {
    AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=$RG AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        timeout 120 /usr/bin/aws --endpoint-url "$EP" "$@"
}
s3cmd_() {
    local hp=${EP#*://}
    timeout 120 s3cmd --config=/dev/null --access_key="$AK" --secret_key="$SK" --host="$hp" --host-bucket="$hp" \
        --no-ssl --region="$RG" "$@"
}
clients_suite() {
    local L=$1 B=$2 P="selftest-$$/$1-clients"
    local id rc
    if [ -x /usr/bin/aws ]; then
        head -c $((20 * 1024 * 1024)) /dev/urandom > "$W/m20"
        aws_ s3 cp "$W/m20" "s3://$B/$P/m20" >"$W/body" 2>&1; expect "[$L] awscli s3 cp up (20 MiB, multipart)" 0 $?
        aws_ s3 cp "s3://$B/$P/m20" "$W/m20.back" >"$W/body" 2>&1 && cmp -s "$W/m20" "$W/m20.back"
        expect "[$L] awscli s3 cp down, identical" 0 $?
        aws_ s3 ls "s3://$B/$P/" >"$W/body" 2>&1; grep -q ' m20$' "$W/body"; expect "[$L] awscli s3 ls" 0 $?
        id=$(aws_ s3api create-multipart-upload --bucket "$B" --key "$P/inflight" --query UploadId --output text 2>"$W/aws.err")
        [ -n "$id" ] && pass "[$L] awscli create-multipart-upload" || nok "[$L] awscli create-multipart-upload: $(cat "$W/aws.err")"
        aws_ s3api list-multipart-uploads --bucket "$B" --prefix "$P/" --query 'Uploads[].UploadId' --output text 2>&1 | grep -qF -- "$id"
        expect "[$L] awscli list-multipart-uploads parses and shows it" 0 $?
        aws_ s3api abort-multipart-upload --bucket "$B" --key "$P/inflight" --upload-id "$id" >/dev/null 2>&1
        expect "[$L] awscli abort-multipart-upload" 0 $?
        aws_ s3api list-multipart-uploads --bucket "$B" --prefix "$P/" --query 'Uploads[].UploadId' --output text 2>&1 | grep -qF -- "$id"
        expect "[$L] awscli list-multipart-uploads no longer shows it" 1 $?
        SK=wrong-secret aws_ s3 ls "s3://$B/$P/" >"$W/aws.out" 2>&1; rc=$?
        # (awscli 2.9 crashes on RGW's error body: "argument of type 'NoneType' is not iterable", rc 255)
        [ $rc != 0 ] && { [ "$L" = rgw ] || grep -q SignatureDoesNotMatch "$W/aws.out"; }
        expect "[$L] awscli with a wrong secret fails (rc $rc)" 0 $?
    else
        skip "[$L] awscli checks (/usr/bin/aws not installed: apt-get install awscli)"
    fi
    if command -v s3cmd >/dev/null 2>&1; then
        s3cmd_ put "$W/m1" "s3://$B/$P/s3cmd-m1" >"$W/s3cmd.out" 2>&1; expect "[$L] s3cmd put" 0 $?
        rm -f "$W/m1.back"
        s3cmd_ get "s3://$B/$P/s3cmd-m1" "$W/m1.back" >"$W/s3cmd.out" 2>&1 && cmp -s "$W/m1" "$W/m1.back"; expect "[$L] s3cmd get, identical" 0 $?
        s3cmd_ ls "s3://$B/$P/" 2>&1 | grep -q "s3cmd-m1"; expect "[$L] s3cmd ls" 0 $?
        s3cmd_ ls -l "s3://$B/$P/s3cmd-m1" 2>&1 | grep -q "1048576"; expect "[$L] s3cmd ls -l shows the size" 0 $?
        s3cmd_ del "s3://$B/$P/s3cmd-m1" >"$W/s3cmd.out" 2>&1; expect "[$L] s3cmd del" 0 $?
        id=$(mp_init "$EP/$B/$P/s3cmd-inflight")
        s3cmd_ multipart "s3://$B" 2>&1 | grep -qF -- "$id"; expect "[$L] s3cmd multipart (ListMultipartUploads) shows the in-flight upload" 0 $?
        req -X DELETE "$EP/$B/$P/s3cmd-inflight?uploadId=$id" >/dev/null
        SK=wrong-secret s3cmd_ ls "s3://$B/$P/" >"$W/s3cmd.out" 2>&1; expect "[$L] s3cmd with a wrong secret fails" 1 "$(( $? != 0 ))"
    else
        skip "[$L] s3cmd checks (s3cmd not installed: apt-get install s3cmd)"
    fi
}

# ---- proxy-only checks: control API, faults, TLS, large bodies -----------------------------
ctl() { curl -sS --max-time 10 -X "$1" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$S3_CONTROL$2"; }
fault() { ctl POST /__fault "$1" >/dev/null; }
stat_field() {  # stat_field PYTHON-EXPR-ON-d [query]
    ctl GET "/__stats${2:-}" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const d=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"
}

proxy_suite() {
    local B=$S3_BUCKET K="$EP/$S3_BUCKET/selftest-$$/faults"
    local s rc t0 t1 i n
    req -T "$W/m1" "$K/obj" >/dev/null
    ctl POST /__reset >/dev/null

    s=$(AK="" SK="" curl -sS -o "$W/body" -w '%{http_code}' -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$K/obj"); expect "anonymous request -> 403" "403 AccessDenied" "$s $(code)"
    s=$(st_code --aws-sigv4 "aws:amz:eu-west-1:s3" "$K/obj"); expect "wrong region in the scope -> 400" "400 AuthorizationHeaderMalformed" "$s"

    # clock skew as seen by the server
    ctl POST /__clock '{"skew_s": 1200}' >/dev/null
    s=$(st_code "$K/obj"); expect "server clock 20 min ahead -> 403" "403 RequestTimeTooSkewed" "$s"
    ctl POST /__clock '{"skew_s": 600}' >/dev/null
    s=$(st_code "$K/obj"); expect "server clock 10 min ahead is tolerated" "200 " "$s"
    ctl POST /__clock '{"skew_s": 0}' >/dev/null

    # Expect: 100-continue with a bad signature is answered before the body
    s=$(SK=wrong-secret st_code -H 'Expect: 100-continue' -T "$W/p5m" "$K/big-denied"); expect "bad signature with Expect: 100-continue -> 403" "403 SignatureDoesNotMatch" "$s"

    # concurrent conditional writes: exactly one wins
    for i in 1 2 3 4 5 6; do
        curl -sS -o /dev/null -w '%{http_code}\n' --aws-sigv4 "aws:amz:$RG:s3" --user "$AK:$SK" \
            -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -H 'If-None-Match: *' -T "$W/m1" "$K/race" > "$W/race.$i" &
    done
    wait
    expect "6 concurrent If-None-Match PUTs: one 200, five 412" "200 412 412 412 412 412" "$(cat "$W"/race.* | sort | tr '\n' ' ' | sed 's/ $//')"

    # ListMultipartUploads paging, prefix and delimiter
    local P="selftest-$$/lmu" ids=()
    for n in a b c; do ids+=("$(mp_init "$EP/$B/$P/$n")"); done
    ids+=("$(mp_init "$EP/$B/$P/sub/d")")
    s=$(req "$EP/$B?max-uploads=2&prefix=selftest-$$%2Flmu%2F&uploads=")
    grep -q '<IsTruncated>true</IsTruncated>' "$W/body" && [ "$(grep -o '<Upload>' "$W/body" | wc -l)" = 2 ]
    expect "ListMultipartUploads max-uploads=2 truncates" "200 0" "$s $?"
    local nk nu
    nk=$(sed -n 's:.*<NextKeyMarker>\([^<]*\)</NextKeyMarker>.*:\1:p' "$W/body"); nu=$(sed -n 's:.*<NextUploadIdMarker>\([^<]*\)</NextUploadIdMarker>.*:\1:p' "$W/body")
    s=$(req "$EP/$B?key-marker=${nk//\//%2F}&prefix=selftest-$$%2Flmu%2F&upload-id-marker=$nu&uploads=")
    grep -q "<Key>$P/c</Key>" "$W/body" && grep -q "<Key>$P/sub/d</Key>" "$W/body" && ! grep -q "<Key>$P/a</Key>" "$W/body"
    expect "ListMultipartUploads second page (key-marker/upload-id-marker)" "200 0" "$s $?"
    s=$(req "$EP/$B?delimiter=%2F&prefix=selftest-$$%2Flmu%2F&uploads=")
    grep -q "<CommonPrefixes><Prefix>$P/sub/</Prefix></CommonPrefixes>" "$W/body" && ! grep -q "<Key>$P/sub/d</Key>" "$W/body"
    expect "ListMultipartUploads delimiter gives CommonPrefixes" "200 0" "$s $?"
    for n in a b c sub/d; do req -X DELETE "$EP/$B/$P/$n?uploadId=${ids[0]}" >/dev/null; ids=("${ids[@]:1}"); done
    s=$(st_code "$EP/no-such-bucket-$$?uploads="); expect "ListMultipartUploads on a missing bucket -> 404" "404 NoSuchBucket" "$s"

    # ---- faults
    ctl POST /__reset >/dev/null
    fault '{"mode":"500","method":"PUT"}'
    s=$(st_code -T "$W/small" "$K/f500"); expect "fault 500 -> InternalError" "500 InternalError" "$s"
    s=$(st_code -T "$W/small" "$K/f500"); expect "fault 500 applies once (count 1)" "200 " "$s"
    fault '{"mode":"503slowdown","retry_after":"2"}'
    s=$(st_code "$K/obj"); expect "fault 503slowdown -> SlowDown + Retry-After" "503 SlowDown 2" "$s $(hdr retry-after)"
    fault '{"mode":"429"}'
    s=$(st_code "$K/obj"); expect "fault 429" "429 TooManyRequests" "$s"
    fault '{"mode":"error","status":403,"code":"AccessDenied","message":"injected"}'
    s=$(st_code "$K/obj"); expect "fault error (custom status/code)" "403 AccessDenied" "$s"

    fault '{"mode":"reset","method":"GET"}'
    req "$K/obj" >/dev/null; expect "fault reset -> connection reset (curl 56)" 56 $?
    fault '{"mode":"close","method":"GET"}'
    req "$K/obj" >/dev/null; expect "fault close -> empty reply (curl 52)" 52 $?
    fault '{"mode":"reset","method":"PUT"}'
    req -T "$W/m1" "$K/f-reset" >/dev/null; rc=$?
    s=$(req -I "$K/f-reset"); expect "fault reset on PUT: curl 56 and nothing stored" "56 404" "$rc $s"
    fault '{"mode":"reset-during-upload","method":"PUT"}'
    req -T "$W/p5m" "$K/f-rdu" >/dev/null; rc=$?
    s=$(req -I "$K/f-rdu"); expect_in "fault reset-during-upload: upload cut, nothing stored" "55 404|56 404" "$rc $s"
    fault '{"mode":"reset-after","method":"PUT"}'
    req -T "$W/m1" "$K/f-ra" >/dev/null; rc=$?
    s=$(req -I "$K/f-ra"); expect "fault reset-after: curl 56 but the PUT took effect" "56 200" "$rc $s"
    s=$(st_code -T "$W/m1" -H 'If-None-Match: *' "$K/f-ra"); expect "... so a conditional retry gets 412" "412 PreconditionFailed" "$s"
    fault '{"mode":"reset-mid-body","method":"GET"}'
    req "$K/obj" >/dev/null; rc=$?; n=$(stat -c %s "$W/body" 2>/dev/null || echo 0)
    [ "$rc" = 56 ] && [ "$n" -gt 0 ] && [ "$n" -lt 1048576 ]; expect "fault reset-mid-body: 200 headers, part of the body, then RST (curl 56, $n bytes)" 0 $?
    fault '{"mode":"truncate","method":"GET"}'
    req "$K/obj" >/dev/null; rc=$?; n=$(stat -c %s "$W/body" 2>/dev/null || echo 0)
    expect "fault truncate: short body then FIN (curl 18)" "18 524288" "$rc $n"
    fault '{"mode":"stall-mid-body","method":"GET","delay_ms":5000}'
    req --max-time 1 "$K/obj" >/dev/null; rc=$?; n=$(stat -c %s "$W/body" 2>/dev/null || echo 0)
    expect "fault stall-mid-body: half the body then silence (curl 28)" "28 524288" "$rc $n"
    fault '{"mode":"corrupt","method":"GET"}'
    s=$(req "$K/obj"); cmp -s "$W/body" "$W/m1"; rc=$?
    expect "fault corrupt: 200, same length, different bytes" "200 1048576 1" "$s $(stat -c %s "$W/body") $rc"
    fault '{"mode":"delay","delay_ms":1500,"method":"GET"}'
    t0=$(now_ms); s=$(req "$K/obj"); t1=$(now_ms)
    [ "$s" = 200 ] && [ $((t1 - t0)) -ge 1400 ]; expect "fault delay 1500 ms (took $((t1 - t0)) ms)" 0 $?
    fault '{"mode":"delay","delay_ms":3000,"method":"GET"}'
    req --max-time 1 "$K/obj" >/dev/null; expect "fault delay vs client timeout (curl 28)" 28 $?
    fault '{"mode":"hang","delay_ms":10000}'
    req --max-time 1 "$K/obj" >/dev/null; expect "fault hang (curl 28)" 28 $?
    fault '{"mode":"malformed-xml","method":"GET","path_regex":"list-type=2"}'
    s=$(req "$EP/$B?list-type=2&prefix=selftest-$$%2F")
    node -e 'const x=require("fs").readFileSync(process.argv[1],"utf8"); process.exit(/<\/ListBucketResult>\s*$/.test(x)?0:1)' "$W/body"
    expect "fault malformed-xml: 200 with a broken ListBucketResult" "200 1" "$s $?"
    fault '{"mode":"html","method":"GET"}'
    s=$(req "$EP/$B?list-type=2"); expect "fault html: 200 text/html page" "200 text/html; charset=utf-8" "$s $(hdr content-type)"
    id=$(mp_init "$K/mp200"); e1=$(mp_part "$K/mp200" "$id" 1 "$W/p1k")
    fault '{"mode":"200-error","method":"POST","path_regex":"uploadId="}'
    s=$(mp_complete "$K/mp200" "$id" "1:$e1"); expect "fault 200-error: Complete answers 200 with an <Error> body" "200 InternalError" "$s"
    s=$(mp_complete "$K/mp200" "$id" "1:$e1"); expect "... the upload is still in flight and completes on retry" "200 " "$s"
    fault '{"mode":"drop","method":"PUT"}'
    s=$(req -T "$W/small" "$K/f-drop"); rc=$s; s=$(req -I "$K/f-drop")
    expect "fault drop: PUT answers 200 but nothing is stored" "200 404" "$rc $s"

    # matching rules: method, path_regex, skip, count, unlimited
    ctl POST /__reset >/dev/null
    fault '{"mode":"500","method":"GET","path_regex":"/only-this$","skip":1,"count":2}'
    req -T "$W/small" "$K/only-this" >/dev/null
    local seq=""
    for i in 1 2 3 4; do seq+="$(req "$K/only-this")"; seq+=" "; done
    seq+="$(req "$K/obj")"
    expect "fault rules: skip 1, count 2, method+path_regex" "200 500 500 200 200" "$seq"
    fault '{"mode":"503slowdown","method":"HEAD","count":-1}'
    seq=""; for i in 1 2 3; do seq+="$(req -I "$K/obj") "; done
    expect "fault count -1 is unlimited" "503 503 503 " "$seq"
    s=$(ctl GET /__fault | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).length))')
    expect "GET /__fault lists the pending rule" 1 "$s"
    s=$(curl -sS -X POST -d '{"mode":"500","path_regex":"^/never$"}' "$S3_CONTROL/__fault" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).id))')
    expect "DELETE /__fault?id= removes one rule" '{"removed":1}' "$(ctl DELETE "/__fault?id=$s" | tr -d ' \n')"
    ctl DELETE /__fault >/dev/null
    s=$(req -I "$K/obj"); expect "DELETE /__fault clears the rules" 200 "$s"
    expect "GET /__stats counts injected faults" "5 5" "$(stat_field 'd.faults_injected_total+" "+((d.faults_injected["500"]||0)+(d.faults_injected["503slowdown"]||0))')"
    expect "GET /__stats?path_regex= filters" 4 "$(stat_field 'd.by_method.GET' '?path_regex=only-this')"
    s=$(curl -sS "$S3_CONTROL/__requests?path_regex=only-this&method=PUT" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const d=JSON.parse(s);console.log(d.length,d[0].status,"authorization" in d[0].headers,d[0].headers["x-amz-content-sha256"])})')
    expect "GET /__requests gives the request log without Authorization" "1 200 false UNSIGNED-PAYLOAD" "$s"
    s=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{"mode":"nonsense"}' "$S3_CONTROL/__fault"); expect "unknown fault mode -> 400" 400 "$s"
    ! grep -q "Credential=\|Signature=[0-9a-f]\|S3RVER:S3RVER\|AWS4-HMAC" "$S3_PROXY_LOG"
    expect "proxy log has no Authorization headers or secrets" 0 $?

    # TLS
    s=$(req --cacert "$S3_CA_FILE" "${S3_TLS_ENDPOINT}/$B/selftest-$$/faults/obj") && cmp -s "$W/body" "$W/m1"
    expect "HTTPS endpoint with --cacert" "200 0" "$s $?"
    s=$(req --cacert "$S3_CA_FILE" "https://localhost:${S3_TLS_ENDPOINT##*:}/$B/selftest-$$/faults/obj"); expect "HTTPS via localhost" 200 "$s"
    req "${S3_TLS_ENDPOINT}/$B/selftest-$$/faults/obj" >/dev/null; expect "HTTPS without the CA -> curl 60" 60 $?
    s=$(SK=wrong-secret st_code --cacert "$S3_CA_FILE" "${S3_TLS_ENDPOINT}/$B/selftest-$$/faults/obj"); expect "HTTPS wrong secret -> 403" "403 SignatureDoesNotMatch" "$s"
    fault '{"mode":"reset","method":"GET"}'
    req --cacert "$S3_CA_FILE" "${S3_TLS_ENDPOINT}/$B/selftest-$$/faults/obj" >/dev/null; rc=$?
    expect_in "fault reset over HTTPS" "35|56" "$rc"
    if [ -x /usr/bin/aws ]; then
        AWS_CA_BUNDLE=$S3_CA_FILE EP=$S3_TLS_ENDPOINT aws_ s3 ls "s3://$B/selftest-$$/faults/" > "$W/body" 2>&1
        grep -q ' obj$' "$W/body"; expect "awscli over HTTPS with AWS_CA_BUNDLE" 0 $?
    fi

    # large bodies through the proxy
    if [ "$BIG" = 1 ]; then
        head -c $((200 * 1024 * 1024)) /dev/urandom > "$W/big"
        t0=$(now_ms)
        s=$(PH=$(sha "$W/big") req -T "$W/big" "$K/big"); t1=$(now_ms)
        expect "200 MiB PUT with a signed payload hash ($((t1 - t0)) ms)" 200 "$s"
        t0=$(now_ms); s=$(req "$K/big") && cmp -s "$W/body" "$W/big"; rc=$?; t1=$(now_ms)
        expect "200 MiB GET identical ($((t1 - t0)) ms)" "200 0" "$s $rc"
        s=$(req -X DELETE "$K/big"); rm -f "$W/big" "$W/body"
    else
        skip "200 MiB round trip (--no-big)"
    fi
}

# ---- run ------------------------------------------------------------------------------
echo "== s3rver + proxy"
if [ -n "${S3_ENV_FILE:-}" ]; then
    [ -f "$S3_ENV_FILE" ] || { echo "S3_ENV_FILE=$S3_ENV_FILE not found"; exit 1; }
    . "$S3_ENV_FILE"
else
    t0=$(now_ms)
    if "$HERE/start-s3.sh" "$W/s3" > "$W/start-s3.out" 2>&1; then
        STARTED_S3=$W/s3
        pass "start-s3.sh ($(( $(now_ms) - t0 )) ms)"
        . "$W/s3/s3.env"
    else
        rc=$?; cat "$W/start-s3.out"
        if [ $rc = 77 ]; then skip "start-s3.sh: node missing"; else nok "start-s3.sh failed ($rc)"; fi
    fi
    s=$("$HERE/start-s3.sh" "$W/s3" 2>&1); expect "start-s3.sh is idempotent" "start-s3.sh: already running in $W/s3" "$s"
fi
if [ -n "${S3_ENDPOINT:-}" ]; then
    target "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_REGION"
    basic_suite proxy "$S3_BUCKET" proxy
    s=$(st_code -T "$W/small" "$EP/$S3_OTHER_BUCKET/selftest-$$"); expect "[proxy] second bucket $S3_OTHER_BUCKET" "200 " "$s"
    clients_suite proxy "$S3_BUCKET"
    proxy_suite
fi

echo "== Ceph RGW"
if [ -n "${RGW_ENV_FILE:-}" ]; then
    [ -f "$RGW_ENV_FILE" ] || { echo "RGW_ENV_FILE=$RGW_ENV_FILE not found"; exit 1; }
    . "$RGW_ENV_FILE"
elif [ "$WANT_RGW" = 1 ]; then
    t0=$(now_ms)
    "$HERE/start-rgw.sh" "$W/rgw" > "$W/start-rgw.out" 2>&1; rc=$?
    if [ $rc = 0 ]; then
        STARTED_RGW=$W/rgw
        pass "start-rgw.sh ($(( $(now_ms) - t0 )) ms)"
        . "$W/rgw/rgw.env"
    elif [ $rc = 77 ]; then
        skip "RGW checks: $(tail -n 1 "$W/start-rgw.out")"
    else
        cat "$W/start-rgw.out"; nok "start-rgw.sh failed ($rc)"
    fi
else
    skip "RGW checks (--no-rgw)"
fi
if [ -n "${RGW_ENDPOINT:-}" ]; then
    target "$RGW_ENDPOINT" "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" "$RGW_REGION"
    basic_suite rgw "$RGW_BUCKET"
    s=$(st_code -T "$W/small" "$EP/$RGW_OTHER_BUCKET/selftest-$$"); expect "[rgw] second bucket $RGW_OTHER_BUCKET" "200 " "$s"
    s=$(req --cacert "$RGW_CA_FILE" -T "$W/small" "$RGW_TLS_ENDPOINT/$RGW_BUCKET/selftest-$$/tls") && s+=" $(req --cacert "$RGW_CA_FILE" "https://localhost:${RGW_TLS_ENDPOINT##*:}/$RGW_BUCKET/selftest-$$/tls")"
    cmp -s "$W/body" "$W/small"; expect "[rgw] HTTPS endpoint (127.0.0.1 and localhost) with the CA file" "200 200 0" "$s $?"
    req "$RGW_TLS_ENDPOINT/$RGW_BUCKET/selftest-$$/tls" >/dev/null; expect "[rgw] HTTPS without the CA -> curl 60" 60 $?
    clients_suite rgw "$RGW_BUCKET"
fi

if [ -n "$STARTED_S3" ]; then
    "$HERE/stop-s3.sh" "$STARTED_S3" >/dev/null 2>&1
    ! grep -qF "$STARTED_S3/" "/proc/$S3_PROXY_PID/cmdline" 2>/dev/null && ! grep -qF "$STARTED_S3/" "/proc/$S3RVER_PID/cmdline" 2>/dev/null
    expect "stop-s3.sh stops s3rver and the proxy" 0 $?
    [ ! -f "$STARTED_S3/s3.env" ]; expect "stop-s3.sh removes s3.env" 0 $?
    STARTED_S3=""
fi
if [ -n "$STARTED_RGW" ]; then
    t0=$(now_ms)
    "$HERE/stop-rgw.sh" "$STARTED_RGW" >/dev/null 2>&1
    [ ! -f "$STARTED_RGW/rgw.env" ] && ! [ -s "/proc/$RGW_RGW_PID/cmdline" ]; expect "stop-rgw.sh ($(( $(now_ms) - t0 )) ms)" 0 $?
    STARTED_RGW=""
fi

[ "$DEV" -gt 0 ] && echo "($DEV checks saw a known deviation of Ceph 16 RGW from AWS S3; see tests/s3/README.md)"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]

# s3_netfaults.sh — connections reset in the middle of uploads and downloads,
# injected by a TCP relay (s3lib.sh relay_start) between walship and the
# target, so it runs on every target, Ceph RGW included (where the proxy's
# fault rules are not available): a multipart upload that loses a part's
# connection once must retry the part; one that keeps losing it must fail
# and leave no multipart upload behind (walship aborts it) and no object; a
# download cut half-way must resume (Range + If-Match) on the real server,
# and one that stalls must be abandoned after s3_timeout and resumed.
. "$(dirname "$0")/s3lib.sh"

s3_setup
command -v python3 > /dev/null || skip "python3 not found (the TCP relay is a python script)"
D1=$T/d1
pg_init "$D1"
SEG1=$D1/pg_wal/000000010000000000000001
N1=000000010000000000000001
KEY1=$(wal_key "$N1")
P=$S3T_PREFIX
mkdir "$T/out"
check "[ \"\$(file_size '$SEG1')\" = 16777216 ]" "initdb left a 16 MiB segment $N1"
s3_write_conf "$T/c.conf" "$S3T_REPO"
MPA=(--s3_part_size=5MB --compression=none)
# FA SUB ENDPOINT ARGS...: walship-archive into $S3T_REPO-SUB through ENDPOINT.
FA() { local sub=$1 ep=$2; shift 2; run "$WS_ARCHIVE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO-$sub" --s3_endpoint="$ep" "$@"; }
FR() { local sub=$1 ep=$2; shift 2; run "$WS_RESTORE" --config="$T/c.conf" --pgdata="$D1" --repo="$S3T_REPO-$sub" --s3_endpoint="$ep" "$@"; }
restores_ok() {
    FR "$1" "$S3T_ENDPOINT" "$N1" "$T/out/$1.check"
    [ "$RC" = 0 ] && cmp -s "$SEG1" "$T/out/$1.check"
}

info "control: ListMultipartUploads sees an upload in progress on $S3T_TARGET"
cp=$(obj_path "$P-control" probe)
s3c "$T/ctl.init" POST "$cp?uploads=" > /dev/null
upid=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$T/ctl.init")
s3_uploads "$P-control" > "$T/ctl.list"
check "[ -n '$upid' ] && grep -qx probe '$T/ctl.list'" "an upload started with curl is listed (so an empty list below means something)"
c=$(s3c "$T/ctl.abort" DELETE "$cp?uploadId=$(uri_enc "$upid")")
s3_uploads "$P-control" > "$T/ctl.list"
check "[ '$c' = 204 ] && [ ! -s '$T/ctl.list' ]" "after AbortMultipartUpload (204) it is gone"

info "multipart upload, one connection reset during part 3 (12 MB into the upload)"
relay_start up once 12000000
FA mponce "$RELAY_ENDPOINT" "${MPA[@]}" "$SEG1" "$N1"
check_rc 0 "archive through the relay"
check "[ \"\$(relay_cuts)\" = 1 ] && err_has 'multipart part' && err_has 'retrying'" \
    "the relay reset 1 connection; walship retried the part"
check "restores_ok mponce" "restore (directly): byte-identical"
s3_uploads "$P-mponce" > "$T/up.mponce"
check "[ ! -s '$T/up.mponce' ]" "no multipart upload left in progress"

info "multipart upload whose part 3 never gets through (s3_max_retries = 2)"
relay_start up after 12000000
FA mpfail "$RELAY_ENDPOINT" "${MPA[@]}" --s3_max_retries=2 "$SEG1" "$N1"
check_rc_retryable "archive fails"
check "[ \"\$(relay_cuts)\" = 3 ] && err_has 'giving up after 3 attempts'" \
    "3 attempts of the part were reset ($(relay_cuts)), then walship gave up"
check "! err_has 'could not abort'" "walship did not report a failed abort"
s3_uploads "$P-mpfail" > "$T/up.mpfail"
check "[ ! -s '$T/up.mpfail' ]" "ListMultipartUploads on $S3T_TARGET: no upload left (walship aborted it)"
check "[ \"\$(s3_head '$P-mpfail' '$KEY1')\" = 404 ]" "no object under the final key"
FA mpfail "$S3T_ENDPOINT" "${MPA[@]}" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && restores_ok mpfail" "archiving again directly works, byte-identical"

info "single PUT, connection reset half-way through the body"
relay_start up once 600000
FA putonce "$RELAY_ENDPOINT" "$SEG1" "$N1"
check "[ \"\$RC\" = 0 ] && [ \"\$(relay_cuts)\" = 1 ]" "archive through one reset: exit 0 (exit $RC, $(relay_cuts) reset)"
check "restores_ok putonce" "restore: byte-identical"

info "download cut half-way: resumed with Range and If-Match on $S3T_TARGET"
FA dl "$S3T_ENDPOINT" "${MPA[@]}" "$SEG1" "$N1"
[ "$RC" = 0 ] || fail "archive for the download test"
relay_start down once 8000000
FR dl "$RELAY_ENDPOINT" "$N1" "$T/out/dl"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/dl'" "restore through a connection cut 8 MB into the download: byte-identical"
check "[ \"\$(relay_cuts)\" = 1 ] && err_has 'retrying'" "the relay cut once and walship said it retried"
check "no_tmp '$T/out'" "no temporary file left"
relay_start down stall 8000000
t0=$(date +%s%N)
FR dl "$RELAY_ENDPOINT" --s3_timeout=2 "$N1" "$T/out/dl3"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
defer_check "[ '$ms' -lt 5000 ]" \
    "s3_timeout = 2: a download stalled 8 MB in was abandoned within about 2 s (restore took $ms ms, want < 5000)"
check "[ \"\$RC\" = 0 ] && cmp -s '$SEG1' '$T/out/dl3' && [ \"\$(relay_cuts)\" = 1 ]" \
    "restore through a download that stalls 8 MB in (s3_timeout = 2): resumed, byte-identical ($ms ms)"
relay_start down after 4000000
FR dl "$RELAY_ENDPOINT" --s3_max_retries=1 --retry_attempts=1 --retry_delay_ms=50 "$N1" "$T/out/dl2"
check "[ \"\$RC\" -gt 125 ] && [ ! -e '$T/out/dl2' ] && no_tmp '$T/out'" \
    "a download that keeps being cut: exit $RC > 125, nothing at %p, no temporary file"
s3_summary

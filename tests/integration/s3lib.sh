# s3lib.sh — helpers for tests/integration/s3_*.sh (sources lib.sh).
#
# Every s3_*.sh runs twice under ctest: as s3rver/<name> (tests/s3/start-s3.sh:
# s3rver behind proxy.js, which verifies SigV4 and injects faults; s3.env
# exported) and as rgw/<name> (Ceph RGW; rgw.env exported).  WS_S3_TARGET says
# which.  s3_setup normalises both into one set of variables:
#
#   S3T_TARGET        s3rver | rgw
#   S3T_ENDPOINT      http://127.0.0.1:PORT (on s3rver: the verifying proxy)
#   S3T_BUCKET        a bucket that exists;  S3T_OTHER_BUCKET (may be empty)
#   S3T_AK S3T_SK     access key id and secret;  S3T_REGION
#   S3T_TLS_ENDPOINT  https://... and S3T_CA_FILE (empty when the target has none)
#   S3T_CONTROL       the proxy's control API (s3rver only, else empty)
#   S3T_DATA_DIR      s3rver's data directory (s3rver only, else empty)
#   S3T_PREFIX        this run's own prefix: <test>-<target>-<time>-<random>
#   S3T_REPO          s3://$S3T_BUCKET/$S3T_PREFIX
#
# Each test works only below its own prefix, so tests, runs and targets never
# see each other's objects.  The proxy's control API is shared by all tests
# running at once: fault rules are always scoped with a path_regex that names
# a prefix of this run, statistics are read with ?since=<seq>&path_regex=...,
# and /__reset and DELETE /__fault are never used.
#
# Servers a test starts itself (s3_bg) are killed by PID in the EXIT trap.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S3_BG_PIDS=()

s3_cleanup() {
    local rc=$? p i
    for p in "${S3_BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null || continue
        for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    (exit "$rc")
    ws_cleanup
}

# first_set VAR...: the value of the first variable that is set and non-empty.
first_set() {
    local v
    for v in "$@"; do
        if [ -n "${!v:-}" ]; then printf '%s' "${!v}"; return 0; fi
    done
    return 1
}

# s3_setup: ws_setup, then the S3T_* variables (see above).
s3_setup() {
    ws_setup
    trap s3_cleanup EXIT
    command -v curl > /dev/null || skip "curl not found (needed as the independent S3 client)"
    S3T_TARGET=${WS_S3_TARGET:-}
    if [ -z "$S3T_TARGET" ]; then
        if [ -n "${S3_ENDPOINT:-}" ]; then S3T_TARGET=s3rver
        elif [ -n "${RGW_ENDPOINT:-}" ]; then S3T_TARGET=rgw
        else skip "no S3 target: run under ctest (tests/s3/with-env.sh exports s3.env or rgw.env)"
        fi
    fi
    case $S3T_TARGET in
        s3rver)
            S3T_ENDPOINT=${S3_ENDPOINT:-}
            S3T_BUCKET=${S3_BUCKET:-}
            S3T_OTHER_BUCKET=${S3_OTHER_BUCKET:-}
            S3T_AK=${S3_ACCESS_KEY:-}
            S3T_SK=${S3_SECRET_KEY:-}
            S3T_REGION=${S3_REGION:-us-east-1}
            S3T_TLS_ENDPOINT=${S3_TLS_ENDPOINT:-}
            S3T_CA_FILE=${S3_CA_FILE:-}
            S3T_CONTROL=${S3_CONTROL:-}
            S3T_DATA_DIR=${S3_DATA_DIR:-}
            ;;
        rgw)
            S3T_ENDPOINT=$(first_set RGW_ENDPOINT RGW_S3_ENDPOINT RGW_URL)
            S3T_BUCKET=$(first_set RGW_BUCKET RGW_S3_BUCKET)
            S3T_OTHER_BUCKET=$(first_set RGW_OTHER_BUCKET)
            S3T_AK=$(first_set RGW_ACCESS_KEY RGW_ACCESS_KEY_ID)
            S3T_SK=$(first_set RGW_SECRET_KEY RGW_SECRET_ACCESS_KEY)
            S3T_REGION=$(first_set RGW_REGION) || S3T_REGION=us-east-1
            S3T_TLS_ENDPOINT=$(first_set RGW_TLS_ENDPOINT)
            S3T_CA_FILE=$(first_set RGW_CA_FILE)
            S3T_CONTROL=
            S3T_DATA_DIR=
            ;;
        *) fail "unknown WS_S3_TARGET '$S3T_TARGET' (s3rver or rgw)" ;;
    esac
    [ -n "$S3T_ENDPOINT" ] && [ -n "$S3T_BUCKET" ] && [ -n "$S3T_AK" ] && [ -n "$S3T_SK" ] ||
        fail "incomplete $S3T_TARGET environment: endpoint '$S3T_ENDPOINT', bucket '$S3T_BUCKET', access key '${S3T_AK:+set}', secret '${S3T_SK:+set}'"
    case $S3T_ENDPOINT in
        http://127.0.0.1:*|https://127.0.0.1:*|http://localhost:*|https://localhost:*|http://\[::1\]:*) ;;
        *) fail "refusing a non-loopback S3 endpoint: $S3T_ENDPOINT" ;;
    esac
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$S3T_ENDPOINT/") || true
    [ -n "$code" ] && [ "$code" != 000 ] ||
        fail "the $S3T_TARGET endpoint $S3T_ENDPOINT does not answer (fixture not running?)"
    # Nothing from the caller's AWS environment may change what a test checks,
    # and walship must never reach for the real instance metadata service
    # (169.254.169.254): tests that want a credential source set it up.
    local v
    for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_SHARED_CREDENTIALS_FILE=$T/no-such-aws-credentials AWS_CONFIG_FILE=$T/no-such-aws-config
    S3T_PREFIX="$WS_TEST_NAME-$S3T_TARGET-$(date +%s)-$RANDOM$RANDOM"
    S3T_REPO="s3://$S3T_BUCKET/$S3T_PREFIX"
    info "S3 target $S3T_TARGET: endpoint $S3T_ENDPOINT, bucket $S3T_BUCKET, region $S3T_REGION, prefix $S3T_PREFIX"
}

is_s3rver() { [ "$S3T_TARGET" = s3rver ] && [ -n "$S3T_CONTROL" ]; }

# s3_require_proxy: the whole script needs the fault proxy.
s3_require_proxy() {
    is_s3rver || skip "needs the fault-injecting proxy of the s3rver target (target is $S3T_TARGET: faults cannot be injected there)"
}

# skip_check MSG: a single check that cannot run here (the script goes on).
skip_check() { say "SKIP (check): $*"; }

# defer_check COND MSG: evaluate COND (expanded now, like check's) only at the
# end, in s3_summary, so that a known failure does not hide later results.
# The last command's output (run.*) is saved with it for the diagnostics.
S3_DEFERRED=()
defer_check() {
    local n=${#S3_DEFERRED[@]} f
    for f in cmd out err; do cp "$T/run.$f" "$T/deferred.$n.$f" 2>/dev/null; done
    S3_DEFERRED+=("$1"$'\x1f'"$2")
    say "-- deferred to the end: $2"
}

# s3_summary: the deferred checks (all of them; the test fails after the last
# if any failed), then ws_summary.
s3_summary() {
    local n f d failed=()
    for n in "${!S3_DEFERRED[@]}"; do
        d=${S3_DEFERRED[n]}
        if eval "${d%%$'\x1f'*}"; then
            pass "${d#*$'\x1f'}"
        else
            say "not ok - ${d#*$'\x1f'} (condition failed: ${d%%$'\x1f'*})"
            failed+=("$n")
        fi
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        n=${failed[0]}
        for f in cmd out err; do cp "$T/deferred.$n.$f" "$T/run.$f" 2>/dev/null; done
        fail "${#failed[@]} deferred check(s) failed (see 'not ok' above; diagnostics of the first)"
    fi
    ws_summary
}

# s3_conf_lines [ENDPOINT]: the S3 settings (endpoint, region, credentials).
s3_conf_lines() {
    printf '%s\n' "s3_endpoint = '${1:-$S3T_ENDPOINT}'" "s3_region = '$S3T_REGION'" \
        "s3_access_key_id = '$S3T_AK'" "s3_secret_access_key = '$S3T_SK'"
}

# s3_write_conf FILE REPO [LINE...]: a configuration file (0600, owned by the
# PostgreSQL user) with repo, the S3 settings and LINEs (later lines win).
s3_write_conf() {
    local f=$1 repo=$2 l
    shift 2
    {
        echo "# written by $WS_TEST_NAME"
        echo "repo = '${repo//\'/\'\'}'"
        s3_conf_lines
        for l in "$@"; do echo "$l"; done
    } > "$f"
    chmod 600 "$f" && give_pg "$f"
}

# ---- the independent client: curl with its own SigV4 signer ------------------

# uri_enc STRING [KEEP_SLASH]: RFC 3986, upper-case hex (S3's canonical form).
uri_enc() {
    local LC_ALL=C s=$1 keep=${2:-0} out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            /) if [ "$keep" = 1 ]; then out+=/; else out+=%2F; fi ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# wal_key NAME: the repository key of a WAL segment (docs/format.md).
wal_key() { printf 'wal/%s/%s/%s' "${1:0:8}" "${1:0:16}" "$1"; }

# s3c OUT METHOD PATH_AND_QUERY [CURL_ARGS...]: a signed request to
# $S3T_ENDPOINT (the query must already be canonical).  Body in OUT, response
# headers in OUT.hdr; prints the HTTP status (000 if no answer).
s3c() {
    local out=$1 method=$2 path=$3
    shift 3
    local m=(-X "$method")
    [ "$method" = HEAD ] && m=(-I)
    curl -sS -o "$out" -D "$out.hdr" -w '%{http_code}' --max-time 60 "${m[@]}" \
        --aws-sigv4 "aws:amz:$S3T_REGION:s3" --user "$S3T_AK:$S3T_SK" \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$S3T_ENDPOINT$path" 2> "$out.curlerr" ||
        true
}

# obj_path PREFIX KEY: /bucket/<encoded PREFIX/KEY>
obj_path() { printf '/%s/%s' "$S3T_BUCKET" "$(uri_enc "$1/$2" 1)"; }

# s3_head PREFIX KEY: prints the HTTP status of HEAD.
s3_head() { s3c "$T/s3c.head" HEAD "$(obj_path "$1" "$2")"; }

# s3_get PREFIX KEY OUT: GET into OUT; prints the HTTP status.
s3_get() { s3c "$3" GET "$(obj_path "$1" "$2")"; }

# hdr_value FILE NAME: a response header's value (last response in FILE).
hdr_value() {
    tr -d '\r' < "$1" | awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" '
        /^HTTP\// { v = "" }
        { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^ +/, "", v) } }
        END { print v }'
}

xml_unescape() { sed -e 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&apos;/'"'"'/g; s/&amp;/\&/g'; }

# s3_list PREFIX: the keys below PREFIX/ (ListObjectsV2, all pages), one per
# line, relative to PREFIX/.  Fails the test if the listing fails.
s3_list() {
    local p=$1/ q code tok="" page=0
    while :; do
        q="list-type=2&prefix=$(uri_enc "$p")"
        [ -n "$tok" ] && q="continuation-token=$(uri_enc "$tok")&$q"
        code=$(s3c "$T/s3c.list" GET "/$S3T_BUCKET?$q")
        [ "$code" = 200 ] || { cat "$T/s3c.list" "$T/s3c.list.curlerr" >&2; fail "ListObjectsV2 of $p: HTTP $code"; }
        grep -o '<Key>[^<]*</Key>' "$T/s3c.list" | sed 's/^<Key>//; s/<\/Key>$//' | xml_unescape |
            while IFS= read -r k; do printf '%s\n' "${k#"$p"}"; done
        grep -q '<IsTruncated>true</IsTruncated>' "$T/s3c.list" || break
        tok=$(sed -n 's/.*<NextContinuationToken>\([^<]*\)<\/NextContinuationToken>.*/\1/p' "$T/s3c.list" | xml_unescape)
        page=$((page + 1))
        [ -n "$tok" ] && [ "$page" -lt 100 ] || fail "ListObjectsV2 of $p: truncated without a token"
    done
}

# s3_uploads PREFIX: keys (relative to PREFIX/) of multipart uploads still in
# progress below PREFIX/ (ListMultipartUploads).  Fails the test on error.
s3_uploads() {
    local p=$1/ code
    code=$(s3c "$T/s3c.uploads" GET "/$S3T_BUCKET?prefix=$(uri_enc "$p")&uploads=")
    [ "$code" = 200 ] || { cat "$T/s3c.uploads" >&2; fail "ListMultipartUploads of $p: HTTP $code"; }
    grep -o '<Upload>.*</Upload>' "$T/s3c.uploads" | grep -o '<Key>[^<]*</Key>' |
        sed 's/^<Key>//; s/<\/Key>$//' | xml_unescape |
        while IFS= read -r k; do printf '%s\n' "${k#"$p"}"; done
}

# ---- the proxy's control API (s3rver target only) -------------------------------

# ctl METHOD PATH [JSON]: prints the reply; fails the test on a non-2xx.
ctl() {
    local code
    code=$(curl -sS -o "$T/ctl.out" -w '%{http_code}' --max-time 10 -X "$1" \
        -H 'content-type: application/json' ${3:+--data "$3"} "$S3T_CONTROL$2") || true
    [ "${code:0:1}" = 2 ] || { cat "$T/ctl.out" >&2; fail "proxy control $1 $2: HTTP $code"; }
    cat "$T/ctl.out"
}

# jsget EXPR: evaluate a JavaScript expression on the JSON in stdin (bound to j).
jsget() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=('"$1"');console.log(typeof v==="object"?JSON.stringify(v):v)})'; }

# fault JSON: add a fault rule (it must carry a path_regex naming our prefix).
fault() {
    case $1 in *path_regex*"$S3T_PREFIX"*) ;; *) fail "fault rule without this run's prefix: $1" ;; esac
    ctl POST /__fault "$1" > /dev/null
}

# json_top NAME: a top-level number from the proxy's pretty-printed JSON
# (one space of indentation), without starting node.
json_top() { sed -n "s/^ \"$1\": \([0-9][0-9]*\),*\$/\1/p" | head -n 1; }

# proxy_seq: the proxy's last request number (use as ?since= later).
proxy_seq() { ctl GET /__stats | json_top last_seq; }

# proxy_log REGEX SINCE: one line per request since SINCE whose URL matches
# REGEX: "METHOD URL STATUS fault=MODE range=RANGE if-none-match=X if-match=X
# code=CODE sc=STORAGE_CLASS sse=SSE" (header values, empty when absent).
proxy_log() {
    ctl GET "/__requests?since=$2&path_regex=$(uri_enc "$1")" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const e of JSON.parse(s))console.log(
            [e.method,e.url,e.status,"fault="+(e.fault||""),"range="+(e.headers.range||""),
             "if-none-match="+(e.headers["if-none-match"]||""),"if-match="+(e.headers["if-match"]||""),"code="+(e.code||""),
             "sc="+(e.headers["x-amz-storage-class"]||""),"sse="+(e.headers["x-amz-server-side-encryption"]||"")].join(" "))})'
}

# faults_injected REGEX SINCE: faults injected on matching requests since SINCE.
faults_injected() {
    ctl GET "/__stats?since=$2&path_regex=$(uri_enc "$1")" | json_top faults_injected_total
}

# fault_pending REGEX: number of pending fault rules whose path_regex is REGEX.
fault_pending() {
    ctl GET /__fault | jsget "j.filter(f => f.path_regex === $(printf '%s' "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(s)))')).length"
}

# ---- helpers for servers a test starts ---------------------------------------------

# s3_bg CMD...: start CMD in the background, remember its PID for the trap.
s3_bg() {
    "$@" &
    S3_BG_PIDS+=($!)
    BG_PID=$!
}

# closed_port: a loopback port nobody listens on (bound, then released).
closed_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
        node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_port_line FILE SED_EXPR: poll FILE until SED_EXPR prints a port (10 s).
wait_port_line() {
    local i p
    for i in $(seq 100); do
        p=$(sed -n "$2" "$1" 2>/dev/null | head -n 1)
        [ -n "$p" ] && { printf '%s' "$p"; return 0; }
        sleep 0.1
    done
    return 1
}

# no_tmp DIR: true if no walship temporary file is in DIR.
no_tmp() { [ -z "$(find "$1" -name '*.walship-tmp.*' 2>/dev/null)" ]; }

# imds_start ACCESS_KEY SECRET_KEY: a fake EC2 instance metadata service
# (IMDSv2: token, role name, role credentials with a session token) on
# loopback.  Sets IMDS_PORT and IMDS_LOG (one line per request).  Point
# walship at it with AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$IMDS_PORT
# and without AWS_EC2_METADATA_DISABLED.
imds_start() {
    command -v python3 > /dev/null || fail "imds_start: python3 not found"
    cat > "$T/imds.py" <<'PY'
import datetime, http.server, json, sys
AK, SK, TOKEN = sys.argv[1], sys.argv[2], 'imds-session-token-7a1'
class H(http.server.BaseHTTPRequestHandler):
    def send(self, code, body, ctype='text/plain'):
        b = body.encode()
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_PUT(self):
        if self.path == '/latest/api/token' and self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):
            return self.send(200, TOKEN)
        self.send(403, 'forbidden')
    def do_GET(self):
        if self.headers.get('X-aws-ec2-metadata-token') != TOKEN:
            return self.send(401, 'unauthorized')
        if self.path == '/latest/meta-data/iam/security-credentials/':
            return self.send(200, 'walship-role')
        if self.path == '/latest/meta-data/iam/security-credentials/walship-role':
            exp = (datetime.datetime.utcnow() + datetime.timedelta(hours=6)).strftime('%Y-%m-%dT%H:%M:%SZ')
            return self.send(200, json.dumps({'Code': 'Success', 'Type': 'AWS-HMAC', 'AccessKeyId': AK,
                'SecretAccessKey': SK, 'Token': 'session-token-from-imds', 'Expiration': exp, 'LastUpdated': exp}),
                'application/json')
        self.send(404, 'not found')
    def log_message(self, fmt, *a):
        sys.stdout.write('imds: ' + (fmt % a) + '\n')
        sys.stdout.flush()
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print('listening on port %d' % s.server_address[1], flush=True)
s.serve_forever()
PY
    IMDS_LOG=$T/imds.log
    s3_bg python3 -u "$T/imds.py" "$1" "$2" > "$IMDS_LOG" 2>&1
    IMDS_PORT=$(wait_port_line "$IMDS_LOG" 's/^listening on port \([0-9]*\)$/\1/p') ||
        fail "the fake metadata service did not start: $(cat "$IMDS_LOG")"
}

# relay_start DIRECTION MODE LIMIT [SECONDS [REGEX]]: a TCP relay on loopback in front of
# $S3T_ENDPOINT that resets connections, so network faults can be injected
# on any target (RGW included).  DIRECTION: up (bytes client -> server) or
# down (server -> client).  MODE once: reset the connection that carries the
# LIMIT-th byte (counted over all connections in DIRECTION), once; MODE after:
# once LIMIT bytes have passed, reset every connection as soon as it carries
# more than 64 KiB further in DIRECTION (small requests still pass); MODE
# stall: like once, but the connection is held open and silent instead; MODE
# pause (with a 4th argument, SECONDS): like once, but the bytes are held
# SECONDS, then forwarded, and the connection goes on ("resumed"); MODE hold
# (LIMIT unused, then SECONDS and a REGEX): like pause, for the first chunk in
# DIRECTION that matches REGEX (e.g. a request line).  Sets
# RELAY_PORT, RELAY_ENDPOINT and RELAY_LOG ("cut N at B bytes" per reset).
relay_start() {
    command -v python3 > /dev/null || fail "relay_start: python3 not found"
    local extra=("${@:4}")
    local up=${S3T_ENDPOINT##*:}
    up=${up%%/*}
    [ -f "$T/relay.py" ] || cat > "$T/relay.py" <<'PY'
import socket, struct, sys, threading
import re, time
up_port, direction, mode, limit = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
pause_s = float(sys.argv[5]) if len(sys.argv) > 5 else 0
pattern = re.compile(sys.argv[6].encode()) if len(sys.argv) > 6 else None
lock = threading.Lock()
state = {'total': 0, 'cuts': 0}
def rst(s):
    # SHUT_RD first: it wakes a thread blocked in recv() on s, whose reference
    # would otherwise delay the close (and the reset) until data arrives.
    for f in (lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)),
              lambda: s.shutdown(socket.SHUT_RD), s.close):
        try:
            f()
        except OSError:
            pass
def should_cut(conn, data):
    n = len(data)
    with lock:
        before = state['total']
        state['total'] += n
        cut = False
        if mode in ('once', 'stall', 'pause') and state['cuts'] == 0 and before < limit <= state['total']:
            cut = True
        elif mode == 'hold' and state['cuts'] == 0 and pattern.search(data):
            cut = True
        elif mode == 'after' and state['total'] > limit:
            conn['armed'] += n
            cut = conn['armed'] > 65536
        if cut:
            state['cuts'] += 1
            print('cut %d at %d bytes' % (state['cuts'], state['total']), flush=True)
        return cut
def pump(src, dst, counted, conn):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            if counted and should_cut(conn, d):
                if mode == 'stall':         # hold the connection open, silent
                    threading.Event().wait()
                if mode in ('pause', 'hold'):   # hold these bytes a while, then go on
                    time.sleep(pause_s)
                    print('resumed', flush=True)
                    dst.sendall(d)
                    continue
                conn['dead'] = True
                rst(src); rst(dst)
                return
            dst.sendall(d)
    except OSError:
        pass
    if not conn['dead']:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
def handle(c):
    try:
        u = socket.create_connection(('127.0.0.1', up_port))
    except OSError:
        rst(c)
        return
    conn = {'armed': 0, 'dead': False}
    threading.Thread(target=pump, args=(u, c, direction == 'down', conn), daemon=True).start()
    pump(c, u, direction == 'up', conn)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0))
s.listen(64)
print('listening on port %d' % s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
    RELAY_LOG=$T/relay.$1.$2.$3.$RANDOM.log
    s3_bg python3 -u "$T/relay.py" "$up" "$1" "$2" "$3" "${extra[@]}" > "$RELAY_LOG" 2>&1
    RELAY_PORT=$(wait_port_line "$RELAY_LOG" 's/^listening on port \([0-9]*\)$/\1/p') ||
        fail "the relay did not start: $(cat "$RELAY_LOG")"
    RELAY_ENDPOINT=http://127.0.0.1:$RELAY_PORT
}

# relay_cuts: how many connections the last relay reset (or stalled).
relay_cuts() { grep -c '^cut ' "$RELAY_LOG"; }

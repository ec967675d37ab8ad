#!/bin/bash
# start-s3.sh DIR: start s3rver 3.7.1 and the SigV4-verifying, fault-injecting
# proxy (proxy.js) in front of it, plain HTTP and HTTPS, all on 127.0.0.1 with
# ports chosen by the kernel.  Writes DIR/s3.env (see tests/s3/README.md).
#
#   * idempotent: if DIR already holds a running instance it is kept (exit 0);
#     a stale one is cleaned up and started afresh (with empty data);
#   * several instances in different DIRs can run at once;
#   * node modules are installed with `npm ci --prefix tests/s3` when missing;
#   * exit 77 if node is not installed (ctest SKIP_RETURN_CODE), 1 on failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
D=${1:?usage: start-s3.sh DIR}
mkdir -p "$D"; D=$(cd "$D" && pwd)
T0=$(now_ms)

command -v node >/dev/null 2>&1 || { echo "start-s3.sh: node is not installed" >&2; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "start-s3.sh: openssl is not installed" >&2; exit 77; }

exec 9>"$D/.s3.lock"
flock 9

if [ -f "$D/s3.env" ]; then
    if ( . "$D/s3.env" && pid_alive "$S3RVER_PID" "$D/" && pid_alive "$S3_PROXY_PID" "$D/" \
         && curl -fsS -o /dev/null --max-time 5 "$S3_CONTROL/__health" ); then
        echo "start-s3.sh: already running in $D"
        exit 0
    fi
    echo "start-s3.sh: stale state in $D, restarting"
fi
"$HERE/stop-s3.sh" "$D" >/dev/null 2>&1 || true

# node modules (npm ci needs the npm registry; CI runs it up front)
if [ ! -f "$HERE/node_modules/s3rver/package.json" ] || [ ! -d "$HERE/node_modules/@smithy/signature-v4" ] \
   || [ ! -d "$HERE/node_modules/@aws-crypto/sha256-js" ]; then
    echo "start-s3.sh: node modules missing, running npm ci --prefix $HERE"
    flock "$HERE/package.json" bash -c '[ -f "$1/node_modules/s3rver/package.json" ] || npm ci --prefix "$1" --no-audit --no-fund' _ "$HERE" >&2 \
        || { echo "start-s3.sh: npm ci failed" >&2; exit 1; }
fi

rm -rf "$D/s3-data"; mkdir -p "$D/s3-data" "$D/tls"
rm -f "$D/proxy.port" "$D/proxy-tls.port"

# self-signed certificate for 127.0.0.1 and localhost (kept across restarts)
make_cert "$D/tls" || exit 1

die() {
    echo "start-s3.sh: $*" >&2
    for f in s3rver.log proxy.log; do [ -f "$D/$f" ] && { echo "---- $D/$f:" >&2; tail -n 30 "$D/$f" >&2; }; done
    "$HERE/stop-s3.sh" "$D" >/dev/null 2>&1 || true
    exit 1
}

# s3rver (the legacy provider is needed for truncated ListObjectsV2 on Node >= 17).
# setsid + redirected stdio: the daemons neither hold ctest's pipes nor get its signals.
NODE_OPTIONS=--openssl-legacy-provider setsid node "$HERE/node_modules/s3rver/bin/s3rver.js" \
    -d "$D/s3-data" -a 127.0.0.1 -p 0 -s --no-vhost-buckets \
    --configure-bucket walship-test --configure-bucket other-bucket \
    </dev/null >"$D/s3rver.log" 2>&1 9>&- &
S3RVER_PID=$!
echo "$S3RVER_PID" > "$D/s3rver.pid"
S3RVER_PORT=
for ((i = 0; i < 300; i++)); do
    S3RVER_PORT=$(sed -n 's/.*S3rver listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$D/s3rver.log" | head -n 1)
    [ -n "$S3RVER_PORT" ] && break
    pid_alive "$S3RVER_PID" || die "s3rver exited during start-up"
    sleep 0.05
done
[ -n "$S3RVER_PORT" ] || die "s3rver did not start within 15 s"

setsid node "$HERE/proxy.js" --upstream-port "$S3RVER_PORT" --port 0 --port-file "$D/proxy.port" \
    --access-key S3RVER --secret-key S3RVER --region us-east-1 \
    --tls-port 0 --tls-cert "$D/tls/cert.pem" --tls-key "$D/tls/key.pem" --tls-port-file "$D/proxy-tls.port" \
    </dev/null >"$D/proxy.log" 2>&1 9>&- &
PROXY_PID=$!
echo "$PROXY_PID" > "$D/proxy.pid"
for ((i = 0; i < 300; i++)); do
    [ -s "$D/proxy.port" ] && break
    pid_alive "$PROXY_PID" || die "proxy exited during start-up"
    sleep 0.05
done
[ -s "$D/proxy.port" ] || die "proxy did not start within 15 s"
PROXY_PORT=$(cat "$D/proxy.port"); TLS_PORT=$(cat "$D/proxy-tls.port")
curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PROXY_PORT/__health" || die "proxy does not answer"

{
    echo "# written by tests/s3/start-s3.sh; stop with tests/s3/stop-s3.sh $D"
    env_line S3_ENDPOINT "http://127.0.0.1:$PROXY_PORT"
    env_line S3_TLS_ENDPOINT "https://127.0.0.1:$TLS_PORT"
    env_line S3_CA_FILE "$D/tls/cert.pem"
    env_line S3_DIRECT_ENDPOINT "http://127.0.0.1:$S3RVER_PORT"
    env_line S3_BUCKET walship-test
    env_line S3_OTHER_BUCKET other-bucket
    env_line S3_ACCESS_KEY S3RVER
    env_line S3_SECRET_KEY S3RVER
    env_line S3_REGION us-east-1
    env_line S3_CONTROL "http://127.0.0.1:$PROXY_PORT"
    env_line S3_DATA_DIR "$D/s3-data"
    env_line S3_DIR "$D"
    env_line S3_PROXY_LOG "$D/proxy.log"
    env_line S3RVER_LOG "$D/s3rver.log"
    env_line S3_PROXY_PID "$PROXY_PID"
    env_line S3RVER_PID "$S3RVER_PID"
} > "$D/s3.env.tmp"
mv "$D/s3.env.tmp" "$D/s3.env"
echo "start-s3.sh: s3rver on 127.0.0.1:$S3RVER_PORT, proxy on http://127.0.0.1:$PROXY_PORT and https://127.0.0.1:$TLS_PORT ($(( $(now_ms) - T0 )) ms); env in $D/s3.env"

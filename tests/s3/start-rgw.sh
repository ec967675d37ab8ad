#!/bin/bash
# start-rgw.sh DIR: a throwaway single-node Ceph RGW (Debian 12 ceph 16):
# 1 monitor + 1 memstore OSD + radosgw, all on 127.0.0.1 with run-time ports,
# auth none inside the cluster; S3 user TESTKEY/TESTSECRET and bucket
# walship-test.  Writes DIR/rgw.env (see tests/s3/README.md).  ~13 s cold.
#
#   * exit 77 if radosgw/ceph-mon/ceph-osd are not installed
#     (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd);
#   * idempotent (a running instance in DIR is kept); instances in different
#     DIRs can run at once; a stale DIR is cleaned and started afresh;
#   * the OSD start-up flake (first monitor command before the monmap arrives,
#     'wrong fsid', exit during init) is cured by restarting it, up to 6 tries.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
D=${1:?usage: start-rgw.sh DIR}
T0=$(now_ms)
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
    command -v "$b" >/dev/null 2>&1 || {
        echo "start-rgw.sh: $b not found; install: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd" >&2
        exit 77; }
done
mkdir -p "$D"; D=$(cd "$D" && pwd)

exec 9>"$D/.rgw.lock"
flock 9

ACCESS_KEY=TESTKEY SECRET_KEY=TESTSECRET BUCKET=walship-test OTHER_BUCKET=other-bucket REGION=us-east-1

if [ -f "$D/rgw.env" ]; then
    if ( . "$D/rgw.env" && pid_alive "$RGW_MON_PID" "$D/" && pid_alive "$RGW_OSD_PID" "$D/" && pid_alive "$RGW_RGW_PID" "$D/" \
         && curl -sS -o /dev/null --max-time 5 "$RGW_ENDPOINT/" ); then
        echo "start-rgw.sh: already running in $D"
        exit 0
    fi
    echo "start-rgw.sh: stale state in $D, restarting"
fi
"$HERE/stop-rgw.sh" "$D" >/dev/null 2>&1 || true

C=$D/ceph
rm -rf "$C"; mkdir -p "$C/mon" "$C/osd0" "$C/log" "$C/rgw"
# Admin sockets are Unix sockets (path limit 108 bytes): use a short directory
# when DIR is long.
RUN=$C/run
if [ ${#RUN} -gt 60 ]; then RUN=$(mktemp -d /tmp/wsrgw.XXXXXX); fi
mkdir -p "$RUN"; echo "$RUN" > "$D/rgw.rundir"
CONF=$C/ceph.conf
phase() { echo "$(( $(now_ms) - T0 )) ms: $*" >> "$C/start-times.log"; }

die() {
    echo "start-rgw.sh: $*" >&2
    for f in "$C"/log/*.log "$C"/*.out; do
        [ -f "$f" ] && { echo "---- tail of $f:" >&2; tail -n 25 "$f" >&2; }
    done
    "$HERE/stop-rgw.sh" "$D" >/dev/null 2>&1 || true
    exit 1
}

MONPORT=$(free_port); RGWPORT=$(free_port); TLSPORT=$(free_port)
while [ "$RGWPORT" = "$MONPORT" ]; do RGWPORT=$(free_port); done
while [ "$TLSPORT" = "$MONPORT" ] || [ "$TLSPORT" = "$RGWPORT" ]; do TLSPORT=$(free_port); done
make_cert "$D/tls" || die "openssl failed"
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MONPORT
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# faster map updates: RGW creates ~7 pools; each waits for a paxos round
paxos propose interval = 0.05
paxos min wait = 0.01
osd objectstore = memstore
memstore device bytes = 2147483648
osd crush chooseleaf type = 0
run dir = $RUN
log file = $C/log/\$name.log
pid file = $RUN/\$name.pid
keyring = $C/keyring
ms bind msgr2 = false
debug ms = 0
[mon.a]
mon data = $C/mon
public addr = 127.0.0.1:$MONPORT
admin socket = $RUN/\$name.asok
[osd.0]
osd data = $C/osd0
# no monitor commands during OSD init (they race the monmap: 'wrong fsid');
# start-rgw.sh puts osd.0 into the CRUSH map itself
osd crush update on start = false
osd class update on start = false
admin socket = $RUN/\$name.asok
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGWPORT ssl_endpoint=127.0.0.1:$TLSPORT ssl_certificate=$D/tls/cert.pem ssl_private_key=$D/tls/key.pem
rgw data = $C/rgw
admin socket = $RUN/\$name.asok
debug rgw = 1
rgw enable usage log = false
CONF

phase mkfs
ceph-authtool --create-keyring "$C/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$MONPORT]" --fsid "$FSID" "$C/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$C/monmap" --keyring "$C/keyring" >"$C/mon-mkfs.out" 2>&1 \
    || die "ceph-mon --mkfs failed"

# Every daemon runs in the foreground (-f) under setsid with its own stdio, so
# its PID is known and it holds none of the caller's pipes (ctest waits on them).
phase mon start
setsid ceph-mon -c "$CONF" -i a -f </dev/null >"$C/mon.out" 2>&1 9>&- &
MON_PID=$!; echo "$MON_PID" > "$D/rgw-mon.pid"

CEPH="ceph -c $CONF --connect-timeout 20"
# Ceph 16 clients race their first command against the monmap: the monitor
# then sees fsid 00000000-... and answers EPERM ("problem getting command
# descriptions from mon", or 'wrong fsid' in daemons).  Retry: every command
# used here is idempotent.
retry() {
    local i
    for ((i = 1; i <= 10; i++)); do
        "$@" && return 0
        echo "start-rgw.sh: '$*' failed (try $i), retrying" >> "$C/retries.log"
        sleep 0.3
    done
    return 1
}
U=$(cat /proc/sys/kernel/random/uuid)
retry $CEPH osd new "$U" >"$C/osd-new.out" 2>&1 || die "ceph osd new failed (monitor not up?)"
phase osd mkfs
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$U" >"$C/osd-mkfs.out" 2>&1 || die "ceph-osd --mkfs failed"
retry $CEPH osd crush add osd.0 1.0 root=default >>"$C/osd-new.out" 2>&1 || die "ceph osd crush add failed"

OSD_PID=
up=no
for try in 1 2 3 4 5 6; do
    setsid ceph-osd -c "$CONF" -i 0 -f </dev/null >>"$C/osd.out" 2>&1 9>&- &
    OSD_PID=$!; echo "$OSD_PID" > "$D/rgw-osd.pid"
    for ((i = 0; i < 120; i++)); do
        if $CEPH osd stat 2>/dev/null | grep -q ' 1 up'; then up=yes; break; fi
        pid_alive "$OSD_PID" || break
        sleep 0.25
    done
    [ $up = yes ] && break
    if pid_alive "$OSD_PID"; then die "OSD did not come up within 30 s"; fi
    echo "start-rgw.sh: ceph-osd exited during start-up (try $try), restarting it" >&2
    sleep 0.5
done
[ $up = yes ] || die "OSD did not come up after 6 tries"

phase "osd up (try $try)"
RGW_PID=
for try in 1 2 3 4 5 6; do
    setsid radosgw -c "$CONF" -n client.rgw.a -f </dev/null >>"$C/rgw.out" 2>&1 9>&- &
    RGW_PID=$!; echo "$RGW_PID" > "$D/rgw-rgw.pid"
    for ((i = 0; i < 240; i++)); do
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGWPORT/" && break 2
        pid_alive "$RGW_PID" || break
        sleep 0.25
    done
    pid_alive "$RGW_PID" && die "radosgw does not answer on 127.0.0.1:$RGWPORT after 60 s"
    echo "start-rgw.sh: radosgw exited during start-up (try $try), restarting it" >&2
    sleep 0.5
done
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGWPORT/" || die "radosgw did not start after 6 tries"
phase rgw answers
make_user() {
    radosgw-admin -c "$CONF" user info --uid=walship >/dev/null 2>&1 && return 0
    radosgw-admin -c "$CONF" user create --uid=walship --display-name=walship \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$C/user-create.out" 2>&1
}
retry make_user || die "radosgw-admin user create failed"

EP=http://127.0.0.1:$RGWPORT
phase user created
for b in "$BUCKET" "$OTHER_BUCKET"; do
    code=000
    for ((i = 0; i < 20; i++)); do
        code=$(curl -sS -o "$C/mkbucket.out" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$REGION:s3" \
            --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$EP/$b" || true)
        [ "$code" = 200 ] && break
        sleep 0.5
    done
    [ "$code" = 200 ] || die "creating bucket $b failed: HTTP $code $(cat "$C/mkbucket.out" 2>/dev/null)"
done
curl -sS -o /dev/null --cacert "$D/tls/cert.pem" --max-time 5 "https://127.0.0.1:$TLSPORT/" \
    || die "radosgw does not answer on https://127.0.0.1:$TLSPORT"
phase bucket created
# Warm up: RGW creates the data pool on the first object write and the non-ec
# pool on the first multipart upload; do both now so tests see steady timings.
rgw() { curl -sS --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
             -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
rgw -o /dev/null -f -X PUT --data-binary probe "$EP/$BUCKET/.start-rgw-probe" || die "probe PUT failed"
rgw -o /dev/null -f -X DELETE "$EP/$BUCKET/.start-rgw-probe" || die "probe DELETE failed"
UPID=$(rgw -f -X POST "$EP/$BUCKET/.start-rgw-probe?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
[ -n "$UPID" ] || die "probe multipart initiate failed"
rgw -o /dev/null -f -X DELETE "$EP/$BUCKET/.start-rgw-probe?uploadId=$UPID" || die "probe multipart abort failed"

phase warmed up
{
    echo "# written by tests/s3/start-rgw.sh; stop with tests/s3/stop-rgw.sh $D"
    env_line RGW_ENDPOINT "$EP"
    env_line RGW_TLS_ENDPOINT "https://127.0.0.1:$TLSPORT"
    env_line RGW_CA_FILE "$D/tls/cert.pem"
    env_line RGW_BUCKET "$BUCKET"
    env_line RGW_OTHER_BUCKET "$OTHER_BUCKET"
    env_line RGW_ACCESS_KEY "$ACCESS_KEY"
    env_line RGW_SECRET_KEY "$SECRET_KEY"
    env_line RGW_REGION "$REGION"
    env_line RGW_DIR "$D"
    env_line RGW_CEPH_CONF "$CONF"
    env_line RGW_LOG "$C/log/client.rgw.a.log"
    env_line RGW_MON_PID "$MON_PID"
    env_line RGW_OSD_PID "$OSD_PID"
    env_line RGW_RGW_PID "$RGW_PID"
} > "$D/rgw.env.tmp"
mv "$D/rgw.env.tmp" "$D/rgw.env"
echo "start-rgw.sh: RGW on $EP (mon 127.0.0.1:$MONPORT, $(( $(now_ms) - T0 )) ms); env in $D/rgw.env"

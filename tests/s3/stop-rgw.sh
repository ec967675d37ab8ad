#!/bin/bash
# stop-rgw.sh DIR: stop what start-rgw.sh DIR started, by saved PID (a PID is
# only signalled if its command line still mentions DIR).  The memstore OSD
# is killed outright: its data is throwaway and a clean stop takes ~5 s.
# Logs stay in DIR/ceph/log; the RAM-backed data is gone.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
D=${1:?usage: stop-rgw.sh DIR}
[ -d "$D" ] || exit 0
D=$(cd "$D" && pwd)
if [ -f "$D/rgw-rgw.pid" ]; then stop_pid "$(cat "$D/rgw-rgw.pid")" "$D/" 5; fi
if [ -f "$D/rgw-osd.pid" ]; then
    p=$(cat "$D/rgw-osd.pid")
    if pid_alive "$p" "$D/"; then kill -KILL "$p" 2>/dev/null; fi
    stop_pid "$p" "$D/" 2
fi
if [ -f "$D/rgw-mon.pid" ]; then stop_pid "$(cat "$D/rgw-mon.pid")" "$D/" 5; fi
rm -f "$D"/rgw-{rgw,osd,mon}.pid "$D/rgw.env"
if [ -f "$D/rgw.rundir" ]; then
    r=$(cat "$D/rgw.rundir")
    case "$r" in /tmp/wsrgw.*) rm -rf "$r" ;; esac
    rm -f "$D/rgw.rundir"
fi
rm -rf "$D/ceph/osd0" "$D/ceph/mon"
echo "stop-rgw.sh: stopped $D"
exit 0

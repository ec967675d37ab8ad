#!/bin/bash
# stop-s3.sh DIR: stop what start-s3.sh DIR started (by saved PID; a PID is
# only signalled if its command line still mentions DIR).  Keeps data and logs.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
D=${1:?usage: stop-s3.sh DIR}
[ -d "$D" ] || exit 0
D=$(cd "$D" && pwd)
for name in proxy s3rver; do
    [ -f "$D/$name.pid" ] || continue
    stop_pid "$(cat "$D/$name.pid")" "$D/" 5
    rm -f "$D/$name.pid"
done
rm -f "$D/s3.env" "$D/proxy.port" "$D/proxy-tls.port"
echo "stop-s3.sh: stopped $D"
exit 0

#!/usr/bin/env bash
# deploy/systemd: every unit and timer passes `systemd-analyze verify`, each
# service runs a walship command that exists and accepts its arguments, and
# each timer's calendar is the one docs/deployment.md promises.
. "$(dirname "$0")/../integration/lib.sh"
ws_setup
command -v systemd-analyze >/dev/null || skip "systemd-analyze not found (package systemd)"

UNITS=${WS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/deploy/systemd
U=$T/units
mkdir -p "$U"
# The units name the installed paths (/usr/bin): point them at this build.
for f in "$UNITS"/*.service "$UNITS"/*.timer; do
    sed "s|/usr/bin/|$T/bin/|g" "$f" > "$U/$(basename "$f")"
done
check '[ "$(ls "$U" | wc -l)" -eq 10 ]' "ten units: five services, five timers"

run systemd-analyze verify --man=no "$U"/*.service "$U"/*.timer
check_rc 0 "systemd-analyze verify accepts every unit"
check '! grep -q "walship-" "$T/run.err" "$T/run.out"' "systemd-analyze says nothing about our units"

for t in "$U"/*.timer; do
    s=${t%.timer}.service
    check '[ -f "$s" ]' "$(basename "$t") has its service"
    cal=$(sed -n 's/^OnCalendar=//p' "$t")
    run systemd-analyze calendar "$cal"
    check_rc 0 "$(basename "$t"): calendar \"$cal\" parses"
done

# Each ExecStart is a walship executable and subcommand that exists and
# takes those options: --help at the end is served after they are parsed.
for s in "$U"/*.service; do
    cmd=$(sed -n 's/^ExecStart=//p' "$s")
    check '[ -x "${cmd%% *}" ]' "$(basename "$s"): ${cmd%% *} is executable"
    # shellcheck disable=SC2086  # the command line's words
    run $cmd --help
    check_rc 0 "$(basename "$s"): \"${cmd#"$T/bin/"} --help\" parses"
    check 'grep -q "^Usage" "$T/run.out"' "$(basename "$s"): it printed its usage"
done

check 'grep -qx "OnCalendar=\*-\*-\* 02:00:00 UTC" "$U/walship-basebackup.timer"' \
    "basebackup timer: daily at 02:00 UTC"
check 'grep -qx "OnCalendar=Sun \*-\*-01..07 06:00:00 UTC" "$U/walship-drill.timer"' \
    "drill timer: monthly, on the first Sunday"
check 'grep -q "walship metrics --output /var/lib/prometheus/node-exporter/walship.prom" "$U/walship-metrics.service"' \
    "metrics: the node_exporter textfile, written atomically (--output)"
ws_summary

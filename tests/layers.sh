#!/usr/bin/env bash
# layers.sh — the library's floors hold: a file in common/<floor>/ includes
# only headers of its own floor or of the floors below it, and the
# executables only the top floors.  The floors, bottom up:
#
#   base      errors, logging, clock, numbers, configuration, command line
#   format    stream stages, checksums, encryption, the object format, tar,
#             WAL names, pg_control
#   storage   the storage interface and its drivers (filesystem, S3)
#   pg        the PostgreSQL replication protocol (beside storage: neither
#             uses the other)
#   repo      the repository: named objects, descriptors, catalog
#   command   the engines of walship-archive, -restore, -basebackup, -recover
#             and walship (ops/)
#
# Prints each include that runs back up and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

rank() {
    case $1 in
        base) echo 0 ;; format) echo 1 ;; storage|pg) echo 2 ;; repo) echo 3 ;; command) echo 4 ;;
        exe) echo 5 ;; *) echo 99 ;;
    esac
}

declare -A FLOOR_OF
for f in common/*/*.h; do
    f=${f#common/}
    FLOOR_OF[$(basename "$f")]=${f%%/*}
done
FLOOR_OF[version.h]=base        # generated from base/version.h.in
for f in ops/*.h; do            # the operator tool's own headers, for its files only
    FLOOR_OF[$(basename "$f")]=exe
done
for f in archive/*.h; do
    FLOOR_OF[$(basename "$f")]=exe  # the archive module's seam (module_bridge.h)
done

bad=0
files=0
check_file() {
    local file=$1 floor=$2 inc hfloor
    [ -r "$file" ] || { echo "layers: cannot read $file"; exit 1; }
    files=$((files + 1))
    while read -r inc; do
        hfloor=${FLOOR_OF[$inc]:-}
        if [ -z "$hfloor" ]; then
            echo "layers: $file includes \"$inc\", which is in no floor of common/"
            bad=1
        elif [ "$(rank "$hfloor")" -gt "$(rank "$floor")" ] ||
            { [ "$(rank "$hfloor")" -eq "$(rank "$floor")" ] && [ "$hfloor" != "$floor" ]; }; then
            echo "layers: $file ($floor) includes \"$inc\" ($hfloor): an include running back up"
            bad=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
}

for f in common/*/*.c common/*/*.h; do
    g=${f#common/}
    check_file "$f" "${g%%/*}"
done
# archive/module.c is the archive module's PostgreSQL side: it includes the
# server's headers and, of ours, only the seam (module_bridge.h), so that no
# walship name meets PostgreSQL's macros.
check_pg_side() {
    local file=$1 inc
    files=$((files + 1))
    while read -r inc; do
        if [ -n "${FLOOR_OF[$inc]:-}" ] && [ "${FLOOR_OF[$inc]}" != exe ]; then
            echo "layers: $file (PostgreSQL side) includes walship's \"$inc\": use module_bridge.h"
            bad=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
}
for f in archive/*.c restore/*.c basebackup/*.c ops/*.c; do
    if [ "$f" = archive/module.c ]; then
        check_pg_side "$f"
    else
        check_file "$f" exe
    fi
done
[ "$files" -gt 40 ] || { echo "layers: only $files files found"; exit 1; }
if [ "$bad" -ne 0 ]; then
    echo "layers: FAILED"
    exit 1
fi
echo "layers: $files files, every include points down or across its own floor"
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install dependencies (root), build PostgreSQL 18 from ../shared/pg-src
#      once per machine (cached under /var/cache/walship), build with -Werror;
#   2. every test, unit and integration (real PostgreSQL 15), under ctest;
#   3. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    bash scripts/install-deps.sh --test
    bash scripts/install-pg18.sh
fi

echo "== build (RelWithDebInfo, -Werror)"
bash scripts/build.sh build

echo "== all tests"
ctest --test-dir build --output-on-failure -j2

echo "== unit tests under ASan+UBSan"
bash scripts/build.sh build-asan -DWS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
# Criterion reports a test as passed even when LeakSanitizer or UBSan printed
# a report from its process, so the full output is kept and searched too.
ASAN_LOG=build-asan/asan-unit.log
rc=0
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j2 -V > "$ASAN_LOG" 2>&1 || rc=$?
grep -E "tests passed|Synthesis|Failed|FAIL" "$ASAN_LOG" | tail -20
if grep -nE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$ASAN_LOG"; then
    echo "sanitizer reports found in $ASAN_LOG" >&2
    rc=1
fi
exit $rc

#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. install dependencies (root) and build with -Werror;
#   2. every test, unit and integration (real PostgreSQL 15), under ctest;
#   3. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    bash scripts/install-deps.sh
fi

echo "== build (RelWithDebInfo, -Werror)"
bash scripts/build.sh build

echo "== all tests"
ctest --test-dir build --output-on-failure -j2

echo "== unit tests under ASan+UBSan"
bash scripts/build.sh build-asan -DWS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j2

#!/usr/bin/env bash
# Configure and build walship into ./build (or $1), warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWS_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"

#!/usr/bin/env bash
# Fresh Debian 12 machine -> dependencies, build, and the archive -> PITR demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
    bash scripts/install-deps.sh
else
    sudo bash scripts/install-deps.sh
fi
bash scripts/build.sh build
bash scripts/demo.sh

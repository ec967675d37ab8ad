#!/usr/bin/env bash
# Install everything walship needs to build and test on Debian 12, and the
# unprivileged user the tests run PostgreSQL as (PostgreSQL refuses root).
# Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (or with sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config git ca-certificates \
    libzstd-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libpq-dev libcriterion-dev \
    postgresql-15 postgresql-client-15 postgresql-server-dev-15 \
    zstd xxd procps util-linux curl openssl bc \
    radosgw ceph-mon ceph-osd

# Node.js runs the S3 test server (s3rver) and the suite's SigV4-verifying,
# fault-injecting proxy; the machine image usually has it already.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt-get install -y -q --no-install-recommends nodejs npm
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$HERE/tests/s3/node_modules/s3rver" ]; then
    npm ci --prefix "$HERE/tests/s3" --no-audit --no-fund --loglevel=error
fi

id -u pgtest >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pgtest
echo "install-deps.sh: dependencies installed"

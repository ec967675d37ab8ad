#!/usr/bin/env bash
# Install what walship needs on Debian 12, and the unprivileged user that
# PostgreSQL runs as in the demo and the tests (PostgreSQL refuses root).
#
#   install-deps.sh          the build and the demo: compiler, cmake, the
#                            libraries, PostgreSQL 15 (scripts/quickstart.sh)
#   install-deps.sh --test   also the test servers and tools: Ceph RGW,
#                            Node.js and the npm S3 server (s3rver), Docker
#                            and debootstrap for the image test, promtool
#                            (scripts/test.sh)
# Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (or with sudo)" >&2
    exit 1
fi
with_test=false
case "${1:-}" in
    "") ;;
    --test) with_test=true ;;
    *) echo "install-deps.sh: unknown argument \"$1\" (only --test)" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# build (Criterion builds the unit tests, which the default build includes)
# and the demo's PostgreSQL 15
apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config git ca-certificates \
    libzstd-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libpq-dev libcriterion-dev \
    postgresql-15 postgresql-client-15 postgresql-server-dev-15 \
    zstd procps util-linux openssl

if $with_test; then
    apt-get install -y -q --no-install-recommends \
        xxd curl bc strace python3 \
        radosgw ceph-mon ceph-osd \
        docker.io debootstrap systemd \
        prometheus pgbackrest
    # prometheus: promtool checks walship metrics' output (t_ops_metrics.sh);
    # pgbackrest: the peer bench/ measures walship against.
    # Node.js runs the S3 test server (s3rver) and the suite's SigV4-verifying,
    # fault-injecting proxy; the machine image usually has it already.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt-get install -y -q --no-install-recommends nodejs npm
    fi
    HERE=$(cd "$(dirname "$0")/.." && pwd)
    if [ ! -d "$HERE/tests/s3/node_modules/s3rver" ]; then
        npm ci --prefix "$HERE/tests/s3" --no-audit --no-fund --loglevel=error
    fi
fi

id -u pgtest >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pgtest
if $with_test; then echo "install-deps.sh: build, demo and test dependencies installed"; else echo "install-deps.sh: build and demo dependencies installed"; fi

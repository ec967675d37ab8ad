#!/usr/bin/env bash
# Build PostgreSQL 18 from Debian's source package in ../shared/pg-src/ (Debian 12
# packages only 15) and cache the installed tree outside the work tree, so a
# machine pays for the build (4-6 minutes on 2 cores) once.  Idempotent.
#
#   bash scripts/install-pg18.sh          build if needed, print the prefix
#
# The prefix is $WS_PG18_CACHE (default /var/cache/walship)/pg18-<sha256 of
# the tarball, 12 digits>, and $WS_PG18_CACHE/pg18 links to it; tests find it
# there through tests/integration/lib.sh (ws_find_pg18).  Run as root: it installs the
# build tools with apt-get.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=${WS_PG18_SRC:-$HERE/../shared/pg-src}
TARBALL=$SRC/postgresql-18_18.6.orig.tar.bz2
CACHE=${WS_PG18_CACHE:-/var/cache/walship}

if [ ! -f "$TARBALL" ]; then
    echo "install-pg18.sh: $TARBALL not found; PostgreSQL 18 tests will be skipped" >&2
    exit 0
fi
SUM=$(sha256sum "$TARBALL" | cut -c1-64)
PREFIX=$CACHE/pg18-${SUM:0:12}
# $CACHE/pg18 always points at the build of the tarball in shared/
point() { ln -sfn "$(basename "$PREFIX")" "$CACHE/pg18.new" && mv -T "$CACHE/pg18.new" "$CACHE/pg18"; }
if [ -x "$PREFIX/bin/postgres" ] && [ "$(cat "$PREFIX/.walship-built" 2>/dev/null)" = "$SUM" ]; then
    point
    echo "install-pg18.sh: PostgreSQL 18 already built in $PREFIX"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        build-essential bison flex perl pkg-config libzstd-dev liblz4-dev zlib1g-dev >/dev/null
fi
for tool in bison flex make cc; do
    command -v "$tool" >/dev/null || { echo "install-pg18.sh: $tool is missing" >&2; exit 1; }
done

echo "== building PostgreSQL 18.6 into $PREFIX (once per machine)"
T0=$(date +%s)
WORK=$(mktemp -d /var/tmp/walship-pg18.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
tar -xjf "$TARBALL" -C "$WORK"
cd "$WORK/postgresql-18.6"
# A half-finished install must never look finished: build into a staging
# prefix beside the final one and rename it into place at the end.
rm -rf "$PREFIX.tmp"
./configure --prefix="$PREFIX" --with-zstd --with-lz4 --without-icu --without-readline \
    > "$WORK/configure.log" 2>&1 || { tail -40 "$WORK/configure.log"; exit 1; }
make -j"$(nproc)" > "$WORK/make.log" 2>&1 || { tail -60 "$WORK/make.log"; exit 1; }
make -C contrib/amcheck -j"$(nproc)" >> "$WORK/make.log" 2>&1 || { tail -60 "$WORK/make.log"; exit 1; }
make install DESTDIR="$PREFIX.tmp" >> "$WORK/make.log" 2>&1 || { tail -40 "$WORK/make.log"; exit 1; }
make -C contrib/amcheck install DESTDIR="$PREFIX.tmp" >> "$WORK/make.log" 2>&1 ||
    { tail -40 "$WORK/make.log"; exit 1; }
rm -rf "$PREFIX"
mkdir -p "$CACHE"
mv "$PREFIX.tmp$PREFIX" "$PREFIX"
rm -rf "$PREFIX.tmp"
echo "$SUM" > "$PREFIX/.walship-built"
chmod -R go+rX "$PREFIX"
point
echo "install-pg18.sh: PostgreSQL 18 built in $PREFIX in $(( $(date +%s) - T0 )) s"

#!/usr/bin/env bash
# deploy/docker_image: docker/Dockerfile builds walship into a PostgreSQL 15
# image; a container from it archives to the S3 server (s3rver behind the
# verifying proxy, on loopback), takes a base backup, and a second container
# recovers from it to a target time with the rows as they were.
#
# No registry is reachable here: the base image is made with debootstrap
# from the machine's Debian mirror (cached under /var/cache/walship) and
# passed as BASE_IMAGE; containers use --network host (loopback only).
. "$(dirname "$0")/../integration/s3lib.sh"

command -v dockerd >/dev/null || skip "dockerd not found (package docker.io)"
command -v debootstrap >/dev/null || skip "debootstrap not found"
is_root || skip "the Docker daemon needs root"
s3_setup
SRC=${WS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

D=$(mktemp -d /var/tmp/walship-docker.XXXXXX)
docker_stop() {
    local rc=$?
    if [ -n "${DOCKERD_PID:-}" ]; then
        docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
        umount "$D/exec/netns/default" 2>/dev/null
    fi
    rm -rf "$D"
    (exit "$rc")
    s3_cleanup
}
trap docker_stop EXIT

info "starting a private Docker daemon in $D"
dockerd --iptables=false --ip6tables=false --bridge=none --data-root "$D/data" \
    --exec-root "$D/exec" -H "unix://$D/docker.sock" --pidfile "$D/docker.pid" \
    > "$D/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$D/docker.sock
for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
docker info >/dev/null 2>&1 || { tail -20 "$D/dockerd.log"; fail "dockerd did not start"; }

CACHE=/var/cache/walship
ROOTFS_TAR=$CACHE/debian-bookworm-minbase.tar
if [ ! -s "$ROOTFS_TAR" ]; then
    mirror=$(awk '$1=="URIs:"{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    info "debootstrap bookworm from ${mirror:-deb.debian.org} (once per machine, cached in $ROOTFS_TAR)"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase bookworm "$D/rootfs" "${mirror:-http://deb.debian.org/debian}" \
        > "$D/debootstrap.log" 2>&1 || { tail -20 "$D/debootstrap.log"; fail "debootstrap"; }
    tar -C "$D/rootfs" -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    rm -rf "$D/rootfs"
fi
docker import - local/debian:bookworm < "$ROOTFS_TAR" >/dev/null || fail "docker import"

info "docker build -f docker/Dockerfile (BASE_IMAGE=local/debian:bookworm)"
t0=$(date +%s)
run docker build --network host --build-arg BASE_IMAGE=local/debian:bookworm \
    -f "$SRC/docker/Dockerfile" -t walship:test "$SRC"
check_rc 0 "the image builds ($(( $(date +%s) - t0 )) s)"
run docker run --rm --network none walship:test walship --version
check_rc 0 "walship runs in the image"
check 'grep -q "^walship (walship) " "$T/run.out"' "walship --version in the image: $(cat "$T/run.out")"
run docker run --rm --network none walship:test sh -c 'postgres --version; id -u postgres; id -g postgres'
check_rc 0 "the image has PostgreSQL and its user"
check 'grep -q "(PostgreSQL) 15" "$T/run.out"' "PostgreSQL 15 in the image"
CUID=$(sed -n 2p "$T/run.out"); CGID=$(sed -n 3p "$T/run.out")

# The configuration holds the S3 secret and a passphrase file: 0600, owned
# by the container's postgres user.
mkdir -p "$T/etc" "$T/pgdata" "$T/restored"
printf '%s\n' 'docker-test passphrase: not a real one' > "$T/etc/passphrase"
s3_write_conf "$T/etc/walship.conf" "$S3T_REPO" "compression = zstd" \
    "encryption = aes-256-gcm" "encryption_passphrase_file = '/etc/walship/passphrase'" \
    "encryption_key_cache = off"
chown -R "$CUID:$CGID" "$T/etc" "$T/pgdata" "$T/restored"
chmod 600 "$T/etc/walship.conf" "$T/etc/passphrase"
chmod 700 "$T/pgdata" "$T/restored"

# two free loopback ports for the containers' servers (--network host)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
P1=
for _ in $(seq 50); do
    p=$((40000 + RANDOM % 20000))
    port_free "$p" && port_free $((p + 1)) && { P1=$p; break; }
done
[ -n "$P1" ] || fail "no two free ports on 127.0.0.1"
P2=$((P1 + 1))
VOLS=(-v "$T/etc/walship.conf:/etc/walship.conf:ro" -v "$T/etc/passphrase:/etc/walship/passphrase:ro")
run docker run -d --name pg1 --network host "${VOLS[@]}" -e ARCHIVE_TIMEOUT=5 \
    -e POSTGRES_LISTEN=127.0.0.1 -v "$T/pgdata:/var/lib/postgresql/data" walship:test \
    postgres -p "$P1"
check_rc 0 "a PostgreSQL container archiving through walship starts"
sql1() { docker exec pg1 psql -X -q -At -p "$P1" -d postgres -c "$1"; }
for _ in $(seq 120); do sql1 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
check '[ "$(sql1 "show archive_command")" = "walship-archive --config=/etc/walship.conf %p %f" ]' \
    "the entrypoint set archive_command = walship-archive"

sql1 "create table ledger(id int primary key, note text); insert into ledger select g, 'row ' || g from generate_series(1, 1000) g" ||
    fail "create the table"
run docker exec pg1 walship-basebackup --checkpoint=fast --no-progress -d "port=$P1"
check_rc 0 "walship-basebackup inside the container"
BACKUP=$(tail -1 "$T/run.out")
info "backup $BACKUP"
sql1 "insert into ledger select g, 'row ' || g from generate_series(1001, 1500) g" || fail "insert"
sleep 1
TARGET=$(sql1 "select now()")
sleep 1
sql1 "delete from ledger where id > 100" || fail "delete"
LAST=$(sql1 "select pg_walfile_name(pg_current_wal_lsn())")
sql1 "select pg_switch_wal()" >/dev/null
for _ in $(seq 120); do
    [ "$(sql1 "select coalesce(last_archived_wal, '') >= '$LAST' from pg_stat_archiver")" = t ] && break
    sleep 0.5
done
check '[ "$(sql1 "select last_archived_wal >= '"'$LAST'"' from pg_stat_archiver")" = t ]' \
    "the segment with the delete ($LAST) is archived"
run docker run --rm --network host "${VOLS[@]}" walship:test walship list
check_rc 0 "walship list in a tools container"
check 'grep -qF "$BACKUP" "$T/run.out"' "walship list shows backup $BACKUP"
docker rm -f pg1 >/dev/null

run docker run --rm --network host "${VOLS[@]}" -v "$T/restored:/var/lib/postgresql/data" \
    walship:test walship-recover -D /var/lib/postgresql/data --target-time="$TARGET" \
    --target-action=promote
check_rc 0 "walship-recover in a container, to $TARGET"
run docker run -d --name pg2 --network host "${VOLS[@]}" -e POSTGRES_LISTEN=127.0.0.1 \
    -v "$T/restored:/var/lib/postgresql/data" walship:test postgres -p "$P2" \
    -c listen_addresses=127.0.0.1 -c archive_mode=off
check_rc 0 "the recovered data directory starts in a container"
sql2() { docker exec pg2 psql -X -q -At -p "$P2" -d postgres -c "$1"; }
for _ in $(seq 240); do [ "$(sql2 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && break; sleep 0.5; done
check '[ "$(sql2 "select pg_is_in_recovery()")" = f ]' "recovery finished and the server promoted"
check '[ "$(sql2 "select count(*) from ledger")" = 1500 ]' \
    "all 1500 rows as they were at the target time ($(sql2 'select count(*) from ledger' 2>&1))"
docker logs pg2 > "$T/pg2.log" 2>&1
check 'grep -q "walship-restore" "$T/pg2.log" || grep -q "restored log file" "$T/pg2.log"' \
    "WAL came through walship-restore"
check '! grep -qF -- "$S3T_SK" "$T/pg2.log"' "the S3 secret is in no server log"
ws_summary

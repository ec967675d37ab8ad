# common.sh: helpers sourced by tests/s3/{start,stop}-{s3,rgw}.sh.

# pid_alive PID [MARKER]: true if PID runs and (when MARKER is given) its
# command line contains MARKER, so a recycled PID is never killed.
pid_alive() {
    local pid=$1 marker=${2:-}
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [ -z "$marker" ] && return 0
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# stop_pid PID MARKER [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pid=$1 marker=$2 grace=${3:-5} i
    pid_alive "$pid" "$marker" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        pid_alive "$pid" "$marker" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do pid_alive "$pid" "$marker" || return 0; sleep 0.1; done
}

# free_port: an ephemeral TCP port on 127.0.0.1 that was free a moment ago.
# (Debian's python3 first: a pyenv shim on PATH can take ~0.7 s to start.)
free_port() {
    local py=/usr/bin/python3
    [ -x "$py" ] || py=$(command -v python3 || true)
    if [ -n "$py" ]; then
        "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
    fi
}

# env_line NAME VALUE: a NAME=VALUE line safe for both `.` and naive parsers
# (values are single-quoted only when they contain shell-special characters).
env_line() {
    local v=$2
    if [[ "$v" =~ ^[A-Za-z0-9_./:@%+=,-]*$ ]]; then printf '%s=%s\n' "$1" "$v"
    else printf "%s='%s'\n" "$1" "${v//\'/\'\\\'\'}"; fi
}

now_ms() { date +%s%3N; }

# make_cert DIR: a self-signed certificate for 127.0.0.1 and localhost in
# DIR/cert.pem + DIR/key.pem (kept if already there).  Usable as its own CA.
make_cert() {
    local d=$1
    mkdir -p "$d"
    [ -s "$d/cert.pem" ] && [ -s "$d/key.pem" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/key.pem.tmp" -out "$d/cert.pem.tmp" -days 3650 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" \
        >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
    mv "$d/key.pem.tmp" "$d/key.pem"; mv "$d/cert.pem.tmp" "$d/cert.pem"
}

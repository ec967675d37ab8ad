#!/bin/bash
# with-env.sh ENVFILE CMD [ARGS...]: export the variables of ENVFILE (s3.env or
# rgw.env) and exec CMD.  Exits 77 (ctest skip) if ENVFILE does not exist,
# e.g. because its fixture was skipped.
set -eu
ENVFILE=${1:?usage: with-env.sh ENVFILE CMD [ARGS...]}; shift
[ -f "$ENVFILE" ] || { echo "with-env.sh: $ENVFILE not found (server fixture not running or skipped)"; exit 77; }
set -a; . "$ENVFILE"; set +a
exec "$@"

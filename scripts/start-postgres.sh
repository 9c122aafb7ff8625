#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the ledger's PostgreSQL tests and
# prints its DSN on stdout (everything else goes to stderr):
#
#   export LEDGER_TEST_POSTGRES_DSN="$(bash scripts/start-postgres.sh)"
#   bash scripts/start-postgres.sh stop      # stops it and deletes its data directory
#
# Installs Debian's postgresql with apt-get when initdb is missing (needs root). The
# cluster lives in PGDATA_DIR (default /tmp/ledger-test-pg), listens on 127.0.0.1:PORT
# (default: a free port) and a unix socket in the same directory, and trusts local
# connections: for tests only, never for real data. PostgreSQL refuses to run as root, so
# as root the cluster belongs to the 'postgres' user the Debian package creates.
set -euo pipefail
DIR="${PGDATA_DIR:-/tmp/ledger-test-pg}"
DATA="$DIR/data"
log() { echo "[start-postgres] $*" >&2; }

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = stop ]; then
  BIN="$(find_bin)" || exit 0
  if [ -f "$DATA/postmaster.pid" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop >&2 || true; fi
  rm -rf "$DIR"
  log "stopped and removed $DIR"
  exit 0
fi

if ! BIN="$(find_bin)"; then
  if [ "$(id -u)" != 0 ]; then log "initdb not found and not root: install postgresql"; exit 1; fi
  log "installing postgresql with apt-get"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  BIN="$(find_bin)"
fi

if [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  PORT="$(sed -n 4p "$DATA/postmaster.pid")"
  log "already running on port $PORT"
else
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  PORT="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off" start >&2
  as_owner "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -qAt \
    -c "CREATE DATABASE ledger_test" >/dev/null
  log "cluster in $DATA on 127.0.0.1:$PORT (log: $DIR/server.log)"
fi
echo "postgresql://postgres@127.0.0.1:$PORT/ledger_test"

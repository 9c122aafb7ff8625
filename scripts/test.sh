#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine, starts the services it uses,
# runs it, and stops the services again:
#   bash scripts/test.sh [pytest args...]
# VENV (default .venv) picks the virtual environment; it is created when missing.
# System packages the tests drive for real (Chromium, espeak-ng, PostgreSQL, coturn, iproute2,
# Redis, HAProxy,
# Node.js for the browser client's type check) are installed with apt when missing and when
# we are root;
# nothing is skipped: a service that cannot start fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# coturn: the TURN credentials are checked by a real turnserver; iproute2: the exposure tests
# put a client in a network namespace of their own (non-loopback source address).
command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# redis-server: orb dispatch tests start their own Redis processes on loopback ports.
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# haproxy: the cluster tests put three nodes behind a real HAProxy (deploy/haproxy.cfg).
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
# openssl: the cluster tests make a throwaway certificate for HAProxy's TLS listener.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[test.sh] installing system packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[test.sh] missing system packages (${need_apt[*]}); run as root or install them" >&2
    exit 1
  fi
fi

# The project, editable, with the test extra (skipped when this venv already has it).
VENV="$VENV" PYTHON="$PYTHON" bash scripts/install-venv.sh

case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
export PATH="$VENV/bin:$PATH"

# Services the tests use, on loopback ports, for this run only.
# PostgreSQL: the ledger tests run a second time against it (scripts/start-postgres.sh).
# It starts in the background while the type check and the byte-compiling below run: most of
# its ~6 s is waiting (initdb, pg_ctl -w), not CPU. A cluster that cannot start still fails
# the run before pytest.
export PGDATA_DIR="${PGDATA_DIR:-/tmp/test-ledger-pg-$$}"
pg_pid=""
pg_dsn_file="$(mktemp)"
stop_services() {
  if [ -n "$pg_pid" ]; then wait "$pg_pid" 2>/dev/null || true; fi
  rm -f "$pg_dsn_file"
  bash scripts/start-postgres.sh stop >/dev/null 2>&1 || true
}
trap stop_services EXIT
if [ -z "${LEDGER_TEST_POSTGRES_DSN:-}" ]; then
  bash scripts/start-postgres.sh >"$pg_dsn_file" &
  pg_pid=$!
fi

# The browser client's type check (tsc --noEmit over static/*.js).
bash scripts/check-js.sh

# Byte-code for the project's own modules, once: every server, worker, CLI and bench the
# suite starts as a process (hundreds) imports them, and without this each compiled them again
# (a fresh checkout has no __pycache__, and PYTHONDONTWRITEBYTECODE, when set, keeps Python
# from writing any). compileall writes them either way; stale ones are recompiled.
"$VENV/bin/python" -m compileall -q -j 0 src testkit bench tests examples >/dev/null

if [ -n "$pg_pid" ]; then
  if ! wait "$pg_pid"; then
    pg_pid=""
    echo "[test.sh] PostgreSQL did not start (scripts/start-postgres.sh)" >&2
    exit 1
  fi
  pg_pid=""
  LEDGER_TEST_POSTGRES_DSN="$(cat "$pg_dsn_file")"
  export LEDGER_TEST_POSTGRES_DSN
fi

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[test.sh] pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"

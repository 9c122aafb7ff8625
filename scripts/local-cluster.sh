#!/usr/bin/env bash
# A whole cluster on one machine, to try it (README "Past one server"):
#
#   bash scripts/local-cluster.sh up [--nodes 3] [--port 8080] [--workers 1]
#   bash scripts/local-cluster.sh status
#   bash scripts/local-cluster.sh down
#
# `up` starts, everything on 127.0.0.1, with PORT the --port value:
#   PORT          HAProxy, plain http/ws (deploy/haproxy.cfg with one server line per node)
#   PORT+1..+N    trio-server node1..nodeN (--nodes N, 1..9)
#   PORT+10       HAProxy, TLS (https/wss) with a throwaway self-signed certificate
#   PORT+11       Redis (orb dispatch, and the cluster view when trio-server has --cluster)
#   PORT+12       PostgreSQL (the session ledger of every node; scripts/start-postgres.sh)
#   PORT+13       coturn (TURN, udp and tcp; use-auth-secret, a generated secret)
# and --workers W orb-worker processes (--dispatch through that Redis, their orbs join through
# HAProxy), waits (bounded) until HAProxy answers /healthz and sees every node up, then prints
# the URL to open. If anything fails on the way, it stops what it had started.
# `down` stops everything (SIGTERM, then SIGKILL after a bound) and removes the pid files;
# running it again does nothing. `status` lists the processes.
#
# State: CLUSTER_DIR (default .cluster/): pids/*.pid, logs/*.log, the generated haproxy.cfg,
# turnserver.conf, TLS certificate and TURN secret, and (when the PostgreSQL user can reach it)
# the PostgreSQL data directory. VENV (default .venv) is the virtual environment with
# trio-server and orb-worker; `bash scripts/test.sh` creates it and apt-installs HAProxy, Redis,
# coturn and PostgreSQL when they are missing. Extra options: CLUSTER_NODE_ARGS (each node),
# CLUSTER_WORKER_ARGS (each worker), word-split; CLUSTER_WAIT: seconds each wait may take
# (default 90). For trying things out only: the PostgreSQL trusts local connections.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
PY="$VENV/bin/python"
CLUSTER_DIR="${CLUSTER_DIR:-.cluster}"
case "$CLUSTER_DIR" in /*) ;; *) CLUSTER_DIR="$ROOT/$CLUSTER_DIR" ;; esac
PIDS="$CLUSTER_DIR/pids"
LOGS="$CLUSTER_DIR/logs"
STATE="$CLUSTER_DIR/cluster.env"
WAIT="${CLUSTER_WAIT:-90}"
STOP_WAIT=20

log() { echo "[local-cluster] $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ------------------------------------------------------------------ processes and pid files

# The program a pid file's process must be running: a pid reused by something else after a
# crash or a reboot is never signalled.
program_of() {
  case "$1" in
    worker*) echo orb-worker ;;
    node*) echo trio-server ;;
    haproxy) echo haproxy ;;
    coturn) echo turnserver ;;
    redis) echo redis-server ;;
    postgres) echo postgres ;;
    *) echo "?" ;;
  esac
}

# pid_of NAME: prints the pid of a live process of ours named NAME, or fails.
pid_of() {
  local file="$PIDS/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(program_of "$1")" || return 1
  echo "$pid"
}

pid_names() {
  local file
  for file in "$PIDS"/*.pid; do
    [ -e "$file" ] || continue
    basename "$file" .pid
  done
}

# spawn NAME COMMAND...: in the background, output to logs/NAME.log, pid to pids/NAME.pid.
#
# Returns once the child runs its program: until it execs, the fork is a copy of this script,
# so pid_of (which checks the program) would take it for a process that already exited.
spawn() {
  local name="$1" pid deadline=$((SECONDS + 10))
  shift
  nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  pid="$!"
  echo "$pid" >"$PIDS/$name.pid"
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] \
      && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(program_of "$name")"; do
    sleep 0.02
  done
}

# stop_names NAME...: SIGTERM to each, SIGKILL to those still there after STOP_WAIT seconds.
stop_names() {
  local name pid deadline left
  local -a pids=()
  for name in "$@"; do
    if pid="$(pid_of "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + STOP_WAIT))
  while [ ${#pids[@]} -gt 0 ]; do
    left=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    pids=("${left[@]+"${left[@]}"}")
    [ ${#pids[@]} -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "still running after ${STOP_WAIT}s, killing: ${pids[*]}"
      kill -KILL "${pids[@]}" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      STOP_WAIT=0
    fi
    sleep 0.1
  done
  for name in "$@"; do rm -f "$PIDS/$name.pid"; done
}

# ------------------------------------------------------------------ waits (bounded)

# check KIND TIMEOUT ARGS...: waits until the condition holds, or fails after TIMEOUT seconds.
#   free PORT...              nothing listens on these TCP ports (nor the last one's UDP)
#   http URL...               each answers 200
#   haproxy-up SOCKET N       HAProxy's rooms backend has node1..nodeN UP
#   log FILE REGEX            a line of FILE matches
#   pid PID                   (with `up`) the process is still alive: checked between waits
check() {
  "$PY" - "$@" <<'PY'
import re
import socket
import sys
import time
import urllib.request

kind, timeout, *args = sys.argv[1:]
deadline = time.monotonic() + float(timeout)


def free() -> str | None:
    for index, port in enumerate(args):
        kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if index == len(args) - 1 else [])
        for kind_ in kinds:
            with socket.socket(socket.AF_INET, kind_) as sock:
                if kind_ == socket.SOCK_STREAM:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", int(port)))
                except OSError:
                    return f"port {port} is taken"
    return None


def http() -> str | None:
    for url in args:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status != 200:
                    return f"{url}: {response.status}"
        except Exception as exc:  # anything short of a 200 is "not yet"
            return f"{url}: {exc}"
    return None


def haproxy_up() -> str | None:
    path, count = args[0], int(args[1])
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError as exc:
        return f"HAProxy admin socket: {exc}"
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",") if lines else []
    states = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == "rooms" and row.get("svname", "").startswith("node"):
            states[row["svname"]] = row.get("status", "")
    want = {f"node{i}" for i in range(1, count + 1)}
    up = {name for name, state in states.items() if state.startswith("UP")}
    return None if up == want else f"HAProxy sees {states}"


def log_line() -> str | None:
    try:
        with open(args[0], errors="replace") as handle:
            if re.search(args[1], handle.read(), re.MULTILINE):
                return None
    except OSError:
        pass
    return f"no line matching {args[1]!r} in {args[0]}"


test = {"free": free, "http": http, "haproxy-up": haproxy_up, "log": log_line}[kind]
while True:
    problem = test()
    if problem is None:
        sys.exit(0)
    if time.monotonic() >= deadline or kind == "free":
        print(problem, file=sys.stderr)
        sys.exit(1)
    time.sleep(0.1)
PY
}

# wait_started NAME KIND ARGS...: like check with WAIT, but gives up at once if NAME died.
wait_started() {
  local name="$1" kind="$2" deadline=$((SECONDS + WAIT))
  shift 2
  while :; do
    pid_of "$name" >/dev/null || die "$name exited; its log ($LOGS/$name.log) ends with:
$(tail -n 15 "$LOGS/$name.log" 2>/dev/null)"
    check "$kind" 1 "$@" 2>/dev/null && return 0
    [ "$SECONDS" -lt "$deadline" ] || { check "$kind" 0 "$@" || true; die "$name: not ready after ${WAIT}s (log: $LOGS/$name.log)"; }
  done
}

# A self-signed certificate for 127.0.0.1 (cert.pem, key.pem): openssl, or else the
# cryptography package in the venv (aiortc needs it).
make_certificate() {
  (
    umask 077
    if command -v openssl >/dev/null 2>&1; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$CLUSTER_DIR/key.pem" -out "$CLUSTER_DIR/cert.pem" >/dev/null 2>&1
    else
      "$PY" - "$CLUSTER_DIR" <<'PY'
import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
out = Path(sys.argv[1])
(out / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
(out / "key.pem").write_bytes(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
PY
    fi
  )
}

# ------------------------------------------------------------------ down / status

cmd_down() {
  if [ -z "$(pid_names 2>/dev/null)" ] && [ ! -f "$STATE" ]; then
    log "nothing running in $CLUSTER_DIR"
    return 0
  fi
  local -a first=()
  local name
  for name in $(pid_names); do
    case "$name" in worker* | node* | haproxy) first+=("$name") ;; esac
  done
  # Workers hand their orbs back to Redis and the nodes close their ledger sessions in
  # PostgreSQL, so those two stop last.
  [ ${#first[@]} -gt 0 ] && stop_names "${first[@]}"
  stop_names coturn redis
  local pgdir=""
  [ -f "$STATE" ] && pgdir="$(sed -n 's/^PGDATA_DIR=//p' "$STATE")"
  if [ -n "$pgdir" ] && [ -d "$pgdir" ]; then
    PGDATA_DIR="$pgdir" bash scripts/start-postgres.sh stop >>"$LOGS/postgres.log" 2>&1 || true
  fi
  stop_names postgres
  rm -f "$PIDS"/*.pid "$CLUSTER_DIR/haproxy.sock" "$CLUSTER_DIR/turnserver.pid" "$STATE"
  log "stopped (logs kept in $LOGS)"
}

cmd_status() {
  local name pid any=0
  for name in $(pid_names); do
    any=1
    if pid="$(pid_of "$name")"; then
      printf '%-10s running  pid %s\n' "$name" "$pid"
    else
      printf '%-10s gone     (stale pid file)\n' "$name"
    fi
  done
  if [ "$any" = 0 ]; then
    echo "no cluster in $CLUSTER_DIR"
    return 3
  fi
  [ -f "$STATE" ] && sed -n 's/^URL=/open: /p' "$STATE"
  return 0
}

# ------------------------------------------------------------------ up

cmd_up() {
  local nodes=3 port=8080 workers=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="${2:-}"; shift 2 ;;
      --nodes=*) nodes="${1#*=}"; shift ;;
      --port) port="${2:-}"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --workers) workers="${2:-}"; shift 2 ;;
      --workers=*) workers="${1#*=}"; shift ;;
      *) usage ;;
    esac
  done
  [[ "$nodes" =~ ^[1-9]$ ]] || die "--nodes: 1 to 9, not '$nodes'"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1024 ] || [ "$port" -gt 65522 ]; then
    die "--port: 1024 to 65522 (it uses PORT to PORT+13), not '$port'"
  fi
  if ! [[ "$workers" =~ ^[0-9]+$ ]] || [ "$workers" -gt 16 ]; then
    die "--workers: 0 to 16, not '$workers'"
  fi

  local tls_port=$((port + 10)) redis_port=$((port + 11)) pg_port=$((port + 12))
  local turn_port=$((port + 13)) k
  local -a ports=("$port")
  for ((k = 1; k <= nodes; k++)); do ports+=($((port + k))); done
  ports+=("$tls_port" "$redis_port" "$pg_port" "$turn_port")

  # What it needs: the venv (README setup, or scripts/test.sh) and the system packages.
  if [ ! -x "$VENV/bin/trio-server" ] || [ ! -x "$VENV/bin/orb-worker" ]; then
    die "no trio-server/orb-worker in $VENV: run 'bash scripts/test.sh' (or the README's setup) first, or set VENV"
  fi
  local tool
  for tool in haproxy redis-server redis-cli turnserver; do
    command -v "$tool" >/dev/null 2>&1 \
      || die "$tool is missing: 'bash scripts/test.sh' installs it (or apt-get install haproxy redis-server coturn)"
  done

  # One cluster per state directory.
  local name running=""
  if [ -d "$PIDS" ]; then
    for name in $(pid_names); do
      pid_of "$name" >/dev/null && running="$running $name"
    done
  fi
  [ -z "$running" ] || die "a cluster is already up in $CLUSTER_DIR (running:$running); 'bash scripts/local-cluster.sh down' first"
  if [ -n "$(pid_names 2>/dev/null)" ] || [ -f "$STATE" ]; then
    log "cleaning up what an earlier run left in $CLUSTER_DIR"
    cmd_down 2>/dev/null
  fi
  local problem
  problem="$(check free 0 "${ports[@]}" 2>&1)" || die "$problem (this cluster uses ports ${ports[*]}; try another --port)"

  mkdir -p "$PIDS" "$LOGS"
  UP_OK=0
  trap 'if [ "$UP_OK" = 0 ]; then log "up failed: stopping what it started"; cmd_down; fi' EXIT
  trap 'exit 130' INT TERM

  # The TURN secret (nodes: --turn-secret through the environment; coturn: use-auth-secret)
  # and HAProxy's certificate.
  local secret
  secret="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
  (umask 077 && echo "$secret" >"$CLUSTER_DIR/turn-secret")
  make_certificate || die "could not make a certificate for HAProxy"
  (umask 077 && cat "$CLUSTER_DIR/cert.pem" "$CLUSTER_DIR/key.pem" >"$CLUSTER_DIR/cluster.pem")

  # Redis: no persistence, loopback only.
  local redis_url="redis://127.0.0.1:$redis_port/0"
  mkdir -p "$CLUSTER_DIR/redis"
  spawn redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$CLUSTER_DIR/redis" --protected-mode no
  local deadline=$((SECONDS + WAIT))
  until redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; do
    pid_of redis >/dev/null || die "redis-server exited: $(tail -n 5 "$LOGS/redis.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "redis-server does not answer on $redis_port"
    sleep 0.1
  done
  log "redis on 127.0.0.1:$redis_port"

  # PostgreSQL (scripts/start-postgres.sh). As root it runs as the postgres user, which must
  # reach its directory: inside CLUSTER_DIR when it can, in /tmp otherwise.
  local pgdir="$CLUSTER_DIR/postgres"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$CLUSTER_DIR" 2>/dev/null; then
    pgdir="$(mktemp -d /tmp/local-cluster-pg.XXXXXX)"
  fi
  {
    echo "PORT=$port"
    echo "NODES=$nodes"
    echo "WORKERS=$workers"
    echo "PGDATA_DIR=$pgdir"
  } >"$STATE"
  local dsn
  dsn="$(PGDATA_DIR="$pgdir" PORT="$pg_port" bash scripts/start-postgres.sh 2>>"$LOGS/postgres.log")" \
    || die "PostgreSQL did not start (log: $LOGS/postgres.log)"
  head -n 1 "$pgdir/data/postmaster.pid" >"$PIDS/postgres.pid"
  log "postgresql on 127.0.0.1:$pg_port"

  # coturn: deploy/turnserver.conf with its placeholders filled for loopback; the peers are
  # all on this machine, so loopback peers are allowed here (never in a real deployment).
  sed -e "s|^static-auth-secret=.*|static-auth-secret=$secret|" \
      -e 's|^realm=.*|realm=local-cluster|' \
      -e 's|^listening-ip=.*|listening-ip=127.0.0.1|' \
      -e 's|^relay-ip=.*|relay-ip=127.0.0.1|' \
      -e "s|^listening-port=.*|listening-port=$turn_port|" \
      -e '/^denied-peer-ip=127\./d' -e '/^denied-peer-ip=::1$/d' \
      -e 's|^syslog$|simple-log|' \
      deploy/turnserver.conf >"$CLUSTER_DIR/turnserver.conf"
  cat >>"$CLUSTER_DIR/turnserver.conf" <<EOF

# --- scripts/local-cluster.sh: one machine ---
allow-loopback-peers
no-rfc5780
log-file=$LOGS/coturn.log
userdb=$CLUSTER_DIR/turndb
pidfile=$CLUSTER_DIR/turnserver.pid
EOF
  chmod 600 "$CLUSTER_DIR/turnserver.conf"
  ! grep -v '^#' "$CLUSTER_DIR/turnserver.conf" | grep -q '<[A-Za-z.-]*>' || die "turnserver.conf: a placeholder is left"
  spawn coturn turnserver -c "$CLUSTER_DIR/turnserver.conf"
  wait_started coturn log "$LOGS/coturn.log" 'turn server id=0 created'
  log "coturn on 127.0.0.1:$turn_port (udp, tcp)"

  # The nodes.
  local -a node_args=()
  # shellcheck disable=SC2206  # CLUSTER_NODE_ARGS is word-split on purpose
  [ -n "${CLUSTER_NODE_ARGS:-}" ] && node_args=(${CLUSTER_NODE_ARGS})
  if "$VENV/bin/trio-server" --help 2>/dev/null | grep -q -- '--cluster[ =]'; then
    node_args+=(--cluster "$redis_url")  # the cluster view: /api/rooms?scope=cluster
  fi
  local -a health=()
  for ((k = 1; k <= nodes; k++)); do
    spawn "node$k" env SIGNALING_TURN_SECRET="$secret" "$VENV/bin/trio-server" \
      --host 127.0.0.1 --port $((port + k)) --node-id "node$k" --trusted-proxy 127.0.0.1/32 \
      --drain-seconds 3 --reconnect-grace 30 --db "$dsn" \
      --orbs --orb-dispatch "$redis_url" --turn-url "turn:127.0.0.1:$turn_port" \
      "${node_args[@]+"${node_args[@]}"}"
    health+=("http://127.0.0.1:$((port + k))/healthz")
  done
  for ((k = 1; k <= nodes; k++)); do
    wait_started "node$k" http "${health[$((k - 1))]}"
  done
  log "nodes node1..node$nodes on 127.0.0.1:$((port + 1))..$((port + nodes))"

  # HAProxy: deploy/haproxy.cfg with one server line per node in each backend.
  awk -v n="$nodes" '
    /^[ \t]*server node[0-9]+ / {
      if ($2 != "node1") next
      for (k = 1; k <= n; k++) {
        line = $0
        gsub(/node1/, "node" k, line)
        gsub(/NODE1/, "NODE" k, line)
        print line
      }
      next
    }
    { print }' deploy/haproxy.cfg >"$CLUSTER_DIR/haproxy.cfg"
  local -a haproxy_env=(CLUSTER_BIND="127.0.0.1:$port" CLUSTER_TLS_BIND="127.0.0.1:$tls_port"
    CLUSTER_CERT="$CLUSTER_DIR/cluster.pem" CLUSTER_STATE_DIR="$CLUSTER_DIR")
  for ((k = 1; k <= nodes; k++)); do haproxy_env+=("NODE$k=127.0.0.1:$((port + k))"); done
  env "${haproxy_env[@]}" haproxy -c -q -f "$CLUSTER_DIR/haproxy.cfg" >>"$LOGS/haproxy.log" 2>&1 \
    || die "HAProxy rejects $CLUSTER_DIR/haproxy.cfg: $(tail -n 5 "$LOGS/haproxy.log")"
  spawn haproxy env "${haproxy_env[@]}" haproxy -db -f "$CLUSTER_DIR/haproxy.cfg"
  wait_started haproxy haproxy-up "$CLUSTER_DIR/haproxy.sock" "$nodes"
  wait_started haproxy http "http://127.0.0.1:$port/healthz"
  log "haproxy on 127.0.0.1:$port (https/wss: $tls_port)"

  # The orb workers: their orbs join through HAProxy, like any participant.
  local -a worker_args=()
  # shellcheck disable=SC2206  # CLUSTER_WORKER_ARGS is word-split on purpose
  [ -n "${CLUSTER_WORKER_ARGS:-}" ] && worker_args=(${CLUSTER_WORKER_ARGS})
  for ((k = 1; k <= workers; k++)); do
    spawn "worker$k" "$VENV/bin/orb-worker" --dispatch "$redis_url" \
      --url "ws://127.0.0.1:$port" "${worker_args[@]+"${worker_args[@]}"}"
  done
  for ((k = 1; k <= workers; k++)); do
    wait_started "worker$k" log "$LOGS/worker$k.log" 'joins the pool'
  done
  [ "$workers" -gt 0 ] && log "orb workers: $workers"

  local url="http://127.0.0.1:$port/"
  echo "URL=$url" >>"$STATE"
  UP_OK=1
  trap - EXIT INT TERM
  cat <<EOF
Cluster up in $CLUSTER_DIR: $nodes node(s), $workers orb worker(s).
  open $url  (https://127.0.0.1:$tls_port/ with a self-signed certificate)
  nodes 127.0.0.1:$((port + 1))..$((port + nodes)), redis $redis_url,
  postgres $dsn, turn:127.0.0.1:$turn_port
  logs: $LOGS   stop: bash scripts/local-cluster.sh down
EOF
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) [ $# -le 1 ] || usage; cmd_down ;;
  status) [ $# -le 1 ] || usage; cmd_status ;;
  *) usage ;;
esac

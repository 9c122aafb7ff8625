"""``scripts/local-cluster.sh``: the one command that starts a cluster on one machine (Redis,
PostgreSQL, coturn, two nodes behind HAProxy, an orb worker) and stops it again, for real.

Through the balancer it prints, the TURN credentials a node hands out get a relay from its
coturn, a coach and a client meet in one room, their messages cross, the orb a worker runs
(dispatched through Redis) joins them and the cluster view shows the room; a second ``up`` is
refused; ``down`` leaves no process from the pid files and no port open, and is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import aioice.turn
import pytest
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

from signaling_core import join_message

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local-cluster.sh"
#: The script's layout: PORT (HAProxy), PORT+1..+N (nodes), +10 TLS, +11 Redis,
#: +12 PostgreSQL, +13 coturn.
SPAN = 14
NODES = 2
WAIT = 20.0


def _port_free(port: int, udp: bool = False) -> bool:
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if not udp:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base() -> int:
    """A base port whose whole span (and the TURN port's UDP) is free, below the ephemeral
    range so that nothing else is likely to take one meanwhile."""
    for _ in range(200):
        base = random.randrange(20000, 32000)
        if all(_port_free(base + i) for i in range(SPAN)) and _port_free(base + 13, udp=True):
            return base
    raise AssertionError("no free port span")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def run(env: dict[str, str], *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def get_json(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


async def join(nursery: trio.Nursery, base: str, room: str, user: str, role: str
               ) -> tuple[WebSocketConnection, list[dict[str, Any]]]:
    with trio.fail_after(WAIT):
        ws = await connect_websocket_url(nursery, f"{base}/ws-simple/{room}",
                                         message_queue_size=256)
        await ws.send_message(json.dumps(join_message(room, user, role, user_name=user)))
        seen: list[dict[str, Any]] = []
        while True:
            seen.append(json.loads(await ws.get_message()))
            if seen[-1]["type"] == "peer-discovery":
                return ws, seen


async def wait_message(ws: WebSocketConnection, seen: list[dict[str, Any]], what: str,
                       predicate: Any, timeout: float = WAIT) -> dict[str, Any]:
    for message in seen:
        if predicate(message):
            return message
    with trio.move_on_after(timeout):
        while True:
            seen.append(json.loads(await ws.get_message()))
            if predicate(seen[-1]):
                return seen[-1]
    raise AssertionError(f"no {what} within {timeout}s; got {seen[-8:]}")


async def wait_cluster_view(base: int, room: str) -> None:
    """``/api/rooms?scope=cluster`` on each node shows both nodes and the room (bounded)."""
    body: Any = None
    with trio.move_on_after(WAIT):
        while True:
            body = [(await trio.to_thread.run_sync(
                get_json, f"http://127.0.0.1:{base + k}/api/rooms?scope=cluster"))[1]
                for k in range(1, NODES + 1)]
            if all({n["node"] for n in view["nodes"]} == {f"node{k}" for k in
                                                         range(1, NODES + 1)}
                   and room in json.dumps(view["rooms"]) for view in body):
                return
            await trio.sleep(0.2)
    raise AssertionError(f"cluster view without both nodes and {room}: {body}")


def turn_allocates(port: int, username: str, password: str) -> bool:
    """Whether the script's coturn grants a relay allocation for these credentials."""
    async def allocate() -> None:
        transport, _ = await asyncio.wait_for(aioice.turn.create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), username, password, lifetime=60), 10)
        transport.close()

    try:
        asyncio.run(allocate())
    except Exception:  # a refusal (401) or no answer: no allocation
        return False
    return True


def is_orb(message: dict[str, Any]) -> bool:
    peers = message.get("peers", []) if message.get("type") == "peer-discovery" else \
        [message] if message.get("type") == "user-joined" else []
    return any(str(p.get("userId", "")).startswith("ai-orb-") for p in peers)


@pytest.mark.timeout(240)
async def test_up_join_through_the_balancer_then_down(tmp_path: Path) -> None:
    base = free_base()
    state = tmp_path / "cluster"
    env = {**os.environ, "CLUSTER_DIR": str(state), "CLUSTER_WAIT": "60",
           # A light orb: no speech-to-text model to load, a small picture.
           "SIGNALING_ORB_STT_MODEL": "off",
           "CLUSTER_WORKER_ARGS": "--width 96 --height 64 --fps 8"}
    ports = [base, *(base + k for k in range(1, NODES + 1)), base + 10, base + 11, base + 12,
             base + 13]
    try:
        up = await trio.to_thread.run_sync(
            lambda: run(env, "up", "--nodes", str(NODES), "--port", str(base), "--workers", "1"))
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{base}/" in up.stdout
        pidfiles = sorted(p.stem for p in (state / "pids").glob("*.pid"))
        assert pidfiles == sorted(["coturn", "haproxy", "node1", "node2", "postgres", "redis",
                                   "worker1"])
        pids = [int((state / "pids" / f"{name}.pid").read_text()) for name in pidfiles]
        assert not any(gone(pid) for pid in pids)
        assert all(listening(port) for port in ports[:-1])

        status, body = await trio.to_thread.run_sync(get_json,
                                                     f"http://127.0.0.1:{base}/healthz")
        assert status == 200 and body["status"] == "ok"
        for k in range(1, NODES + 1):
            status, body = await trio.to_thread.run_sync(
                get_json, f"http://127.0.0.1:{base + k}/healthz")
            assert (status, body["status"], body["node"]) == (200, "ok", f"node{k}")

        # The nodes and coturn share the generated TURN secret: the credentials a node hands
        # out (through the balancer) get a relay; the same username with a wrong password not.
        _, body = await trio.to_thread.run_sync(
            get_json, f"http://127.0.0.1:{base}/api/turn-credentials")
        (server,) = body["iceServers"]
        assert server["urls"] == [f"turn:127.0.0.1:{base + 13}"]
        assert await trio.to_thread.run_sync(turn_allocates, base + 13, server["username"],
                                             server["credential"])
        assert not await trio.to_thread.run_sync(turn_allocates, base + 13, server["username"],
                                                 "not-the-credential")

        # A call through the balancer: coach, the orb (a worker, through Redis), the client.
        async with trio.open_nursery() as nursery:
            url = f"ws://127.0.0.1:{base}"
            coach, coach_seen = await join(nursery, url, "try-room", "coach-1", "coach")
            await wait_message(coach, coach_seen, "orb", is_orb, timeout=40)
            client, client_seen = await join(nursery, url, "try-room", "client-1", "client")
            assert is_orb(client_seen[-1])  # the same room, on the same node
            for sender, receiver, seen, to in ((coach, client, client_seen, "client-1"),
                                               (client, coach, coach_seen, "coach-1")):
                marker = f"hello-{to}-{time.monotonic()}"
                await sender.send_message(json.dumps({"type": "client_signal",
                                                      "action": marker, "toId": to}))
                await wait_message(receiver, seen, "relayed message",
                                   lambda m, marker=marker: m.get("action") == marker)
            # trio-server has the cluster view: the script gives the nodes --cluster (its Redis).
            await wait_cluster_view(base, "try-room")
            await coach.aclose()
            await client.aclose()

        listed = await trio.to_thread.run_sync(lambda: run(env, "status"))
        assert listed.returncode == 0 and listed.stdout.count(" running ") == len(pids), \
            listed.stdout
        again = await trio.to_thread.run_sync(lambda: run(env, "up", "--port", str(base)))
        assert again.returncode != 0 and "already up" in again.stderr, again.stderr
        assert not any(gone(pid) for pid in pids)  # the refused `up` stopped nothing
    finally:
        down = await trio.to_thread.run_sync(lambda: run(env, "down"))
    assert down.returncode == 0, down.stdout + down.stderr
    assert all(gone(pid) for pid in pids), [p for p in pids if not gone(p)]
    assert not list((state / "pids").glob("*.pid"))
    assert not any(listening(port) for port in ports), [p for p in ports if listening(p)]
    assert _port_free(base + 13, udp=True)
    down_again = await trio.to_thread.run_sync(lambda: run(env, "down"))
    assert down_again.returncode == 0, down_again.stderr
    assert (await trio.to_thread.run_sync(lambda: run(env, "status"))).returncode == 3


def _script_functions(*names: str) -> str:
    """The shell text of the script's functions ``names`` (each from ``name() {`` to ``}``)."""
    lines = SCRIPT.read_text().splitlines()
    out = []
    for name in names:
        start = lines.index(f"{name}() {{")
        end = lines.index("}", start)
        out.extend(lines[start:end + 1])
    return "\n".join(out)


def test_a_process_just_spawned_is_never_taken_for_one_that_exited(tmp_path: Path) -> None:
    """``spawn`` returns only once its child runs the program, so ``wait_started``'s first
    look (``pid_of``, which checks the program) cannot find the fork still a copy of the
    script and report the service "exited". CI once saw coturn "exit" with an empty log.

    The window between fork and exec is widened here: the child is a script that waits a
    little before it becomes the program (``exec sleep``).
    """
    (tmp_path / "late-exec.sh").write_text("sleep 0.3\nexec sleep 30\n")
    harness = f"""set -euo pipefail
PIDS={tmp_path}/pids LOGS={tmp_path}/logs
mkdir -p "$PIDS" "$LOGS"
program_of() {{ echo sleep; }}
{_script_functions("spawn", "pid_of")}
missed=0
for i in 1 2 3 4 5; do
  spawn "s$i" bash {tmp_path}/late-exec.sh
  pid_of "s$i" >/dev/null || missed=$((missed + 1))
done
for f in "$PIDS"/*.pid; do kill "$(cat "$f")" 2>/dev/null || true; done
echo "missed=$missed"
"""
    # From a file: with ``bash -c`` this harness's own command line would name the program.
    (tmp_path / "harness.sh").write_text(harness)
    done = subprocess.run(["bash", str(tmp_path / "harness.sh")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "missed=0", done.stdout

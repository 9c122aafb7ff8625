"""Nodes behind HAProxy: what the balancer costs, and how long a node's loss interrupts rooms.

Not a timed test: run it by hand, figures go to docs/scale.md.

    python bench/cluster.py                         # the settings of docs/scale.md
    python bench/cluster.py --rooms 60 --duration 4 --kills 5
    python bench/cluster.py --smoke                 # seconds: does it still run? (CI)

1. ``bench/loadgen.py``'s join storm and flat-out relay against one node reached directly, then
   through ``deploy/haproxy.cfg`` (``testkit/cluster.py``) with 1, 2 and 3 nodes: joins/s and
   CPU per relayed message of the nodes (summed over all of them) and of HAProxy. Everything
   shares the machine's cores with the load generator, so joins/s is bounded by the generator
   and the CPU figures are what to compare.
2. Recovery: 3 nodes, rooms of two raw WebSocket seats; the node holding most rooms gets
   ``kill -9``; each seat of its rooms reconnects at once through HAProxy (retrying every
   0.1 s, as the browser's first retry does) and joins again. Recovery of one kill = kill ->
   the last of those seats has its ``peer-discovery`` again. The node is restarted between
   kills; p50 and max over ``--kills``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import _procstat
import _repo  # noqa: F401  (testkit, tests/browser on sys.path: bench/_repo.py)
import loadgen
import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    connect_websocket_url,
)

from signaling_core.wire import Field, MessageType, join_message
from testkit.cluster import Cluster
from testkit.fleet import BIN, Proc, free_port

#: The nodes' flags: those of bench/run_server_bench.py (no per-connection rate limit, which
#: a flat-out relay would hit, no ledger), so the figures compare with README's.
NODE_ARGS = ("--db", "none", "--rate-limit", "1000000",
             "--rate-limit-burst", "1000000")

#: Bound on any single wait of the recovery part (a connect, a join, a node's restart).
WAIT = 15.0


class Pids(loadgen.Server):
    """loadgen's observed server, its CPU summed over several processes (the nodes)."""

    def __init__(self, url: str, pids: list[int]) -> None:
        super().__init__(url, pids[0])
        self.pids = pids

    def cpu(self) -> float | None:
        return sum(_procstat.cpu_seconds(pid) for pid in self.pids)


def loadgen_args(args: argparse.Namespace, rooms: int) -> argparse.Namespace:
    return loadgen.parse_args(["--url", "ws://127.0.0.1:1", "--rooms", str(rooms),
                               "--rounds", str(args.rounds), "--duration", str(args.duration),
                               "--timeout", "60", *(["--smoke"] if args.smoke else [])])


def measure(url: str, node_pids: list[int], haproxy_pid: int | None,
            args: argparse.Namespace) -> dict[str, Any]:
    """Join storm then relay against ``url``; HAProxy's CPU over each scenario, per unit."""
    server = Pids(url, node_pids)
    out: dict[str, Any] = {}
    h0 = _procstat.cpu_seconds(haproxy_pid) if haproxy_pid else None
    storm = asyncio.run(loadgen.join_storm(server, loadgen_args(args, args.rooms)))
    h1 = _procstat.cpu_seconds(haproxy_pid) if haproxy_pid else None
    relay = asyncio.run(loadgen.relay(server, loadgen_args(args, 20)))
    h2 = _procstat.cpu_seconds(haproxy_pid) if haproxy_pid else None
    delivered = relay.get("delivered") or 0
    out["joins_per_s"] = storm["joins_per_s"]
    out["nodes_cpu_per_join_us"] = storm["server_cpu_per_join_us"]
    out["join_errors"] = storm["join_errors"]
    out["nodes_cpu_per_relayed_message_us"] = relay.get("server_cpu_per_msg_us")
    out["relay_delivered_per_s"] = relay.get("delivered_per_s")
    out["relay_problems"] = {k: v for k, v in relay.items()
                             if k in ("lost", "misrouted", "reordered", "duplicated",
                                      "corrupted") and v}
    if h0 is not None and h1 is not None and h2 is not None:
        # The storm's whole duration (connects and closes too) over its joins.
        out["haproxy_cpu_per_participant_us"] = round((h1 - h0) / storm["joins"] * 1e6, 1)
        if delivered:
            out["haproxy_cpu_per_relayed_message_us"] = round((h2 - h1) / delivered * 1e6, 2)
    return out


def throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    port = free_port()
    node = Proc("direct", [f"{BIN}/trio-server", "--host", "127.0.0.1", "--port", str(port),
                           *NODE_ARGS])
    try:
        node.log.wait_for(r"listening on", 15)
        rows.append({"setup": "one node, direct",
                     **measure(f"ws://127.0.0.1:{port}", [node.pid], None, args)})
    finally:
        node.stop(timeout=10)
    for count in (1,) if args.smoke else (1, 2, 3):
        cluster = Cluster(count, node_args=NODE_ARGS).start()
        try:
            assert cluster.haproxy is not None
            rows.append({"setup": f"HAProxy + {count} node(s)",
                         **measure(cluster.url, [p.pid for p in cluster.nodes.values()],
                                   cluster.haproxy.pid, args)})
        finally:
            cluster.close()
    return rows


# -- recovery after kill -9 -----------------------------------------------------------------


async def join(nursery: trio.Nursery, base: str, room: str, user: str, role: str,
               retry_for: float) -> WebSocketConnection:
    """Connect (retrying every 0.1 s for ``retry_for`` s) and join; back at peer-discovery."""
    deadline = trio.current_time() + retry_for
    while True:
        try:
            with trio.fail_after(WAIT):
                ws = await connect_websocket_url(nursery, f"{base}/ws-simple/{room}",
                                                 message_queue_size=64)
                await ws.send_message(json.dumps(join_message(None, user, role, user_name=user)))
                while json.loads(await ws.get_message())[Field.TYPE] != MessageType.PEER_DISCOVERY:
                    pass
                return ws
        except (HandshakeError, OSError, trio.TooSlowError, ConnectionClosed) as exc:
            if trio.current_time() >= deadline:
                raise RuntimeError(f"{user} could not rejoin {room}: {exc!r}") from exc
            await trio.sleep(0.1)


async def one_kill(cluster: Cluster, rooms: int, tag: str) -> tuple[float, int]:
    """Recovery seconds of one kill -9 and how many rooms it hit."""
    names = [f"{tag}-{i}" for i in range(rooms)]
    async with trio.open_nursery() as nursery:
        seats: dict[tuple[str, str], WebSocketConnection] = {}
        for room in names:
            for role in ("coach", "client"):
                seats[(room, role)] = await join(nursery, cluster.url, room,
                                                 f"{role}-{room}", role, 0)
        where = await trio.to_thread.run_sync(cluster.rooms_by_node)
        nodes = [next(iter(where[r])) for r in names if r in where]
        victim = max(set(nodes), key=nodes.count)
        lost = [r for r in names if where.get(r) == {victim}]
        done: list[float] = []

        async def again(room: str, role: str) -> None:
            ws = seats[(room, role)]
            with trio.fail_after(WAIT):
                try:
                    while True:
                        await ws.get_message()
                except ConnectionClosed:  # the node is gone
                    pass
            seats[(room, role)] = await join(nursery, cluster.url, room, f"{role}-{room}",
                                             role, WAIT)
            done.append(time.monotonic())

        async with trio.open_nursery() as rejoin:
            for room in lost:
                for role in ("coach", "client"):
                    rejoin.start_soon(again, room, role)
            await trio.sleep(0.2)  # every watcher is waiting before the kill
            killed = time.monotonic()
            cluster.kill_node(int(victim.removeprefix("node")))
        recovery = max(done) - killed
        for ws in seats.values():
            await ws.aclose()
        index = int(victim.removeprefix("node"))
        cluster.start_node(index)
        await trio.to_thread.run_sync(cluster.wait_up, {1, 2, 3})
    return recovery, len(lost)


def recovery(args: argparse.Namespace) -> dict[str, Any]:
    cluster = Cluster(3, node_args=NODE_ARGS).start()
    try:
        times: list[float] = []
        hit: list[int] = []
        for k in range(args.kills):
            seconds, lost = trio.run(one_kill, cluster, args.kill_rooms, f"kill{k}")
            times.append(seconds)
            hit.append(lost)
    finally:
        cluster.close()
    return {"kills": args.kills, "rooms": args.kill_rooms, "rooms_lost_per_kill": hit,
            "recovery_p50_s": round(statistics.median(times), 3),
            "recovery_max_s": round(max(times), 3),
            "recovery_all_s": [round(t, 3) for t in times]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--rooms", type=int, default=100, help="join storm: rooms of 3 per round")
    p.add_argument("--rounds", type=int, default=3, help="join storm: measured rounds")
    p.add_argument("--duration", type=float, default=8.0, help="relay: seconds")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--kill-rooms", type=int, default=30, help="recovery: rooms of 2")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, whatever else is given (loadgen's --smoke, HAProxy with 1 "
                        "node only, 1 kill of 2 rooms): checks that the bench runs (CI), not the "
                        "figures")
    args = p.parse_args(argv)
    if args.smoke:
        args.kills, args.kill_rooms = 1, 2
    loadgen.raise_fd_limit(4096)
    if not args.skip_throughput:
        for row in throughput(args):
            print(json.dumps(row), flush=True)
    print(json.dumps({"setup": "recovery, 3 nodes, kill -9", **recovery(args)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

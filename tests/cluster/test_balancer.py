"""Three nodes behind a real HAProxy (deploy/haproxy.cfg): the protocol through the balancer,
room affinity, a ``kill -9`` and the node's return without a split room, the drain on
SIGTERM, and the per-address cap counting the client HAProxy names (PROXY protocol v2).

The participants are raw WebSocket clients (signaling only): one per seat, and after a loss
they rejoin the way the browser client does after a restart or a crash (a fresh join).
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    connect_websocket_url,
)

from testkit.cluster import Cluster, get_json

from .conftest import ADDRESS_CAP

WAIT = 10.0
CONFORMANCE = str(Path(sys.executable).parent / "signaling-conformance")
ROOMS = 30


@attrs.define
class Seat:
    """One participant: its room, identity and current connection."""

    room: str
    user: str
    role: str
    ws: WebSocketConnection | None = None


async def open_seat(nursery: trio.Nursery, base: str, seat: Seat, *,
                    retry_for: float = 0.0) -> None:
    """Connect through ``base`` and join; retried for ``retry_for`` s (a failover)."""
    deadline = trio.current_time() + retry_for
    while True:
        try:
            with trio.fail_after(WAIT):
                ws = await connect_websocket_url(nursery, f"{base}/ws-simple/{seat.room}",
                                                 message_queue_size=64)
            break
        except (HandshakeError, OSError):
            if trio.current_time() >= deadline:
                raise
            await trio.sleep(0.1)
    await ws.send_message(json.dumps({"type": "join", "userId": seat.user,
                                      "userName": seat.user, "userRole": seat.role}))
    with trio.fail_after(WAIT):
        while json.loads(await ws.get_message())["type"] != "peer-discovery":
            pass
    seat.ws = ws


async def open_rooms(nursery: trio.Nursery, base: str, names: list[str]) -> list[Seat]:
    seats = [Seat(room, f"{role}-{room}", role) for room in names
             for role in ("coach", "client")]
    for seat in seats:  # in order: the coach is there when the client joins
        await open_seat(nursery, base, seat)
    return seats


async def relayed(sender: Seat, receiver: Seat) -> bool:
    """A ``client_signal`` from ``sender`` reaches ``receiver`` (on an open connection)."""
    assert sender.ws is not None and receiver.ws is not None
    marker = f"{sender.user}->{receiver.user}@{trio.current_time()}"
    await sender.ws.send_message(json.dumps({"type": "client_signal", "action": marker,
                                             "toId": receiver.user}))
    with trio.fail_after(WAIT):
        while True:
            message = json.loads(await receiver.ws.get_message())
            if message.get("action") == marker:
                return True


async def wait_closed(seat: Seat) -> None:
    assert seat.ws is not None
    with trio.fail_after(WAIT):
        try:
            while True:
                await seat.ws.get_message()
        except ConnectionClosed:
            return


async def wait_rooms(cluster: Cluster, rooms: list[str], timeout: float = WAIT
                     ) -> dict[str, set[str]]:
    """Until each room is held by exactly one live node; room -> {node}."""
    with trio.fail_after(timeout):
        while True:
            where = await trio.to_thread.run_sync(cluster.rooms_by_node)
            if all(len(where.get(room, ())) == 1 for room in rooms):
                return where
            await trio.sleep(0.1)


async def close_all(seats: list[Seat]) -> None:
    for seat in seats:
        if seat.ws is not None:
            await seat.ws.aclose()


def test_conformance_through_the_balancer(cluster: Cluster) -> None:
    result = subprocess.run([CONFORMANCE, cluster.url], capture_output=True, text=True,
                            timeout=150)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


async def test_rooms_stay_whole_through_a_kill_and_the_nodes_return(cluster: Cluster) -> None:
    names = [f"spread-{i}" for i in range(ROOMS)]
    async with trio.open_nursery() as nursery:
        seats = await open_rooms(nursery, cluster.url, names)
        where = await wait_rooms(cluster, names)
        nodes = {next(iter(held)) for held in where.values()}
        assert nodes == {"node1", "node2", "node3"}, where  # spread over every node
        by_room = {room: [s for s in seats if s.room == room] for room in names}

        # kill -9 the node holding the most rooms.
        victim = max(nodes, key=lambda n: sum(held == {n} for held in where.values()))
        lost = [room for room, held in where.items() if held == {victim}]
        kept = [room for room in names if room not in lost]
        cluster.kill_node(int(victim.removeprefix("node")))
        async with trio.open_nursery() as rejoin:
            for room in lost:
                for seat in by_room[room]:
                    async def again(seat: Seat = seat) -> None:
                        await wait_closed(seat)
                        await open_seat(nursery, cluster.url, seat, retry_for=WAIT)
                    rejoin.start_soon(again)
        after = await wait_rooms(cluster, names)
        assert all(after[room] == where[room] for room in kept)  # untouched
        assert all(victim not in after[room] for room in lost)
        for room in names:  # every call carries messages, both ways
            coach, client = by_room[room]
            assert await relayed(coach, client) and await relayed(client, coach)

        # The node comes back: the rooms that moved must not be split by it.
        cluster.start_node(int(victim.removeprefix("node")))
        await trio.to_thread.run_sync(cluster.wait_up, {1, 2, 3})
        for room in lost:  # each client drops and rejoins: it must find its coach
            client = by_room[room][1]
            assert client.ws is not None
            await client.ws.aclose()
            await open_seat(nursery, cluster.url, client)
        final = await wait_rooms(cluster, names)
        assert all(final[room] == after[room] for room in names)
        for room in lost:
            coach, client = by_room[room]
            assert await relayed(coach, client)
        # New rooms still use every node, the returned one included.
        fresh = [f"fresh-{i}" for i in range(12)]
        new_seats = await open_rooms(nursery, cluster.url, fresh)
        placed = await wait_rooms(cluster, fresh)
        assert victim in set().union(*placed.values())
        await close_all(seats + new_seats)


async def test_sigterm_drains_then_moves_the_rooms(cluster: Cluster) -> None:
    names = [f"drain-{i}" for i in range(9)]
    async with trio.open_nursery() as nursery:
        seats = await open_rooms(nursery, cluster.url, names)
        where = await wait_rooms(cluster, names)
        victim = next(iter(where[names[0]]))
        index = int(victim.removeprefix("node"))
        lost = [room for room, held in where.items() if held == {victim}]
        proc = cluster.nodes[index]
        proc.signal(signal.SIGTERM)
        with trio.fail_after(WAIT):  # the health check fails first ...
            while True:
                try:
                    health = await trio.to_thread.run_sync(get_json,
                                                           cluster.node_http(index) + "/healthz")
                except Exception as exc:  # urllib raises HTTPError for the 503
                    if getattr(exc, "code", None) == 503:
                        health = json.loads(exc.read())  # type: ignore[attr-defined]
                        break
                    raise
                await trio.sleep(0.05)
        assert health["status"] == "draining"
        # ... HAProxy takes the node out while its calls go on ...
        with trio.fail_after(WAIT):
            while (await trio.to_thread.run_sync(cluster.server_states))[index] \
                    .startswith("UP"):
                await trio.sleep(0.1)
        assert all(s.ws is not None and not s.ws.closed for s in seats)
        # ... then the node says 1012 and its clients come back elsewhere.
        codes: list[int] = []
        async with trio.open_nursery() as rejoin:
            for seat in (s for s in seats if s.room in lost):
                async def again(seat: Seat = seat) -> None:
                    assert seat.ws is not None
                    await wait_closed(seat)
                    assert seat.ws.closed is not None
                    codes.append(seat.ws.closed.code)
                    await open_seat(nursery, cluster.url, seat, retry_for=WAIT)
                rejoin.start_soon(again)
        assert set(codes) == {1012}
        assert await trio.to_thread.run_sync(proc.wait, WAIT) == 0
        after = await wait_rooms(cluster, names)
        assert all(victim not in held for held in after.values())
        await close_all(seats)
    cluster.start_node(index)
    await trio.to_thread.run_sync(cluster.wait_up, {1, 2, 3})


async def _upgrade_from(cluster: Cluster, source: str, room: str) -> tuple[int, Any]:
    """A WebSocket upgrade through HAProxy from ``source``: (status, the open stream)."""
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    await sock.bind((source, 0))
    stream = trio.SocketStream(sock)
    with trio.fail_after(WAIT):
        await sock.connect(("127.0.0.1", cluster.port))
        await stream.send_all(
            f"GET /ws-simple/{room} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            head += chunk
    return (int(head.split(b" ", 2)[1]) if head else 0), stream


async def test_the_cap_counts_the_client_haproxy_names(cluster: Cluster) -> None:
    """All these connections reach one node from HAProxy's address; the node counts them
    under the address in the PROXY header: 127.0.0.2 hits its cap, 127.0.0.3 does not."""
    streams = []
    try:
        statuses = []
        for _ in range(ADDRESS_CAP + 1):
            status, stream = await _upgrade_from(cluster, "127.0.0.2", "capped-room")
            statuses.append(status)
            streams.append(stream)
        assert statuses == [101] * ADDRESS_CAP + [503]
        status, stream = await _upgrade_from(cluster, "127.0.0.3", "capped-room")
        streams.append(stream)
        assert status == 101
    finally:
        for stream in streams:
            await stream.aclose()


async def test_plain_http_is_round_robin(cluster: Cluster) -> None:
    nodes = [(await trio.to_thread.run_sync(get_json, cluster.http + "/healthz"))["node"]
             for _ in range(6)]
    assert set(nodes) == {"node1", "node2", "node3"}


async def test_wss_ends_at_haproxy(cluster: Cluster) -> None:
    context = ssl.create_default_context(cafile=str(cluster.dir / "cert.pem"))
    async with trio.open_nursery() as nursery:
        with trio.fail_after(WAIT):
            ws = await connect_websocket_url(nursery, f"{cluster.wss_url}/ws-simple/tls-room",
                                             ssl_context=context)
        await ws.send_message(json.dumps({"type": "join", "userId": "c", "userName": "c",
                                          "userRole": "coach"}))
        with trio.fail_after(WAIT):
            assert json.loads(await ws.get_message())["type"] == "peer-discovery"
        await ws.aclose()

"""docs/protocol.md under stress: a slow consumer, an abrupt drop, the deadlines."""

from __future__ import annotations

import socket
import struct
from typing import Any

import attrs
import orjson
import trio
from trio_websocket import WebSocketConnection

from signaling_core import CoreConfig
from trio_server import ServerConfig
from trio_server.conformance.raw import OP_PING, OP_PONG, RawClient

from .conftest import closed_code, join, recv, send, ws_client
from .serving import WAIT, running_server

FLOOD = 1000
PAD = "p" * 8000  # 1,000 x 8 kB: far beyond every kernel buffer between server and reader


async def _collect(ws: WebSocketConnection, into: list[dict[str, Any]], until: int) -> None:
    """Read (as fast as the server sends) until ``until`` flood messages arrived."""
    seen = 0
    while seen < until:
        message = orjson.loads(await ws.get_message())
        into.append(message)
        if message.get("type") == "client_signal":
            seen += 1


async def test_slow_consumer_is_closed_1013_and_nobody_else_loses_anything() -> None:
    config = ServerConfig(
        port=0, outbound_queue_limit=64 * 1024, close_timeout=WAIT,
        # Without a reconnect grace, so the slow consumer's loss is its departure at once.
        core=CoreConfig(rate_limit_per_second=0, reconnect_grace=0),
    )
    async with running_server(config) as server, \
            ws_client(server, "slow") as flooder, ws_client(server, "slow") as bystander:
        await join(flooder, "flooder", "coach")
        await join(bystander, "bystander", "client")
        await recv(flooder)
        slow = await RawClient.open(server.port, "/ws-simple/slow", rcvbuf=4096)
        await slow.send_json({"type": "join", "userId": "slow", "userRole": "observer"})
        assert (await recv(flooder))["userId"] == "slow"
        assert (await recv(bystander))["userId"] == "slow"
        # From here on `slow` reads nothing.

        at_bystander: list[dict[str, Any]] = []
        at_flooder: list[dict[str, Any]] = []
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_collect, bystander, at_bystander, FLOOD)
                nursery.start_soon(_collect, flooder, at_flooder, FLOOD // 10)
                for seq in range(FLOOD):
                    # A broadcast (to bystander and slow) and, every tenth, a reply.
                    await send(flooder, {"type": "client_signal", "action": "x", "seq": seq,
                                         "pad": PAD})
                    if seq % 10 == 0:
                        await send(bystander, {"type": "client_signal", "action": "y",
                                               "seq": seq // 10, "toId": "flooder"})

        flood = [m["seq"] for m in at_bystander if m["type"] == "client_signal"]
        assert flood == list(range(FLOOD)), "the bystander lost or reordered messages"
        replies = [m["seq"] for m in at_flooder if m["type"] == "client_signal"]
        assert replies == list(range(FLOOD // 10))
        for seen in (at_bystander, at_flooder):
            assert [m["userId"] for m in seen if m["type"] == "user-left"] == ["slow"]
        assert server.stats.slow_consumers == 1

        # When the slow reader finally reads, the last thing it gets is the 1013 close.
        with trio.fail_after(WAIT):
            assert await slow.recv_close() == 1013
        await slow.aclose()


#: A reconnect grace short enough to wait for: an abrupt loss is away first, then a departure.
GRACE = ServerConfig(port=0, core=CoreConfig(reconnect_grace=0.3))


async def expect_away_then_left(ws: WebSocketConnection, user_id: str) -> None:
    away = await recv(ws)
    assert away["type"] == "user-away" and away["userId"] == user_id, away
    start = trio.current_time()
    left = await recv(ws)
    assert left["type"] == "user-left" and left["userId"] == user_id, left
    assert trio.current_time() - start >= 0.2


async def test_abrupt_drop_is_a_departure() -> None:
    async with running_server(GRACE) as server, ws_client(server, "drop") as stay:
        await join(stay, "stay", "coach")
        dropper = await RawClient.open(server.port, "/ws-simple/drop")
        await dropper.send_json({"type": "join", "userId": "dropper", "userRole": "client"})
        assert (await recv(stay))["type"] == "user-joined"
        await dropper.stream.aclose()  # TCP FIN, no close frame
        await expect_away_then_left(stay, "dropper")


async def test_reset_connection_is_a_departure() -> None:
    async with running_server(GRACE) as server, ws_client(server, "rst") as stay:
        await join(stay, "stay", "coach")
        dropper = await RawClient.open(server.port, "/ws-simple/rst")
        await dropper.send_json({"type": "join", "userId": "dropper", "userRole": "client"})
        assert (await recv(stay))["type"] == "user-joined"
        # SO_LINGER 0: close() sends RST instead of FIN.
        dropper.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
        dropper.stream.socket.close()
        await expect_away_then_left(stay, "dropper")
        with trio.fail_after(WAIT):
            while server.core.connection_count != 1:
                await trio.sleep(0.01)


async def test_join_deadline(short_limits: ServerConfig) -> None:
    async with running_server(short_limits) as server, ws_client(server, "late") as ws:
        start = trio.current_time()
        assert await closed_code(ws) == 4008
        elapsed = trio.current_time() - start
        assert 0.3 <= elapsed < 3.0, elapsed


async def test_idle_deadline_for_a_peer_that_answers_nothing(
        short_limits: ServerConfig) -> None:
    short_limits = attrs.evolve(short_limits, core=attrs.evolve(short_limits.core,
                                                                reconnect_grace=0))
    async with running_server(short_limits) as server, ws_client(server, "idle") as watcher:
        await join(watcher, "watcher", "coach")
        mute = await RawClient.open(server.port, "/ws-simple/idle")
        await mute.send_json({"type": "join", "userId": "mute", "userRole": "client"})
        assert (await recv(watcher))["type"] == "user-joined"
        start = trio.current_time()
        left = await recv(watcher)  # the mute peer never answers the server's pings
        assert left["type"] == "user-left" and left["userId"] == "mute"
        assert 0.4 <= trio.current_time() - start < 3.0
        with trio.fail_after(WAIT):
            opcodes = []
            while True:
                opcode, payload = await mute.recv_frame()
                opcodes.append(opcode)
                if opcode == 0x8:
                    assert struct.unpack("!H", payload[:2])[0] == 4008
                    break
        assert OP_PING in opcodes  # it was pinged before being given up
        await mute.aclose()


#: An idle limit five ping intervals long: a peer that answers pings is never near it,
#: even on a loaded machine.
LIVENESS = ServerConfig(port=0, ping_interval=0.2, core=CoreConfig(idle_timeout=1.0))


async def test_pongs_keep_a_quiet_peer_alive() -> None:
    async with running_server(LIVENESS) as server:
        quiet = await RawClient.open(server.port, "/ws-simple/quiet")
        await quiet.send_json({"type": "join", "userId": "quiet", "userRole": "coach"})
        assert (await quiet.recv_json())["type"] == "peer-discovery"
        # Answer pings only (recv_json does), for three idle limits, sending nothing else.
        with trio.move_on_after(2.5 * LIVENESS.core.idle_timeout):
            while True:
                opcode, payload = await quiet.recv_frame()
                assert opcode == OP_PING, opcode
                await quiet.send_frame(OP_PONG, payload)
        await quiet.send_json({"type": "ping"})
        with trio.fail_after(WAIT):
            assert await quiet.recv_json() == {"type": "pong"}
        await quiet.aclose()


async def test_trio_websocket_client_stays_past_the_idle_limit() -> None:
    async with running_server(LIVENESS) as server, ws_client(server, "alive") as ws:
        await join(ws, "alive", "coach")
        await trio.sleep(2.5 * LIVENESS.core.idle_timeout)
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}

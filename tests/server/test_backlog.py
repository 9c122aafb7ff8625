"""The lazily started writer: backlog episodes, flush on server close, flush on client close."""
from __future__ import annotations

from typing import Any

import trio
from trio_websocket import WebSocketConnection

from signaling_core import CoreConfig
from trio_server import ServerConfig
from trio_server.conformance.raw import OP_CLOSE, RawClient, close_code
from trio_server.wsconn import WsConnection

from .conftest import join, recv, send, ws_client
from .serving import WAIT, running_server

PAD = "p" * 8000
BURST = 1000  # 8 MB: past the kernel buffers, even an autotuned send buffer


def _config() -> ServerConfig:
    return ServerConfig(port=0, outbound_queue_limit=16 * 1024 * 1024,
                        outbound_queue_messages=100_000, close_timeout=WAIT,
                        core=CoreConfig(rate_limit_per_second=0))


def _ws_conn(server: Any, user: str) -> WsConnection:
    for conn in server.connections.live.values():
        if isinstance(conn, WsConnection) and conn.user_id == user:
            return conn
    raise AssertionError(user)


async def _join_with_slow(server: Any, sender: WebSocketConnection
                         ) -> tuple[RawClient, WsConnection]:
    """``sender`` joins, then "slow" (a 4 KiB receive window); slow's server-side connection."""
    await join(sender, "sender", "coach")
    slow = await RawClient.open(server.port, "/ws-simple/bk", rcvbuf=4096)
    await slow.send_json({"type": "join", "userId": "slow", "userRole": "client"})
    await recv(sender)
    return slow, _ws_conn(server, "slow")


async def _burst(sender: Any, first: int) -> None:
    for seq in range(first, first + BURST):
        await send(sender, {"type": "client_signal", "action": "x", "seq": seq, "pad": PAD})


async def _burst_until_backlog(sender: Any, conn: WsConnection) -> int:
    """Sends until the server holds a backlog for ``conn``; returns how many were sent."""
    seq = 0
    with trio.fail_after(30):
        while True:
            await send(sender, {"type": "client_signal", "action": "x", "seq": seq, "pad": PAD})
            seq += 1
            if seq % 20 == 0:
                await trio.sleep(0.05)
                if conn._queue:
                    return seq


async def _read_seqs(slow: RawClient, n: int) -> list[int]:
    out = []
    with trio.fail_after(30):
        while len(out) < n:
            m = await slow.recv_json()
            if m["type"] == "client_signal":
                out.append(m["seq"])
    return out


async def test_backlog_episodes_drain_in_order_and_the_writer_parks() -> None:
    async with running_server(_config()) as server, ws_client(server, "bk") as sender:
        slow, conn = await _join_with_slow(server, sender)
        assert conn._lot is None and conn._queue is None, "no writer before any backlog"
        seqs: list[int] = []
        for episode in range(3):
            await _burst(sender, episode * BURST)
            with trio.fail_after(WAIT):
                while conn._queue is None or not conn._queue:
                    await trio.sleep(0.01)
            assert conn._lot is not None, "a backlog starts the writer"
            seqs += await _read_seqs(slow, BURST)
            for _ in range(100):
                if conn._queue is None:
                    break
                await trio.sleep(0.01)
            assert conn._queue is None
            assert conn.backlog_bytes == 0
        assert seqs == list(range(3 * BURST))
        assert server.stats.slow_consumers == 0
        await slow.aclose()


async def test_backlog_is_flushed_before_the_shutdown_close() -> None:
    slow: RawClient | None = None
    sent = -1
    got: list[int] = []
    code = 0

    async def reader() -> None:
        nonlocal code
        assert slow is not None
        await trio.sleep(0.5)  # the shutdown is under way, the backlog still there
        with trio.fail_after(30):
            while True:
                opcode, payload = await slow.recv_frame()
                if opcode == OP_CLOSE:
                    code = close_code(payload)
                    await slow.send_frame(OP_CLOSE, payload)
                    await slow.aclose()
                    return
                import orjson
                m = orjson.loads(payload)
                if m.get("type") == "client_signal":
                    got.append(m["seq"])

    async with (
        trio.open_nursery() as nursery,
        running_server(_config()) as server,
        ws_client(server, "bk") as sender,
    ):
        slow, conn = await _join_with_slow(server, sender)
        sent = await _burst_until_backlog(sender, conn)
        nursery.start_soon(reader)
        # running_server's exit shut the server down (bounded by WAIT)
    assert got == list(range(sent))
    assert code == 1001


async def test_client_close_with_a_backlog_gets_everything_then_the_echo() -> None:
    async with running_server(_config()) as server, ws_client(server, "bk") as sender:
        slow, conn = await _join_with_slow(server, sender)
        sent = await _burst_until_backlog(sender, conn)
        await slow.send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        got = []
        with trio.fail_after(30):
            while True:
                opcode, payload = await slow.recv_frame()
                if opcode == OP_CLOSE:
                    assert close_code(payload) == 1000
                    break
                import orjson
                m = orjson.loads(payload)
                if m.get("type") == "client_signal":
                    got.append(m["seq"])
        assert got == list(range(sent))
        assert (await recv(sender))["type"] == "user-left"
        await slow.aclose()

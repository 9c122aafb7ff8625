"""The read hub gathers dense arrivals into one wake-up, and reads sparse ones at once."""

from __future__ import annotations

import select
import socket
import time

import trio

from signaling_core import CoreConfig
from trio_server import ServerConfig
from trio_server.hubticker import open_ticker
from trio_server.readhub import GATHER_SECONDS, IDLE, OVER, ReadHub

from .conftest import join, recv, send, ws_client
from .serving import WAIT, running_server


class Reader:
    """Reads its socket for the hub, noting when each read happened."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.received = b""
        self.read_at: list[float] = []

    def readable(self) -> int:
        data = self.sock.recv(65536)
        self.read_at.append(time.monotonic())
        self.received += data
        return IDLE if data else OVER


def open_pairs(made: list[tuple[socket.socket, socket.socket]], n: int
               ) -> list[tuple[socket.socket, Reader]]:
    out = []
    for _ in range(n):
        ours, theirs = socket.socketpair()
        made.append((ours, theirs))
        out.append((theirs, Reader(ours)))
    return out


def send_numbered(socks: list[socket.socket], count: int, gap: float) -> None:
    """``count`` numbered lines over ``socks`` in turn, ``gap`` seconds apart (a thread)."""
    due = time.monotonic()
    for i in range(count):
        due += gap
        while (left := due - time.monotonic()) > 0:
            time.sleep(left)
        socks[i % len(socks)].send(f"{i};".encode())


async def serve_all(hub: ReadHub, peers: list[tuple[socket.socket, Reader]],
                    nursery: trio.Nursery) -> None:
    for _, reader in peers:
        nursery.start_soon(hub.serve, reader.sock.fileno(), reader)
    await trio.testing.wait_all_tasks_blocked()


def numbers(reader: Reader) -> list[int]:
    return [int(x) for x in reader.received.decode().split(";") if x]


def test_the_ticker_ticks_while_armed_and_not_after() -> None:
    ticker = open_ticker(0.001)
    assert ticker is not None
    try:
        ticker.arm()
        time.sleep(0.01)
        assert select.select([ticker], [], [], 0)[0]
        ticker.disarm()
        time.sleep(0.005)
        assert not select.select([ticker], [], [], 0)[0]
    finally:
        ticker.close()


async def test_dense_arrivals_share_wakeups_and_nothing_is_lost_or_reordered(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    peers = open_pairs(pairs, 8)
    count = 3000
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            # ~10,000 arrivals a second, one socket at a time: far denser than DENSE_GAP.
            await trio.to_thread.run_sync(send_numbered, [t for t, _ in peers], count, 0.0001)
            while sum(len(numbers(r)) for _, r in peers) < count:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    for k, (_, reader) in enumerate(peers):
        assert numbers(reader) == list(range(k, count, len(peers)))
    assert hub.gathered_wakeups > 0
    # Without gathering every arrival would be a wake-up of its own (or nearly).
    assert hub.wakeups < 0.7 * count, (hub.wakeups, hub.gathered_wakeups)


async def test_sparse_arrivals_are_read_at_once_and_a_quiet_window_ends_gathering(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    peers = open_pairs(pairs, 2)
    (theirs, reader), (dense, _) = peers
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            # A burst turns gathering on; the silence after it turns it off.
            await trio.to_thread.run_sync(send_numbered, [dense], 300, 0.0001)
            deadline = trio.current_time() + 2.0
            while hub.gathering and trio.current_time() < deadline:
                await trio.sleep(0.005)
            assert not hub.gathering
            before = hub.gathered_wakeups
            lags = []
            for i in range(20):
                sent = time.monotonic()
                theirs.send(f"{i};".encode())
                while len(reader.read_at) <= i:
                    await trio.sleep(0)
                lags.append(reader.read_at[i] - sent)
                await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
    assert numbers(reader) == list(range(20))
    assert hub.gathered_wakeups == before  # no window was waited for
    # Read at the first wake-up: typically well under a gathering window; a loaded machine
    # can delay any wake-up, so the median is judged.
    lags.sort()
    assert lags[len(lags) // 2] < 20 * GATHER_SECONDS, lags


async def test_a_hub_without_gathering_reads_every_arrival_on_its_own_wakeup(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub(gather=None)
    peers = open_pairs(pairs, 4)
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            await serve_all(hub, peers, nursery)
            await trio.to_thread.run_sync(send_numbered, [t for t, _ in peers], 400, 0.0001)
            while sum(len(numbers(r)) for _, r in peers) < 400:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert hub.gathered_wakeups == 0 and not hub.gathering


async def test_a_server_gathering_dense_arrivals_relays_everything_in_order() -> None:
    """Three participants of a room sending at once, back to back: the server's hub gathers
    (some wake-ups end a window) and every message reaches its addressee, in order."""
    core = CoreConfig(rate_limit_per_second=100_000, rate_limit_burst=100_000)
    count = 300
    async with running_server(ServerConfig(port=0, core=core)) as server:
        hub = server._connections.read_hub
        async with ws_client(server, "dense") as coach, ws_client(server, "dense") as client:
            await join(coach, "coach", "coach")
            await join(client, "client", "client")
            await recv(coach)  # user-joined
            got: list[int] = []

            async def receive_all() -> None:
                while len(got) < count:
                    message = await recv(client)
                    if message.get("type") == "offer":
                        got.append(message["offer"]["n"])

            async def send_all() -> None:
                for i in range(count):
                    await send(coach, {"type": "offer", "toId": "client", "offer": {"n": i}})

            with trio.fail_after(WAIT):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(receive_all)
                    nursery.start_soon(send_all)
    assert got == list(range(count))
    assert hub.gathered_wakeups > 0, hub.wakeups

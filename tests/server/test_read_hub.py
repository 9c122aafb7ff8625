"""The read hub (one task reading every plain WebSocket), alone on socket pairs and in a server."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from signaling_core import CoreConfig
from testkit.unstarved import unstarved_time
from trio_server import ServerConfig, SignalingServer
from trio_server.conformance.raw import (
    OP_CLOSE,
    OP_TEXT,
    RawClient,
    encode_frame,
)
from trio_server.connections import Connections
from trio_server.readhub import IDLE, MAX_READS_PER_WAKEUP, MORE, OVER, ReadHub
from trio_server.transport import RECV_BYTES
from trio_server.wsconn import WsConnection
from trio_server.wsparts import Cork

from .conftest import join, recv, send, ws_client
from .serving import WAIT, running_server
from .test_tls import tls_server_config


class Reader:
    """Reads its socket for the hub; done at end of stream, or raises on ``boom``."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.received = b""
        self.calls = 0

    def readable(self) -> int:
        self.calls += 1
        data = self.sock.recv(65536)
        if data == b"boom":
            raise RuntimeError("a bug in this connection")
        self.received += data
        return IDLE if data else OVER


def pair(made: list[tuple[socket.socket, socket.socket]]) -> tuple[socket.socket, Reader]:
    ours, theirs = socket.socketpair()
    made.append((ours, theirs))
    return theirs, Reader(ours)


@contextlib.asynccontextmanager
async def serving(hub: ReadHub, *readers: Reader) -> AsyncIterator[trio.Nursery]:
    """``hub`` running and reading for ``readers``, every task parked: the nursery to cancel."""
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        for reader in readers:
            nursery.start_soon(hub.serve, reader.sock.fileno(), reader)
        await trio.testing.wait_all_tasks_blocked()
        yield nursery


async def test_every_ready_socket_is_read_and_each_task_ends_with_its_stream(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    count = MAX_READS_PER_WAKEUP + 44  # more than one wake-up's worth
    peers = [pair(pairs) for _ in range(count)]
    ended: list[int] = []

    async def serve(i: int, reader: Reader) -> None:
        await hub.serve(reader.sock.fileno(), reader)
        ended.append(i)

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            for i, (_, reader) in enumerate(peers):
                nursery.start_soon(serve, i, reader)
            await trio.testing.wait_all_tasks_blocked()
            assert len(hub) == count
            for i, (theirs, _) in enumerate(peers):
                theirs.send(f"message {i}".encode())
            while any(not reader.received for _, reader in peers):
                await trio.sleep(0.01)
            assert not ended
            for theirs, _ in peers:
                theirs.shutdown(socket.SHUT_WR)
            while len(ended) < count:
                await trio.sleep(0.01)
            assert len(hub) == 0
            nursery.cancel_scope.cancel()
    assert sorted(ended) == list(range(count))
    assert [reader.received for _, reader in peers] == [
        f"message {i}".encode() for i in range(count)]


async def test_a_bug_in_one_reader_ends_only_that_reader(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    (bad_peer, bad), (good_peer, good) = pair(pairs), pair(pairs)
    failures: list[BaseException] = []

    async def serve(reader: Reader) -> None:
        try:
            await hub.serve(reader.sock.fileno(), reader)
        except RuntimeError as exc:
            failures.append(exc)

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            nursery.start_soon(serve, bad)
            nursery.start_soon(serve, good)
            await trio.testing.wait_all_tasks_blocked()
            bad_peer.send(b"boom")
            good_peer.send(b"one")
            while not failures or not good.received:
                await trio.sleep(0.01)
            assert len(hub) == 1
            good_peer.send(b"two")
            while good.received != b"onetwo":
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert [str(exc) for exc in failures] == ["a bug in this connection"]


async def test_a_cancelled_task_is_never_read_for_again(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    theirs, reader = pair(pairs)
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            with trio.CancelScope() as scope:
                nursery.start_soon(trio.sleep, 0)  # something else runs meanwhile
                scope.deadline = trio.current_time() + 0.05
                await hub.serve(reader.sock.fileno(), reader)
            assert scope.cancelled_caught
            assert len(hub) == 0
            theirs.send(b"late")
            await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
    assert reader.calls == 0


async def test_a_stopped_hub_releases_every_waiting_task(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    hub = ReadHub()
    readers = [pair(pairs)[1] for _ in range(3)]
    released: list[type[BaseException]] = []

    async def serve(reader: Reader) -> None:
        try:
            await hub.serve(reader.sock.fileno(), reader)
        except trio.ClosedResourceError as exc:
            released.append(type(exc))

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery, trio.open_nursery() as hub_nursery:
            await hub_nursery.start(hub.run)
            for reader in readers:
                nursery.start_soon(serve, reader)
            await trio.testing.wait_all_tasks_blocked()
            hub_nursery.cancel_scope.cancel()  # the hub alone: its readers are not
    assert released == [trio.ClosedResourceError] * 3
    assert not hub.running
    # A connection that comes to it afterwards is told the same at once, never parked.
    with trio.fail_after(WAIT), pytest.raises(trio.ClosedResourceError):
        await hub.serve(readers[0].sock.fileno(), readers[0])


class SelfCancellingReader(Reader):
    """Cancels its own task while it is being read, as a connection whose send fails under a
    read does (``Outbox._fail`` cancels the reading), then ends or raises."""

    def __init__(self, sock: socket.socket, scope: trio.CancelScope, *, then_raise: bool) -> None:
        super().__init__(sock)
        self.scope = scope
        self.then_raise = then_raise

    def readable(self) -> int:
        self.calls += 1
        self.sock.recv(65536)
        self.scope.cancel()
        if self.then_raise:
            raise RuntimeError("failed after its own task was cancelled")
        return OVER


@pytest.mark.parametrize("then_raise", [False, True], ids=["ends", "raises"])
async def test_a_reader_that_cancels_its_own_task_while_read_ends_only_itself(
        pairs: list[tuple[socket.socket, socket.socket]], then_raise: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    """The cancel already woke its task (Trio's abort), so the hub must not wake it again: a
    second wake-up of one task is an internal error that would end the hub and the server."""
    hub = ReadHub()
    (peer, sock), (good_peer, good) = socket.socketpair(), pair(pairs)
    pairs.append((peer, sock))
    scope = trio.CancelScope()
    reader = SelfCancellingReader(sock, scope, then_raise=then_raise)

    async def serve() -> None:
        with scope:
            await hub.serve(sock.fileno(), reader)

    async def serve_good() -> None:
        await hub.serve(good.sock.fileno(), good)

    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            nursery.start_soon(serve)
            nursery.start_soon(serve_good)
            await trio.testing.wait_all_tasks_blocked()
            peer.send(b"ping")
            while reader.calls == 0 or len(hub) != 1:
                await trio.sleep(0.01)
            good_peer.send(b"still read")
            while good.received != b"still read":
                await trio.sleep(0.01)
            assert hub.running
            nursery.cancel_scope.cancel()
    assert scope.cancelled_caught
    # What it raised is not lost: its task was already woken by the cancel, so the hub logs it.
    assert ("reader failed after its reading was cancelled" in caplog.text) == then_raise


def hub_of(server: SignalingServer) -> ReadHub:
    hub = server._connections.read_hub
    assert isinstance(hub, ReadHub)
    return hub


async def test_a_server_reads_plain_websockets_in_its_hub_and_tls_ones_itself(
        tmp_path: Path) -> None:
    async with running_server() as server:
        hub = hub_of(server)
        assert hub.running
        async with ws_client(server, "plain") as coach, ws_client(server, "plain") as client:
            await join(coach, "coach", "coach")
            await join(client, "client", "client")
            assert len(hub) == 2
            await recv(coach)
            await send(client, {"type": "offer", "toId": "coach", "offer": {"sdp": "x"}})
            assert (await recv(coach))["offer"] == {"sdp": "x"}
        with trio.fail_after(WAIT):
            while len(hub):
                await trio.sleep(0.01)

    config, client_context = tls_server_config(tmp_path)
    async with running_server(config) as server:
        wss = f"wss://127.0.0.1:{server.port}/ws-simple/tls"
        async with open_websocket_url(wss, ssl_context=client_context,
                                      connect_timeout=WAIT) as ws:
            await join(ws, "coach", "coach")
            assert len(hub_of(server)) == 0


async def test_a_connection_whose_handling_fails_is_dropped_and_bystanders_carry_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    on_text = Connections.on_text

    def buggy_on_text(self: Connections, conn: WsConnection, payload: bytes,
                      now: float) -> None:
        if b"trigger-the-bug" in payload:
            raise RuntimeError("a bug while handling a message")
        on_text(self, conn, payload, now)

    monkeypatch.setattr(Connections, "on_text", buggy_on_text)
    async with running_server() as server, ws_client(server, "victim") as victim, \
                ws_client(server, "calm") as coach, ws_client(server, "calm") as client:
        await join(victim, "victim", "coach")
        await join(coach, "coach", "coach")
        await join(client, "client", "client")
        await recv(coach)
        await send(victim, {"type": "trigger-the-bug"})
        with trio.fail_after(WAIT), pytest.raises(ConnectionClosed):
            while True:
                await victim.get_message()
        for i in range(20):
            await send(coach, {"type": "offer", "toId": "client", "offer": {"n": i}})
        assert [(await recv(client))["offer"]["n"] for _ in range(20)] == list(range(20))
        assert len(hub_of(server)) == 2
    assert "connection handler failed" in caplog.text


class HeldWrites:
    """A receiver behind the cork: what a wake-up relays to it arrives as one write."""

    def __init__(self, cork: Cork) -> None:
        self.cork = cork
        self.held: list[bytes] = []
        self.writes: list[list[bytes]] = []

    def deliver(self, data: bytes) -> None:
        if self.cork.active:
            if not self.held:
                self.cork.holding.append(self)  # type: ignore[arg-type]
            self.held.append(data)
        else:
            self.writes.append([data])

    def write_held(self) -> None:
        self.writes.append(self.held)
        self.held = []


async def test_what_one_wakeup_relays_to_a_receiver_is_written_once(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    cork = Cork()
    hub = ReadHub(cork)
    receiver = HeldWrites(cork)
    senders = [pair(pairs) for _ in range(3)]

    class Relaying(Reader):
        def readable(self) -> int:
            state = super().readable()
            if self.received:
                receiver.deliver(self.received)
                self.received = b""
            return state

    readers = [Relaying(reader.sock) for _, reader in senders]
    with trio.fail_after(WAIT):
        async with trio.open_nursery() as nursery:
            for reader in readers:
                nursery.start_soon(hub.serve, reader.sock.fileno(), reader)
            await trio.testing.wait_all_tasks_blocked()
            for i, (theirs, _) in enumerate(senders):
                theirs.send(f"from {i}".encode())
            await nursery.start(hub.run)  # all three are ready at its first wake-up
            while not receiver.writes:
                await trio.sleep(0.01)
            assert not cork.active
            senders[1][0].send(b"later")
            while len(receiver.writes) < 2:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    first, second = receiver.writes
    assert sorted(first) == [b"from 0", b"from 1", b"from 2"]
    assert second == [b"later"]


async def test_more_than_one_turn_of_frames_at_once_is_all_handled() -> None:
    """Edge-triggered reads must empty the socket, over several turns of the hub when there
    is more than one turn's worth: 600 kB of pings in one write, no more bytes after them,
    and every ping is answered."""
    core = CoreConfig(rate_limit_per_second=100_000, rate_limit_burst=100_000)
    async with running_server(ServerConfig(port=0, core=core)) as server:
        client = await RawClient.open(server.port, "/ws-simple/burst")
        pings = 600
        burst = b"".join(encode_frame(OP_TEXT, b'{"type":"ping","pad":"%s"}' % (b"x" * 1000))
                         for _ in range(pings))
        assert len(burst) > 8 * RECV_BYTES
        await client.stream.send_all(burst)
        with trio.fail_after(WAIT):
            answers = [await client.recv_json() for _ in range(pings)]
        assert answers == [{"type": "pong"}] * pings
        await client.aclose()


async def test_a_reader_with_more_to_read_is_read_again_without_holding_the_others(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    """A reader that stops before the end of its bytes (``MORE``) gets no new edge for them:
    the hub calls it again, turn after turn, and reads the others in between."""
    hub = ReadHub()
    (flood_peer, flooded), (calm_peer, calm) = pair(pairs), pair(pairs)

    class Greedy(Reader):
        def readable(self) -> int:
            self.calls += 1
            self.received += self.sock.recv(1)  # one byte a turn: always more left
            return MORE if len(self.received) < 500 else IDLE

    greedy = Greedy(flooded.sock)
    with trio.fail_after(WAIT):
        async with serving(hub, greedy, calm) as nursery:
            flood_peer.send(b"x" * 1000)  # one edge for all of it
            while greedy.calls < 10:
                await trio.sleep(0)
            calm_peer.send(b"hello")
            while not calm.received:
                await trio.sleep(0)
            assert greedy.calls < 500  # the calm one did not wait for the greedy one's end
            while len(greedy.received) < 500:
                await trio.sleep(0)
            nursery.cancel_scope.cancel()
    assert calm.received == b"hello"
    assert greedy.calls == 500


async def test_a_reader_read_again_that_gets_new_bytes_is_read_once_a_turn(
        pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    """A reader that says ``MORE`` while its peer keeps writing is both due again and
    reported anew by the epoll: it is read once in the turn, not once for each. (It was read
    twice, and each time said ``MORE`` again: its turns doubled while a client flooded, and
    the other rooms waited a second for it under load.)"""
    hub = ReadHub()
    (flood_peer, flooded), (calm_peer, calm) = pair(pairs), pair(pairs)
    turns: list[int] = []

    class Greedy(Reader):
        def readable(self) -> int:
            turns.append(hub.wakeups)
            self.received += self.sock.recv(1)
            flood_peer.send(b"y")  # more arrives meanwhile: a new edge
            return MORE if len(turns) < 200 else IDLE

    greedy = Greedy(flooded.sock)
    with trio.fail_after(WAIT):
        async with serving(hub, greedy, calm) as nursery:
            flood_peer.send(b"x")
            while len(turns) < 200:
                await trio.sleep(0)
            calm_peer.send(b"hello")
            while not calm.received:
                await trio.sleep(0)
            nursery.cancel_scope.cancel()
    due = turns[:200]  # while it said MORE (after that, reading on within a turn is right)
    assert len(set(due)) == len(due), f"read {len(due)} times in {len(set(due))} turns"


#: A WebSocket client in a process of its own (so it writes while the server's process is
#: busy; a thread would wait for the GIL), writing pongs (no reply, no rate limit) to port
#: argv[1] until killed; prints "open" once upgraded and "flooded" once it has written argv[2]
#: bytes (however long a busy machine makes that take).
FLOODER = """
import socket, sys
from trio_server.conformance.raw import OP_PONG, encode_frame, upgrade_request
port, enough = int(sys.argv[1]), int(sys.argv[2])
chunk = encode_frame(OP_PONG, b"still here") * 20_000
with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
    sock.sendall(upgrade_request("/ws-simple/flood", host=f"127.0.0.1:{port}"))
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    print("open", flush=True)
    written = 0
    while True:
        sock.sendall(chunk)
        written += len(chunk)
        if written - len(chunk) < enough <= written:
            print("flooded", flush=True)
"""

#: What the flooder writes before the test may end: tens of megabytes (16-byte frames), far
#: beyond what loopback's socket buffers hold, so the hub has its bytes waiting at every turn.
FLOOD_BYTES = 10_000_000


async def test_a_client_flooding_without_a_rate_limit_does_not_hold_up_other_rooms() -> None:
    """A client writing as fast as loopback takes it (pongs: no reply, no rate limit; tens of
    megabytes) does not hold up a call in another room: the hub serves everyone else between
    that client's turns.

    The calls go on, at least 20, until the flooder has written all of its flood, so every
    one crosses a flooded hub. Delays are read on :func:`~testkit.unstarved.unstarved_time`
    (wall time minus the event loop's wait for a CPU), so the cores other jobs of a busy
    machine hold do not count; a call's delay stays under 0.25 s and under an eighth of the
    flood's own time (on a machine whose cores are themselves slowed by other jobs the flood
    takes longer, as the hub's turns do). A hub that served the flooder until it drained would
    hold a call for about the flood's whole time."""
    async with running_server() as server:
        stalls: list[float] = []
        flooded = trio.Event()
        flooder = subprocess.Popen([sys.executable, "-c", FLOODER, str(server.port),
                                    str(FLOOD_BYTES)], stdout=subprocess.PIPE, text=True)
        assert flooder.stdout is not None
        out = flooder.stdout

        async def watch() -> None:
            if await trio.to_thread.run_sync(out.readline, abandon_on_cancel=True) == "flooded\n":
                flooded.set()

        try:
            async with ws_client(server, "calm") as coach, ws_client(server, "calm") as client, \
                    trio.open_nursery() as nursery:
                await join(coach, "coach", "coach")
                await join(client, "client", "client")
                await recv(coach)
                with trio.fail_after(60):  # a Python starting on a busy machine
                    opened = await trio.to_thread.run_sync(out.readline, abandon_on_cancel=True)
                assert opened == "open\n"
                flood_began = unstarved_time()
                nursery.start_soon(watch)
                await trio.sleep(0.2)
                with trio.fail_after(60):
                    while len(stalls) < 20 or not flooded.is_set():
                        sent = unstarved_time()
                        n = len(stalls)
                        await send(coach, {"type": "offer", "toId": "client", "offer": {"n": n}})
                        assert (await recv(client))["offer"] == {"n": n}
                        stalls.append(unstarved_time() - sent)
                        await trio.sleep(0.02)
                flood_took = unstarved_time() - flood_began
                nursery.cancel_scope.cancel()
        finally:
            flooder.kill()
            flooder.wait()
    assert max(stalls) < max(0.25, flood_took / 8), (flood_took, stalls)


async def test_clients_that_close_and_reset_at_once_leave_the_server_serving() -> None:
    """A client sends its close frame and resets the connection at once (a page unloading):
    the server reads the close, its echo fails (the send cancels the reading), and the read
    ends. Each such client ends alone; a call in another room carries on and a new one opens."""
    async with running_server() as server, ws_client(server, "calm") as coach, \
            ws_client(server, "calm") as client:
        await join(coach, "coach", "coach")
        await join(client, "client", "client")
        await recv(coach)
        for i in range(30):
            raw = await RawClient.open(server.port, f"/ws-simple/reset-{i}")
            await raw.send_json({"type": "join", "userId": f"u{i}", "userName": "U",
                                 "userRole": "client"})
            assert (await raw.recv_json())["type"] == "peer-discovery"
            sock = raw.tcp.socket
            # Synchronous from here: the close frame, then a reset, before the server reads.
            plain = socket.socket(fileno=sock.fileno())
            plain.setblocking(True)
            plain.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            plain.send(encode_frame(OP_CLOSE, struct.pack("!H", 1001)))
            plain.detach()
            sock.close()
            await send(coach, {"type": "offer", "toId": "client", "offer": {"n": i}})
            assert (await recv(client))["offer"] == {"n": i}
        assert hub_of(server).running
        async with ws_client(server, "after") as late:
            await join(late, "late", "coach")


async def test_a_failing_hub_drops_its_connections_and_the_server_carries_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A bug in the hub itself (not in one connection) must not stop the server: the hub's
    connections are dropped (their clients reconnect) and new ones read in their own tasks."""
    async with running_server() as server:
        async with ws_client(server, "first") as coach, ws_client(server, "first") as leaver:
            await join(coach, "coach", "coach")
            await join(leaver, "leaver", "client")
            await recv(coach)
            hub = hub_of(server)
            forget = hub._forget
            failed: list[int] = []

            def buggy_forget(fd: int) -> None:
                if not failed:  # once: the hub's own clean-up then works
                    failed.append(fd)
                    raise RuntimeError("a bug in the hub")
                forget(fd)

            monkeypatch.setattr(hub, "_forget", buggy_forget)
            await leaver.aclose()  # its reading ends: the hub fails there
            with trio.fail_after(WAIT), pytest.raises(ConnectionClosed):
                while True:
                    await coach.get_message()
        assert not hub_of(server).running
        assert "read hub failed" in caplog.text
        async with ws_client(server, "after") as coach, ws_client(server, "after") as client:
            await join(coach, "coach", "coach")
            await join(client, "client", "client")
            await recv(coach)
            await send(client, {"type": "offer", "toId": "coach", "offer": {"sdp": "y"}})
            assert (await recv(coach))["offer"] == {"sdp": "y"}

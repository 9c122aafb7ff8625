"""HAProxy itself fed garbage and frozen, with calls running through it.

Two bystander calls (raw WebSocket participants through the balancer) exchange numbered
messages the whole time; each message must arrive once and in order, over the connection it
was sent on. (HAProxy killed and restarted is in test_cluster_media.py.)

* Garbage: random bytes, broken request lines, a 100 kB header, a WebSocket whose frames are
  junk, plain text on the TLS port and half-sent requests left hanging. HAProxy answers what
  it parses with a 4xx and drops the rest; the nodes behind it and the calls never notice,
  and a new room still opens.
* Frozen: HAProxy stopped (SIGSTOP) for 2 s. Messages wait in the kernel's socket buffers and
  arrive, all of them, in order, once it runs again; no connection is lost, no room moves.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
from collections.abc import Iterator

import pytest
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

from testkit.cluster import Cluster, get_json
from testkit.ticks import Ticks

pytestmark = [pytest.mark.timeout(120)]

WAIT = 10.0
#: A bystander message may take this long when nothing is frozen.
MAX_GAP = 1.0


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[Cluster]:
    running = Cluster(2)
    try:
        running.start()
        yield running
    finally:
        running.close()


async def join(nursery: trio.Nursery, base: str, room: str, user: str, role: str
               ) -> WebSocketConnection:
    with trio.fail_after(WAIT):
        ws = await connect_websocket_url(nursery, f"{base}/ws-simple/{room}")
        await ws.send_message(json.dumps({"type": "join", "userId": user, "userName": user,
                                          "userRole": role}))
        while json.loads(await ws.get_message())["type"] != "peer-discovery":
            pass
    return ws


class Call:
    """A coach sending numbered messages to its client, through the balancer."""

    def __init__(self, room: str) -> None:
        self.room = room

    async def open(self, nursery: trio.Nursery, base: str) -> None:
        self.coach = await join(nursery, base, self.room, f"coach-{self.room}", "coach")
        self.client = await join(nursery, base, self.room, f"client-{self.room}", "client")
        self.ticks = Ticks(self.coach, self.client, f"client-{self.room}")
        self.ticks.start(nursery)

    async def finish(self) -> None:
        await self.ticks.drain(WAIT)
        assert self.ticks.intact, f"{self.room}: lost or reordered"
        assert not self.coach.closed and not self.client.closed


def _send_raw(port: int, data: bytes, *, read: bool = True) -> bytes:
    """Sends ``data`` on a new connection; what came back before the peer closed (or 2 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
        except OSError:  # HAProxy closed on what it had already read
            return b""
        if not read:
            return b""
        sock.settimeout(2)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks)


def _garbage(cluster: Cluster) -> list[bytes]:
    """Every kind of junk; returns HAProxy's answers (status lines) to the parseable ones."""
    rng = random.Random(11)
    answers = []
    for _ in range(30):
        answers.append(_send_raw(cluster.port, os.urandom(rng.randrange(1, 3000))))
    for line in (b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\r\n\r\n",
                 b"GET /ws-simple/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + b"X-Big: " + b"a" * 100_000
                 + b"\r\n\r\n"):
        answers.append(_send_raw(cluster.port, line))
    for _ in range(10):  # plain text where TLS is expected
        answers.append(_send_raw(cluster.tls_port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
    return [a.split(b"\r\n", 1)[0] for a in answers if a]


async def _junk_websocket(cluster: Cluster) -> int | None:
    """A real upgrade through HAProxy, then frames of random bytes: the node closes it."""
    async with trio.open_nursery() as nursery:
        ws = await connect_websocket_url(nursery, f"{cluster.url}/ws-simple/junk-room")
        stream = ws._stream  # the raw byte stream under the WebSocket
        await stream.send_all(os.urandom(4096))
        with trio.move_on_after(WAIT):
            while not ws.closed:
                try:
                    await ws.get_message()
                except Exception:
                    break
        code = ws.closed.code if ws.closed else None
        nursery.cancel_scope.cancel()
    return code


async def test_garbage_at_haproxy_harms_no_call(small_cluster: Cluster) -> None:
    cluster = small_cluster
    calls = [Call("garbage-a"), Call("garbage-b")]
    hanging: list[socket.socket] = []
    async with trio.open_nursery() as nursery:
        for call in calls:
            await call.open(nursery, cluster.url)
        await trio.sleep(0.5)
        statuses = await trio.to_thread.run_sync(_garbage, cluster)
        assert statuses and all(s.split()[1].startswith(b"4") for s in statuses
                                if s.startswith(b"HTTP/")), statuses
        assert any(s.startswith(b"HTTP/1.1 400") for s in statuses), statuses
        for _ in range(40):  # half-sent requests, left open (slowloris)
            sock = socket.create_connection(("127.0.0.1", cluster.port), timeout=5)
            sock.sendall(b"GET /ws-simple/slow HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            hanging.append(sock)
        code = await _junk_websocket(cluster)
        assert code is not None and code >= 1002, code
        await trio.sleep(1.0)
        # The balancer and both nodes are fine; a new room opens.
        assert cluster.haproxy is not None and cluster.haproxy.alive()
        assert all(proc.alive() for proc in cluster.nodes.values())
        assert get_json(f"{cluster.http}/healthz")["status"] == "ok"
        fresh = Call("garbage-fresh")
        await fresh.open(nursery, cluster.url)
        await trio.sleep(0.3)
        for call in [*calls, fresh]:
            await call.finish()
            gap = call.ticks.worst_gap
            assert gap <= MAX_GAP, f"{call.room}: waited {gap:.2f} s"
        nursery.cancel_scope.cancel()
    for sock in hanging:
        sock.close()


async def test_haproxy_frozen_for_a_moment_loses_nothing(small_cluster: Cluster) -> None:
    cluster = small_cluster
    assert cluster.haproxy is not None
    calls = [Call("frozen-a"), Call("frozen-b")]
    async with trio.open_nursery() as nursery:
        for call in calls:
            await call.open(nursery, cluster.url)
        await trio.sleep(0.5)
        before = await trio.to_thread.run_sync(cluster.rooms_by_node)
        counts = [len(call.ticks.got) for call in calls]
        cluster.haproxy.signal(signal.SIGSTOP)
        try:
            await trio.sleep(2.0)
            # Nothing passes a frozen balancer (at most what was already on its way).
            assert all(len(call.ticks.got) <= count + 3 for call, count in zip(calls, counts,
                                                                           strict=True))
        finally:
            cluster.haproxy.signal(signal.SIGCONT)
        await trio.sleep(1.0)
        for call in calls:
            await call.finish()
        after = await trio.to_thread.run_sync(cluster.rooms_by_node)
        assert {r: after[r] for r in ("frozen-a", "frozen-b")} == {
            r: before[r] for r in ("frozen-a", "frozen-b")}
        nursery.cancel_scope.cancel()

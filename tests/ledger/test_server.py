"""The ledger behind the real Trio server: WebSocket clients on loopback, an in-process orb.

The orb here is a scripted one on the server's in-process connection (the path the real
orb bridge uses): it joins as the core asks, publishes statuses, and announces its shutdown
when the core stops it. Its media side is another suite's business.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio
from server.serving import running_server
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from signaling_core import CoreConfig, SpawnOrb, StopOrb
from trio_server import ServerConfig, SignalingServer
from trio_server.ledger import LedgerReader, SessionView, backend_from_url

from .conftest import make_ledger, query
from .test_slow_disk import SlowStore

WAIT = 10.0


class ScriptedOrb:
    """An OrbHost whose orbs join over ``open_local``, talk a little and leave when asked."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.server: SignalingServer | None = None
        self.nursery: trio.Nursery | None = None
        self.conns: dict[str, Any] = {}

    async def run(self, server: SignalingServer, *, task_status: Any = trio.TASK_STATUS_IGNORED
                  ) -> None:
        self.server = server
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    def spawn(self, command: SpawnOrb) -> None:
        assert self.nursery is not None
        self.nursery.start_soon(self._orb, command)

    def stop(self, command: StopOrb) -> None:
        local = self.conns.get(command.room_id)
        if local is not None:
            local.send_text(orjson.dumps({"type": "ai-orb-shutdown", "reason": command.reason,
                                          "sessionId": command.session_id}).decode())

    async def _orb(self, command: SpawnOrb) -> None:
        assert self.server is not None
        local = self.server.open_local(command.room_id)
        self.conns[command.room_id] = local
        local.send_text(orjson.dumps({"type": "join", "userId": command.user_id,
                                      "userName": "AI Assistant", "userRole": "ai",
                                      "participantType": "ai"}).decode())
        first = orjson.loads(await local.outbound.receive())
        assert first["type"] == "peer-discovery", first
        for status in self.statuses:
            local.send_text(orjson.dumps({"type": "ai_status", "status": status,
                                          "sessionId": command.session_id}).decode())
            await trio.sleep(0.05)
        async for _ in local.outbound:  # until the server closes it
            pass


@asynccontextmanager
async def client(server: SignalingServer, room: str) -> AsyncIterator[WebSocketConnection]:
    async with open_websocket_url(f"ws://127.0.0.1:{server.port}/ws-simple/{room}",
                                  connect_timeout=WAIT, disconnect_timeout=WAIT) as ws:
        yield ws


async def join(ws: WebSocketConnection, user_id: str, role: str) -> None:
    await ws.send_message(orjson.dumps({"type": "join", "userId": user_id,
                                        "userName": user_id.title(), "userRole": role}).decode())
    with trio.fail_after(WAIT):
        while orjson.loads(await ws.get_message())["type"] != "peer-discovery":
            pass


async def until_closed(ws: WebSocketConnection) -> int:
    with trio.fail_after(WAIT):
        try:
            while True:
                await ws.get_message()
        except ConnectionClosed as exc:
            code: int = exc.reason.code
            return code


async def ended_sessions(db: str, count: int) -> list[SessionView]:
    """Wait (bounded) until ``count`` sessions are ended in the database."""
    reader = LedgerReader(backend_from_url(db))
    with trio.fail_after(WAIT):
        while True:
            sessions = reader.sessions(limit=100)
            if sum(s.ended_at is not None for s in sessions) >= count:
                return sessions
            await trio.sleep(0.05)


async def test_a_three_party_call_with_its_orb_through_the_server(db: str) -> None:
    ledger = make_ledger(db, wall_offset=None)  # the real clock: trio time -> Unix time
    orb = ScriptedOrb(["listening", "thinking", "speaking", "listening"])
    config = ServerConfig(port=0, core=CoreConfig(orbs_enabled=True,
                                               orb_idle_grace=0.5))
    before = time.time()
    async with running_server(config, orb_host=orb, ledger=ledger, wait=WAIT) as server:
        async with client(server, "call-1") as coach:
            await join(coach, "coach-1", "coach")
            async with client(server, "call-1") as client_ws:
                await join(client_ws, "client-1", "client")
                await trio.sleep(0.4)  # the orb joins and talks
                await client_ws.send_message('{"type": "leave"}')
                await trio.sleep(0.1)
        # The coach's socket closed; after the grace period the core stops the orb.
        [session] = await ended_sessions(db, 1)
    after = time.time()

    assert session.room == "call-1" and session.end_reason == "session_complete"
    assert before <= session.started_at < session.ended_at <= after  # type: ignore[operator]
    endings = {p.user_id: (p.role, p.ending) for p in session.participants}
    orb_id = f"ai-orb-{session.session_id}"
    assert endings == {"coach-1": ("coach", "close"), "client-1": ("client", "leave"),
                       orb_id: ("ai", "session_complete")}
    orb_part = next(p for p in session.participants if p.user_id == orb_id)
    assert set(orb_part.status_seconds) == {"listening", "thinking", "speaking"}
    assert orb_part.status_seconds["listening"] > 0.4  # the last status lasts until it left
    for p in session.participants:
        assert session.started_at <= p.joined_at < p.left_at <= session.ended_at  # type: ignore[operator]


async def test_replacement_and_time_out_through_the_server(db: str) -> None:
    ledger = make_ledger(db, wall_offset=None)
    config = ServerConfig(port=0, ping_interval=60.0,
                          core=CoreConfig(idle_timeout=0.6, reconnect_grace=0))
    async with running_server(config, ledger=ledger, wait=WAIT) as server:
        async with client(server, "room-x") as first:
            await join(first, "coach-1", "coach")
            async with client(server, "room-x") as second:
                await join(second, "coach-1", "coach")
                assert await until_closed(first) == 4001
                # Silence (no pings: interval 60 s) past the idle timeout.
                assert await until_closed(second) == 4008
        [session] = await ended_sessions(db, 1)
    assert [(p.user_id, p.ending) for p in session.participants] == [
        ("coach-1", "replaced"), ("coach-1", "time-out")]
    assert session.end_reason == "time-out"


async def test_a_slow_disk_does_not_slow_a_bystander_pair(tmp_path: Any) -> None:
    """Room A churns (every join and leave is a record) on a disk that takes 0.3 s per
    write, while a pair in room B pings each other: their round trips stay fast."""
    db = str(tmp_path / "slow.sqlite3")
    store = SlowStore(db, delay=0.3)
    ledger = make_ledger(db, store, wall_offset=None)
    round_trips: list[float] = []
    churns = 0
    behind = 0
    async with running_server(ServerConfig(port=0), ledger=ledger, wait=WAIT) as server:

        async def churn() -> None:
            nonlocal churns
            for i in range(30):
                async with client(server, f"churn-{i % 3}") as ws:
                    await join(ws, f"user-{i}", "client")
                    churns += 1

        async with client(server, "bystanders") as a, client(server, "bystanders") as b:
            await join(a, "coach-b", "coach")
            await join(b, "client-b", "client")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(churn)
                deadline = trio.current_time() + 2.0
                while trio.current_time() < deadline or churns < 30:
                    start = trio.current_time()
                    await a.send_message(orjson.dumps({
                        "type": "client_signal", "action": "ping", "toId": "client-b"}).decode())
                    with trio.fail_after(WAIT):
                        message = orjson.loads(await b.get_message())
                    assert message["type"] == "client_signal" and message["fromId"] == "coach-b"
                    round_trips.append(trio.current_time() - start)
                    stats = ledger.stats
                    behind = max(behind, stats.recorded - stats.committed)
                    await trio.sleep(0.01)
            assert behind > 10  # the disk was well behind the relay at some point
            with trio.fail_after(30):
                await ledger.wait_committed()
    assert max(round_trips) < 0.25, max(round_trips)  # below one disk write (0.3 s)
    assert statistics.median(round_trips) < 0.02, statistics.median(round_trips)
    assert ledger.stats.dropped == 0
    # 30 churn sessions plus the bystanders' (ended by the shutdown), every part ended.
    assert query(db, "SELECT COUNT(*) FROM sessions WHERE ended_at IS NOT NULL") == [(31,)]
    assert query(db, "SELECT COUNT(*) FROM participations WHERE left_at IS NOT NULL") == [(32,)]
    assert len(store.sizes) < 30  # batched: fewer transactions than sessions

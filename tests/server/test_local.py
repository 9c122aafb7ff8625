"""In-process connections, the orb host hooks and the ledger sink, through a real server."""

from __future__ import annotations

import json
from typing import Any

import trio

from signaling_core import (
    CoreConfig,
    ParticipantJoined,
    ParticipantLeft,
    SessionEnded,
    SessionRecord,
    SessionStarted,
    SpawnOrb,
    StopOrb,
)
from trio_server import LocalConnection, ServerConfig, SignalingServer

from .conftest import closed_code, join, recv, send, ws_client
from .serving import WAIT, running_server


async def next_message(local: LocalConnection) -> dict[str, Any]:
    with trio.fail_after(WAIT):
        decoded: dict[str, Any] = json.loads(await local.outbound.receive())
    return decoded


def local_join(local: LocalConnection, user_id: str, role: str = "ai") -> None:
    local.send_text(json.dumps({"type": "join", "userId": user_id, "userName": "AI Assistant",
                                "userRole": role, "participantType": "ai"}))


async def test_local_connection_speaks_the_protocol() -> None:
    async with running_server() as server, ws_client(server, "mixed") as coach:
        await join(coach, "coach", "coach")
        orb = server.open_local("mixed")
        local_join(orb, "ai-orb-1")
        discovery = await next_message(orb)
        assert discovery["peers"][0]["userId"] == "coach"
        joined = await recv(coach)
        assert joined["userId"] == "ai-orb-1" and joined["shouldCreateOffer"] is True

        await send(coach, {"type": "offer", "toId": "ai-orb-1", "offer": {"sdp": "o"}})
        assert (await next_message(orb))["fromId"] == "coach"
        orb.send_text(json.dumps({"type": "answer", "toId": "coach", "answer": {"sdp": "a"}}))
        assert (await recv(coach))["answer"] == {"sdp": "a"}

        orb.close()
        assert orb.closed.is_set() and orb.close_code == 1000
        assert (await recv(coach))["type"] == "user-left"
        orb.send_text('{"type":"ping"}')  # ignored once closed, never raises


async def test_local_join_deadline_and_channel_end() -> None:
    config = ServerConfig(port=0, core=CoreConfig(join_timeout=0.3))
    async with running_server(config) as server:
        idle = server.open_local("nobody-joins")
        with trio.fail_after(WAIT):
            await idle.closed.wait()
            assert [m async for m in idle.outbound] == []  # the channel ends
        assert idle.close_code == 4008


async def test_local_slow_consumer_is_closed_1013() -> None:
    config = ServerConfig(port=0, outbound_queue_messages=8,
                          core=CoreConfig(rate_limit_per_second=0))
    async with running_server(config) as server, ws_client(server, "slow-orb") as coach:
        await join(coach, "coach", "coach")
        orb = server.open_local("slow-orb")
        local_join(orb, "ai-orb-slow")
        await recv(coach)
        for i in range(20):  # the orb reads nothing
            await send(coach, {"type": "client_signal", "action": "x", "seq": i})
        left = await recv(coach)
        assert left["type"] == "user-left" and left["userId"] == "ai-orb-slow"
        assert orb.close_code == 1013
        queued = [json.loads(m) async for m in orb.outbound]
        assert queued[0]["type"] == "peer-discovery" and len(queued) == 8


async def test_shutdown_closes_local_connections_1001() -> None:
    server = SignalingServer(ServerConfig(port=0))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        orb = server.open_local("room")
        local_join(orb, "ai-orb-z")
        await next_message(orb)
        with trio.fail_after(WAIT):
            await server.shutdown()
    assert orb.close_code == 1001
    late = server.open_local("room")
    assert late.closed.is_set() and late.close_code == 1001


class FakeOrbHost:
    """Joins an in-process orb for every spawn, and leaves on stop (like the real host)."""

    def __init__(self) -> None:
        self.server: SignalingServer | None = None
        self.spawned: list[SpawnOrb] = []
        self.stopped: list[StopOrb] = []
        self.orbs: dict[str, LocalConnection] = {}
        self.cancelled = False
        self.fail_next = False

    async def run(self, server: SignalingServer, *,
                  task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self.server = server
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            self.cancelled = True

    def spawn(self, command: SpawnOrb) -> None:
        assert self.server is not None
        self.spawned.append(command)
        if self.fail_next:
            self.fail_next = False
            self.server.orb_ended(command.room_id, command.session_id, command.spawn_id)
            return
        orb = self.server.open_local(command.room_id)
        local_join(orb, command.user_id)
        self.orbs[command.room_id] = orb

    def stop(self, command: StopOrb) -> None:
        self.stopped.append(command)
        orb = self.orbs.get(command.room_id)
        if orb is not None and not orb.closed.is_set():
            orb.send_text(json.dumps({"type": "ai-orb-shutdown", "sessionId": command.session_id,
                                      "reason": "session_complete"}))
            orb.close()


class ListLedger:
    def __init__(self) -> None:
        self.records: list[SessionRecord] = []
        self.flushed = False

    def record(self, record: SessionRecord) -> None:
        self.records.append(record)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            self.flushed = True


async def test_orb_spawned_for_the_coach_and_stopped_at_shutdown() -> None:
    host = FakeOrbHost()
    ledger = ListLedger()
    server = SignalingServer(ServerConfig(port=0, core=CoreConfig(orbs_enabled=True)),
                             orb_host=host, ledger=ledger)
    assert server.core.config.orbs_enabled
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        async with ws_client(server, "coached") as coach:
            await join(coach, "coach", "coach")
            joined = await recv(coach)  # the orb, joined from inside spawn()
            assert joined["userRole"] == "ai" and joined["userId"] == host.spawned[0].user_id
            async with ws_client(server, "coached") as client:
                discovery = await join(client, "client", "client")
                assert {p["userId"] for p in discovery["peers"]} == {"coach", joined["userId"]}
                await recv(coach)
                with trio.fail_after(WAIT):
                    await server.shutdown()
                assert await closed_code(client) == 1001
            assert await closed_code(coach) == 1001
    assert [s.room_id for s in host.spawned] == ["coached"]
    assert [s.reason for s in host.stopped] == ["server-shutdown"]
    assert host.cancelled and ledger.flushed
    kinds = [type(r) for r in ledger.records]
    assert kinds[0] is SessionStarted and kinds[-1] is SessionEnded
    assert kinds.count(ParticipantJoined) == 3 and kinds.count(ParticipantLeft) == 3


async def test_failed_orb_frees_its_slot() -> None:
    host = FakeOrbHost()
    host.fail_next = True
    config = ServerConfig(port=0, core=CoreConfig(orbs_enabled=True, max_orbs=1))
    assert config.orbs
    server = SignalingServer(config, orb_host=host)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        async with ws_client(server, "r1") as coach1:
            await join(coach1, "coach", "coach")
            assert server.core.orb_count == 0  # the failure was reported at once
            async with ws_client(server, "r2") as coach2:
                await join(coach2, "coach", "coach")
                assert (await recv(coach2))["userRole"] == "ai"
                assert server.core.orb_count == 1
        await server.shutdown()


async def test_orbs_without_a_host_do_not_hang_the_room() -> None:
    config = ServerConfig(port=0, core=CoreConfig(orbs_enabled=True))
    async with running_server(config) as server, \
            ws_client(server, "hostless") as coach:
        await join(coach, "coach", "coach")
        assert server.core.orb_count == 0
        await send(coach, {"type": "ping"})
        assert await recv(coach) == {"type": "pong"}

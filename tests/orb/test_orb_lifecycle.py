"""How orbs end, and that they leave nothing behind: idle grace, maximum lifetime, an
exception inside an orb, a human's replacement, and three rooms in a row."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
import trio

from orb_bridge import OrbConfig
from orb_bridge.brain import BrainOutput, OfflineBrain
from orb_bridge.hearing import Utterance
from signaling_core import CoreConfig
from testkit.synthetic import SyntheticHuman

from .conftest import in_asyncio, orb_server

pytestmark = pytest.mark.media


async def wait_trio(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.05)


def orb_threads() -> set[str]:
    return {t.name for t in threading.enumerate()
            if t.name.startswith(("orb-loop", "audio-decoder", "video-decoder", "asyncio_"))}


async def test_idle_grace_ends_the_orb_after_the_humans_leave() -> None:
    core = CoreConfig(orbs_enabled=True, orb_idle_grace=1.0)
    async with orb_server(core=core) as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "idle", "coach-1", "coach", mesh_with_humans=False)
            client = SyntheticHuman(srv.url, "idle", "client-1", "client",
                                    mesh_with_humans=False)
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                await client.start()
                orb = coach.orb_id()
                for human in (coach, client):
                    await human.wait_until(
                        lambda h=human: orb in h.media and h.media[orb].video_frames > 0,
                        10, "orb video")
                # The client leaves: the orb drops that peer connection, keeps the coach's.
                await client.close()

                async def one_peer() -> bool:
                    stats = await srv.stats("idle")
                    return stats is not None and list(stats["humans"]) == ["coach-1"] \
                        and stats["peers"] == 1
                deadline = time.monotonic() + 5
                while not await one_peer():
                    assert time.monotonic() < deadline, "orb kept the client's connection"
                    await asyncio.sleep(0.1)
                # Idle grace does not run while the coach is there.
                await asyncio.sleep(1.5)
                assert await srv.stats("idle") is not None
            finally:
                await coach.close()
                await client.close()

        await in_asyncio(scenario)
        await wait_trio(lambda: srv.host.ended, 5, "the orb to end")
        ended = srv.host.ended[-1]
        assert ended["roomId"] == "idle"
        assert (ended["reason"], ended["joined"], ended["announced"]) == \
            ("session_complete", True, True)
        assert srv.server.core.snapshot().to_dict()["rooms"] == []
        assert await srv.host.census() == {"orbs": 0, "tasks": 0, "peerConnections": 0}


async def test_max_lifetime_ends_the_orb_with_timeout() -> None:
    core = CoreConfig(orbs_enabled=True, orb_max_lifetime=3.0)
    async with orb_server(core=core) as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "old", "coach-1", "coach")
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                orb = coach.orb_id()
                await coach.wait_until(lambda: any(m.get("type") == "user-left"
                                                   and m.get("userId") == orb
                                                   for m in coach.messages), 6,
                                       "user-left for the orb")
                assert orb not in coach.pcs
            finally:
                await coach.close()

        await in_asyncio(scenario)
        await wait_trio(lambda: srv.host.ended, 5, "the orb to end")
        assert srv.host.ended[-1]["reason"] == "timeout"
        assert srv.host.ended[-1]["announced"] is True


class ExplodingBrain(OfflineBrain):
    """A brain with a bug: answering anyone raises."""

    async def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
        raise RuntimeError("injected failure inside the orb")
        yield  # pragma: no cover  (makes this an async generator)


async def test_an_exception_in_an_orb_ends_only_that_orb(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    async with orb_server(brain_factory=ExplodingBrain) as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "boom", "coach-1", "coach")
            client = SyntheticHuman(srv.url, "boom", "client-1", "client")
            coach2 = SyntheticHuman(srv.url, "boom", "coach-2", "coach",
                                    mesh_with_humans=False, camera=None)
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                await client.start()
                orb = coach.orb_id()
                await client.wait_until(
                    lambda: orb in client.media and client.media[orb].audio_frames > 10,
                    10, "orb audio")
                await client.wait_until(lambda: "listening" in client.statuses_since(0), 5,
                                        "listening")
                client.say(1.0)
                for human in (coach, client):
                    await human.wait_until(lambda h=human: any(
                        m.get("type") == "user-left" and m.get("userId") == orb
                        for m in h.messages), 8, "user-left for the broken orb")
                # The humans' own call carries on, and so does the server.
                await asyncio.sleep(0.5)
                assert coach.pcs["client-1"].connectionState == "connected"
                await coach.send({"type": "ping"})
                await coach.wait_until(lambda: any(m.get("type") == "pong"
                                                   for m in coach.messages), 3, "pong")
                # The next coach to join gets a fresh orb (same session, so same userId).
                await coach2.start()
                await coach2.wait_until(lambda: coach2.orb_id() is not None, 5, "a new orb")
                new_orb = coach2.orb_id()
                assert new_orb is not None
                await coach2.wait_until(lambda: new_orb in coach2.media
                                        and coach2.media[new_orb].audio_frames > 0, 10,
                                        "the new orb's audio")
            finally:
                await asyncio.gather(coach.close(), client.close(), coach2.close())

        await in_asyncio(scenario)
        errors = [e for e in srv.host.ended if e["reason"] == "error"]
        assert len(errors) == 1 and errors[0]["announced"] is True
        assert any("injected failure inside the orb" in (r.exc_text or "")
                   or (r.exc_info and "injected failure" in str(r.exc_info[1]))
                   for r in caplog.records), "the traceback was not logged"


async def test_a_replaced_human_gets_a_new_peer_connection() -> None:
    async with orb_server() as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "again", "coach-1", "coach")
            again = SyntheticHuman(srv.url, "again", "coach-1", "coach")
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                orb = coach.orb_id()
                await coach.wait_until(lambda: orb in coach.media
                                       and coach.media[orb].video_frames > 0, 10, "video")
                await again.start()  # same userId: replaces the first connection
                await again.wait_until(lambda: again.orb_id() == orb, 5, "the same orb")
                await again.wait_until(lambda: orb in again.media
                                       and again.media[orb].video_frames > 15, 10,
                                       "video on the new connection")
                stats = await srv.stats("again")
                assert stats is not None and stats["peers"] == 1
                assert stats["humans"]["coach-1"]["connection"] == "connected"
            finally:
                await asyncio.gather(coach.close(), again.close())

        await in_asyncio(scenario)


async def test_three_rooms_in_a_row_leave_nothing_behind() -> None:
    before = orb_threads()
    core = CoreConfig(orbs_enabled=True, orb_idle_grace=0.5)
    async with orb_server(core=core) as srv:
        for i in range(3):
            room = f"row-{i}"

            async def scenario(room: str = room) -> None:
                coach = SyntheticHuman(srv.url, room, "coach-1", "coach")
                client = SyntheticHuman(srv.url, room, "client-1", "client")
                try:
                    await coach.start()
                    await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                    await client.start()
                    orb = coach.orb_id()
                    for human in (coach, client):
                        await human.wait_until(
                            lambda h=human: orb in h.media and h.media[orb].video_frames > 5,
                            10, "orb video")
                finally:
                    await asyncio.gather(coach.close(), client.close())

            await in_asyncio(scenario)
            await wait_trio(lambda i=i: len(srv.host.ended) == i + 1, 10, "the orb to end")
            assert srv.host.ended[-1]["reason"] == "session_complete"
            assert await srv.host.census() == {"orbs": 0, "tasks": 0, "peerConnections": 0}
            assert srv.server.core.orb_count == 0
        assert srv.host.loop_thread.thread is not None
    # The server is gone: so are the orb loop, its executor and every decoder thread.
    assert srv.host.loop_thread.thread is None
    deadline = time.monotonic() + 5
    while orb_threads() - before and time.monotonic() < deadline:
        await trio.sleep(0.1)
    assert orb_threads() - before == set()


async def test_census_counts_a_live_orb() -> None:
    """The leak checks above would pass vacuously if the census could not see anything."""
    async with orb_server() as srv:
        seen: dict[str, int] = {}

        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "census", "coach-1", "coach", camera=None)
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                orb = coach.orb_id()
                await coach.wait_until(lambda: orb in coach.media
                                       and coach.media[orb].audio_frames > 0, 10, "audio")
                seen.update(await srv.census())
            finally:
                await coach.close()

        await in_asyncio(scenario)
        assert seen["orbs"] == 1 and seen["peerConnections"] == 1 and seen["tasks"] > 3
        assert "orb-loop" in {t.name for t in threading.enumerate()}



async def test_orb_heartbeats_with_metrics() -> None:
    async with orb_server(orb=OrbConfig(heartbeat_interval=0.5)) as srv:
        snapshots: list[dict[str, object]] = []

        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "beat", "coach-1", "coach")
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 5, "orb")
                orb = coach.orb_id()
                await coach.wait_until(lambda: orb in coach.media
                                       and coach.media[orb].video_frames > 15, 10, "video")
                await asyncio.sleep(1.2)
            finally:
                await coach.close()

        async with trio.open_nursery() as nursery:
            async def watch() -> None:
                while True:
                    room = next((r for r in srv.server.core.snapshot().rooms
                                 if r.room_id == "beat"), None)
                    if room is not None and room.orb is not None:
                        snapshots.append({"at": room.orb.last_heartbeat,
                                          **room.orb.metrics})
                    await trio.sleep(0.1)

            nursery.start_soon(watch)
            await in_asyncio(scenario)
            nursery.cancel_scope.cancel()
        beats = {s["at"] for s in snapshots if s["at"] is not None}
        assert len(beats) >= 3, snapshots[-3:]
        last = [s for s in snapshots if s.get("peers") == 1]
        assert last, snapshots[-3:]
        metrics = last[-1]
        assert {"cpu", "peers", "fps", "status"} <= set(metrics)
        assert metrics["fps"] >= 12 and metrics["status"] == "listening"

"""Media through worker-hosted orbs: real aiortc humans (``testkit.synthetic``), a real
``trio-server --orb-dispatch`` and ``orb-worker`` processes around a real Redis. Both join
orders, and a worker killed with ``kill -9`` mid-call: its orb leaves, comes back from another
worker within 10 s, and the humans' video from it flows again."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from testkit.fleet import Fleet, worker_id_of
from testkit.synthetic import SyntheticHuman

from .conftest import run

pytestmark = pytest.mark.media

ORB_SIZE = (160, 120, 10.0)


def frames(human: SyntheticHuman, orb_id: str) -> int:
    media = human.media.get(orb_id)
    return 0 if media is None else media.video_frames


def orb_changes(human: SyntheticHuman) -> list[tuple[str, str]]:
    return [(m["type"], m["userId"]) for m in human.messages
            if m.get("type") in ("user-joined", "user-left")
            and str(m.get("userId", "")).startswith("ai-orb-")]


@pytest.mark.parametrize("order", ["coach-first", "client-first"])
def test_media_flows_through_a_worker_hosted_orb(fleet: Fleet, order: str) -> None:
    fleet.start_server()
    fleet.start_worker(capacity=2, size=ORB_SIZE)

    async def scenario() -> None:
        coach = SyntheticHuman(fleet.ws_url, "media", "coach-1", "coach")
        client = SyntheticHuman(fleet.ws_url, "media", "client-1", "client")
        first, second = (coach, client) if order == "coach-first" else (client, coach)
        try:
            await first.start()
            await asyncio.sleep(0.3)
            await second.start()
            for human in (coach, client):
                await human.wait_until(lambda h=human: h.orb_id() is not None, 15, "the orb")
                orb_id = human.orb_id()
                assert orb_id is not None
                await human.wait_until(lambda h=human, o=orb_id: frames(h, o) > 10, 20,
                                       "video from the worker's orb")
            assert coach.media[coach.orb_id() or ""].video_size == ORB_SIZE[:2]
            # The humans see each other too; the orb is one participant among three.
            await coach.wait_until(lambda: frames(coach, "client-1") > 5, 15, "client video")
        finally:
            await asyncio.gather(coach.close(), client.close())

    run(scenario, 60)


def test_a_killed_worker_orb_comes_back_from_another_with_media(fleet: Fleet) -> None:
    fleet.start_server()
    first = fleet.start_worker(capacity=2, size=ORB_SIZE)

    async def scenario() -> None:
        coach = SyntheticHuman(fleet.ws_url, "failover", "coach-1", "coach")
        client = SyntheticHuman(fleet.ws_url, "failover", "client-1", "client")
        try:
            await coach.start()
            await client.start()
            for human in (coach, client):
                await human.wait_until(lambda h=human: h.orb_id() is not None
                                       and frames(h, h.orb_id() or "") > 10, 20, "orb video")
            orb_id = coach.orb_id()
            assert orb_id is not None
            # The coach makes the orb only listen (issue 24): the room keeps that mode, so the
            # orb back from another worker obeys it, not that worker's own default.
            await coach.send({"type": "ai_mode", "mode": "listen"})
            await client.wait_until(lambda: any(m.get("type") == "ai-mode"
                                                for m in client.messages), 5, "ai-mode")
            await asyncio.to_thread(first.log.wait_for, r"mode listen \(set by the coach\)", 5)
            second = await asyncio.to_thread(fleet.start_worker, 2, "--orb-mode", "active",
                                             size=ORB_SIZE)
            assert fleet.wait_placed(["failover"])["failover"]["worker"] == worker_id_of(first)
            killed_at = time.monotonic()
            seen_before_kill = len(client.messages)
            os.kill(first.pid, signal.SIGKILL)
            for human in (coach, client):
                await human.wait_until(lambda h=human: ("user-left", orb_id) in orb_changes(h),
                                       10, "user-left for the killed worker's orb")
            await coach.wait_until(lambda: orb_changes(coach)[-1:] == [("user-joined", orb_id)],
                                   10, "the orb back from another worker")
            back = time.monotonic() - killed_at
            assert back <= 10.0, back
            for human in (coach, client):
                before = frames(human, orb_id)
                await human.wait_until(lambda h=human, b=before: frames(h, orb_id) > b + 10, 20,
                                       "video from the orb again")
            placed = fleet.wait_placed(["failover"])["failover"]
            assert placed["worker"] == worker_id_of(second) and placed["attempt"] == 2
            await asyncio.to_thread(second.log.wait_for, r"mode listen \(the room's\)", 5)
            await client.wait_until(lambda: any(
                m.get("type") == "ai_status" and m.get("mode") == "listen"
                and m.get("fromId") == orb_id for m in client.messages[seen_before_kill:]),
                10, "the returned orb's ai_status in listen")
            # One identity, never two orbs at once.
            present: set[str] = set()
            for kind, uid in orb_changes(coach):
                (present.add if kind == "user-joined" else present.discard)(uid)
                assert len(present) <= 1
        finally:
            await asyncio.gather(coach.close(), client.close())

    run(scenario, 90)

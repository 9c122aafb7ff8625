"""Calls with real media through the cluster: three ``trio-server`` nodes behind a real HAProxy
(deploy/haproxy.cfg), and rooms of two aiortc humans (``testkit.synthetic``) that resume like
the browser client (``resume=True``: reconnect at once, rejoin with the resume token, keep every
link that is still connected).

* ``kill -9`` of the node holding some rooms: its humans reconnect through HAProxy to the
  surviving nodes, every room is whole on exactly one node, their ``RTCPeerConnection`` objects
  carry the media throughout (longest stall <= 1 s), and the other nodes' calls never notice.
* ``kill -9`` of HAProxy itself: media goes on peer to peer while it is down (a node's own
  ``/healthz`` still answers), and after its restart every human resumes its seat on the same
  node, with the same links.

Media is video only, 64x48 at 10 fps: a frame every 100 ms is enough to see a 1 s stall, and
it is the cheapest flow aiortc offers (one RTP packet per frame; audio would be 50 packets/s
per direction), so 30 rooms (60 peer connections, 120 media flows in this one process) fit a
busy 2-core machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from testkit.cluster import Cluster
from testkit.synthetic import SyntheticHuman

pytestmark = pytest.mark.media

ROOMS = 30
CAMERA = (64, 48, 10.0)
#: The longest a call's media may stop (issue #14).
MAX_STALL = 1.0
#: How long the moved humans may take to be whole again on a surviving node.
REJOIN_WITHIN = 10.0
HAPROXY_DOWN = 2.0


@pytest.fixture
def media_cluster() -> Iterator[Cluster]:
    """A cluster per test: each test kills part of it."""
    running = Cluster(3)  # no drain: teardown need not wait for one
    try:
        running.start()
        yield running
    finally:
        running.close()


def run(scenario: Coroutine[Any, Any, None], timeout: float) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(scenario, timeout)

    asyncio.run(bounded())


def pairs(cluster: Cluster, prefix: str, count: int) -> list[tuple[SyntheticHuman, ...]]:
    return [tuple(SyntheticHuman(cluster.url, f"{prefix}-{i:02d}", f"{role}-{i:02d}", role,
                                 camera=CAMERA, voice=False, resume=True)
                  for role in ("coach", "client")) for i in range(count)]


def peer_of(human: SyntheticHuman) -> str:
    """The other human of the room (``coach-07`` <-> ``client-07``)."""
    role, _, number = human.user_id.partition("-")
    return f"{'client' if role == 'coach' else 'coach'}-{number}"


def frames(human: SyntheticHuman) -> int:
    media = human.media.get(peer_of(human))
    return 0 if media is None else media.video_frames


async def start_calls(rooms: list[tuple[SyntheticHuman, ...]]) -> None:
    """Every human joined and receiving its peer's video (at most 10 joins at once)."""
    gate = asyncio.Semaphore(10)

    async def join(human: SyntheticHuman) -> None:
        async with gate:
            await human.start()

    await asyncio.gather(*(join(h) for room in rooms for h in room[:1]))
    await asyncio.gather(*(join(h) for room in rooms for h in room[1:]))
    humans = [h for room in rooms for h in room]
    await asyncio.gather(*(h.wait_until(lambda h=h: frames(h) > 5, 40, "the peer's video")
                           for h in humans))


async def wait_whole(cluster: Cluster, rooms: list[tuple[SyntheticHuman, ...]],
                     timeout: float) -> dict[str, str]:
    """room -> its one node, once every room is on exactly one live node with both seats
    present (not away) there."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, dict[str, str]]] = {}
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(cluster.members_by_room)
        placed = {}
        for room in rooms:
            nodes = last.get(room[0].room_id, {})
            seats = {h.user_id for h in room}
            if len(nodes) == 1 and set(next(iter(nodes.values()))) == seats:
                placed[room[0].room_id] = next(iter(nodes))
        if len(placed) == len(rooms) and all(h.connected for room in rooms for h in room):
            return placed
        await asyncio.sleep(0.1)
    raise AssertionError(f"rooms not whole on one node within {timeout}s: "
                         f"{ {r: n for r, n in last.items() if len(n) != 1} }")


def links(rooms: list[tuple[SyntheticHuman, ...]]) -> dict[str, object]:
    return {h.user_id: h.pcs.get(peer_of(h)) for room in rooms for h in room}


async def close_all(rooms: list[tuple[SyntheticHuman, ...]]) -> None:
    await asyncio.gather(*(h.close() for room in rooms for h in room), return_exceptions=True)


def stalls(humans: list[SyntheticHuman]) -> list[float]:
    return [h.media[peer_of(h)].longest_stall() for h in humans]


@pytest.mark.timeout(150)
def test_a_killed_nodes_calls_move_with_their_media(media_cluster: Cluster) -> None:
    cluster = media_cluster
    rooms = pairs(cluster, "killnode", ROOMS)

    async def scenario() -> None:
        try:
            started = time.monotonic()
            await start_calls(rooms)
            placed = await wait_whole(cluster, rooms, 15)
            print(f"\n{ROOMS} rooms, {2 * ROOMS} humans in call after "
                  f"{time.monotonic() - started:.1f} s")
            by_node = {n: sorted(r for r, p in placed.items() if p == n)
                       for n in set(placed.values())}
            assert len(by_node) == 3, f"rooms not spread over the 3 nodes: {by_node}"
            victim = max(by_node, key=lambda n: len(by_node[n]))
            moved = [room for room in rooms if placed[room[0].room_id] == victim]
            stayed = [room for room in rooms if placed[room[0].room_id] != victim]
            before = links(rooms)
            for room in rooms:
                for human in room:
                    human.start_measuring()
            killed_at = time.monotonic()
            await asyncio.to_thread(cluster.kill_node, int(victim.removeprefix("node")))
            after = await wait_whole(cluster, rooms, REJOIN_WITHIN)
            whole_after = time.monotonic() - killed_at
            counts = [frames(h) for room in rooms for h in room]
            await asyncio.sleep(2.0)  # media keeps coming on the same connections
            moved_humans = [h for room in moved for h in room]
            stayed_humans = [h for room in stayed for h in room]
            rejoin = [h.losses[0].rejoined_at - h.losses[0].lost_at  # type: ignore[operator]
                      for h in moved_humans]
            moved_stalls, stayed_stalls = stalls(moved_humans), stalls(stayed_humans)
            print(f"killed {victim} holding {len(moved)} rooms; all whole after "
                  f"{whole_after:.2f} s; rejoin median {statistics.median(rejoin):.2f} s, "
                  f"max {max(rejoin):.2f} s; longest stall moved {max(moved_stalls):.2f} s, "
                  f"others {max(stayed_stalls):.2f} s")
            for room in moved:
                assert after[room[0].room_id] != victim
                for human in room:
                    assert len(human.losses) == 1 and human.losses[0].resumed is False, \
                        (human.user_id, human.losses)
            for room in stayed:
                assert after[room[0].room_id] == placed[room[0].room_id]
                for human in room:
                    assert human.losses == [], (human.user_id, human.losses)
            assert links(rooms) == before, "a link was rebuilt"
            assert all(frames(h) > c + 5 for h, c in
                       zip([h for room in rooms for h in room], counts, strict=True))
            assert max(moved_stalls) <= MAX_STALL, moved_stalls
            assert max(stayed_stalls) <= MAX_STALL, stayed_stalls
        finally:
            await close_all(rooms)

    run(scenario(), 140)


@pytest.mark.timeout(150)
def test_haproxy_killed_and_restarted_mid_call(media_cluster: Cluster) -> None:
    cluster = media_cluster
    rooms = pairs(cluster, "killlb", ROOMS)
    humans = [h for room in rooms for h in room]

    async def scenario() -> None:
        try:
            await start_calls(rooms)
            placed = await wait_whole(cluster, rooms, 15)
            before = links(rooms)
            for human in humans:
                human.start_measuring()
            killed_at = time.monotonic()
            await asyncio.to_thread(cluster.kill_haproxy)
            await asyncio.gather(*(h.wait_until(lambda h=h: bool(h.losses), 5, "the lost socket")
                                   for h in humans))
            # Bystander: each node still answers directly while the balancer is gone.
            for index in cluster.nodes:
                with urllib.request.urlopen(cluster.node_http(index) + "/healthz",
                                            timeout=5) as response:
                    assert response.status == 200
            counts = [frames(h) for h in humans]
            await asyncio.sleep(HAPROXY_DOWN)
            assert all(frames(h) > c + 5 for h, c in zip(humans, counts, strict=True)), \
                "media stopped while HAProxy was down"
            assert not any(h.connected for h in humans)
            down_stalls = stalls(humans)
            await asyncio.to_thread(cluster.start_haproxy)
            restarted_at = time.monotonic()
            after = await wait_whole(cluster, rooms, REJOIN_WITHIN)
            back = time.monotonic() - restarted_at
            await asyncio.sleep(1.0)
            rejoin = [h.losses[0].rejoined_at - restarted_at  # type: ignore[operator]
                      for h in humans]
            print(f"\nHAProxy down {restarted_at - killed_at:.2f} s; after its restart all "
                  f"{len(rooms)} rooms whole in {back:.2f} s (rejoin median "
                  f"{statistics.median(rejoin):.2f} s, max {max(rejoin):.2f} s); longest stall "
                  f"while down {max(down_stalls):.2f} s, overall {max(stalls(humans)):.2f} s")
            assert after == placed, "a room changed node"
            for human in humans:
                assert len(human.losses) == 1 and human.losses[0].resumed is True, \
                    (human.user_id, human.losses)
            assert links(rooms) == before, "a link was rebuilt"
            assert max(stalls(humans)) <= MAX_STALL, stalls(humans)
        finally:
            await close_all(rooms)

    run(scenario(), 140)

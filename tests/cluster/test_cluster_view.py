"""The cluster view (``--cluster``) with real processes: three ``trio-server`` nodes and a real
``redis-server``; rooms joined on different nodes by raw WebSocket clients.

Each test gets its own Redis and nodes (several tests kill or freeze one of them). Nodes are
reached directly, not through HAProxy, so each room is on the node the test chose. The nodes
run with an admin token, so every read also goes through the admin gate.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import trio
from trio_websocket import WebSocketConnection, connect_websocket_url

from signaling_core import join_message
from testkit.cluster import Cluster
from testkit.fleet import BIN, Proc, RedisProcess, free_port

pytestmark = pytest.mark.timeout(90)

TTL = 2.0
#: Beyond the TTL: a poll's own latency on a loaded 2-core machine.
MARGIN = 1.5
#: The bound on a 503 when Redis is down or frozen (the server gives up after 2 s).
UNAVAILABLE_WITHIN = 3.0
WAIT = 10.0
TOKEN = "cluster-view-admin-token"
NODE_ARGS = ("--db", "none", "--cluster-ttl", str(TTL), "--admin-token", TOKEN)


@attrs.define
class Views:
    """One test's Redis and nodes."""

    redis: RedisProcess
    cluster: Cluster

    def port(self, index: int) -> int:
        return self.cluster.ports[index - 1]


@pytest.fixture
def views() -> Iterator[Views]:
    redis_proc = RedisProcess()
    redis_proc.start()
    cluster = Cluster(3, node_args=(*NODE_ARGS, "--cluster", redis_proc.url))
    running = Views(redis_proc, cluster)
    try:
        for index in (1, 2, 3):
            cluster.start_node(index)
        yield running
    finally:
        # A test may have frozen Redis, or replaced it with a new one on the same port.
        for each in {id(r): r for r in (redis_proc, running.redis)}.values():
            if each.proc is not None:
                each.proc.send_signal(signal.SIGCONT)
            each.close()
        cluster.close()


# ---------------------------------------------------------------------- HTTP helpers


def _get(port: int, query: str = "", token: str | None = TOKEN) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/rooms{query}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode()


async def rooms(port: int, query: str = "", token: str | None = TOKEN) -> tuple[int, Any]:
    """``GET /api/rooms{query}`` on a worker thread: (status, JSON body)."""
    return await trio.to_thread.run_sync(_get, port, query, token)


async def cluster_rooms(port: int) -> dict[str, str]:
    """room id -> node, as ``scope=cluster`` on ``port`` says (asserts a 200)."""
    status, body = await rooms(port, "?scope=cluster")
    assert status == 200, body
    return {room["roomId"]: room["node"] for room in body["rooms"]}


async def wait_view(ports: list[int], expected: dict[str, str],
                    timeout: float = WAIT) -> float:
    """Until ``scope=cluster`` on every port shows exactly ``expected``; the seconds taken."""
    start = trio.current_time()
    seen: dict[int, Any] = {}
    try:
        with trio.fail_after(timeout):
            while True:
                for port in ports:
                    status, body = await rooms(port, "?scope=cluster")
                    seen[port] = (status, body if status != 200 else
                                  {r["roomId"]: r["node"] for r in body["rooms"]})
                if all(seen[port] == (200, expected) for port in ports):
                    return trio.current_time() - start
                await trio.sleep(0.05)
    except trio.TooSlowError:
        raise AssertionError(f"the cluster view never became {expected}: {seen}") from None


# ---------------------------------------------------------------------- participants


@attrs.define
class Seat:
    user: str
    ws: WebSocketConnection


async def join(nursery: trio.Nursery, port: int, room: str, user: str, role: str) -> Seat:
    """A raw WebSocket participant joined to ``room`` on the node at ``port``."""
    with trio.fail_after(WAIT):
        ws = await connect_websocket_url(nursery, f"ws://127.0.0.1:{port}/ws-simple/{room}",
                                         message_queue_size=64)
        await ws.send_message(json.dumps(join_message(None, user, role, user_name=user)))
        while json.loads(await ws.get_message())["type"] != "peer-discovery":
            pass
    return Seat(user, ws)


async def open_room(nursery: trio.Nursery, port: int, room: str) -> tuple[Seat, Seat]:
    coach = await join(nursery, port, room, f"coach-{room}", "coach")
    client = await join(nursery, port, room, f"client-{room}", "client")
    return coach, client


async def relays(sender: Seat, receiver: Seat) -> None:
    """A ``client_signal`` from ``sender`` reaches ``receiver`` (within WAIT)."""
    marker = f"{sender.user}@{time.monotonic()}"
    await sender.ws.send_message(json.dumps({"type": "client_signal", "action": marker,
                                             "toId": receiver.user}))
    with trio.fail_after(WAIT):
        while json.loads(await receiver.ws.get_message()).get("action") != marker:
            pass


async def spread_rooms(views: Views, nursery: trio.Nursery
                       ) -> tuple[dict[str, str], dict[str, tuple[Seat, Seat]]]:
    """Rooms on each node (two on node1): room -> node, and room -> its two seats."""
    placement = {"alpha": 1, "bravo": 1, "charlie": 2, "delta": 3}
    seats = {room: await open_room(nursery, views.port(node), room)
             for room, node in placement.items()}
    return {room: f"node{node}" for room, node in placement.items()}, seats


async def unavailable(port: int) -> None:
    """``scope=cluster`` answers a JSON 503 within the bound."""
    start = time.monotonic()
    status, body = await rooms(port, "?scope=cluster")
    elapsed = time.monotonic() - start
    assert status == 503, body
    assert "cluster view is unavailable" in body["error"]
    assert elapsed < UNAVAILABLE_WITHIN, elapsed


# ---------------------------------------------------------------------- tests


async def test_every_node_shows_every_room_with_its_node(views: Views,
                                                         nursery: trio.Nursery) -> None:
    ports = [views.port(i) for i in (1, 2, 3)]
    expected, _ = await spread_rooms(views, nursery)
    await wait_view(ports, expected)

    status, body = await rooms(ports[1], "?scope=cluster")
    assert status == 200 and body["scope"] == "cluster" and body["node"] == "node2"
    assert [n["node"] for n in body["nodes"]] == ["node1", "node2", "node3"]
    assert [n["rooms"] for n in body["nodes"]] == [2, 1, 1]
    assert body["skipped"] == [] and body["connections"] == 8
    alpha = next(room for room in body["rooms"] if room["roomId"] == "alpha")
    assert sorted(p["userId"] for p in alpha["participants"]) == ["client-alpha",
                                                                    "coach-alpha"]
    # scope=local (and no scope) is the node's own answer, as before.
    for query in ("", "?scope=local"):
        status, local = await rooms(ports[0], query)
        assert status == 200 and "scope" not in local
        assert {room["roomId"] for room in local["rooms"]} == {"alpha", "bravo"}
    # The admin gate holds for the cluster scope too; a wrong scope is a 400.
    assert (await rooms(ports[2], "?scope=cluster", token=None))[0] == 401
    assert (await rooms(ports[2], "?scope=cluster", token="wrong"))[0] == 401
    status, body = await rooms(ports[2], "?scope=everything")
    assert status == 400 and "unknown scope" in body["error"]


async def test_a_node_without_cluster_refuses_the_cluster_scope() -> None:
    port = free_port()
    proc = Proc("plain", [f"{BIN}/trio-server", "--port", str(port), "--db", "none"])
    try:
        proc.log.wait_for(r"listening on", 15)
        status, body = await rooms(port, "?scope=cluster", token=None)
        assert status == 404 and "--cluster" in body["error"]
        assert (await rooms(port, "", token=None))[0] == 200
    finally:
        proc.stop(timeout=10)


def test_the_options_and_their_environment_variables() -> None:
    from trio_server.cli import build_parser, config_from_args

    config, _ = config_from_args(build_parser().parse_args([]), environ={
        "SIGNALING_CLUSTER": "redis://10.0.0.1:6379/2", "SIGNALING_CLUSTER_TTL": "9"})
    assert config.cluster_url == "redis://10.0.0.1:6379/2" and config.cluster_ttl == 9.0
    assert "redis" not in repr(config)  # the URL may carry a password
    config, _ = config_from_args(build_parser().parse_args([]), environ={})
    assert config.cluster_url is None and config.cluster_ttl == 6.0
    with pytest.raises(SystemExit, match="cluster_url"):
        config_from_args(build_parser().parse_args(["--cluster", "http://x"]), environ={})
    with pytest.raises(SystemExit, match="cluster_ttl"):
        config_from_args(build_parser().parse_args(["--cluster-ttl", "0.5"]), environ={})


async def test_orbs_show_in_the_cluster_view(nursery: trio.Nursery) -> None:
    """An orb queued for dispatch (no worker) shows in another node's cluster view."""
    redis_proc = RedisProcess()
    redis_proc.start()
    cluster = Cluster(2, node_args=(*NODE_ARGS, "--cluster", redis_proc.url))
    try:
        cluster.start_node(1, "--orbs", "--orb-dispatch", redis_proc.url,
                           "--orb-dispatch-timeout", "60")
        cluster.start_node(2)
        await open_room(nursery, cluster.ports[0], "with-orb")
        port2 = cluster.ports[1]
        with trio.fail_after(WAIT):
            while True:
                _, body = await rooms(port2, "?scope=cluster")
                room = next((r for r in body.get("rooms", ()) if r["roomId"] == "with-orb"),
                            None)
                if room is not None and room["orb"] is not None \
                        and (room.get("orbHost") or {}).get("state") == "queued":
                    break
                await trio.sleep(0.05)
        assert room["node"] == "node1" and room["orb"]["state"] == "starting"
        assert body["orbs"] == 1
    finally:
        cluster.close()
        redis_proc.close()


async def test_a_killed_node_leaves_within_its_ttl_and_a_stopped_one_at_once(
        views: Views, nursery: trio.Nursery) -> None:
    ports = [views.port(i) for i in (1, 2, 3)]
    expected, seats = await spread_rooms(views, nursery)
    await wait_view(ports, expected)

    views.cluster.kill_node(2)  # kill -9: its key lapses
    killed = trio.current_time()
    survivors = {room: node for room, node in expected.items() if node != "node2"}
    await wait_view([ports[0], ports[2]], survivors, timeout=TTL + MARGIN)
    assert trio.current_time() - killed <= TTL + MARGIN
    await relays(*seats["alpha"])  # the other calls go on

    # SIGTERM: the node removes its key on the way out, so no TTL to wait for.
    client = views.redis.client()
    assert client.exists("signaling:cluster:node:node3") == 1
    stopped = views.cluster.nodes[3]
    assert await trio.to_thread.run_sync(stopped.stop, WAIT) == 0
    assert client.exists("signaling:cluster:node:node3") == 0
    assert "node3" not in client.zrange("signaling:cluster:nodes", 0, -1)
    client.close()
    await wait_view([ports[0]], {"alpha": "node1", "bravo": "node1"}, timeout=1.0)


async def test_redis_down_then_back(views: Views, nursery: trio.Nursery) -> None:
    ports = [views.port(i) for i in (1, 2, 3)]
    expected, seats = await spread_rooms(views, nursery)
    await wait_view(ports, expected)

    redis_port = views.redis.port
    assert views.redis.proc is not None
    views.redis.proc.kill()
    views.redis.proc.wait(10)
    for port in ports:
        await unavailable(port)
    # The nodes go on without it: calls relay, the local view answers.
    await relays(*seats["charlie"])
    await relays(*seats["alpha"][::-1])
    status, local = await rooms(ports[2], "?scope=local")
    assert status == 200 and [room["roomId"] for room in local["rooms"]] == ["delta"]
    await trio.sleep(TTL)  # several publishes fail meanwhile

    views.redis = RedisProcess(redis_port)  # same port, empty: the nodes publish again
    views.redis.start()
    took = await wait_view(ports, expected, timeout=TTL + MARGIN)
    assert took <= TTL + MARGIN
    assert "publishing again" in views.cluster.nodes[1].log.text()


async def test_a_frozen_redis_costs_a_bounded_503_then_recovers(
        views: Views, nursery: trio.Nursery) -> None:
    ports = [views.port(i) for i in (1, 2, 3)]
    expected, seats = await spread_rooms(views, nursery)
    await wait_view(ports, expected)

    assert views.redis.proc is not None
    views.redis.proc.send_signal(signal.SIGSTOP)
    try:
        # More readers at once than the node's Redis threads: each still answers in time.
        async with trio.open_nursery() as readers:
            for _ in range(12):
                readers.start_soon(unavailable, ports[0])
            readers.start_soon(unavailable, ports[1])
            readers.start_soon(relays, *seats["delta"])
        status, local = await rooms(ports[0])
        assert status == 200 and len(local["rooms"]) == 2
    finally:
        views.redis.proc.send_signal(signal.SIGCONT)
    await wait_view(ports, expected, timeout=TTL + MARGIN)


async def test_garbage_in_redis_is_skipped(views: Views, nursery: trio.Nursery) -> None:
    ports = [views.port(i) for i in (1, 2, 3)]
    expected, _ = await spread_rooms(views, nursery)
    await wait_view(ports, expected)

    client = views.redis.client()
    garbage: dict[str, str | bytes] = {
        "ghost-bytes": b"\xff\xfe not json at all",
        "ghost-list": "[1, 2, 3]",
        "ghost-rooms": json.dumps({"v": 1, "node": "ghost-rooms", "rooms": "many"}),
        "ghost-room": json.dumps({"v": 1, "node": "ghost-room", "rooms": [{"id": 1}]}),
        "ghost-version": json.dumps({"v": 99, "node": "ghost-version", "rooms": []}),
        "ghost-liar": json.dumps({"v": 1, "node": "node1", "rooms": [{"roomId": "fake"}]}),
    }
    for node, value in garbage.items():
        client.set(f"signaling:cluster:node:{node}", value, ex=60)
        client.zadd("signaling:cluster:nodes", {node: time.time() * 1000 + 60_000})
    # A real node's key overwritten: skipped until its next publish repairs it.
    client.set("signaling:cluster:node:node3", "{truncated", keepttl=True)
    status, body = await rooms(ports[1], "?scope=cluster")
    assert status == 200, body
    assert set(body["skipped"]) >= set(garbage)
    shown = {room["roomId"]: room["node"] for room in body["rooms"]}
    assert {room: node for room, node in expected.items() if node != "node3"}.items() \
        <= shown.items()
    assert "fake" not in shown
    await wait_view([ports[0]], expected, timeout=TTL)  # node3 republished
    assert "skipping node" in views.cluster.nodes[2].log.text()
    client.close()

"""The plain-HTTP side of the port: health, metrics, room snapshot, ICE configuration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import h11
import trio
from prometheus_client.parser import text_string_to_metric_families

from trio_server import HttpRequest, HttpResponse, ServerConfig
from trio_server.server_metrics import ServerStats

from .conftest import join, recv, send, ws_client
from .httpclient import request
from .serving import running_server


async def test_healthz() -> None:
    async with running_server() as server:
        status, headers, body = await request(server.port, "/healthz")
        assert status == 200 and headers["content-type"] == "application/json"
        health = json.loads(body)
        assert health["status"] == "ok"
        assert health["rooms"] == 0 and health["connections"] == 0
        assert health["uptime"] >= 0


async def test_unknown_paths_404_and_wrong_method_405() -> None:
    async with running_server() as server:
        assert (await request(server.port, "/nope"))[0] == 404
        assert (await request(server.port, "/healthz/extra"))[0] == 404
        status, headers, _ = await request(server.port, "/healthz", method="POST")
        assert status == 405 and "GET" in headers["allow"]


async def test_websocket_path_without_upgrade_is_426() -> None:
    async with running_server() as server:
        status, headers, _ = await request(server.port, "/ws-simple/room")
        assert status == 426 and headers["upgrade"] == "websocket"


async def test_head_and_keep_alive() -> None:
    async with running_server() as server:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        conn = h11.Connection(h11.CLIENT)
        status, headers, body = await request(server.port, "/healthz", method="HEAD",
                                              stream=stream, conn=conn)
        assert status == 200 and body == b"" and int(headers["content-length"]) > 0
        conn.start_next_cycle()
        status, _, body = await request(server.port, "/healthz", stream=stream, conn=conn)
        assert status == 200 and json.loads(body)["status"] == "ok"
        await stream.aclose()


async def test_metrics_parse_and_count() -> None:
    async with running_server() as server:
        async with ws_client(server, "m") as a, ws_client(server, "m") as b:
            await join(a, "a", "coach")
            await join(b, "b", "client")
            await recv(a)
            await send(a, {"type": "offer", "toId": "b", "offer": {"sdp": "x"}})
            await recv(b)
            await send(a, {"type": "bogus"})
            await recv(a)
            status, headers, body = await request(server.port, "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        values = {(s.name, tuple(sorted(s.labels.items()))): s.value
                  for f in families.values() for s in f.samples}
        assert values[("signaling_connections", ())] == 2
        assert values[("signaling_rooms", ())] == 1
        assert values[("signaling_participants", ())] == 2
        assert values[("signaling_orbs_running", ())] == 0
        assert values[("signaling_messages_received_total", (("type", "join"),))] == 2
        assert values[("signaling_messages_received_total", (("type", "offer"),))] == 1
        assert values[("signaling_messages_sent_total", (("type", "offer"),))] == 1
        assert values[("signaling_messages_sent_total", (("type", "peer-discovery"),))] == 2
        assert values[("signaling_errors_total", (("code", "unknown-type"),))] == 1
        assert values[("signaling_slow_consumer_disconnects_total", ())] == 0
        assert values[("signaling_relay_latency_seconds_count", ())] >= 3
        assert "signaling_relay_latency_seconds" in families


def test_count_handled_counts_as_count_in_and_observe_latency() -> None:
    one, two = ServerStats(), ServerStats()
    for data, seconds in ((b'{"type":"offer","toId":"b"}', 0.00003),
                          (b'{"toId":"b","type":"answer"}', 0.002),
                          (b'{"type":"no-such-type"}', 5.0), (b"[1]", 0.0001)):
        one.count_in(data)
        one.observe_latency(seconds)
        two.count_handled(data, seconds)
    assert two.messages_in == one.messages_in == {"offer": 1, "answer": 1, "other": 2}
    assert two.latency_counts == one.latency_counts
    assert two.latency_sum == one.latency_sum


async def test_two_servers_keep_separate_metrics() -> None:
    async with running_server() as one, running_server() as two:
        async with ws_client(one, "x") as ws:
            await join(ws, "only-on-one", "coach")
            _, _, body = await request(two.port, "/metrics")
        assert 'signaling_messages_received_total{type="join"}' not in body.decode()


async def test_api_rooms_open_without_token() -> None:
    async with running_server() as server, ws_client(server, "snap") as ws:
        await join(ws, "coach-1", "coach")
        status, _, body = await request(server.port, "/api/rooms")
        assert status == 200
        snapshot = json.loads(body)
        assert snapshot["connections"] == 1
        [room] = snapshot["rooms"]
        assert room["roomId"] == "snap"
        assert [p["userId"] for p in room["participants"]] == ["coach-1"]


async def test_api_rooms_with_admin_token() -> None:
    async with running_server(ServerConfig(port=0, admin_token="s3cret")) as server:
        status, headers, _ = await request(server.port, "/api/rooms")
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        bad = {"Authorization": "Bearer wrong"}
        assert (await request(server.port, "/api/rooms", headers=bad))[0] == 401
        good = {"Authorization": "Bearer s3cret"}
        status, _, body = await request(server.port, "/api/rooms", headers=good)
        assert status == 200 and json.loads(body)["rooms"] == []
        # Health stays public.
        assert (await request(server.port, "/healthz"))[0] == 200


async def test_turn_credentials_without_turn_is_empty() -> None:
    async with running_server() as server:
        status, _, body = await request(server.port, "/api/turn-credentials?userId=u1")
        assert status == 200 and json.loads(body) == {"iceServers": []}


async def test_turn_credentials_hmac() -> None:
    config = ServerConfig(port=0, turn_secret="north-wind", turn_url="turn:127.0.0.1:3478",
                          turn_ttl=600, stun_urls=("stun:127.0.0.1:3478",))
    async with running_server(config) as server:
        before = int(time.time())
        status, _, body = await request(server.port, "/api/turn-credentials?userId=coach-7")
        after = int(time.time())
    assert status == 200
    stun, turn = json.loads(body)["iceServers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    assert turn["urls"] == ["turn:127.0.0.1:3478"]
    expiry, user = turn["username"].split(":", 1)
    assert user == "coach-7" and before + 600 <= int(expiry) <= after + 600
    expected = base64.b64encode(hmac.new(b"north-wind", turn["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


async def test_turn_credentials_refuse_a_bad_user_id() -> None:
    async with running_server(ServerConfig(port=0, turn_secret="k", turn_url="turn:x")) as s:
        assert (await request(s.port, "/api/turn-credentials?userId=a:b"))[0] == 400


async def test_routes_can_be_added() -> None:
    async with running_server() as server:
        async def hello(req: HttpRequest) -> HttpResponse:
            return HttpResponse(200, f"hi {req.query.get('name')}".encode())

        async def static(req: HttpRequest) -> HttpResponse:
            return HttpResponse(200, req.path.encode())

        server.router.add("GET", "/hello", hello)
        server.router.add_prefix("GET", "/extra/", static)
        assert (await request(server.port, "/hello?name=ada"))[2] == b"hi ada"
        assert (await request(server.port, "/extra/a/b.js"))[2] == b"/extra/a/b.js"

"""A three-party call's signaling through examples/embed_asyncio.py, over real sockets.

The example is the proof that the core is sans-IO: the same core, behind asyncio and the
`websockets` library, must carry a coach, a client and an orb through join, offer/answer,
ICE, orb status and departure exactly as docs/protocol.md says.
"""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from .servers import EXAMPLE, RunningServer, running_server

STEP = 5.0  # every wait below is bounded by this


@pytest.fixture
def example() -> Iterator[RunningServer]:
    with running_server([sys.executable, str(EXAMPLE), "--port", "0"]) as server:
        yield server


async def recv(ws: WebSocketConnection) -> dict[str, Any]:
    with trio.fail_after(STEP):
        message = json.loads(await ws.get_message())
    assert isinstance(message, dict)
    return message


async def send(ws: WebSocketConnection, message: dict[str, Any]) -> None:
    await ws.send_message(json.dumps(message))


def join(room: str, user_id: str, role: str, name: str) -> dict[str, Any]:
    ptype = "ai" if role == "ai" else "human"
    return {"type": "join", "roomId": room, "userId": user_id, "userName": name,
            "userRole": role, "participantType": ptype}


async def test_three_party_exchange(example: RunningServer) -> None:
    room = "embed-room-1"
    url = f"{example.ws_url}/ws-simple/{room}"
    sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    with trio.fail_after(30):
        async with open_websocket_url(url) as coach, open_websocket_url(url) as orb, \
                open_websocket_url(url) as client:
            await send(coach, join(room, "coach-123", "coach", "Coach Carol"))
            first = await recv(coach)
            assert (first["type"], first["roomId"], first["peers"]) == ("peer-discovery", room, [])

            await send(orb, join(room, "ai-orb-s1", "ai", "AI Assistant"))
            discovery = await recv(orb)
            assert [p["userId"] for p in discovery["peers"]] == ["coach-123"]
            assert discovery["peers"][0]["shouldCreateOffer"] is False
            joined = await recv(coach)
            assert joined["type"] == "user-joined" and joined["userId"] == "ai-orb-s1"
            assert joined["shouldCreateOffer"] is True  # the human offers to the orb

            await send(client, join(room, "client-456", "client", "Client Chris"))
            discovery = await recv(client)
            assert [(p["userId"], p["shouldCreateOffer"]) for p in discovery["peers"]] == [
                ("coach-123", False), ("ai-orb-s1", True)]
            for ws, offers in ((coach, True), (orb, False)):
                joined = await recv(ws)
                assert joined["userId"] == "client-456"
                assert joined["shouldCreateOffer"] is offers

            # The two offerers each offer; the answers and candidates come back, with fromId.
            for offerer, offerer_id, answerer, answerer_id in (
                    (coach, "coach-123", client, "client-456"),
                    (coach, "coach-123", orb, "ai-orb-s1"),
                    (client, "client-456", orb, "ai-orb-s1")):
                await send(offerer, {"type": "offer", "toId": answerer_id,
                                     "offer": {"type": "offer", "sdp": sdp}})
                got = await recv(answerer)
                assert got["type"] == "offer" and got["fromId"] == offerer_id
                assert got["offer"]["sdp"] == sdp
                await send(answerer, {"type": "answer", "toId": offerer_id,
                                      "answer": {"type": "answer", "sdp": sdp}})
                got = await recv(offerer)
                assert (got["type"], got["fromId"]) == ("answer", answerer_id)
                candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                             "sdpMid": "0", "sdpMLineIndex": 0}
                await send(answerer, {"type": "ice-candidate", "toId": offerer_id,
                                      "candidate": candidate})
                got = await recv(offerer)
                assert got["candidate"] == candidate and got["fromId"] == answerer_id

            await send(orb, {"type": "ai_status", "status": "listening", "sessionId": "s1"})
            for ws in (coach, client):
                got = await recv(ws)
                assert (got["type"], got["status"], got["fromId"]) == (
                    "ai_status", "listening", "ai-orb-s1")
            await send(coach, {"type": "ai_control", "action": "pause"})
            got = await recv(orb)
            assert (got["type"], got["action"], got["fromId"]) == (
                "ai_control", "pause", "coach-123")
            await send(client, {"type": "client_signal", "action": "raise-hand"})
            for ws in (coach, orb):
                got = await recv(ws)
                assert (got["type"], got["fromId"]) == ("client_signal", "client-456")

            await send(client, {"type": "leave"})
            for ws in (coach, orb):
                got = await recv(ws)
                assert (got["type"], got["userId"]) == ("user-left", "client-456")
            await send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                             "reason": "session_complete"})
            got = await recv(coach)
            assert (got["type"], got["userId"]) == ("user-left", "ai-orb-s1")
            # Nothing else was queued for the coach: its ping is answered next.
            await send(coach, {"type": "ping"})
            assert await recv(coach) == {"type": "pong"}


def test_example_refuses_bad_paths(example: RunningServer) -> None:
    for path, status in (("/nope", 404), ("/ws-simple/bad$room", 400)):
        conn = http.client.HTTPConnection(example.host, example.port, timeout=STEP)
        conn.request("GET", path, headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        assert conn.getresponse().status == status
        conn.close()

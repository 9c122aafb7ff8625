"""Who one claims to be: spoofed senders, other rooms, roles, replacement, and bad tokens.

Every case runs next to the bystanders of ``conftest.py`` (one pair in the attacked room, one
in another room) and ends with them checked unharmed.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import orjson
import pytest
import trio

from trio_server import SignalingServer
from trio_server.conformance.raw import Closed, RawClient

from .conftest import (
    ABUSED_ROOM,
    QUIET_ROOM,
    SECRET,
    WAIT,
    bystanders,
    join,
    running,
    token_for,
)

UNAUTHORIZED_TEXT = "missing or invalid join token"


async def _refused(server: SignalingServer, join_message: dict[str, Any],
                   room: str = ABUSED_ROOM) -> tuple[dict[str, Any], int | None]:
    """Send one join on a fresh connection; (the reply, the close code that followed)."""
    assert server.port is not None
    with trio.fail_after(WAIT):
        ws = await RawClient.open(server.port, f"/ws-simple/{room}")
        try:
            await ws.send_json(join_message)
            reply = await ws.recv_json()
            code = await ws.close_code_after()
        finally:
            await ws.aclose()
    return reply, code


def _assert_unauthorized(reply: dict[str, Any], code: int | None) -> None:
    assert reply == {"type": "error", "code": "unauthorized", "message": UNAUTHORIZED_TEXT,
                     "ref": "join"}, reply
    assert code == 4003


def _join(user: str, role: str, token: Any, **extra: Any) -> dict[str, Any]:
    message = {"type": "join", "roomId": ABUSED_ROOM, "userId": user, "userName": user,
               "userRole": role, **extra}
    if token is not None:
        message["token"] = token
    return message


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "open"])
async def test_spoofed_from_id_is_overwritten_with_the_sender(tokens: bool) -> None:
    secret = SECRET if tokens else None
    async with running(join_secret=secret) as server, \
            bystanders(server, secret=secret) as crowd:
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client", secret=secret)
        victim, coach = f"{ABUSED_ROOM}-client", f"{ABUSED_ROOM}-coach"
        await mallory.send_json({"type": "offer", "toId": coach, "fromId": victim,
                                 "offer": {"type": "offer", "sdp": "v=0 spoof"}})
        await mallory.send_json({"type": "client_signal", "action": "bystander", "seq": 0,
                                 "fromId": victim})
        await mallory.send_json({"type": "ping"})
        with trio.fail_after(WAIT):
            assert (await mallory.recv_until("pong")) == {"type": "pong"}
            while len([m for m in crowd.member(coach).others if m.get("fromId")]) < 2:
                await trio.sleep(0.01)
        relayed = [m for m in crowd.member(coach).others if m.get("fromId")]
        assert [(m["type"], m["fromId"]) for m in relayed] == [
            ("offer", "mallory"), ("client_signal", "mallory")]
        assert relayed[0]["offer"]["sdp"] == "v=0 spoof"
        await mallory.aclose()
    # The spoofed client_signal carried a bystander-looking seq: had the server kept fromId,
    # the coach would have counted a message its partner never sent (a duplicate seq 0).


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "open"])
async def test_a_participant_of_another_room_cannot_be_reached(tokens: bool) -> None:
    secret = SECRET if tokens else None
    async with running(join_secret=secret) as server, \
            bystanders(server, secret=secret) as crowd:
        assert server.port is not None
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client", secret=secret)
        outsider = f"{QUIET_ROOM}-coach"
        replies = []
        with trio.fail_after(WAIT):
            for kind, body in (("offer", {"offer": {"sdp": "x"}}),
                               ("answer", {"answer": {"sdp": "x"}}),
                               ("ice-candidate", {"candidate": {"candidate": "x"}}),
                               ("client_signal", {"action": "x"})):
                await mallory.send_json({"type": kind, "toId": outsider, **body})
                replies.append(await mallory.recv_until("error"))
        assert [r["code"] for r in replies] == ["unknown-target"] * 4
        assert all(outsider not in r["message"] for r in replies)
        await mallory.aclose()
    quiet = [m for m in crowd.members if m.user_id.startswith(QUIET_ROOM)]
    assert all(member.heard_from("mallory") == [] for member in quiet)


async def test_joining_as_ai_or_another_role_than_the_tokens_is_unauthorized() -> None:
    async with running() as server, bystanders(server) as crowd:
        client_token = token_for(ABUSED_ROOM, "mallory", "client")
        attempts = [
            _join("mallory", "ai", client_token, participantType="ai"),
            _join("mallory", "coach", client_token),
            _join("mallory", "client", client_token, participantType="ai"),
            _join("ai-orb-fake", "ai", client_token, participantType="ai"),
            _join("mallory", "helper", token_for(ABUSED_ROOM, "mallory", "helper"),
                  participantType="ai"),
        ]
        for attempt in attempts:
            _assert_unauthorized(*await _refused(server, attempt))
        assert crowd.heard_from("mallory") == [] and crowd.heard_from("ai-orb-fake") == []


async def test_replacing_someone_else_without_their_token_is_unauthorized() -> None:
    async with running() as server, bystanders(server) as crowd:
        victim = f"{ABUSED_ROOM}-coach"
        attempts = [
            _join(victim, "coach", None),  # no token at all
            _join(victim, "coach", token_for(ABUSED_ROOM, "mallory", "client")),  # its own
            _join(victim, "coach", token_for(QUIET_ROOM, victim, "coach")),  # another room
            _join(victim, "client", token_for(ABUSED_ROOM, f"{ABUSED_ROOM}-client", "client")),
        ]
        for attempt in attempts:
            _assert_unauthorized(*await _refused(server, attempt))
        assert [p.user_id for p in server.core.snapshot().rooms[0].participants][:2] == [
            f"{ABUSED_ROOM}-coach", f"{ABUSED_ROOM}-client"]
        assert crowd.heard_from(victim) == []  # no user-left, no user-joined


def _tampered(token: str, **changes: Any) -> str:
    head, body, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    new_body = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{head}.{new_body}.{signature}"


def _bad_tokens() -> dict[str, Any]:
    good = token_for(ABUSED_ROOM, "mallory", "client")
    now = time.time()
    return {
        "forged": token_for(ABUSED_ROOM, "mallory", "coach",
                            secret="not-the-servers-secret-0123456789abcdef"),
        "expired": token_for(ABUSED_ROOM, "mallory", "client", ttl=60, now=now - 3600),
        "tampered-role": _tampered(good, userRole="coach"),
        "tampered-expiry": _tampered(token_for(ABUSED_ROOM, "mallory", "client", ttl=60,
                                               now=now - 3600), exp=int(now) + 3600),
        "tampered-signature": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "alg-none": jwt.encode({"roomId": ABUSED_ROOM, "userId": "mallory",
                                "userRole": "client", "participantType": "human",
                                "exp": int(now) + 600}, None, algorithm="none"),
        "no-expiry": jwt.encode({"roomId": ABUSED_ROOM, "userId": "mallory",
                                 "userRole": "client", "participantType": "human"},
                                SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
        "empty": "",
        "missing": None,
    }


async def test_forged_expired_and_tampered_tokens_are_unauthorized() -> None:
    async with running() as server, bystanders(server) as crowd:
        for name, token in _bad_tokens().items():
            reply, code = await _refused(server, _join("mallory", "client", token))
            assert reply.get("code") == "unauthorized", name
            _assert_unauthorized(reply, code)
        # A token that is not even a string is a malformed join, not a credential.
        assert server.port is not None
        with trio.fail_after(WAIT):
            ws = await RawClient.open(server.port, f"/ws-simple/{ABUSED_ROOM}")
            await ws.send_json(_join("mallory", "client", 12345))
            assert (await ws.recv_json())["code"] == "invalid-message"
            await ws.aclose()
        assert crowd.heard_from("mallory") == []
        # The genuine token still works after all that.
        mallory = await join(server.port, ABUSED_ROOM, "mallory", "client")
        await mallory.aclose()


async def test_a_refused_join_reveals_nothing_about_the_room() -> None:
    """The answer to a bad token is the same whether the room or the userId exists."""
    async with running() as server, bystanders(server):
        answers = set()
        for room, user in ((ABUSED_ROOM, f"{ABUSED_ROOM}-coach"), (ABUSED_ROOM, "nobody"),
                           ("no-such-room", "nobody")):
            reply, code = await _refused(server, {"type": "join", "userId": user,
                                                  "userRole": "coach", "token": "x.y.z"}, room)
            answers.add((orjson.dumps(reply), code))
        assert len(answers) == 1
        assert "no-such-room" not in [r.room_id for r in server.core.snapshot().rooms]


async def test_the_owner_of_a_user_id_can_still_replace_itself() -> None:
    """§6 with tokens on: a valid token for that userId is exactly what replacement needs."""
    async with running() as server, bystanders(server) as crowd:
        assert server.port is not None
        first = await join(server.port, ABUSED_ROOM, "carol", "client")
        second = await join(server.port, ABUSED_ROOM, "carol", "client")
        with trio.fail_after(WAIT):
            assert await first.close_code_after() == 4001
            await second.send_json({"type": "ping"})
            assert await second.recv_until("pong") == {"type": "pong"}
        await first.aclose()
        await second.aclose()
    kinds = [m["type"] for m in crowd.member(f"{ABUSED_ROOM}-coach").heard_from("carol")]
    # The replacement is a departure and an arrival; the last close, a TCP close without a
    # close frame, leaves carol's seat away for the reconnect grace (docs/protocol.md).
    assert kinds == ["user-joined", "user-left", "user-joined", "user-away"]


async def test_closed_attacker_connection_cannot_send_more() -> None:
    """After the 4003 the socket is done: later frames reach nobody."""
    async with running() as server, bystanders(server) as crowd:
        assert server.port is not None
        with trio.fail_after(WAIT):
            ws = await RawClient.open(server.port, f"/ws-simple/{ABUSED_ROOM}")
            await ws.send_json(_join(f"{ABUSED_ROOM}-coach", "coach", None))
            for index in range(20):
                try:
                    await ws.send_json({"type": "client_signal", "action": "x", "n": index})
                except (trio.BrokenResourceError, OSError):
                    break
            with pytest.raises(Closed):
                while True:
                    await ws.recv_json()
            await ws.aclose()
        assert all(m.get("action") != "x" for member in crowd.members for m in member.others)

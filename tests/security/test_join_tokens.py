"""Signed join tokens: what passes, and every way a token is refused."""

from __future__ import annotations

import time

import orjson
import pytest

from signaling_core import (
    Close,
    CloseCode,
    ConnectionOpened,
    JoinRequest,
    Send,
    SignalingCore,
    TextReceived,
)
from signaling_core.join_tokens import make_authorizer, mint_token, token_allows

SECRET = "s3cret-for-tests-0123456789abcdef-xyz"


def _request(token: str | None, user_id: str = "coach-1", role: str = "coach") -> JoinRequest:
    return JoinRequest(user_id, "Coach", role, "ai" if role == "ai" else "human", token)


def test_a_fresh_token_allows_exactly_its_join() -> None:
    token = mint_token(SECRET, room_id="r1", user_id="coach-1", user_role="coach", now=time.time())
    assert token_allows(SECRET, token, "r1", _request(token), now=time.time())


@pytest.mark.parametrize(
    ("room", "user", "role"),
    [("r2", "coach-1", "coach"), ("r1", "coach-2", "coach"), ("r1", "coach-1", "client")],
)
def test_claims_that_differ_from_the_join_are_refused(room: str, user: str, role: str) -> None:
    token = mint_token(SECRET, room_id="r1", user_id="coach-1", user_role="coach", now=time.time())
    assert not token_allows(SECRET, token, room, _request(token, user, role), now=time.time())


def test_ai_type_must_match_the_token() -> None:
    token = mint_token(SECRET, room_id="r1", user_id="bot", user_role="helper",
                       participant_type="human", now=time.time())
    request = JoinRequest("bot", "Bot", "helper", "ai", token)
    assert not token_allows(SECRET, token, "r1", request, now=time.time())


def test_expired_tampered_forged_and_missing_tokens_are_refused() -> None:
    expired = mint_token(SECRET, room_id="r1", user_id="coach-1", user_role="coach",
                         ttl=10, now=time.time() - 3600)
    assert not token_allows(SECRET, expired, "r1", _request(expired), now=time.time())
    good = mint_token(SECRET, room_id="r1", user_id="coach-1", user_role="coach", now=time.time())
    head, body, sig = good.split(".")
    tampered = f"{head}.{body[:-2]}AA.{sig}"
    assert not token_allows(SECRET, tampered, "r1", _request(tampered), now=time.time())
    forged = mint_token("another-secret-0123456789abcdef-0123456", room_id="r1",
                        user_id="coach-1", user_role="coach", now=time.time())
    assert not token_allows(SECRET, forged, "r1", _request(forged), now=time.time())
    assert not token_allows(SECRET, None, "r1", _request(None), now=time.time())
    assert not token_allows(SECRET, "not-a-jwt", "r1", _request("not-a-jwt"), now=time.time())


def test_core_refuses_without_revealing_the_room_and_closes_4003() -> None:
    core = SignalingCore(authorize_join=make_authorizer(SECRET, time.time))
    token = mint_token(SECRET, room_id="r1", user_id="coach-1", user_role="coach", now=time.time())
    core.handle(ConnectionOpened(1, "r1", 0.0))
    join = {"type": "join", "userId": "coach-1", "userRole": "coach", "token": token}
    assert any(isinstance(c, Send) for c in core.handle(TextReceived(1, orjson.dumps(join), 0.0)))
    # An attacker tries to replace coach-1 without its token.
    core.handle(ConnectionOpened(2, "r1", 0.0))
    out = core.handle(TextReceived(2, orjson.dumps({**join, "token": None}), 0.0))
    assert isinstance(out[0], Send)
    reply = orjson.loads(out[0].data)
    assert reply["code"] == "unauthorized"
    assert "r1" not in reply["message"] and "coach-1" not in reply["message"]
    assert out[1] == Close(2, CloseCode.UNAUTHORIZED, "unauthorized")
    assert len(out) == 2  # nobody in the room heard anything
    assert [p.user_id for p in core.snapshot().rooms[0].participants] == ["coach-1"]

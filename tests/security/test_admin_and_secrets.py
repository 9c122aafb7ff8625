"""The admin endpoint's Bearer token, and secrets kept out of logs, metrics and snapshots."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import pytest
import trio
from server.httpclient import request

from trio_server import ServerConfig
from trio_server.conformance.raw import RawClient
from trio_server.logs import JsonFormatter, TextFormatter

from .conftest import (
    ABUSED_ROOM,
    ADMIN,
    SECRET,
    WAIT,
    bystanders,
    join,
    running,
    token_for,
)

TURN_SECRET = "abuse-suite-turn-secret-aaaabbbbccccdddd"


async def get(port: int, target: str, headers: dict[str, str] | None = None
              ) -> tuple[int, bytes]:
    status, _, body = await request(port, target, headers=headers, wait=WAIT)
    return status, body


async def test_admin_endpoint_needs_the_exact_bearer_token() -> None:
    async with running() as server, bystanders(server):
        assert server.port is not None
        refused = [None, ADMIN, f"Bearer {ADMIN[:-1]}", f"Bearer {ADMIN}x", f"Basic {ADMIN}",
                   "Bearer", f"Bearer{ADMIN}", f"Bearer {SECRET}"]
        for value in refused:
            headers = {} if value is None else {"Authorization": value}
            status, body = await get(server.port, "/api/rooms", headers)
            assert status == 401, value
            assert body == b"unauthorized\n"
        for value in (f"Bearer {ADMIN}", f"bearer {ADMIN}", f"BEARER  {ADMIN}"):
            status, body = await get(server.port, "/api/rooms", {"Authorization": value})
            assert status == 200, value
            assert ABUSED_ROOM.encode() in body


async def test_admin_token_is_compared_in_constant_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("trio_server.admin.hmac.compare_digest", spy)
    async with running() as server:
        assert server.port is not None
        for value in (f"Bearer {ADMIN}", "Bearer nope", f"Basic {ADMIN}"):
            await get(server.port, "/api/rooms", {"Authorization": value})
    # Every attempt, even one with the wrong scheme, went through compare_digest.
    assert [b for _, b in calls] == [ADMIN.encode()] * 3


async def test_with_join_tokens_the_room_list_needs_an_admin_token() -> None:
    async with running(admin_token=None) as server, bystanders(server):
        assert server.port is not None
        status, body = await get(server.port, "/api/rooms")
        assert status == 403
        assert ABUSED_ROOM.encode() not in body


async def test_secrets_never_reach_logs_metrics_or_snapshots(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config_kwargs: dict[str, Any] = {"turn_secret": TURN_SECRET, "turn_url": "turn:t.example"}
    used_tokens: list[str] = []
    bodies: list[bytes] = []
    async with running(**config_kwargs) as server, bystanders(server):
        assert server.port is not None
        # Honest joins, a forged and a tampered one, and a wrong admin guess.
        used_tokens.append(token_for(ABUSED_ROOM, "mallory", "client"))
        ws = await join(server.port, ABUSED_ROOM, "mallory", "client", token=used_tokens[0])
        await ws.aclose()
        forged = token_for(ABUSED_ROOM, "mallory", "client", secret=TURN_SECRET)
        tampered = used_tokens[0][:-3] + "abc"
        for bad in (forged, tampered):
            used_tokens.append(bad)
            with trio.fail_after(WAIT):
                ws = await RawClient.open(server.port, f"/ws-simple/{ABUSED_ROOM}")
                await ws.send_json({"type": "join", "userId": "mallory", "userRole": "client",
                                    "token": bad})
                assert await ws.close_code_after() == 4003
                await ws.aclose()
        await get(server.port, "/api/rooms", {"Authorization": "Bearer guess"})
        for target, headers in (("/metrics", {}), ("/healthz", {}),
                                ("/api/rooms", {"Authorization": f"Bearer {ADMIN}"}),
                                ("/api/turn-credentials?userId=mallory",
                                 {"Authorization": f"Bearer {used_tokens[0]}"})):
            status, body = await get(server.port, target, headers)
            assert status == 200, target
            bodies.append(body)
        config_repr = repr(server.config)
    records = list(caplog.records)
    assert any(getattr(r, "event", "") == "participant-joined" for r in records)
    text = "\n".join(TextFormatter().format(r) for r in records)
    json_lines = "\n".join(JsonFormatter().format(r) for r in records)
    haystacks = {"text log": text, "json log": json_lines, "config repr": config_repr,
                 **{f"body {i}": b.decode("utf-8", "replace") for i, b in enumerate(bodies)}}
    needles = {"join secret": SECRET, "admin token": ADMIN, "turn secret": TURN_SECRET}
    for index, token in enumerate(used_tokens):
        needles[f"token {index}"] = token
        needles[f"token {index} signature"] = token.rsplit(".", 1)[1]
    for where, hay in haystacks.items():
        for what, needle in needles.items():
            assert needle not in hay, f"the {what} appears in the {where}"


def test_config_repr_hides_secrets() -> None:
    config = ServerConfig(join_secret=SECRET, admin_token=ADMIN, turn_secret=TURN_SECRET)
    for secret in (SECRET, ADMIN, TURN_SECRET):
        assert secret not in repr(config)
        assert secret not in str(config)


def test_a_short_join_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ServerConfig(join_secret="short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ServerConfig(join_secret="")

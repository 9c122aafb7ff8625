"""TURN credentials for participants only: bound to a join token's room and user, short-lived,
rate-limited per address, and accepted by a real coturn (``use-auth-secret``) on loopback.

The coturn case starts Debian's ``turnserver`` on 127.0.0.1 with a throwaway secret and has
aioice (the ICE library under aiortc, so under the orb) allocate a relay with the credentials
the server issued; bad and expired ones must be refused by coturn itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioice.turn
import pytest
import trio
from server.httpclient import request

from signaling_core.join_tokens import mint_token
from testkit.coturn import running_coturn
from trio_server import ServerConfig
from trio_server.turn import turn_password

from .conftest import SECRET, WAIT, running, token_for
from .netns import Namespace, fetch, namespace

TURN_SECRET = "turn-suite-static-auth-secret-0123456789"
ROOM = "turn-room"


def turn_config(**settings: Any) -> ServerConfig:
    base: dict[str, Any] = {"port": 0, "join_secret": SECRET, "turn_secret": TURN_SECRET,
                            "turn_url": "turn:127.0.0.1:3478"}
    base.update(settings)
    return ServerConfig(**base)


async def credentials(port: int, query: str, token: str | None = None,
                      source: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    stream = None
    if source is not None:
        with trio.fail_after(WAIT):
            stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
    try:
        return await request(port, f"/api/turn-credentials{query}", headers=headers,
                             stream=stream, wait=WAIT)
    finally:
        if stream is not None:
            await stream.aclose()


def turn_entry(body: bytes) -> dict[str, Any]:
    [entry] = [s for s in json.loads(body)["iceServers"] if "username" in s]
    assert isinstance(entry, dict)
    return entry


async def test_with_join_tokens_only_a_participant_gets_credentials_for_itself() -> None:
    now = time.time()
    async with running(turn_config()) as server:
        assert server.port is not None
        port = server.port
        query = f"?roomId={ROOM}&userId=client-1"
        refusals = {
            "no token": await credentials(port, query),
            "another room's token": await credentials(
                port, query, token_for("other-room", "client-1", "client")),
            "another user's token": await credentials(
                port, query, token_for(ROOM, "client-2", "client")),
            "expired token": await credentials(
                port, query, token_for(ROOM, "client-1", "client", ttl=60, now=now - 3600)),
            "forged token": await credentials(
                port, query, token_for(ROOM, "client-1", "client", secret=TURN_SECRET)),
            "not a bearer": await credentials(port, query, token="x"),
        }
        expected = {"no token": 401, "another room's token": 403, "another user's token": 403,
                    "expired token": 401, "forged token": 401, "not a bearer": 401}
        for what, (status, _, body) in refusals.items():
            assert status == expected[what], (what, body)
            assert b"iceServers" not in body and b"\"credential\"" not in body, what
        token = token_for(ROOM, "client-1", "client")
        ok = [await credentials(port, query, token), await credentials(port, "", token)]
    for status, headers, body in ok:
        assert status == 200 and headers["cache-control"] == "no-store"
        entry = turn_entry(body)
        expiry, room, user = entry["username"].split(":")
        # Bound to the token's room and user; an hour by default.
        assert (room, user) == (ROOM, "client-1")
        assert now + 3600 - 5 <= int(expiry) <= time.time() + 3600
        # coturn's TURN REST rule: password = base64(HMAC-SHA1(secret, username)).
        digest = hmac.new(TURN_SECRET.encode(), entry["username"].encode(), hashlib.sha1)
        assert entry["credential"] == base64.b64encode(digest.digest()).decode()


async def test_the_orb_workers_token_gets_credentials_for_the_orb() -> None:
    orb = "ai-orb-0123456789abcdef"
    token = mint_token(SECRET, room_id=ROOM, user_id=orb, user_role="ai", now=time.time())
    async with running(turn_config()) as server:
        assert server.port is not None
        status, _, body = await credentials(server.port, f"?roomId={ROOM}&userId={orb}", token)
    assert status == 200
    assert turn_entry(body)["username"].endswith(f":{ROOM}:{orb}")


async def test_credentials_are_rate_limited_per_address() -> None:
    token = token_for(ROOM, "client-1", "client")
    config = turn_config(turn_rate_limit=3, cap_loopback=True)
    async with running(config) as server:
        assert server.port is not None
        answers = [await credentials(server.port, "", token, source="127.0.0.5")
                   for _ in range(4)]
        assert [a[0] for a in answers] == [200, 200, 200, 429]
        assert int(answers[3][1]["retry-after"]) >= 1
        assert b"\"credential\"" not in answers[3][2]
        # Another address has its own allowance.
        assert (await credentials(server.port, "", token, source="127.0.0.6"))[0] == 200
        # A refused request costs nothing more: still 429, not a token check.
        assert (await credentials(server.port, "", None, source="127.0.0.5"))[0] == 429


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with namespace() as created:
        yield created


async def test_without_join_tokens_a_remote_address_is_still_rate_limited(
        ns: Namespace) -> None:
    config = ServerConfig(host="0.0.0.0", port=0, turn_secret=TURN_SECRET,
                          turn_url="turn:127.0.0.1:3478", turn_rate_limit=2)
    async with running(config) as server:
        assert server.port is not None
        target = f"/api/turn-credentials?roomId={ROOM}&userId=guest"
        remote = await fetch(ns, server.port, [(target, {})] * 3)
        assert [status for status, _, _ in remote] == [200, 200, 429]
        assert int(remote[2][1]["Retry-After"]) >= 1
        assert turn_entry(remote[0][2].encode())["username"].endswith(f":{ROOM}:guest")
        # Loopback is exempt by default (a reverse proxy on this host would be one address).
        for _ in range(3):
            assert (await credentials(server.port, f"?roomId={ROOM}&userId=guest"))[0] == 200


# ---------------------------------------------------------------- a real coturn on loopback

@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    with running_coturn(tmp_path, TURN_SECRET) as port:
        yield port


def allocate(port: int, username: str, password: str) -> str:
    """Allocate a relay at coturn with aioice: ``"relayed"`` or the failure's text."""

    async def attempt() -> str:
        try:
            transport, _ = await asyncio.wait_for(aioice.turn.create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", port), username, password), 10)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        transport.close()
        return "relayed"

    return asyncio.run(attempt())


async def test_coturn_relays_with_issued_credentials_and_refuses_others(coturn: int) -> None:
    user_token = token_for(ROOM, "coach-1", "coach")
    orb = "ai-orb-fedcba9876543210"
    orb_token = mint_token(SECRET, room_id=ROOM, user_id=orb, user_role="ai", now=time.time())
    async with running(turn_config(turn_url=f"turn:127.0.0.1:{coturn}")) as server:
        assert server.port is not None
        issued = {}
        for who, token in (("coach", user_token), ("orb", orb_token)):
            status, _, body = await credentials(server.port, f"?roomId={ROOM}", token)
            assert status == 200
            issued[who] = turn_entry(body)
    assert issued["coach"]["urls"] == [f"turn:127.0.0.1:{coturn}"]
    expired = f"{int(time.time()) - 60}:{ROOM}:coach-1"
    cases = {
        "coach": (issued["coach"]["username"], issued["coach"]["credential"]),
        "orb": (issued["orb"]["username"], issued["orb"]["credential"]),
        "wrong password": (issued["coach"]["username"], turn_password("not-it", "x")),
        "another secret": (issued["coach"]["username"],
                           turn_password("not-the-secret", issued["coach"]["username"])),
        "expired": (expired, turn_password(TURN_SECRET, expired)),
    }
    with trio.fail_after(60):
        results = {what: await trio.to_thread.run_sync(allocate, coturn, *creds)
                   for what, creds in cases.items()}
    assert results["coach"] == "relayed" and results["orb"] == "relayed", results
    for what in ("wrong password", "another secret", "expired"):
        assert "401" in results[what], (what, results[what])

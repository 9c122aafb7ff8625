"""A server listening beyond loopback: the admin side stays local without ``--admin-token``.

Requests from another address come from a network namespace the test creates (see
``netns.py``), so the server sees a real non-loopback client; loopback requests go to
127.0.0.1 on the same server (it listens on 0.0.0.0). Also: conversation-content routes are
never served without the admin token, the start warnings, and HSTS under TLS.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from server.httpclient import request
from server.serving import running_server
from server.test_tls import make_certificate

from trio_server import ServerConfig, SignalingServer
from trio_server.http import HttpRequest, HttpResponse, json_response
from trio_server.ledger import open_ledger

from .conftest import ADMIN, SECRET, WAIT, join
from .netns import Namespace, fetch, namespace

ROOM = "exposed-room"
ADMIN_ROUTES = ("/api/rooms", "/api/sessions")


@asynccontextmanager
async def exposed(tmp_path: Path, **settings: Any) -> AsyncIterator[SignalingServer]:
    """A server on 0.0.0.0 with a ledger (so /api/sessions exists) and a coach in ROOM."""
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    config = ServerConfig(host="0.0.0.0", port=0, **settings)
    async with running_server(config, ledger=ledger, wait=WAIT) as server:
        assert server.port is not None
        ws = await join(server.port, ROOM, "coach-1", "coach",
                        secret=SECRET if config.join_secret else None)
        try:
            yield server
        finally:
            await ws.aclose()


async def local_get(port: int, path: str, headers: dict[str, str] | None = None
                    ) -> tuple[int, str]:
    status, _, body = await request(port, path, headers=headers, wait=WAIT)
    return status, body.decode("utf-8", "replace")


@pytest.fixture
def ns() -> Any:
    with namespace() as created:
        yield created


async def test_without_an_admin_token_admin_endpoints_answer_loopback_clients_only(
        tmp_path: Path, ns: Namespace) -> None:
    async with exposed(tmp_path) as server:
        assert server.port is not None
        remote = await fetch(ns, server.port,
                             [("/healthz", {})] + [(path, {}) for path in ADMIN_ROUTES])
        # The namespace reaches the server (healthz), so the refusals are the rule's.
        assert remote[0][0] == 200
        for path, (status, _, body) in zip(ADMIN_ROUTES, remote[1:], strict=True):
            assert status == 403, (path, body)
            assert "--admin-token" in body and "loopback" in body
            assert ROOM not in body
        # From loopback, today's behaviour: served without a token.
        status, body = await local_get(server.port, "/api/rooms")
        assert status == 200 and ROOM in body
        status, body = await local_get(server.port, "/api/sessions")
        assert status == 200 and "sessions" in json.loads(body)


async def test_with_an_admin_token_admin_endpoints_answer_any_address_that_sends_it(
        tmp_path: Path, ns: Namespace) -> None:
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    async with exposed(tmp_path, admin_token=ADMIN) as server:
        assert server.port is not None
        remote = await fetch(ns, server.port, [
            *((path, {}) for path in ADMIN_ROUTES),
            *((path, {"Authorization": "Bearer wrong"}) for path in ADMIN_ROUTES),
            *((path, bearer) for path in ADMIN_ROUTES)])
        assert [status for status, _, _ in remote] == [401, 401, 401, 401, 200, 200]
        assert ROOM in remote[4][2]
        assert remote[4][1].get("Cache-Control") == "no-store"
        assert (await local_get(server.port, "/api/rooms"))[0] == 401
        status, body = await local_get(server.port, "/api/rooms", bearer)
        assert status == 200 and ROOM in body


async def test_with_join_tokens_and_no_admin_token_nobody_reads_the_room_list(
        tmp_path: Path, ns: Namespace) -> None:
    async with exposed(tmp_path, join_secret=SECRET) as server:
        assert server.port is not None
        remote = await fetch(ns, server.port, [(path, {}) for path in ADMIN_ROUTES])
        assert [status for status, _, _ in remote] == [403, 403]
        status, body = await local_get(server.port, "/api/rooms")
        assert status == 403 and "--admin-token" in body and ROOM not in body


def add_transcript_route(server: SignalingServer) -> list[HttpRequest]:
    """A stand-in for a future transcript endpoint, registered the way one must be."""
    served: list[HttpRequest] = []

    async def transcript(req: HttpRequest) -> HttpResponse:
        served.append(req)
        return json_response({"transcript": ["the words of a coaching session"]})

    server.admin.add(server.router, "/api/test/transcript", transcript, carries_content=True)
    return served


async def test_conversation_content_is_never_served_without_the_admin_token(
        tmp_path: Path, ns: Namespace) -> None:
    async with exposed(tmp_path) as server:
        assert server.port is not None
        served = add_transcript_route(server)
        # The real one (a session's transcript and summary) and the test's stand-in.
        assert server.admin.content_routes == {"/api/sessions/", "/api/test/transcript"}
        for headers in ({}, {"Authorization": f"Bearer {ADMIN}"}):
            status, body = await local_get(server.port, "/api/test/transcript", headers)
            assert status == 403 and "--admin-token" in body and "coaching" not in body
            status, body = await local_get(server.port, "/api/sessions/s1", headers)
            assert status == 403 and "--admin-token" in body
        [(status, _, body)] = await fetch(ns, server.port, [("/api/test/transcript", {})])
        assert status == 403 and "coaching" not in body
        assert served == []  # the handler never ran
    async with exposed(tmp_path, admin_token=ADMIN) as server:
        assert server.port is not None
        served = add_transcript_route(server)
        assert (await local_get(server.port, "/api/test/transcript"))[0] == 401
        status, body = await local_get(server.port, "/api/test/transcript",
                                       {"Authorization": f"Bearer {ADMIN}"})
        assert status == 200 and "coaching" in body
        remote = await fetch(ns, server.port, [
            ("/api/test/transcript", {}),
            ("/api/test/transcript", {"Authorization": f"Bearer {ADMIN}"})])
        assert [status for status, _, _ in remote] == [401, 200]
        assert len(served) == 2


def exposure_warnings(caplog: pytest.LogCaptureFixture) -> set[str]:
    return {getattr(r, "event", "") for r in caplog.records if r.levelno == logging.WARNING
            and getattr(r, "event", "").startswith("exposed-")}


@pytest.mark.parametrize(("host", "settings", "expected"), [
    ("0.0.0.0", {}, {"exposed-without-join-tokens", "exposed-without-admin-token"}),
    ("0.0.0.0", {"join_secret": SECRET}, {"exposed-without-admin-token"}),
    ("0.0.0.0", {"admin_token": ADMIN}, {"exposed-without-join-tokens"}),
    ("0.0.0.0", {"join_secret": SECRET, "admin_token": ADMIN}, set()),
    ("127.0.0.1", {}, set()),
])
async def test_listening_beyond_loopback_warns_about_what_is_open(
        caplog: pytest.LogCaptureFixture, host: str, settings: dict[str, Any],
        expected: set[str]) -> None:
    caplog.set_level(logging.INFO)
    async with running_server(ServerConfig(host=host, port=0, **settings), wait=WAIT):
        pass
    assert exposure_warnings(caplog) == expected


async def https_get(port: int, context: ssl.SSLContext, path: str) -> tuple[str, bytes]:
    """(response head, body) of one GET over TLS."""
    with trio.fail_after(WAIT):
        stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", port, ssl_context=context)
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                              "Connection: close\r\n\r\n".encode())
        data = b""
        try:
            while chunk := await stream.receive_some(65536):
                data += chunk
        except trio.BrokenResourceError:
            pass  # the server closes without close_notify
        await stream.aclose()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").lower(), body


async def test_hsts_when_the_server_terminates_tls_and_the_other_headers_stay(
        tmp_path: Path) -> None:
    certfile, keyfile = make_certificate(tmp_path)
    context = ssl.create_default_context(cafile=str(certfile))
    config = ServerConfig(port=0, certfile=str(certfile), keyfile=str(keyfile))
    async with running_server(config, wait=WAIT) as server:
        assert server.port is not None
        heads = {path: (await https_get(server.port, context, path))[0]
                 for path in ("/", "/healthz", "/api/rooms", "/no-such-page")}
    for path, head in heads.items():
        assert "\r\nstrict-transport-security: max-age=31536000" in head, path
    assert "\r\ncontent-security-policy: default-src 'self'" in heads["/"]
    assert "\r\ncache-control: no-store" in heads["/api/rooms"]
    async with running_server(ServerConfig(port=0), wait=WAIT) as server:
        assert server.port is not None
        _, headers, _ = await request(server.port, "/", wait=WAIT)
        assert "strict-transport-security" not in {k.lower() for k in headers}
        assert "default-src 'self'" in headers["content-security-policy"]

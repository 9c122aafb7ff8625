"""Structured logs: one line per lifecycle event and per error, with who and why, no bodies."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
import pytest
import trio

from signaling_core import CoreConfig
from trio_server import ServerConfig, SignalingServer
from trio_server.logs import JsonFormatter, TextFormatter, event

from .conftest import join, recv, send, ws_client
from .serving import running_server
from .test_local import FakeOrbHost


def events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict[str, Any]]]:
    return [(getattr(r, "event", ""), getattr(r, "fields", {})) for r in caplog.records
            if r.name == "trio_server"]


async def test_lifecycle_and_errors_are_logged_without_bodies(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trio_server")
    async with running_server() as server, \
            ws_client(server, "logged") as coach, ws_client(server, "logged") as client:
        await join(coach, "coach-1", "coach")
        await join(client, "client-1", "client")
        await recv(coach)
        await send(coach, {"type": "offer", "toId": "client-1",
                           "offer": {"type": "offer", "sdp": "SECRET-SDP-BODY"}})
        await recv(client)
        await send(client, {"type": "offer", "toId": "nobody", "offer": {}})
        assert (await recv(client))["code"] == "unknown-target"
    seen = events(caplog)
    names = [name for name, _ in seen]
    for name in ("listening", "connection-opened", "participant-joined", "protocol-error",
                 "participant-left", "connection-closed", "stopped"):
        assert name in names, name
    joined = [f for n, f in seen if n == "participant-joined"]
    assert {(f["room"], f["userId"], f["role"]) for f in joined} == {
        ("logged", "coach-1", "coach"), ("logged", "client-1", "client")}
    [error] = [f for n, f in seen if n == "protocol-error"]
    assert error["code"] == "unknown-target" and error["userId"] == "client-1"
    assert error["role"] == "client" and error["room"] == "logged"
    closed = [f for n, f in seen if n == "connection-closed"]
    assert {f.get("userId") for f in closed} == {"coach-1", "client-1"}
    assert "SECRET-SDP-BODY" not in caplog.text
    assert all("SECRET" not in json.dumps(f, default=str) for _, f in seen)


async def test_local_orb_is_named_in_its_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trio_server")
    host = FakeOrbHost()
    config = ServerConfig(port=0, core=CoreConfig(orbs_enabled=True))
    server = SignalingServer(config, orb_host=host)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        async with ws_client(server, "orb-logs") as coach:
            await join(coach, "coach", "coach")
            await recv(coach)
        await server.shutdown()
    orb_id = host.spawned[0].user_id
    closed = [f for n, f in events(caplog) if n == "connection-closed"]
    assert {(f.get("userId"), f.get("role")) for f in closed} == {
        ("coach", "coach"), (orb_id, "ai")}


def _record(**fields: Any) -> logging.LogRecord:
    record = logging.LogRecord("trio_server", logging.INFO, __file__, 1, "connection closed",
                               None, None)
    record.event = "connection-closed"
    record.fields = fields
    return record


def test_text_and_json_formats() -> None:
    record = _record(room="r 1", userId="u", code=1000)
    text = TextFormatter().format(record)
    assert 'connection closed room="r 1" userId=u code=1000' in text
    line = orjson.loads(JsonFormatter().format(record))
    assert line["event"] == "connection-closed" and line["room"] == "r 1"
    assert line["msg"] == "connection closed" and line["level"] == "info"


def test_event_drops_empty_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trio_server")
    event(logging.INFO, "x", room="r", userId=None)
    [(_, fields)] = events(caplog)
    assert fields == {"room": "r"}

"""Structured logs: one line per lifecycle event and per error, with who and why, no bodies."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import trio

from signaling_core import CoreConfig
from trio_server import ServerConfig, SignalingServer
from trio_server.cli import build_parser, config_from_args
from trio_server.logs import OWN_LOGGERS, JsonFormatter, TextFormatter, configure, event

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


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """``logs.configure`` rewires the root logger: put back what pytest had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    own = {name: logging.getLogger(name).level for name in OWN_LOGGERS}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, old in own.items():
            logging.getLogger(name).setLevel(old)
        logging.captureWarnings(False)


LIBRARIES = ("faster_whisper", "aioice.ice", "aiortc.rtcpeerconnection", "httpx", "redis",
             "websockets.client", "ctranslate2", "onnxruntime", "py.warnings")


@pytest.mark.usefixtures("restored_logging")
def test_libraries_log_warnings_only_unless_asked() -> None:
    configure("debug", json=True)
    for name in ("trio_server", "trio_server.ledger", "orb_bridge.stt", "signaling_core"):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    for name in LIBRARIES:  # faster-whisper's "Processing audio ..." is INFO: not shown
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    configure("warning", libraries="info")  # chatter back in for debugging, ours quieter
    assert logging.getLogger("faster_whisper").isEnabledFor(logging.INFO)
    assert not logging.getLogger("orb_bridge.peers").isEnabledFor(logging.INFO)
    configure("info", libraries="error")
    assert not logging.getLogger("aioice.ice").isEnabledFor(logging.WARNING)
    assert logging.getLogger("aioice.ice").isEnabledFor(logging.ERROR)
    with pytest.raises(ValueError, match="loud"):
        configure("info", libraries="loud")


@pytest.mark.usefixtures("restored_logging")
def test_python_warnings_become_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure("info", json=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
    [line] = capsys.readouterr().err.splitlines()
    body = orjson.loads(line)
    assert body["logger"] == "py.warnings" and "a library's warning" in body["msg"]


def test_library_log_level_option_and_environment() -> None:
    parser = build_parser()
    config, _ = config_from_args(parser.parse_args([]), environ={})
    assert config.log_level_libraries == "warning"
    config, _ = config_from_args(parser.parse_args(["--log-level-libraries", "debug"]),
                                 environ={"SIGNALING_LOG_LEVEL_LIBRARIES": "info"})
    assert config.log_level_libraries == "debug"
    config, _ = config_from_args(parser.parse_args([]),
                                 environ={"SIGNALING_LOG_LEVEL_LIBRARIES": "info"})
    assert config.log_level_libraries == "info"
    with pytest.raises(SystemExit, match="SIGNALING_LOG_LEVEL_LIBRARIES"):
        config_from_args(parser.parse_args([]),
                         environ={"SIGNALING_LOG_LEVEL_LIBRARIES": "loud"})

"""The ``trio-server`` command as a real process: startup log, signals, exit status, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from trio_websocket import open_websocket_url

from trio_server.cli import build_parser, config_from_args

from .conftest import WAIT, closed_code, join, recv
from .httpclient import request

EXE = str(Path(sys.executable).parent / "trio-server")
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServerProcess:
    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._pending = b""

    async def read_until(self, pattern: re.Pattern[str]) -> re.Match[str]:
        assert self.process.stderr is not None
        with trio.fail_after(WAIT):
            while True:
                for line in self.lines:
                    match = pattern.search(line)
                    if match:
                        return match
                chunk = await self.process.stderr.receive_some(4096)
                if not chunk:
                    raise AssertionError("server exited:\n" + "\n".join(self.lines))
                data = self._pending + chunk
                *complete, self._pending = data.split(b"\n")
                self.lines.extend(line.decode() for line in complete)

    async def drain(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.receive_some(4096):
            self._pending += chunk
        self.lines.extend(self._pending.decode().splitlines())


async def start(*args: str, env: dict[str, str] | None = None) -> tuple[ServerProcess, int]:
    process = await trio.lowlevel.open_process(
        [EXE, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    server = ServerProcess(process)
    match = await server.read_until(LISTENING)
    return server, int(match.group(1))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_graceful_shutdown_of_a_running_process(signum: signal.Signals) -> None:
    server, port = await start("--port", "0")
    try:
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws-simple/proc",
                                      connect_timeout=WAIT) as coach, \
                open_websocket_url(f"ws://127.0.0.1:{port}/ws-simple/proc",
                                   connect_timeout=WAIT) as client:
            await join(coach, "coach", "coach")
            await join(client, "client", "client")
            await recv(coach)
            server.process.send_signal(signum)
            start_time = trio.current_time()
            # SIGTERM (a deploy) announces a restart, so clients resume; SIGINT a stop.
            code = 1012 if signum == signal.SIGTERM else 1001
            assert await closed_code(coach) == code
            assert await closed_code(client) == code
            with trio.fail_after(5):
                status = await server.process.wait()
            assert trio.current_time() - start_time < 5
        assert status == 0
        await server.drain()
        log = "\n".join(server.lines)
        assert "shutting down" in log and "server stopped" in log
        assert "participant joined" in log and "userId=coach" in log and "role=coach" in log
    finally:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def test_environment_configures_the_process() -> None:
    env = {"SIGNALING_PORT": "0", "SIGNALING_LOG_JSON": "1",
           "SIGNALING_MAX_PARTICIPANTS": "1", "SIGNALING_ADMIN_TOKEN": "t0k"}
    server, port = await start(env=env)
    try:
        listening = json.loads(server.lines[-1])
        assert listening["event"] == "listening" and listening["port"] == port
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws-simple/one",
                                      connect_timeout=WAIT) as a, \
                open_websocket_url(f"ws://127.0.0.1:{port}/ws-simple/one",
                                   connect_timeout=WAIT) as b:
            await join(a, "a", "coach")
            await b.send_message(json.dumps({"type": "join", "userId": "b",
                                             "userRole": "client"}))
            assert (await recv(b))["code"] == "room-full"
        assert (await request(port, "/api/rooms"))[0] == 401
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(5):
            assert await server.process.wait() == 0
    finally:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def test_busy_port_fails_with_status_1() -> None:
    server, port = await start("--port", "0")
    try:
        with trio.fail_after(WAIT):
            result = await trio.run_process([EXE, "--port", str(port)], capture_stderr=True,
                                            check=False)
        assert result.returncode == 1
        assert b"cannot serve" in result.stderr
    finally:
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(5):
            await server.process.wait()


def test_version_and_help() -> None:
    out = subprocess.run([EXE, "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("trio-server ")
    out = subprocess.run([EXE, "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for flag in ("--host", "--port", "--log-json", "--log-level-libraries", "--certfile",
                 "--max-participants", "--admin-token", "--turn-secret", "--stun-url",
                 "--orbs", "SIGNALING_PORT"):
        assert flag in out.stdout


def test_defaults_come_from_the_config_classes() -> None:
    from signaling_core import CoreConfig
    from trio_server import ServerConfig

    config, _ = config_from_args(build_parser().parse_args([]), environ={})
    assert config == ServerConfig()
    assert config.core == CoreConfig()


def test_command_line_wins_over_environment() -> None:
    args = build_parser().parse_args(["--port", "4000", "--stun-url", "stun:a",
                                      "--stun-url", "stun:b", "--orbs"])
    config, _ = config_from_args(args, environ={
        "SIGNALING_PORT": "5000", "SIGNALING_HOST": "0.0.0.0",
        "SIGNALING_MAX_MESSAGE_BYTES": "1024", "SIGNALING_ORB_IDLE_GRACE": "12.5"})
    assert config.port == 4000 and config.host == "0.0.0.0"
    assert config.stun_urls == ("stun:a", "stun:b")
    assert config.orbs and config.core.orbs_enabled
    assert config.core.max_message_bytes == 1024 and config.core.orb_idle_grace == 12.5


def test_bad_environment_value_is_a_clear_error() -> None:
    with pytest.raises(SystemExit, match="SIGNALING_PORT"):
        config_from_args(build_parser().parse_args([]), environ={"SIGNALING_PORT": "http"})
    with pytest.raises(SystemExit, match="max_participants"):
        config_from_args(build_parser().parse_args(["--max-participants", "0"]), environ={})


def test_subcommands_are_dispatched_and_serve_is_the_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from trio_server import cli

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setitem(cli.SUBCOMMANDS, "token", "json:dumps")
    monkeypatch.setattr(cli, "run_subcommand", lambda name, argv: calls.append(
        (name, list(argv))) or 0)
    monkeypatch.setattr(cli, "run_serve", lambda argv: calls.append(("serve", list(argv))) or 0)
    assert cli.main(["token", "--room", "r"]) == 0
    assert cli.main(["--port", "0"]) == 0
    assert cli.main(["serve", "--port", "0"]) == 0
    assert cli.main([]) == 0
    assert calls == [("token", ["--room", "r"]), ("serve", ["--port", "0"]),
                     ("serve", ["--port", "0"]), ("serve", [])]


async def test_a_signal_right_after_listening_still_shuts_down_gracefully() -> None:
    """The signal handler is installed before the socket listens: no window that kills us."""
    for _ in range(3):
        server, _port = await start("--port", "0")
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(5):
            status = await server.process.wait()
        await server.drain()
        assert status == 0, "\n".join(server.lines)
        assert any("shutting down" in line for line in server.lines), "\n".join(server.lines)

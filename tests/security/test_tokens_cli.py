"""``trio-server token`` and ``--join-secret`` end to end, as real processes.

The token printed by the subcommand is what a separately started ``trio-server`` (secret from
the environment) accepts; a missing or wrong one gets ``unauthorized`` and 4003; and the
process's whole log, at debug level, never shows the secret or a token.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import trio

from signaling_core import JoinRequest
from signaling_core.join_tokens import token_allows
from trio_server import cli
from trio_server.conformance.raw import RawClient

from .conftest import SECRET, WAIT

EXE = str(Path(sys.executable).parent / "trio-server")
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def _mint(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli.main(["token", *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return out.strip()


def test_token_subcommand_prints_one_token_the_server_accepts(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    token = _mint(capsys, "--secret", SECRET, "--room", "r1", "--user", "coach-1",
                  "--role", "coach", "--ttl", "120")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 120
    assert token_allows(SECRET, token, "r1", JoinRequest("coach-1", "", "coach", "human", token),
                        now=time.time())
    monkeypatch.setenv("SIGNALING_JOIN_SECRET", SECRET)
    orb = _mint(capsys, "--room", "r1", "--user", "ai-orb-1", "--role", "ai")
    assert jwt.decode(orb, SECRET, algorithms=["HS256"])["participantType"] == "ai"
    helper = _mint(capsys, "--room", "r1", "--user", "bot", "--role", "helper", "--type", "ai")
    assert jwt.decode(helper, SECRET, algorithms=["HS256"])["userRole"] == "helper"


@pytest.mark.parametrize(("args", "complaint"), [
    (["--room", "r1", "--user", "u", "--role", "coach"], "a secret is needed"),
    (["--secret", "short", "--room", "r1", "--user", "u", "--role", "coach"], "32 bytes"),
    (["--secret", SECRET, "--room", "bad room", "--user", "u", "--role", "coach"], "--room"),
    (["--secret", SECRET, "--room", "r1", "--user", "u", "--role", "ai", "--type", "human"],
     "requires participantType 'ai'"),
    (["--secret", SECRET, "--room", "r1", "--user", "", "--role", "coach"], "userId"),
    (["--secret", SECRET, "--room", "r1", "--user", "u", "--role", "co ach"], "userRole"),
    (["--secret", SECRET, "--room", "r1", "--user", "u", "--role", "coach", "--ttl", "0"],
     "--ttl"),
])
def test_token_subcommand_refuses_what_the_server_would(
        args: list[str], complaint: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNALING_JOIN_SECRET", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["token", *args])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert complaint in captured.err
    assert captured.out == ""


async def _read_until(process: trio.Process, lines: list[str], pattern: re.Pattern[str]
                      ) -> re.Match[str]:
    assert process.stderr is not None
    pending = b""
    with trio.fail_after(WAIT * 2):
        while True:
            for line in lines:
                if match := pattern.search(line):
                    return match
            chunk = await process.stderr.receive_some(4096)
            if not chunk:
                raise AssertionError("server exited:\n" + "\n".join(lines))
            *complete, pending = (pending + chunk).split(b"\n")
            lines.extend(line.decode() for line in complete)


async def _join_reply(port: int, token: str | None, user: str = "coach-1"
                      ) -> tuple[dict[str, object], int | None]:
    with trio.fail_after(WAIT):
        ws = await RawClient.open(port, "/ws-simple/cli-room")
        message: dict[str, object] = {"type": "join", "userId": user, "userRole": "coach"}
        if token is not None:
            message["token"] = token
        await ws.send_json(message)
        reply = await ws.recv_json()
        code = None
        if reply["type"] == "error":
            code = await ws.close_code_after()
        await ws.aclose()
    return reply, code


async def test_join_secret_from_the_environment_end_to_end() -> None:
    env = {**os.environ, "SIGNALING_JOIN_SECRET": SECRET,
           "SIGNALING_ADMIN_TOKEN": "admin-token-for-the-process-test-0001"}
    minted = await trio.run_process(
        [EXE, "token", "--room", "cli-room", "--user", "coach-1", "--role", "coach"],
        capture_stdout=True, capture_stderr=True, env=env)
    token = minted.stdout.decode().strip()
    process = await trio.lowlevel.open_process(
        [EXE, "--port", "0", "--log-level", "debug"], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines: list[str] = []
    try:
        port = int((await _read_until(process, lines, LISTENING)).group(1))
        reply, _ = await _join_reply(port, token)
        assert reply["type"] == "peer-discovery"
        for bad in (None, token[:-2] + "xx", "garbage"):
            reply, code = await _join_reply(port, bad)
            assert reply["code"] == "unauthorized" and code == 4003
        reply, code = await _join_reply(port, token, user="coach-2")
        assert reply["code"] == "unauthorized" and code == 4003
    finally:
        process.send_signal(signal.SIGINT)
        with trio.fail_after(WAIT):
            assert process.stderr is not None
            while chunk := await process.stderr.receive_some(4096):
                lines.extend(chunk.decode().splitlines())
            assert await process.wait() == 0
    log = "\n".join(lines)
    assert "participant-joined" in log or "participant joined" in log
    for secret in (SECRET, token, token.rsplit(".", 1)[1], env["SIGNALING_ADMIN_TOKEN"]):
        assert secret not in log


def test_a_short_join_secret_stops_the_server_with_a_clear_message() -> None:
    result = subprocess.run([EXE, "--port", "0"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SIGNALING_JOIN_SECRET": "too-short"})
    assert result.returncode != 0
    assert "join_secret must be at least 32 bytes" in result.stderr
    assert "too-short" not in result.stderr

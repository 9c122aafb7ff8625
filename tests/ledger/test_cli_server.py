"""``trio-server --db`` in a real process: a call, ``/api/sessions``, ``trio-server sessions``,
and a kill -9 mid-call followed by a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import orjson
import trio
from trio_websocket import open_websocket_url

from trio_server.ledger import SERVER_RESTART

from .conftest import query

CLI = [sys.executable, "-m", "trio_server.cli"]
TOKEN = "admin-secret-for-the-ledger-test"


async def _start(db: str, *extra: str) -> tuple[trio.Process, int]:
    proc = await trio.lowlevel.open_process(
        [*CLI, "--port", "0", "--log-level", "info", "--db", db, *extra],
        stderr=subprocess.PIPE)
    assert proc.stderr is not None
    log = b""
    with trio.fail_after(30):
        while b"listening on http://127.0.0.1:" not in log:
            chunk = await proc.stderr.receive_some()
            assert chunk, f"trio-server exited: {log.decode(errors='replace')}"
            log += chunk
    port = int(log.split(b"listening on http://127.0.0.1:")[1].split()[0].rstrip(b"/"))
    # The CLI installs its SIGTERM handler just after it logs "listening": one request
    # later it is in place.
    assert (await _get(port, "/healthz", None))[0] == 200
    return proc, port


async def _stop(proc: trio.Process, sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    with trio.fail_after(20):
        return await proc.wait()


async def _get(port: int, path: str, token: str | None) -> tuple[int, bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    async with stream:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}"
                              "Connection: close\r\n\r\n".encode())
        data = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some():
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def _join(port: int, room: str, user: str, role: str, nursery: trio.Nursery,
                ready: trio.Event, leave: trio.Event) -> None:
    async with open_websocket_url(f"ws://127.0.0.1:{port}/ws-simple/{room}") as ws:
        await ws.send_message(orjson.dumps({"type": "join", "userId": user, "userRole": role,
                                            "userName": user.title()}).decode())
        with trio.fail_after(10):
            while b"peer-discovery" not in (await ws.get_message()).encode():
                pass
        ready.set()
        await leave.wait()
        await ws.send_message('{"type": "leave"}')
        await trio.sleep(0.05)


async def test_serve_with_a_ledger_then_read_it_back(tmp_path: Path) -> None:
    db = str(tmp_path / "signaling.sqlite3")
    proc, port = await _start(db, "--admin-token", TOKEN)
    try:
        async with trio.open_nursery() as nursery:
            leave = trio.Event()
            ready = [trio.Event(), trio.Event()]
            nursery.start_soon(_join, port, "demo-room", "coach-1", "coach", nursery, ready[0],
                               leave)
            with trio.fail_after(10):
                await ready[0].wait()
            nursery.start_soon(_join, port, "demo-room", "client-1", "client", nursery,
                               ready[1], leave)
            with trio.fail_after(10):
                await ready[1].wait()
            leave.set()
        assert (await _get(port, "/api/sessions", None))[0] == 401
        assert (await _get(port, "/api/sessions?limit=0", TOKEN))[0] == 400
        with trio.fail_after(10):
            while True:
                status, body = await _get(port, "/api/sessions?room=demo-room", TOKEN)
                assert status == 200
                sessions = orjson.loads(body)["sessions"]
                if sessions and sessions[0]["endedAt"]:
                    break
                await trio.sleep(0.05)
    finally:
        assert await _stop(proc) == 0
    [session] = sessions
    assert session["endReason"] == "leave"
    assert [(p["userId"], p["ending"]) for p in session["participants"]] == [
        ("coach-1", "leave"), ("client-1", "leave")]

    table = await trio.run_process([*CLI, "sessions", "--db", db], capture_stdout=True)
    text = table.stdout.decode()
    assert "demo-room" in text and "Coach-1" in text and "client-1" in text
    as_json = await trio.run_process([*CLI, "sessions", "--db", db, "--json"],
                                     capture_stdout=True)
    assert orjson.loads(as_json.stdout)["sessions"] == sessions


async def test_kill_9_mid_call_then_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "signaling.sqlite3")
    proc, port = await _start(db)
    try:
        async with trio.open_nursery() as nursery:
            leave = trio.Event()
            ready = trio.Event()
            nursery.start_soon(_join, port, "call-9", "coach-9", "coach", nursery, ready, leave)
            with trio.fail_after(10):
                await ready.wait()
                while query(db, "SELECT COUNT(*) FROM participations") != [(1,)]:
                    await trio.sleep(0.02)
            assert await _stop(proc, signal.SIGKILL) == -signal.SIGKILL
            nursery.cancel_scope.cancel()
    finally:
        proc.kill()
    proc, port = await _start(db)
    assert await _stop(proc) == 0
    assert [row[1:] for row in query(db, "SELECT session_id, room, end_reason FROM sessions")
            ] == [("call-9", SERVER_RESTART)]
    assert query(db, "SELECT user_id, ending FROM participations") == [
        ("coach-9", SERVER_RESTART)]


async def test_db_none_serves_without_a_ledger(tmp_path: Path) -> None:
    proc, port = await _start("none")
    try:
        assert (await _get(port, "/api/sessions", None))[0] == 404
    finally:
        assert await _stop(proc) == 0
    assert list(tmp_path.iterdir()) == []


async def test_a_bad_db_stops_the_server_with_a_clear_line(tmp_path: Path) -> None:
    result = await trio.run_process(
        [*CLI, "--port", "0", "--db", str(tmp_path / "missing-dir" / "x.sqlite3")],
        capture_stderr=True, check=False)
    assert result.returncode != 0
    assert b"cannot use the session ledger" in result.stderr

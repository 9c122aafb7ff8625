"""Nothing committed is lost to a crash, and a restart closes what the crash left open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import trio

from trio_server.ledger import SERVER_RESTART, SqlStore, backend_from_url
from trio_server.ledger._batch import RunInfo

from .conftest import make_ledger, query, running
from .driver import WALL0, CoreDriver

CHILD = Path(__file__).with_name("crash_child.py")


def _run_child_until(db: str, statuses: int) -> int:
    """Start the writer process, kill -9 it mid-call once ``statuses`` are committed."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(CHILD), db], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    committed = 0
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while committed < statuses:
            assert time.monotonic() < deadline, "the writer process made no progress"
            line = proc.stdout.readline()
            assert line, f"writer process died: {proc.stderr.read() if proc.stderr else ''}"
            committed = int(line.split()[1])
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL
    return committed


async def test_kill_9_mid_call_loses_nothing_committed_and_restart_closes(db: str) -> None:
    committed = await trio.to_thread.run_sync(_run_child_until, db, 60)

    # What the dead process confirmed is all there, and its live session is still open.
    assert query(db, "SELECT session_id, ended_at, end_reason FROM sessions "
                     "ORDER BY session_id") == [("s1", WALL0 + 1.0, "leave"), ("s2", None, None)]
    [(spans,)] = query(db, "SELECT COUNT(*) FROM orb_status_spans")
    assert spans >= committed
    [(crashed_run, alive_at)] = query(db, "SELECT run_id, alive_at FROM ledger_runs")
    [(last_span_start,)] = query(db, "SELECT MAX(started_at) FROM orb_status_spans")
    assert alive_at >= last_span_start

    ledger = make_ledger(db)
    async with running(ledger):
        assert ledger.recovery is not None
        assert (ledger.recovery.sessions_closed, ledger.recovery.participations_closed) == (1, 3)

    # Closed at the last moment the dead process was known alive, with server-restart.
    assert query(db, "SELECT session_id, ended_at, end_reason FROM sessions "
                     "ORDER BY session_id") == [
        ("s1", WALL0 + 1.0, "leave"), ("s2", alive_at, SERVER_RESTART)]
    rows = query(db, "SELECT user_id, left_at, ending FROM participations "
                     "WHERE session_id = ? ORDER BY joined_at", ("s2",))
    assert rows == [("coach-1", alive_at, SERVER_RESTART), ("ai-orb-s2", alive_at, SERVER_RESTART),
                    ("client-1", alive_at, SERVER_RESTART)]
    assert query(db, "SELECT COUNT(*) FROM orb_status_spans WHERE ended_at IS NULL") == [(0,)]
    runs = dict(query(db, "SELECT run_id, stopped_at FROM ledger_runs"))
    assert runs[crashed_run] is None and runs[ledger.run_id] is not None


async def test_sessions_open_at_a_stop_are_closed_by_the_next_start(db: str) -> None:
    ledger = make_ledger(db)
    async with running(ledger):
        driver = CoreDriver(ledger)
        driver.at(0).join("room-1", "coach-1", "coach")
        orb = driver.at(1).join("room-1", "ai-orb-s1", "ai")
        driver.at(2).status(orb, "speaking", "s1")
        await ledger.wait_committed()
    # No core.handle(ServerStopping()): the server died without announcing the end of its sessions.
    [(stopped_at,)] = query(db, "SELECT stopped_at FROM ledger_runs")
    assert stopped_at is not None

    second = make_ledger(db)
    async with running(second):
        assert second.recovery is not None and second.recovery.sessions_closed == 1
    assert query(db, "SELECT ended_at, end_reason FROM sessions") == [(stopped_at,
                                                                       SERVER_RESTART)]
    [(span_end,)] = query(db, "SELECT ended_at FROM orb_status_spans")
    assert span_end == stopped_at


async def test_idle_heartbeat_keeps_the_run_alive_time_fresh(db: str) -> None:
    ledger = make_ledger(db, heartbeat_interval=0.05)
    async with running(ledger):
        [(first,)] = query(db, "SELECT alive_at FROM ledger_runs")
        with trio.fail_after(10):
            while query(db, "SELECT alive_at FROM ledger_runs")[0][0] <= first:
                await trio.sleep(0.02)


def test_recovery_closes_participations_whose_session_row_was_lost(db: str) -> None:
    store = SqlStore(backend_from_url(db))
    store.begin_run(RunInfo("r1", 1, "h", WALL0, 0.0))
    conn = store.backend.connect()
    sql = store.backend.dialect.sql
    cur = conn.cursor()
    cur.execute(sql("INSERT INTO participations (session_id, room, user_id, name, role, type, "
                    "joined_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                ("lost", "room", "u", "", "client", "human", WALL0 + 5))
    cur.execute(sql("UPDATE ledger_runs SET alive_at = ?"), (WALL0 + 9,))
    conn.commit()
    conn.close()
    store.close()

    again = SqlStore(backend_from_url(db))
    recovery = again.begin_run(RunInfo("r2", 1, "h", WALL0 + 20, 0.0))
    again.close()
    assert recovery.participations_closed == 1
    assert query(db, "SELECT left_at, ending FROM participations") == [
        (WALL0 + 9, SERVER_RESTART)]


SERVER_CHILD = Path(__file__).with_name("server_child.py")


async def _start_server(db: str) -> tuple[trio.Process, int]:
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(SERVER_CHILD), db], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    buffer = b""
    with trio.fail_after(30):
        while b"\n" not in buffer:
            chunk = await proc.stdout.receive_some()
            assert chunk, "the server process exited before listening"
            buffer += chunk
    return proc, int(buffer.split()[1])


async def test_kill_9_of_a_real_server_mid_call_then_restart(db: str) -> None:
    from trio_websocket import open_websocket_url

    proc, port = await _start_server(db)
    try:
        url = f"ws://127.0.0.1:{port}/ws-simple/call-9"
        async with open_websocket_url(url) as coach, open_websocket_url(url) as client:
            for ws, user, role in ((coach, "coach-9", "coach"), (client, "client-9", "client")):
                await ws.send_message(f'{{"type":"join","userId":"{user}","userRole":"{role}"}}')
                with trio.fail_after(10):
                    while "peer-discovery" not in str(await ws.get_message()):
                        pass
            with trio.fail_after(10):  # the ledger commits within its batch delay
                while query(db, "SELECT COUNT(*) FROM participations") != [(2,)]:
                    await trio.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            with trio.fail_after(10):
                await proc.wait()
    finally:
        proc.kill()
        with trio.fail_after(10):
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert query(db, "SELECT room, ended_at FROM sessions") == [("call-9", None)]

    proc, _ = await _start_server(db)
    try:
        [(ended_at, reason)] = query(db, "SELECT ended_at, end_reason FROM sessions")
        assert reason == SERVER_RESTART
        assert query(db, "SELECT user_id, left_at, ending FROM participations "
                         "ORDER BY joined_at") == [("coach-9", ended_at, SERVER_RESTART),
                                                   ("client-9", ended_at, SERVER_RESTART)]
    finally:
        proc.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            await proc.wait()
    assert proc.returncode == 0
    assert query(db, "SELECT COUNT(*) FROM ledger_runs WHERE stopped_at IS NOT NULL") == [(1,)]

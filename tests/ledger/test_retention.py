"""Retention (``--retain-days``) and erasure (``trio-server sessions --delete``), on SQLite and
PostgreSQL: ended sessions go with everything attached to them; a live one is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import trio

from signaling_core import CoreConfig
from trio_server.ledger import LedgerReader, SessionView, backend_from_url

from .conftest import make_ledger, query, running
from .driver import CoreDriver

DAY = 86_400.0
#: Bound on any wait for the ledger or a child process.
WAIT = 30.0


def sessions(db: str) -> dict[str, SessionView]:
    return {s.session_id: s for s in LedgerReader(backend_from_url(db)).sessions(limit=100)}


def rows_of(db: str, session_id: str) -> tuple[int, int, int]:
    """(sessions, participations, orb status spans) rows belonging to ``session_id``."""
    [(n_sessions,)] = query(db, "SELECT COUNT(*) FROM sessions WHERE session_id = ?",
                            (session_id,))
    [(n_parts,)] = query(db, "SELECT COUNT(*) FROM participations WHERE session_id = ?",
                         (session_id,))
    [(n_spans,)] = query(db, "SELECT COUNT(*) FROM orb_status_spans WHERE participation_id IN "
                             "(SELECT id FROM participations WHERE session_id = ?)",
                         (session_id,))
    return int(n_sessions), int(n_parts), int(n_spans)


def play_history(d: CoreDriver, base: float) -> tuple[int, int]:
    """s1: live since 5 days, orb listening; s2: coach and orb, ended 2 days ago; s3: a
    client alone, ended an hour ago. Returns the live session's (coach, orb) connections."""
    d.now = base - 6 * DAY
    live_coach = d.at(base - 5 * DAY).join("live-room", "coach-live", "coach", "Coach Live")
    live_orb = d.at(base - 5 * DAY + 1).join("live-room", "ai-orb-s1", "ai", "AI")
    d.at(base - 5 * DAY + 2).status(live_orb, "listening", "s1")
    coach = d.at(base - 3 * DAY).join("old-room", "coach-old", "coach", "Coach Old")
    orb = d.at(base - 3 * DAY + 1).join("old-room", "ai-orb-s2", "ai", "AI")
    d.at(base - 3 * DAY + 2).status(orb, "speaking", "s2")
    d.at(base - 2 * DAY - 10).close(coach)
    d.at(base - 2 * DAY).send(orb, {"type": "ai-orb-shutdown", "sessionId": "s2",
                                    "reason": "session_complete"})
    client = d.at(base - 2 * 3600).join("recent-room", "client-recent", "client",
                                        "Client Recent")
    d.at(base - 3600).close(client)
    return live_coach, live_orb


async def test_retention_deletes_old_ended_sessions_and_never_a_live_one(db: str) -> None:
    ledger = make_ledger(db, retain_days=1, retention_interval=0.2)
    config = CoreConfig(orbs_enabled=True, orb_idle_grace=10 * DAY, join_timeout=10 * DAY,
                        idle_timeout=10 * DAY, orb_max_lifetime=100 * DAY)
    async with running(ledger):
        driver = CoreDriver(ledger, config)
        base = trio.current_time()
        live_coach, live_orb = play_history(driver, base)
        with trio.fail_after(WAIT):
            await ledger.wait_committed()
            before = ledger.purges
            while ledger.purges < before + 2:  # a whole purge after the commit
                await trio.sleep(0.05)
        assert rows_of(db, "s2") == (0, 0, 0)
        assert rows_of(db, "s1") == (1, 2, 1)
        assert rows_of(db, "s3") == (1, 1, 0)
        assert ledger.purged.sessions == 1
        assert (ledger.purged.participations, ledger.purged.orb_status_spans) == (2, 1)
        live = sessions(db)["s1"]
        assert live.ended_at is None
        assert all(p.left_at is None for p in live.participants)
        # The live session goes on being recorded, whole, after the purges.
        driver.at(base + 5).close(live_coach)
        driver.at(base + 6).send(live_orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                                            "reason": "session_complete"})
        with trio.fail_after(WAIT):
            await ledger.wait_committed()
    ended = sessions(db)["s1"]
    assert ended.end_reason == "session_complete" and ended.ended_at is not None
    assert {p.user_id: p.ending for p in ended.participants} == {
        "coach-live": "close", "ai-orb-s1": "session_complete"}
    orb = next(p for p in ended.participants if p.type == "ai")
    assert orb.status_seconds["listening"] > 5 * DAY - 10
    assert set(sessions(db)) == {"s1", "s3"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trio_server.cli", "sessions", *args],
                          capture_output=True, text=True, timeout=WAIT,
                          env={**os.environ, **(env or {})})


async def test_deleting_one_session_erases_it_and_says_only_its_id_and_counts(
        db: str) -> None:
    ledger = make_ledger(db)
    config = CoreConfig(orbs_enabled=True, orb_idle_grace=10 * DAY, join_timeout=10 * DAY,
                        idle_timeout=10 * DAY, orb_max_lifetime=100 * DAY)
    async with running(ledger):
        driver = CoreDriver(ledger, config)
        play_history(driver, trio.current_time())
        with trio.fail_after(WAIT):
            await ledger.wait_committed()
        # While the server's ledger is running: the live session is refused, untouched.
        live = await trio.to_thread.run_sync(cli, "--db", db, "--delete", "s1")
        assert live.returncode == 1 and "has not ended" in live.stderr
        assert rows_of(db, "s1") == (1, 2, 1)
        erased = await trio.to_thread.run_sync(cli, "--db", db, "--delete", "s2")
        assert erased.returncode == 0, erased.stderr
        unknown = await trio.to_thread.run_sync(cli, "--db", db, "--delete", "s2")
        assert unknown.returncode == 1 and "no session s2" in unknown.stderr
    assert rows_of(db, "s2") == (0, 0, 0)
    assert rows_of(db, "s1") == (1, 2, 1) and rows_of(db, "s3") == (1, 1, 0)
    log = erased.stdout + erased.stderr
    assert "s2" in log and "1 session(s), 2 participation(s), 1 orb status span(s)" in log
    for content in ("Coach Old", "coach-old", "old-room", "ai-orb-s2"):
        assert content not in log, content


async def test_the_server_applies_retain_days_from_the_environment(
        db: str, tmp_path: Path) -> None:
    # An old call (2023, the driver's WALL0 clock) and one from a minute ago.
    old = make_ledger(db)
    async with running(old):
        d = CoreDriver(old, CoreConfig(), session_ids=["old-1"])
        conn = d.at(10).join("room-a", "client-a", "client", "Client A")
        d.at(20).close(conn)
        await old.wait_committed()
    recent = make_ledger(db, wall_offset=time.time() - 60 - trio.current_time())
    async with running(recent):
        d = CoreDriver(recent, CoreConfig(), session_ids=["recent-1"])
        d.now = trio.current_time() - 1
        conn = d.at(trio.current_time()).join("room-b", "client-b", "client", "Client B")
        d.at(trio.current_time() + 1).close(conn)
        await recent.wait_committed()
    assert set(sessions(db)) == {"old-1", "recent-1"}
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_server.cli", "--port", "0", "--db", db],
        env={**os.environ, "SIGNALING_RETAIN_DAYS": "30"},
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("wb"))
    try:
        with trio.fail_after(WAIT):
            while "retention" not in (tmp_path / "server.log").read_text():
                assert process.poll() is None, (tmp_path / "server.log").read_text()
                await trio.sleep(0.05)
    finally:
        process.terminate()
        with trio.fail_after(WAIT):
            await process.wait()
    log = (tmp_path / "server.log").read_text()
    assert "retention (30 days) deleted 1 session(s), 1 participation(s)" in log, log
    assert "Client A" not in log
    assert set(sessions(db)) == {"recent-1"}

"""The history list over 10,000 sessions answers within a second (SQLite and PostgreSQL):
the first page, a room's page and a day's page, each a range of an index, never a scan of
the whole ledger. bench/history_list.py measures the same at leisure (median of warm runs)."""

from __future__ import annotations

import time

from signaling_core import CoreConfig
from trio_server.ledger import backend_from_url
from trio_server.ledger._history import HistoryFilter, history_page

from .test_records import play

N = 10_000
ROOMS = 100
T0 = 1_700_000_000.0
LIMIT_SECONDS = 1.0


def fill(db: str, n: int = N) -> None:
    """``n`` ended sessions, one every 10 minutes over ``ROOMS`` rooms, each with a coach,
    a client and a summary; generated inside the database by one recursive query per table
    (the same SQL on SQLite and PostgreSQL), so the fill takes well under a second."""
    backend = backend_from_url(db)
    conn = backend.connect_existing()
    numbers = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n - 1}) "
    start = f"({T0} + 600 * i)"
    try:
        cur = conn.cursor()
        cur.execute(numbers + "INSERT INTO sessions (session_id, room, started_at, ended_at, "
                    f"end_reason) SELECT 'bulk-' || i, 'room-' || (i % {ROOMS}), {start}, "
                    f"{start} + 1800, 'leave' FROM n")
        for uid, role in (("coach-1", "coach"), ("client-1", "client")):
            cur.execute(numbers + "INSERT INTO participations (session_id, room, user_id, name, "
                        "role, type, joined_at, left_at, ending) SELECT 'bulk-' || i, "
                        f"'room-' || (i % {ROOMS}), '{uid}', '{uid.title()}', '{role}', 'human', "
                        f"{start}, {start} + 1800, 'leave' FROM n")
        cur.execute(numbers + "INSERT INTO summaries (session_id, room, user_id, text, method, "
                    f"written_at) SELECT 'bulk-' || i, 'room-' || (i % {ROOMS}), 'ai-orb', "
                    "'Key topics: topic ' || i || '\nmore', 'extractive', "
                    f"{start} + 1800 FROM n")
        conn.commit()
    finally:
        conn.close()


async def test_ten_thousand_sessions_list_within_a_second(db: str) -> None:
    await play(db, CoreConfig(), lambda d: None)  # the schema
    fill(db)
    backend = backend_from_url(db)
    day = T0 + 600 * 5000
    for where, expected_first in (
            (HistoryFilter(), f"bulk-{N - 1}"),
            (HistoryFilter(room="room-7"), f"bulk-{N - 100 + 7}"),
            (HistoryFilter(since=day, until=day + 86400), f"bulk-{5000 + 143}")):
        history_page(backend, where)  # warm: connection and caches, as a browsing coach has
        started = time.perf_counter()
        page = history_page(backend, where, limit=50)
        elapsed = time.perf_counter() - started
        assert elapsed <= LIMIT_SECONDS, (where, elapsed)
        assert len(page["sessions"]) == 50 and page["more"]
        assert page["sessions"][0]["sessionId"] == expected_first
        assert page["sessions"][0]["summaryFirstLine"].startswith("Key topics: topic ")
        assert len(page["sessions"][0]["participants"]) == 2
    # The last page of a room: offset past most rows, still fast.
    started = time.perf_counter()
    page = history_page(backend, HistoryFilter(room="room-7"), offset=50, limit=50)
    assert time.perf_counter() - started <= LIMIT_SECONDS
    assert len(page["sessions"]) == 50 and not page["more"]

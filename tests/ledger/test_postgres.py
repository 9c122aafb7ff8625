"""PostgreSQL only: the ledger survives losing its database connection."""

from __future__ import annotations

import trio

from signaling_core import CoreConfig

from .conftest import make_ledger, query, running
from .driver import CoreDriver


async def test_a_lost_connection_is_replaced_and_nothing_is_lost(pg_db: str) -> None:
    import psycopg

    db = pg_db
    ledger = make_ledger(db, retry_max_delay=0.05)
    async with running(ledger):
        driver = CoreDriver(ledger, CoreConfig())
        driver.at(0).join("room", "coach-1", "coach")
        await ledger.wait_committed()
        conn = ledger.store._conn
        assert conn is not None
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        driver.at(1).join("room", "client-1", "client")
        driver.at(2).stop()
        with trio.fail_after(30):
            await ledger.wait_committed()
        assert ledger.stats.write_errors >= 1 and ledger.stats.dropped == 0
        assert ledger.store._conn is not conn  # reconnected
    assert query(db, "SELECT user_id, ending FROM participations ORDER BY joined_at") == [
        ("coach-1", "server-stopped"), ("client-1", "server-stopped")]
    assert query(db, "SELECT end_reason FROM sessions") == [("server-stopped",)]

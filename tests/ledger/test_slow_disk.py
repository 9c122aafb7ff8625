"""The caller never waits on the disk, and no record is lost silently."""

from __future__ import annotations

import logging
import sqlite3
import statistics
import threading
import time
from typing import Any, cast

import pytest
import trio

from signaling_core import CoreConfig
from trio_server.ledger import SqlStore, backend_from_url
from trio_server.ledger._batch import Batch

from .conftest import make_ledger, query, running
from .driver import CoreDriver


class SlowStore(SqlStore):
    """Every write first stalls, like a disk that takes ``delay`` per fsync."""

    def __init__(self, db: str, delay: float) -> None:
        super().__init__(backend_from_url(db))
        self.delay = delay
        self.sizes: list[int] = []

    def write(self, batch: Batch) -> None:
        time.sleep(self.delay)
        self.sizes.append(len(batch.records))
        super().write(batch)


class GatedStore(SqlStore):
    """Writes wait until the test opens the gate."""

    def __init__(self, db: str) -> None:
        super().__init__(backend_from_url(db))
        self.gate = threading.Event()
        self.writing = threading.Event()

    def write(self, batch: Batch) -> None:
        self.writing.set()
        if not self.gate.wait(30):
            raise TimeoutError("gate never opened")
        super().write(batch)


class FlakyStore(SqlStore):
    """The first ``fail`` writes raise a transient error, after committing when ``late``."""

    def __init__(self, db: str, fail: int, late: bool) -> None:
        super().__init__(backend_from_url(db))
        self.fail = fail
        self.late = late

    def write(self, batch: Batch) -> None:
        if self.fail and not self.late:
            self.fail -= 1
            raise sqlite3.OperationalError("disk I/O error (injected)")
        super().write(batch)
        if self.fail:
            self.fail -= 1
            raise sqlite3.OperationalError("connection lost after COMMIT (injected)")


def _play_rooms(driver: CoreDriver, rooms: int) -> list[float]:
    """Each room (11 records): coach, orb and client join, the orb talks, all leave."""
    steps: list[float] = []
    for i in range(rooms):
        start = time.perf_counter()
        room = f"room-{i}"
        coach = driver.join(room, f"coach-{i}", "coach")
        session = driver.records[-2].session_id
        orb = driver.join(room, f"ai-orb-{session}", "ai")
        client = driver.join(room, f"client-{i}", "client")
        for status in ("listening", "thinking", "speaking"):
            driver.status(orb, status, session)
        driver.close(client)
        driver.close(coach)
        driver.send(orb, {"type": "ai-orb-shutdown", "sessionId": session,
                          "reason": "session_complete"})
        steps.append(time.perf_counter() - start)
    return steps


async def test_a_slow_disk_does_not_slow_the_caller_and_loses_nothing(tmp_path: Any) -> None:
    db = str(tmp_path / "slow.sqlite3")
    store = SlowStore(db, delay=0.5)
    ledger = make_ledger(db, store)
    lateness: list[float] = []

    async def bystander() -> None:
        """Stands for the relay of other rooms: how late does the event loop wake it?"""
        while True:
            before = trio.current_time()
            await trio.sleep(0.01)
            lateness.append(trio.current_time() - before - 0.01)

    async with running(ledger), trio.open_nursery() as nursery:
        nursery.start_soon(bystander)
        driver = CoreDriver(ledger, CoreConfig(orbs_enabled=True))
        steps: list[float] = []
        play_start = trio.current_time()
        for _ in range(20):
            steps += _play_rooms(driver, 10)
            await trio.sleep(0.02)  # let the writer hand a batch to its thread
        play_time = trio.current_time() - play_start
        # The writer is far behind: the disk takes 0.5 s per batch.
        assert ledger.stats.pending + (ledger.stats.recorded - ledger.stats.committed) > 0
        with trio.fail_after(60):
            await ledger.wait_committed()
        nursery.cancel_scope.cancel()

    assert len(driver.records) == 200 * 11
    # Each room's 11 records took the caller a fraction of one disk write (0.5 s), and
    # the event loop stayed responsive; the bounds leave room for a loaded machine.
    assert max(steps) < 0.25, max(steps)
    assert statistics.median(steps) < 0.01, statistics.median(steps)
    assert play_time < 20 * 0.5  # the caller did not wait for the writes
    assert max(lateness) < 0.25, max(lateness)
    assert statistics.quantiles(lateness, n=20)[-1] < 0.05  # 95th percentile
    # Batches formed by themselves while the disk was slow, and everything landed.
    assert len(store.sizes) < 200 and max(store.sizes) > 11
    assert ledger.stats.dropped == 0
    assert query(db, "SELECT COUNT(*) FROM participations WHERE ending IS NOT NULL") == [(600,)]
    assert query(db, "SELECT COUNT(*) FROM sessions WHERE end_reason = ?",
                 ("session_complete",)) == [(200,)]
    assert query(db, "SELECT COUNT(*) FROM orb_status_spans WHERE ended_at IS NOT NULL") == [
        (600,)]


async def test_overflow_is_counted_logged_and_written_as_a_gap(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "gated.sqlite3")
    store = GatedStore(db)
    ledger = make_ledger(db, store, max_pending=10)
    caplog.set_level(logging.WARNING, logger="trio_server.ledger")
    async with running(ledger):
        try:
            driver = CoreDriver(ledger, CoreConfig(max_participants=50))
            driver.join("room-a", "first", "client")  # 2 records: the writer takes them...
            with trio.fail_after(10):
                while not store.writing.is_set():  # ...and blocks on the disk
                    await trio.sleep(0.005)
            for i in range(8):
                driver.join("room-a", f"user-{i}", "client")  # 8 records: queued
            driver.join("room-b", "b", "client")  # 2 records: the queue is full
            for i in range(4):
                driver.join("room-a", f"more-{i}", "client")  # 4 records: dropped
            driver.join("room-c", "c", "client")  # 2 records: dropped
            assert ledger.stats.pending == 10 and ledger.stats.dropped == 6
            assert any("dropping session records" in r.message for r in caplog.records)
        finally:
            store.gate.set()
        with trio.fail_after(30):
            await ledger.wait_committed()
    assert query(db, "SELECT COUNT(*) FROM participations") == [(10,)]
    [(dropped, detail)] = query(db, "SELECT dropped, detail FROM ledger_gaps")
    assert dropped == 6
    assert detail == "ParticipantJoined=5, SessionStarted=1"


@pytest.mark.parametrize("late", [False, True], ids=["before-commit", "after-commit"])
async def test_transient_failures_are_retried_without_loss_or_duplicates(
        tmp_path: Any, late: bool) -> None:
    db = str(tmp_path / "flaky.sqlite3")
    ledger = make_ledger(db, FlakyStore(db, fail=3, late=late), retry_max_delay=0.05)
    async with running(ledger):
        driver = CoreDriver(ledger, CoreConfig())
        conn = driver.at(0).join("room", "coach-1", "coach")
        driver.at(1).send(conn, {"type": "leave"})
        with trio.fail_after(30):
            await ledger.wait_committed()
        assert ledger.stats.write_errors == 3
    assert query(db, "SELECT session_id, end_reason FROM sessions") == [("s1", "leave")]
    assert query(db, "SELECT user_id, ending FROM participations") == [("coach-1", "leave")]


async def test_a_record_that_cannot_be_written_is_dropped_alone(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "poison.sqlite3")
    ledger = make_ledger(db)
    async with running(ledger):
        driver = CoreDriver(ledger, CoreConfig())
        driver.at(0).join("room", "coach-1", "coach")
        ledger.record(cast(Any, "not a record"))  # never raises
        driver.at(1).join("room", "client-1", "client")
        with trio.fail_after(30):
            await ledger.wait_committed()
        assert ledger.stats.dropped == 1
    assert query(db, "SELECT user_id FROM participations ORDER BY joined_at") == [
        ("coach-1",), ("client-1",)]
    assert query(db, "SELECT dropped, detail FROM ledger_gaps") == [(1, "str=1")]
    assert any("cannot be written" in r.message for r in caplog.records)


async def test_records_after_the_ledger_stopped_are_counted_not_raised(tmp_path: Any) -> None:
    db = str(tmp_path / "stopped.sqlite3")
    ledger = make_ledger(db)
    async with running(ledger):
        pass
    driver = CoreDriver(ledger, CoreConfig())
    driver.join("room", "late", "client")
    assert ledger.stats.dropped == 2
    await ledger.wait_committed()  # returns: nothing will ever be written now

"""The voice's pool: a sentence's first audio goes ahead of later pieces already queued.

Real threads, no model: each job records when it ran. Milliseconds of work, no sleeps to wait
on beyond bounded event waits.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orb_bridge.voice_pool import FIRST, LATER, PriorityPool


def test_first_audio_goes_ahead_of_later_pieces_and_order_is_kept_within_each() -> None:
    pool = PriorityPool(1, "voice")
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = pool.submit(FIRST, gate.wait, 10.0)  # holds the one thread
        later = [pool.submit(LATER, ran.append, f"later {i}") for i in range(3)]
        first = [pool.submit(FIRST, ran.append, f"first {i}") for i in range(2)]
        gate.set()
        for future in (blocker, *later, *first):
            future.result(timeout=10)
    finally:
        pool.shutdown()
    assert ran == ["first 0", "first 1", "later 0", "later 1", "later 2"]


def test_a_cancelled_job_never_runs_errors_reach_the_waiter_and_shutdown_cancels() -> None:
    pool = PriorityPool(1, "voice")
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = pool.submit(FIRST, gate.wait, 10.0)
        dropped = pool.submit(FIRST, ran.append, "dropped")
        assert dropped.cancel()  # a barge-in closed its reply while it was queued
        failing = pool.submit(LATER, int, "not a number")
        kept = pool.submit(LATER, ran.append, "kept")
        gate.set()
        blocker.result(timeout=10)
        with pytest.raises(ValueError):
            failing.result(timeout=10)
        kept.result(timeout=10)
        assert ran == ["kept"]
        gate.clear()
        started = threading.Event()

        def hold() -> None:
            started.set()
            gate.wait(10.0)

        busy = pool.submit(FIRST, hold)
        assert started.wait(10.0)
        queued = pool.submit(FIRST, ran.append, "never")
    finally:
        pool.shutdown()
    gate.set()
    busy.result(timeout=10)
    assert queued.cancelled()
    assert ran == ["kept"]
    with pytest.raises(RuntimeError):
        pool.submit(FIRST, ran.append, "after")


def test_the_pool_threads_carry_the_voice_name_where_proc_shows_it() -> None:
    def own_name() -> str | None:
        comm = Path(f"/proc/self/task/{threading.get_native_id()}/comm")
        return comm.read_text().strip() if comm.exists() else None

    pool = PriorityPool(1, "voice")
    try:
        name = pool.submit(FIRST, own_name).result(timeout=10)
    finally:
        pool.shutdown()
    if name is None:
        pytest.skip("no /proc task names here")
    assert name == "voice"

"""The Trio → asyncio portal of the orb loop thread: results, errors, cancellation, shutdown."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from orb_bridge.loop_thread import AsyncioLoopThread


async def test_call_runs_on_the_loop_thread_and_returns_plain_results() -> None:
    loop_thread = AsyncioLoopThread(name="orb-loop-test")
    await trio.to_thread.run_sync(loop_thread.start)
    try:
        async def where(x: int) -> tuple[str, int]:
            await asyncio.sleep(0.01)
            return threading.current_thread().name, x * 2

        with trio.fail_after(5):
            assert await loop_thread.call(where, 21) == ("orb-loop-test", 42)
            # Many calls at once do not block Trio or each other.
            results: list[tuple[str, int]] = []
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    async def one(i: int = i) -> None:
                        results.append(await loop_thread.call(where, i))
                    nursery.start_soon(one)
            assert sorted(r[1] for r in results) == [2 * i for i in range(50)]
    finally:
        await trio.to_thread.run_sync(loop_thread.stop)


async def test_call_raises_the_coroutines_exception_in_trio() -> None:
    loop_thread = AsyncioLoopThread()
    await trio.to_thread.run_sync(loop_thread.start)
    try:
        async def broken() -> None:
            raise KeyError("inside asyncio")

        with trio.fail_after(5), pytest.raises(KeyError, match="inside asyncio"):
            await loop_thread.call(broken)
    finally:
        await trio.to_thread.run_sync(loop_thread.stop)


async def test_cancelling_the_trio_side_cancels_the_asyncio_task() -> None:
    loop_thread = AsyncioLoopThread()
    await trio.to_thread.run_sync(loop_thread.start)
    cancelled = threading.Event()
    try:
        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with trio.move_on_after(0.2):
            await loop_thread.call(forever)
        with trio.fail_after(5):
            while not cancelled.is_set():
                await trio.sleep(0.01)
    finally:
        await trio.to_thread.run_sync(loop_thread.stop)


async def test_stop_cancels_leftover_tasks_and_joins_the_thread() -> None:
    loop_thread = AsyncioLoopThread(name="orb-loop-stop")
    await trio.to_thread.run_sync(loop_thread.start)
    finished = threading.Event()

    async def leftover() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.set()

    loop_thread.submit(leftover())
    await trio.sleep(0.05)
    with trio.fail_after(10):
        await trio.to_thread.run_sync(loop_thread.stop)
    assert finished.is_set()
    assert loop_thread.thread is None
    assert "orb-loop-stop" not in {t.name for t in threading.enumerate()}

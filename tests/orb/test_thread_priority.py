"""The orb's batch threads (speech-to-text, the voice pool, the end-of-turn model) run at a
lower OS priority than the media loop (orb_bridge.thread_priority; issue 26), read back from
/proc the way the scheduler sees it."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from orb_bridge import thread_priority
from orb_bridge.end_of_turn import TurnJudge
from orb_bridge.loop_thread import AsyncioLoopThread
from orb_bridge.stt import WhisperStt
from orb_bridge.thread_priority import lower_this_thread, run_in_batch_thread
from orb_bridge.voice_pool import PriorityPool


def nice_of(tid: int) -> int:
    """The thread's nice as the kernel keeps it (/proc/self/task/TID/stat, field 19)."""
    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def own_nice() -> int:
    return nice_of(threading.get_native_id())


PROCESS_NICE = os.getpriority(os.PRIO_PROCESS, os.getpid())
STEP = 10  # the step under test (off by default: thread_priority.DEFAULT_BATCH_NICE)
LOWERED = min(19, PROCESS_NICE + STEP)


@pytest.fixture
def lowering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thread_priority, "BATCH_NICE", STEP)


def test_lowering_is_off_by_default() -> None:
    assert thread_priority.DEFAULT_BATCH_NICE == 0  # measured: README, issue 26, ninth round


@pytest.mark.usefixtures("lowering")
def test_the_voice_pool_runs_lowered() -> None:
    pool = PriorityPool(1, "voice")
    try:
        assert pool.submit(0, own_nice).result(timeout=10) == LOWERED
    finally:
        pool.shutdown()
    assert own_nice() == PROCESS_NICE  # the caller is not lowered


@pytest.mark.usefixtures("lowering")
def test_the_end_of_turn_thread_runs_lowered() -> None:
    judge = TurnJudge()
    assert judge._pool.submit(own_nice).result(timeout=10) == LOWERED
    judge._pool.shutdown(wait=True)


@pytest.mark.usefixtures("lowering")
def test_speech_to_text_threads_run_lowered() -> None:
    engine = WhisperStt()  # not loaded: its pool's thread, and the thread that loads it
    assert engine._pool.submit(own_nice).result(timeout=10) == LOWERED
    engine.close()

    def start_a_native_thread() -> int:  # as CTranslate2 does when its model is loaded
        seen: list[int] = []
        child = threading.Thread(target=lambda: seen.append(own_nice()))
        child.start()
        child.join(10)
        return seen[0]

    assert run_in_batch_thread(start_a_native_thread, "stt") == LOWERED
    assert own_nice() == PROCESS_NICE


def test_the_media_loop_is_not_lowered() -> None:
    loop = AsyncioLoopThread()
    loop.start()
    try:
        async def nice() -> int:
            await asyncio.sleep(0)
            return own_nice()

        assert loop.submit(nice()).result(timeout=10) == PROCESS_NICE
    finally:
        loop.stop()


def test_lowering_is_idempotent_and_can_be_switched_off() -> None:
    def in_thread(step: int | None) -> list[int | None]:
        seen: list[int | None] = []

        def body() -> None:
            seen.append(lower_this_thread(step))
            seen.append(lower_this_thread(step))  # a batch thread's batch thread: not twice

        thread = threading.Thread(target=body)
        thread.start()
        thread.join(10)
        return seen

    assert in_thread(3) == [min(19, PROCESS_NICE + 3)] * 2
    assert in_thread(0) == [PROCESS_NICE] * 2


@pytest.mark.parametrize(("raw", "step"), [("0", 0), ("5", 5), ("99", 19), ("x", 0), ("", 0)])
def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str,
                                                   step: int) -> None:
    monkeypatch.setenv(thread_priority.ENV_VAR, raw)
    assert thread_priority.batch_nice() == step

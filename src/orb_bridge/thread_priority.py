"""The orb's batch threads run at a lower OS priority than its media loop.

Speech-to-text ("stt"), the neural voice ("voice") and the end-of-turn model ("eot") do work
that may be late by tens of milliseconds; the asyncio loop that paces the orb's video and audio
may not. On a saturated machine their bursts collide and the media loop queues behind them for
the CPU (issue 26: the orb's frames go out late). Real-time media servers keep batch work off
the latency-critical thread's way; Linux schedules each thread by its own nice value, so a
batch thread raises its own nice by :data:`BATCH_NICE` when it starts (threads it creates, e.g.
CTranslate2's compute threads, inherit it). Only ever *lower* priority: that needs no privilege,
and no thread is raised.

``ORB_BATCH_NICE`` (environment, read once at import) sets the step; ``0``, the default,
switches it off (see :data:`DEFAULT_BATCH_NICE`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ENV_VAR = "ORB_BATCH_NICE"
DEFAULT_BATCH_NICE = 0
"""Off by default: measured on the 2-core machine with bench/orb_capacity.py (README, issue
26, ninth round), +10 kept the orb's video ~0.5 fps higher at 7 rooms only by starving
speech-to-text (a third of its CPU, most turns unanswered), so the replies paid for it."""

_MAX_NICE = 19


def batch_nice() -> int:
    """The nice step for batch threads: ``ORB_BATCH_NICE`` if set (0-19), else the default."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_BATCH_NICE
    try:
        return max(0, min(_MAX_NICE, int(raw)))
    except ValueError:
        return DEFAULT_BATCH_NICE


BATCH_NICE = batch_nice()


def lower_this_thread(step: int | None = None) -> int | None:
    """Set the calling thread's nice to the process's (its main thread's) plus ``step``
    (:data:`BATCH_NICE` if None), at most 19, and never lower than the thread has it (so
    idempotent: a batch thread started by a batch thread is not lowered twice); returns the
    thread's nice after, or None where per-thread priority is not available (not Linux)."""
    step = BATCH_NICE if step is None else step
    if not hasattr(os, "setpriority"):
        return None
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        process = os.getpriority(os.PRIO_PROCESS, os.getpid())
        wanted = min(_MAX_NICE, process + max(0, step))
        if wanted > now:
            os.setpriority(os.PRIO_PROCESS, tid, wanted)
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None


def start_batch_thread(name: str) -> None:
    """A pool's initializer: the calling thread named ``name`` in /proc, and lowered."""
    from .voice_pool import name_os_thread

    name_os_thread(name)
    lower_this_thread()


def run_in_batch_thread(work: Callable[[], T], name: str) -> T:
    """``work()`` in a new lowered thread named ``name`` in /proc, waited for; for a library
    that starts its own compute threads when loaded (they inherit the nice and the name of the
    thread that loads it), without lowering the caller."""

    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        start_batch_thread(name)
        try:
            result.append(work())
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]

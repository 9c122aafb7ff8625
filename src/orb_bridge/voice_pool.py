"""The voice's bounded thread pool, where a sentence's first audio goes ahead of the rest.

Every orb of a process shares one voice model and the few threads that run it. A plain FIFO
pool makes a room's first words wait behind every piece another room's long reply has queued,
although those pieces are needed only about a second later (the conductor asks for them ahead
of the voice). So each job has a priority: :data:`FIRST` (loading, a sentence's phonemes,
latent frames and first piece: what a listener is waiting for now) runs before :data:`LATER`
(the following pieces, made ahead of playback); within a priority, first come first served.

A job whose future was cancelled before it started (a barge-in closed its reply) is dropped
without running, as :class:`concurrent.futures.ThreadPoolExecutor` does. The threads carry the
name given at the operating-system level (``/proc/PID/task/TID/comm``), so a benchmark can tell
the voice's CPU from the rest of the process's.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
#: How long the exit waits for a job under way (one piece of a sentence takes well under 1 s).
_EXIT_WAIT_SECONDS = 5.0

#: What a listener waits for now: a sentence's first audio (and loading the model).
FIRST = 0
#: What is made ahead of playback: a sentence's later pieces.
LATER = 1

_PR_SET_NAME = 15


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` (15 bytes at most) where ``/proc`` shows it; a no-op
    where that is not possible (not Linux, no libc found)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def named_os_thread(name: str) -> Iterator[None]:
    """The calling thread called ``name`` in /proc for the block (threads it starts inherit
    the name), then its own name again."""
    try:
        with open("/proc/thread-self/comm", encoding="utf-8") as comm:
            before = comm.read().strip()
    except OSError:
        before = None
    name_os_thread(name)
    try:
        yield
    finally:
        if before is not None:
            name_os_thread(before)


_Job = tuple[int, int, "concurrent.futures.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class PriorityPool:
    """``workers`` threads running submitted calls, lowest priority number first."""

    def __init__(self, workers: int, name: str) -> None:
        self._name = name
        self._jobs: list[_Job] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()
        # The threads are daemons (a pool nobody shut down must not hold the process open),
        # so at exit the pool is shut down and its job under way waited for: a thread still
        # inside onnxruntime while the interpreter tears the library down aborts the process
        # ("terminate called without an active exception", an orb-worker stopped mid-reply).
        atexit.register(self._stop_at_exit)

    def submit(self, priority: int, work: Callable[..., T],
               *args: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._ready:
            if self._closed:
                raise RuntimeError(f"the {self._name} pool is shut down")
            heapq.heappush(self._jobs, (priority, next(self._order), future, work, args))
            self._ready.notify()
        return future

    def queued(self) -> int:
        with self._ready:
            return len(self._jobs)

    def shutdown(self) -> None:
        """Stop taking jobs and cancel the queued ones; a job under way finishes."""
        with self._ready:
            self._closed = True
            jobs, self._jobs = self._jobs, []
            self._ready.notify_all()
        for _, _, future, _, _ in jobs:
            future.cancel()

    def _stop_at_exit(self) -> None:
        self.shutdown()
        for thread in self._threads:
            thread.join(_EXIT_WAIT_SECONDS)

    def _work(self) -> None:
        name_os_thread(self._name)
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if not self._jobs:
                    return
                _, _, future, work, args = heapq.heappop(self._jobs)
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued: never started
            try:
                result = work(*args)
            except BaseException as exc:  # handed to the waiter, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)

"""Task ownership for one orb: every task it starts is tracked, cancelled and awaited.

aiortc's own habit of fire-and-forget ``ensure_future`` is what we avoid here: a task that
nobody owns outlives its orb, keeps peer connections alive and hides its exceptions. An
:class:`TaskOwner` reports the first unexpected exception of any of its tasks (that becomes
the orb's ``error`` shutdown) and, on close, cancels the rest and waits for them, bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class TaskOwner:
    """Owns a set of asyncio tasks on the current loop."""

    def __init__(self, on_failure: Callable[[BaseException], None]) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_failure = on_failure
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        if self._closed:
            coro.close()
            raise RuntimeError("task owner is closed")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not self._closed:
            self._on_failure(exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Cancel every task and wait for them (at most ``timeout``); idempotent."""
        self._closed = True
        pending = [t for t in self._tasks if not t.done()]
        for task in pending:
            task.cancel()
        if not pending:
            return
        done, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            logger.error("task %s did not finish within %.1fs of cancellation",
                         task.get_name(), timeout)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                logger.debug("task %s ended with %r while closing", task.get_name(),
                             task.exception())

"""The one asyncio loop of the process that runs every orb, and the Trio portal into it.

aiortc is asyncio-only and binds its objects to the loop they were made on, so every aiortc
object of the process is created and used on this loop's thread, and nowhere else. Trio talks
to it through :meth:`AsyncioLoopThread.call`:

* Trio → asyncio: the coroutine is scheduled with ``asyncio.run_coroutine_threadsafe``; the
  Trio task waits on a ``trio.Event`` that the future's done-callback sets via
  ``TrioToken.run_sync_soon``. Cancelling the Trio task cancels the asyncio task.
* asyncio → Trio: never directly. The asyncio side only ever *answers* calls (e.g. "the next
  message this orb wants sent"), so the only thing it hands to Trio is ``event.set``.

Only plain data (strings, numbers, dicts of those) is passed through ``call``; callers must not
hand aiortc objects or Trio objects across. The thread outlives every task on its loop:
:meth:`stop` cancels whatever is left, waits for it, shuts the default executor down (aiortc
encodes in it), closes the loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import trio

logger = logging.getLogger(__name__)

T = TypeVar("T")


class AsyncioLoopThread:
    def __init__(self, name: str = "orb-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("loop thread is not running")
        return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("loop thread already started")
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError("asyncio loop thread did not start")

    def _main(self) -> None:
        from .voice_pool import name_os_thread

        name_os_thread(self._name)  # in /proc: the capacity bench reads its CPU by name
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._cancel_everything(loop))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    @staticmethod
    async def _cancel_everything(loop: asyncio.AbstractEventLoop) -> None:
        me = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks(loop) if t is not me]
        for task in leftover:
            task.cancel()
        if leftover:
            logger.debug("cancelling %d leftover tasks of the orb loop", len(leftover))
            await asyncio.wait(leftover, timeout=5.0)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """From Trio: run ``fn(*args)`` on the loop and wait for its result, cancellably."""
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()

        def wake(_: concurrent.futures.Future[T]) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        future = self.submit(fn(*args))
        future.add_done_callback(wake)
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            raise
        return future.result()

    def stop(self, timeout: float = 10.0) -> None:
        """Blocking: end the loop (cancelling what is left) and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            logger.error("orb loop thread did not stop within %.1fs", timeout)
        self._thread = None
        self._loop = None

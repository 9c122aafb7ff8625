"""The orb's ``spawn(coro, name)`` for tests that drive its stages on a plain asyncio loop.

The orb's stages start work through a ``spawn`` they are given (the session's in a call);
a test gives them one that keeps every task it started, so the test can wait for them all
or cancel what is left at its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Spawned:
    """The tasks started through :meth:`spawn` that are still running."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

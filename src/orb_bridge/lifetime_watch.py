"""When an orb must end on its own: idle without humans, or too old.

An orb left alone in a room ends ``session_complete`` after ``idle_grace`` (a human who drops
and comes back within it finds it still there); any orb ends ``timeout`` at
``max_lifetime``. :class:`LifetimeWatch` sleeps until the nearer of the two deadlines and
wakes early only when the room's humans change, so a quiet orb costs no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from signaling_core import ORB_SHUTDOWN_COMPLETE, ORB_SHUTDOWN_TIMEOUT

logger = logging.getLogger(__name__)


class LifetimeWatch:
    """Ends an orb (``end(reason)``) at ``max_lifetime`` or after ``idle_grace`` alone."""

    def __init__(self, *, max_lifetime: float, idle_grace: float, name: str) -> None:
        self._max_lifetime = max_lifetime
        self._idle_grace = idle_grace
        self._name = name
        self.started = time.monotonic()
        self._empty_since: float | None = None
        self._changed = asyncio.Event()

    def humans_changed(self, present: bool) -> None:
        """The room's humans changed (``present``: the orb has at least one)."""
        if present:
            self._empty_since = None
        elif self._empty_since is None:
            self._empty_since = time.monotonic()
        self._changed.set()

    async def run(self, end: Callable[[str], None]) -> None:
        while True:
            deadline, reason = self.started + self._max_lifetime, ORB_SHUTDOWN_TIMEOUT
            if self._empty_since is not None:
                idle_end = self._empty_since + self._idle_grace
                if idle_end < deadline:
                    deadline, reason = idle_end, ORB_SHUTDOWN_COMPLETE
            delay = deadline - time.monotonic()
            if delay <= 0:
                logger.info("orb %s ends: %s", self._name, reason)
                end(reason)
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)

"""The server's sense of time: the core's deadlines and the WebSocket pings.

The core never reads a clock; it tells when it next needs to be told the time
(``next_deadline``), and this loop sleeps until exactly then — forever when there is nothing to
wait for. An input that sets a deadline earlier than the one told raises the core's
``deadline_changed``; whoever fed that input then calls :meth:`Timers.wake_by` with the new
``next_deadline()``. Nothing polls and nothing scans every room: a wake-up happens at a
deadline, or when one moved earlier.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Protocol

import trio

from signaling_core import Command, SignalingCore, TimeAdvanced


class Timers:
    def __init__(self, core: SignalingCore, run: Callable[[list[Command]], None]) -> None:
        """``run`` carries out the commands a deadline produced."""
        self._core = core
        self._run = run
        self._scope: trio.CancelScope | None = None
        #: How many times the loop woke (a test counts them against the deadlines).
        self.wakeups = 0

    async def run_deadlines(self) -> None:
        core = self._core
        while True:
            deadline = core.next_deadline()
            with trio.CancelScope(deadline=math.inf if deadline is None else deadline) as scope:
                self._scope = scope
                await trio.sleep_forever()
            self._scope = None
            self.wakeups += 1
            now = trio.current_time()
            deadline = core.next_deadline()
            if deadline is not None and deadline <= now:
                self._run(core.handle(TimeAdvanced(now)))

    def wake_by(self, when: float | None) -> None:
        """Make sure the loop looks at the core's deadlines no later than ``when``."""
        scope = self._scope
        if scope is not None and when is not None and when < scope.deadline:
            scope.deadline = when

    def deadline_moved(self) -> None:
        """The core set a deadline earlier than the one it told (``deadline_changed``)."""
        self.wake_by(self._core.next_deadline())


class Pingable(Protocol):
    def send_ping(self) -> None: ...


async def ping_forever(interval: float, connections: Callable[[], Iterable[Pingable]]) -> None:
    """Every ``interval`` seconds, a ping frame to each WebSocket.

    The answer (any frame, in fact) counts as activity for the core's idle deadline;
    in-process connections need no ping.
    """
    while True:
        await trio.sleep(interval)
        for conn in list(connections()):
            conn.send_ping()

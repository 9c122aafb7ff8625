"""The server's sense of time: the core's deadlines and the WebSocket pings.

The core never reads a clock; it says when it next needs to be told the time
(``next_deadline``), and this loop sleeps until then, at most ``poll`` seconds, so that a
deadline the core moved earlier (a ``leave`` restarts a join deadline) is noticed soon even if
nobody wakes the loop. A new connection wakes it at once (:meth:`Timers.wake_by`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import trio

from signaling_core import Command, SignalingCore

#: Upper bound on how late a deadline the core moved earlier may be noticed.
MAX_TIMER_SLEEP = 1.0


class Timers:
    def __init__(self, core: SignalingCore, run: Callable[[list[Command]], None],
                 poll: float) -> None:
        """``run`` carries out the commands a deadline produced."""
        self._core = core
        self._run = run
        self.poll = min(MAX_TIMER_SLEEP, poll)
        self._scope: trio.CancelScope | None = None

    async def run_deadlines(self) -> None:
        core = self._core
        while True:
            now = trio.current_time()
            deadline = core.next_deadline()
            wake = now + self.poll
            if deadline is not None and deadline < wake:
                wake = deadline
            with trio.CancelScope(deadline=wake) as scope:
                self._scope = scope
                await trio.sleep_forever()
            self._scope = None
            now = trio.current_time()
            deadline = core.next_deadline()
            if deadline is not None and deadline <= now:
                self._run(core.tick(now))

    def wake_by(self, when: float) -> None:
        """Make sure the loop looks at the core's deadlines no later than ``when``."""
        scope = self._scope
        if scope is not None and when < scope.deadline:
            scope.deadline = when


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

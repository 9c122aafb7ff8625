"""The read hub's sleep when Trio has nothing else to do: one kernel wait, no trip through Trio.

When the hub has read everything, it normally parks in ``trio.lowlevel.wait_readable`` on its
epoll: Trio re-arms that descriptor in its own epoll (``epoll_ctl``), finishes its pass, sleeps
in ``epoll_wait``, and on the next arrival wakes, reschedules the hub and steps it (bench/README.md,
issue 29: a few µs of a lone message's CPU). When no other task is runnable and no callback is
queued, that whole trip only ends in a sleep the hub could take itself. :class:`IdleWait` takes
it: one ``epoll_wait`` on a small epoll of its own that holds the hub's epoll and Trio's, so it
wakes for an arrival on any hub connection *and* for anything Trio waits for (a new connection,
a writable socket, a TLS read, a signal, a thread's ``run_sync_soon``). It sleeps at most until
Trio's next deadline and at most :data:`IDLE_CAP_SECONDS`, and starts no sleep once the hub has
been out of Trio's loop that long (then it goes through Trio whatever comes) or when the hub's
last two turns were further apart than that (sparse arrivals: the sleep would end on its
timeout, a wake-up for nothing); whenever it wakes for
anything but the hub's sockets, or its time is up, the hub goes back to Trio's own wait, so
Trio stays the loop and every other task runs as before.

One thing it cannot see: tasks Trio woke in the same pass as the hub and that run after it in
that pass (Trio's batch is not public). Those wait for the hub to go back to Trio: at most
twice :data:`IDLE_CAP_SECONDS` (plus one turn of reads).

Trio's epoll descriptor, its run queue, its queue of calls from threads and its deadlines are
not public API (``current_statistics`` has the last three, at a cost): :func:`running_loop`
finds them where Trio 0.2x-0.3x keeps them and gives ``None`` if they are not there (another
backend, another Trio): the hub then always parks in Trio, exactly as before.
"""

from __future__ import annotations

import select
from collections.abc import Sized
from typing import Any, Protocol, cast

#: The longest one sleep of the hub in its own wait, and how long after its last resumption
#: by Trio the hub may still start one: bounds what a task woken in the hub's pass can be
#: held up (see the module docstring). Not shorter: a sleep that ends on its timeout is a
#: wake-up for nothing.
IDLE_CAP_SECONDS = 0.001


class _Loop(Protocol):
    """What the idle wait reads of Trio's run loop (its private parts, see the docstring)."""

    runq: Sized
    entry_queue: Any
    deadlines: Any

    def current_time(self) -> float: ...


def running_loop() -> tuple[_Loop, int] | None:
    """The running Trio loop and its epoll's descriptor, or ``None`` if either cannot be found.

    Read from Trio's private run state (``trio.lowlevel.current_statistics`` says the same
    but costs about a microsecond a call, most of what the idle wait saves)."""
    try:
        from trio._core._run import GLOBAL_RUN_CONTEXT
        runner = GLOBAL_RUN_CONTEXT.runner
        fd = runner.io_manager._epoll.fileno()
        # Every part the hot path reads, read once here: missing, the hub does without.
        len(runner.runq)
        runner.entry_queue.size()
        runner.deadlines.next_deadline() - runner.current_time()
    except Exception:  # not running, another backend, another Trio
        return None
    if not isinstance(fd, int) or fd < 0:
        return None
    return cast(_Loop, runner), fd


class IdleWait:
    """See the module docstring. :meth:`sleep` is the only call of the hub's hot path."""

    def __init__(self, hub_fd: int, loop: _Loop, trio_fd: int) -> None:
        self._epoll = select.epoll()
        self._epoll.register(hub_fd, select.EPOLLIN)
        self._epoll.register(trio_fd, select.EPOLLIN)
        self._trio_fd = trio_fd
        self._runq = loop.runq
        self._calls = loop.entry_queue
        self._deadlines = loop.deadlines
        self._now = loop.current_time
        #: Sleeps taken, and those that ended with an arrival for the hub (tests, the bench).
        self.sleeps = 0
        self.arrivals = 0

    def sleep(self, out_of_trio: float, gap: float) -> bool:
        """Sleep until the hub's epoll has arrivals (True) or the hub must go through Trio:
        something else to run or wait for, a deadline, the cap (False).

        ``out_of_trio``: seconds since Trio last resumed the hub; ``gap``: between the hub's
        last two turns. From :data:`IDLE_CAP_SECONDS` on, either means no sleep (False at
        once): the hub has been out of Trio long enough, or arrivals are sparse and a sleep
        would most likely end on its timeout, a wake-up for nothing.
        """
        if out_of_trio >= IDLE_CAP_SECONDS or gap >= IDLE_CAP_SECONDS:
            return False
        if self._runq or self._calls.size():
            return False
        timeout = self._deadlines.next_deadline() - self._now()
        if timeout > IDLE_CAP_SECONDS:
            timeout = IDLE_CAP_SECONDS
        elif timeout <= 0:
            return False
        self.sleeps += 1
        events = self._epoll.poll(timeout, 2)
        if not events:
            return False
        trio_fd = self._trio_fd
        for fd, _ in events:
            if fd == trio_fd:
                return False
        self.arrivals += 1
        return True

    def close(self) -> None:
        self._epoll.close()


def open_idle_wait(hub_fd: int) -> IdleWait | None:
    """An :class:`IdleWait` for the hub's epoll ``hub_fd`` in the running Trio loop, or
    ``None`` where Trio's epoll cannot be found or nested (the hub then parks in Trio only)."""
    found = running_loop()
    if found is None:
        return None
    try:
        return IdleWait(hub_fd, *found)
    except OSError:
        return None

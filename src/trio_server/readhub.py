"""One Trio task that reads every plain WebSocket: fewer scheduler round trips per message.

A task per connection waiting in ``trio.lowlevel.wait_readable`` costs, for every message it
receives, an ``epoll_ctl`` (Trio registers a socket one-shot, so it is re-armed before each
wait) and a trip through the scheduler to wake that task. Messages arrive one or a few per
connection at a time, from many connections at once, so those two costs were most of what a
relayed message cost beyond its own ``recv`` and ``send`` (bench/README.md, issue 15).

Here the sockets of established plain WebSockets stay registered, edge-triggered, in one
``epoll`` of the hub's, and the hub is a Trio task like any other: it waits with
``wait_readable`` on that epoll's descriptor (Trio's own loop still does all the waiting; there
is no second loop and no thread) and, once woken, reads every connection that is ready before
it yields. Each connection keeps its task, its cancel scope and its deadlines; the task parks
until its reading is over (:meth:`ReadHub.serve`), so cancellation, close timeouts, the writer
and the shutdown work exactly as before. TLS connections read in their own task (their bytes go
through the TLS engine first).

**Reading on before sleeping.** Browsers send on their own schedules, so at a busy server
messages arrive one at a time, a fraction of a millisecond apart, and each lone arrival pays a
whole Trio wake-up of the hub (Trio's run loop, its ``epoll_ctl`` re-arm, the hub's ``poll``,
the process's sleep and wake-up): a large part of a lone message's CPU (bench/README.md, issue
29). Waiting to gather arrivals (a window) would share that cost but delays every message it
gathers, which the latency bound does not allow at these rates. What the hub does instead costs
no wait at all: once a wake-up's reading is done, it asks its epoll again (``poll(0)``) and reads
whatever arrived meanwhile in the same turn, round after round, before it goes back to Trio's
loop. A message that arrives while the hub works is then read as soon as it is free, without a
trip through Trio and without the process going to sleep. The turn is bounded
(:func:`another_round`: ``MAX_ROUNDS_PER_TURN`` rounds, ``TURN_SECONDS``), so every other task
still gets its turn (a turn that ends at its bound, arrivals still coming, is followed by a
checkpoint and the next turn, not by a wait: that saves Trio's re-arm of the epoll); a round
that reads several connections sends its relays when it ends (the cork: one ``send`` per
receiver), a round that reads one sends them as they are made (a lone message pays nothing for
holding its frame). Only the timing of reads changes: each connection is still read in the
order its bytes came.
"""

from __future__ import annotations

import select
import time
from typing import Protocol

import outcome
import trio

from .logs import ERROR, event
from .wsparts import Cork

#: Connections read per wake-up at most before the hub yields to every other task.
MAX_READS_PER_WAKEUP = 256
#: Edge-triggered: a socket is reported once per arrival of bytes, so a reader reads until
#: a read comes back short (the buffer is then empty), and a socket whose reading is over
#: can stay registered until it is closed without being reported again and again.
_EDGE = select.EPOLLIN | select.EPOLLET
#: One turn of the hub reads at most this many rounds (the first included) ...
MAX_ROUNDS_PER_TURN = 16
#: ... and starts no new round this long (seconds) after the turn began: what the other tasks
#: wait for the hub, beyond one round, while arrivals keep coming.
TURN_SECONDS = 0.0005


def another_round(rounds: int, elapsed: float) -> bool:
    """Whether a turn that has read ``rounds`` rounds in ``elapsed`` seconds asks its epoll
    again before handing back to Trio's loop (see the module docstring)."""
    return rounds < MAX_ROUNDS_PER_TURN and elapsed < TURN_SECONDS


#: What :meth:`HubReader.readable` says: nothing more there for now; more there than it read
#: this time (read it again at the next wake-up); its reading is over.
IDLE, MORE, OVER = 0, 1, 2


class HubReader(Protocol):
    def readable(self) -> int:
        """Read what is ready and handle it; ``IDLE``, ``MORE`` or ``OVER``.

        The hub is edge-triggered, so a reader reads until the kernel has nothing left (a
        short read): ``IDLE``. It may stop before that (one client must not hold the hub) and
        say ``MORE``: no new edge will come for bytes already there, so the hub calls it again.
        """
        ...


class ReadHub:
    """Reads for many connections in one task; see the module docstring."""

    def __init__(self, cork: Cork | None = None) -> None:
        self._epoll = select.epoll()
        #: Turns of the hub (wake-ups by Trio that found sockets ready) and the rounds they
        #: read (for tests and the bench: how many rounds found arrivals without a wake-up).
        self.wakeups = 0
        self.rounds = 0
        #: Waits in Trio's loop for the hub's epoll (a turn that ended at its bound is
        #: followed by a checkpoint instead).
        self.waits = 0
        #: On while a round's reads are handled: what they relay to one receiver is written
        #: with one ``send`` once they are all done (see :class:`~.wsparts.Cork`).
        self._cork = cork if cork is not None else Cork()
        #: fd -> (the connection, its parked task).
        self._readers: dict[int, tuple[HubReader, trio.lowlevel.Task]] = {}
        self.running = False
        #: Stopped for good: whoever comes to it now is told so (not parked for ever).
        self._stopped = False

    def __len__(self) -> int:
        return len(self._readers)

    async def serve(self, fd: int, reader: HubReader) -> None:
        """Park the calling task while the hub reads ``fd`` for ``reader``.

        Returns once ``reader.readable()`` said its reading is over; re-raises what it raised.
        Cancelling the caller takes ``fd`` out of the hub at once (nothing is read for it
        after the cancel, even if the task has not run yet).
        """
        if self._stopped:  # it stopped between this connection's start and now
            raise trio.ClosedResourceError("read hub stopped")
        task = trio.lowlevel.current_task()
        try:
            self._epoll.register(fd, _EDGE)
        except FileExistsError:  # a socket that was in the hub before (it never leaves it)
            self._epoll.modify(fd, _EDGE)
        self._readers[fd] = (reader, task)

        def abort(_: object) -> trio.lowlevel.Abort:
            self._forget(fd)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def _forget(self, fd: int) -> None:
        # Not unregistered (an ``epoll_ctl`` per connection): its task closes the socket next,
        # which takes it out of the epoll, and an edge seen meanwhile is skipped.
        self._readers.pop(fd, None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Read for the registered connections until cancelled."""
        epoll = self._epoll
        # Trio is handed the descriptor itself: a ``fileno()`` call less per wake-up.
        epoll_fd = epoll.fileno()
        poll, readers = epoll.poll, self._readers
        cork = self._cork
        read_round = self._read_round
        clock = time.perf_counter
        wait_readable = trio.lowlevel.wait_readable
        self.running = True
        task_status.started()
        #: Readers that said ``MORE``, read again at the next turn.
        again: list[int] = []
        #: The last turn ended at its bound, not for want of arrivals.
        bounded = False
        try:
            while True:
                if again or bounded:
                    # Not waiting: bytes are (most likely) there already; others run first.
                    # A checkpoint costs less than a wait (no ``epoll_ctl`` re-arm by Trio).
                    bounded = False
                    await trio.lowlevel.checkpoint()
                    ready = [(fd, 0) for fd in again]
                    # A reader due again may have been reported anew (more bytes came): it
                    # is read once, or it would be read twice, say MORE twice, and so on.
                    due = set(again)
                    again = []
                    ready.extend(item for item in poll(0, MAX_READS_PER_WAKEUP)
                                 if item[0] not in due)
                    if not ready:
                        continue
                else:
                    self.waits += 1
                    await wait_readable(epoll_fd)
                    ready = poll(0, MAX_READS_PER_WAKEUP)
                    if not ready:
                        continue
                self.wakeups += 1
                began = clock()
                rounds = 0
                while True:
                    rounds += 1
                    if len(ready) == 1:
                        # One connection: no cork. Its relays go out as they are made, and
                        # a chunk of several frames is corked by the connection itself
                        # (``WsConnection._take``), so what the cork saved (one ``send``
                        # per receiver for several readers' messages) cannot arise, and a
                        # lone message does not pay for holding its frame.
                        read_round(ready, again)
                    else:
                        cork.active = True
                        try:
                            read_round(ready, again)
                        finally:
                            cork.release()
                    if again:
                        break
                    if not another_round(rounds, clock() - began):
                        bounded = True
                        break
                    # What arrived while this round was read: read it now, not after a trip
                    # through Trio's loop (the process may not even have gone to sleep).
                    ready = poll(0, MAX_READS_PER_WAKEUP)
                    if not ready:
                        break
                self.rounds += rounds
        finally:
            self.running = False
            self._stopped = True
            # Whoever is still parked here (the hub was stopped before them) reads no more.
            for fd in list(readers):
                _, task = readers[fd]
                self._forget(fd)
                trio.lowlevel.reschedule(
                    task, outcome.Error(trio.ClosedResourceError("read hub stopped")))
            epoll.close()

    def _read_round(self, ready: list[tuple[int, int]], again: list[int]) -> None:
        """Read every connection of ``ready`` (``(fd, events)`` as ``epoll.poll`` gives them,
        not copied into a list of their own); those that say ``MORE`` go to ``again``."""
        readers = self._readers
        reschedule = trio.lowlevel.reschedule
        for fd, _ in ready:
            entry = readers.get(fd)
            if entry is None:  # its reading ended earlier in this batch
                continue
            reader, task = entry
            try:
                state = reader.readable()
                if state != OVER:
                    if state == MORE:
                        again.append(fd)
                    continue
                result: outcome.Outcome[None] = outcome.Value(None)
            except Exception as exc:
                # A bug in one connection ends that connection, in its own task
                # (which logs it), never the hub and the others.
                result = outcome.Error(exc)
            if readers.get(fd) is not entry:
                # Its task was cancelled while it was read (a send that failed
                # under the read cancels the reading): the cancel woke it and
                # forgot it already, and a task is woken once.
                if isinstance(result, outcome.Error):
                    event(ERROR, "connection-crashed",
                          "connection reader failed after its reading was cancelled",
                          error=repr(result.error))
                continue
            self._forget(fd)
            reschedule(task, result)

"""Carrying out the core's commands, in order, and the one rule about inputs that arise meanwhile.

The core changes its state, then returns commands; this module performs them (sends, closes, orb
spawns and stops, session records) before the core sees its next input. Performing a command
can itself produce an input: a send into a full queue or a broken socket ends a connection, an
orb host may report at once that it cannot start an orb. Such an input is never fed to the core
while a batch is being carried out: it is queued, and fed after the batch, in arrival order, its
own commands carried out like any other. So batches never interleave and the core is never
re-entered, and the contract lives here, in :meth:`CommandRunner.feed`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from signaling_core import (
    Close,
    Command,
    Send,
    SpawnOrb,
    StopOrb,
)
from signaling_core.orb_hosting import OrbHost

from .journal import Identified, Journal
from .logs import ERROR, INFO, WARNING, event
from .server_metrics import ServerStats

#: An input to the core, taken when it is its turn: returns the commands it produced.
Input = Callable[[], list[Command]]


class Recipient(Identified, Protocol):
    """A connection as commands reach it: a WebSocket or an in-process participant."""

    #: Whether the core still counts the connection as open: cleared once its end is told.
    in_core: bool

    def deliver(self, data: bytes) -> None:
        """Send one text; never waits (a full queue ends the recipient as a slow consumer)."""
        ...


class CommandRunner:
    def __init__(self, stats: ServerStats, journal: Journal, recipients: dict[int, Recipient],
                 orb_host: OrbHost | None, *, orb_failed: Callable[[SpawnOrb], None],
                 close_recipient: Callable[[Recipient, int, str], None]) -> None:
        """``orb_failed`` tells the core that a spawn came to nothing (through :meth:`feed`);
        ``close_recipient`` closes a connection the core has closed."""
        self._close_recipient = close_recipient
        self._stats = stats
        self._journal = journal
        self._recipients = recipients
        self._orb_host = orb_host
        self._orb_failed = orb_failed
        self._running = False
        self._inputs: deque[tuple[Input, Recipient | None]] = deque()

    def run(self, commands: list[Command], source: Recipient | None = None) -> None:
        """Carry out what the core returned for an input just fed (``source``: whose input).

        For inputs from outside (a frame, the clock, a new connection); an input that arises
        while a batch is carried out goes through :meth:`feed` instead.
        """
        if not commands:
            return
        if self._running:
            raise RuntimeError("the core was fed while a batch was carried out: use feed()")
        self._running = True
        try:
            self._carry_out(commands, source)
            if self._inputs:
                self._drain()
        finally:
            self._running = False

    def feed(self, produce: Input, source: Recipient | None = None) -> None:
        """Feed ``produce`` to the core now, or after the batch being carried out."""
        if self._running:
            self._inputs.append((produce, source))
            return
        self._running = True
        try:
            self._carry_out(produce(), source)
            self._drain()
        finally:
            self._running = False

    def _drain(self) -> None:
        inputs = self._inputs
        while inputs:
            produce, source = inputs.popleft()
            self._carry_out(produce(), source)

    def _carry_out(self, commands: list[Command], source: Recipient | None) -> None:
        recipients = self._recipients
        count_sent = self._stats.count_sent
        for command in commands:
            if type(command) is Send:
                recipient = recipients.get(command.conn_id)
                if recipient is not None:
                    error = count_sent(command)
                    if error is not None:
                        self._journal.protocol_error(recipient, error)
                    recipient.deliver(command.data)
            elif type(command) is Close:
                self._close(command)
            elif type(command) is SpawnOrb:
                self._spawn(command)
            elif type(command) is StopOrb:
                self._stop(command)
            else:
                self._journal.record(command, source)  # type: ignore[arg-type]

    def _close(self, command: Close) -> None:
        recipient = self._recipients.get(command.conn_id)
        if recipient is None:
            return
        recipient.in_core = False
        self._stats.count_close(command.code)
        self._close_recipient(recipient, command.code, command.reason)

    def _spawn(self, command: SpawnOrb) -> None:
        event(INFO, "orb-spawn", "spawning orb", room=command.room_id,
              session=command.session_id, userId=command.user_id)
        if self._orb_host is None:
            event(WARNING, "orb-unavailable", "orbs are enabled but no orb host runs",
                  room=command.room_id)
            self._orb_failed(command)
            return
        try:
            self._orb_host.spawn(command)
        except Exception as exc:
            event(ERROR, "orb-spawn-failed", "orb host failed to spawn",
                  room=command.room_id, error=repr(exc))
            self._orb_failed(command)

    def _stop(self, command: StopOrb) -> None:
        event(INFO, "orb-stop", "stopping orb", room=command.room_id,
              session=command.session_id, reason=command.reason)
        if self._orb_host is not None:
            try:
                self._orb_host.stop(command)
            except Exception as exc:
                event(ERROR, "orb-stop-failed", "orb host failed to stop",
                      room=command.room_id, error=repr(exc))

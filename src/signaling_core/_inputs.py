"""The core's former direct methods, kept as deprecated thin wrappers of ``handle(event)``.

Until 0.2 the core had seven direct methods besides :meth:`SignalingCore.handle`, and the Trio
server used only those. There is now one way in: each method here builds its event, calls
``handle`` and warns (:class:`DeprecationWarning`). They stay so that an embedding written
against them keeps working for a release (see CHANGELOG.md); nothing in this repository
calls them.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Protocol

from ._events import (
    ConnectionActive,
    ConnectionClosed,
    ConnectionId,
    ConnectionOpened,
    Departure,
    OrbEnded,
    ServerStopping,
    TextReceived,
    TimeAdvanced,
)

if TYPE_CHECKING:
    from ._commands import Command
    from ._events import Event


def _deprecated(name: str, event: str) -> None:
    warnings.warn(f"SignalingCore.{name}() is deprecated: call handle({event}(...))",
                  DeprecationWarning, stacklevel=3)


class _Handles(Protocol):
    def handle(self, event: Event) -> list[Command]: ...


class DirectInputs:
    """``receive``, ``open``, ``activity``, ``closed``, ``tick``, ``orb_ended``, ``stop``:
    each only builds its event for the ``handle`` of the class it is mixed into (no hook,
    no state of its own)."""

    def receive(self: _Handles, conn_id: ConnectionId, text: str | bytes,
                now: float) -> list[Command]:
        """Deprecated: ``handle(TextReceived(conn_id, text, now))``."""
        _deprecated("receive", "TextReceived")
        return self.handle(TextReceived(conn_id, text, now))

    def open(self: _Handles, conn_id: ConnectionId, room_id: str, now: float, *,
             trusted: bool = False) -> list[Command]:
        """Deprecated: ``handle(ConnectionOpened(conn_id, room_id, now, trusted))``."""
        _deprecated("open", "ConnectionOpened")
        return self.handle(ConnectionOpened(conn_id, room_id, now, trusted))

    def activity(self: _Handles, conn_id: ConnectionId, now: float) -> None:
        """Deprecated: ``handle(ConnectionActive(conn_id, now))``."""
        _deprecated("activity", "ConnectionActive")
        self.handle(ConnectionActive(conn_id, now))

    def closed(self: _Handles, conn_id: ConnectionId, now: float,
               cause: Departure = Departure.CLOSED) -> list[Command]:
        """Deprecated: ``handle(ConnectionClosed(conn_id, now, cause))``."""
        _deprecated("closed", "ConnectionClosed")
        return self.handle(ConnectionClosed(conn_id, now, cause))

    def tick(self: _Handles, now: float) -> list[Command]:
        """Deprecated: ``handle(TimeAdvanced(now))``."""
        _deprecated("tick", "TimeAdvanced")
        return self.handle(TimeAdvanced(now))

    def orb_ended(self: _Handles, room_id: str, session_id: str, now: float,
                  spawn_id: int | None = None, *, unavailable: bool = False) -> list[Command]:
        """Deprecated: ``handle(OrbEnded(room_id, session_id, now, spawn_id, unavailable))``."""
        _deprecated("orb_ended", "OrbEnded")
        return self.handle(OrbEnded(room_id, session_id, now, spawn_id, unavailable))

    def stop(self: _Handles, now: float, restart: bool = False) -> list[Command]:
        """Deprecated: ``handle(ServerStopping(now, restart))``."""
        _deprecated("stop", "ServerStopping")
        return self.handle(ServerStopping(now, restart))

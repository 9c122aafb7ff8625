"""What a WebSocket connection (:mod:`.wsconn`) shares with the server around it: its states,
the :class:`ConnectionOwner` it reports to, and the :class:`Cork` all of a server's
connections share. Kept apart from the connection itself so that module stays about one
thing, the connection's reading and writing.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

from signaling_core import Departure

if TYPE_CHECKING:
    from .wsconn import WsConnection
    from .wsoutbox import Outbox


class State(enum.Enum):
    OPEN = "open"
    #: A close frame was sent or received; waiting for the other side or for the flush.
    CLOSING = "closing"
    CLOSED = "closed"


class Cork:
    """Shared by a server's connections: while a reader processes a chunk of several frames,
    what is delivered to any connection is held and written when the chunk is done.

    Order per connection is kept: every other write to a connection first writes what it holds.
    """

    __slots__ = ("active", "holding")

    def __init__(self) -> None:
        self.active = False
        #: Connections holding frames, in the order they first got one.
        self.holding: list[Outbox] = []

    def release(self) -> None:
        self.active = False
        holding, self.holding = self.holding, []
        for conn in holding:
            conn.write_held()


class ConnectionOwner(Protocol):
    def on_text(self, conn: WsConnection, payload: bytes, now: float) -> None: ...

    def on_alive(self, conn: WsConnection, now: float) -> None:
        """A pong or a ping from the client: it is alive (the idle deadline restarts)."""
        ...

    def connection_lost(self, conn: WsConnection, cause: Departure, code: int | None = None,
                        reason: str = "") -> None:
        """The I/O side ended the connection (client close, drop, violation, slow consumer).

        ``code`` set means a close frame with that code should still be sent.
        """
        ...

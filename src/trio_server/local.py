"""In-process connections: a participant that lives inside the server (the AI orb).

A :class:`LocalConnection` is a WebSocket without the socket: texts go to the core exactly as
text frames would, and what the core sends arrives on a bounded channel. It obeys the same
rules as a remote peer (join deadline, slow-consumer close, shutdown close), so the core never
needs to know which kind of connection it is talking to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import trio

from signaling_core import CloseCode, Departure


class LocalOwner(Protocol):
    """What a local connection reports to (the server's connection table)."""

    def local_text(self, local: LocalConnection, text: str) -> None: ...

    def local_closed(self, local: LocalConnection, cause: Departure) -> None:
        """The connection ended on its own side (or was ended by the core: ``CLOSED``)."""
        ...


class LocalConnection:
    """One in-process participant's connection to the server. Use it from the Trio thread only.

    Implements :class:`signaling_core.orb_hosting.InProcessConnection`.

    ``outbound`` yields the UTF-8 JSON texts the core sends, in order, and ends (after the
    last one) when the connection is closed. ``closed`` is set when the connection ends, by
    the server (replacement, deadline, slow consumer, shutdown) or by :meth:`close`; then
    ``close_code`` and ``close_reason`` say why.
    """

    def __init__(self, owner: LocalOwner, conn_id: int, room_id: str, capacity: int):
        self.conn_id = conn_id
        self.room_id = room_id
        self._owner = owner
        send, receive = trio.open_memory_channel[bytes](capacity)
        self._send = send
        self.outbound: trio.MemoryReceiveChannel[bytes] = receive
        self.closed = trio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        #: Whether the core still counts this connection as open (the server keeps it).
        self.in_core = True
        #: Known once joined; for logs only.
        self.user_id: str | None = None
        self.role: str | None = None

    def send_text(self, text: str) -> None:
        """Feed one message to the core, like a text frame. Ignored once closed."""
        if not self.closed.is_set():
            self._owner.local_text(self, text)

    def receive_texts(self) -> AsyncIterator[bytes]:
        """What the core sends, in order; ends after the last one once closed."""
        return self.outbound

    def close(self) -> None:
        """Leave like a WebSocket close from the client (others get ``user-left``)."""
        if not self.closed.is_set():
            self.end(CloseCode.NORMAL, "closed by client")
            self._owner.local_closed(self, Departure.CLOSED)

    # ------------------------------------------------------------------ server side

    def deliver(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        try:
            self._send.send_nowait(data)
        except trio.WouldBlock:
            self.end(CloseCode.TRY_AGAIN_LATER, "slow consumer")
            self._owner.local_closed(self, Departure.SLOW_CONSUMER)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            # The orb stopped reading altogether: it is gone.
            self.end(CloseCode.NORMAL, "receiver closed")
            self._owner.local_closed(self, Departure.DROPPED)

    def end(self, code: int, reason: str) -> None:
        """Mark closed; messages already queued stay readable, then ``outbound`` ends."""
        if self.closed.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self._send.close()
        self.closed.set()

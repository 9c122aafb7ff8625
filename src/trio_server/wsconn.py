"""One accepted WebSocket: the task that owns it, its reading, and its closing.

The connection's task lives as long as the connection. Its bytes are read by the server's
read hub (:mod:`.readhub`, one task for every plain socket) or, for TLS, by the task itself;
either way each chunk is parsed and its frames handed over here (:meth:`WsConnection._take`).
Sending is the other half (:class:`~.wsoutbox.Outbox`): it never waits.

Memory per idle connection is what bounds how many a server holds, so an idle connection keeps
only its task, parked, with no nursery of its own (the writer, when a backlog first appears,
starts in the server's nursery) and no chunk or frame.

This module decides nothing about the protocol: texts go to the owner (the server, which feeds
the core), and the owner calls :meth:`start_close` when the core says so.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from signaling_core import CloseCode, Departure

from .frames import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    close_frame,
    control_frame,
    parse_close_payload,
)
from .readhub import IDLE, MORE, OVER, ReadHub
from .transport import RECV_BYTES, PlainTransport, Transport
from .wsoutbox import Outbox
from .wsparts import ConnectionOwner, Cork, State

#: Full reads of one connection per turn of the read hub (4 x 64 KiB).
_READS_PER_TURN = 4


class WsConnection(Outbox):
    __slots__ = (
        "_hub",
        "_owner",
        "_parser",
        "_read_scope",
        "clock",
        "close_code",
        "close_reason",
        "in_core",
        "role",
        "room_id",
        "user_id",
    )

    def __init__(
        self, conn_id: int, room_id: str, transport: Transport, owner: ConnectionOwner, *,
        max_message_bytes: int, byte_limit: int, msg_limit: int, close_timeout: float,
        cork: Cork | None = None, clock: Callable[[], float] = trio.current_time,
        hub: ReadHub | None = None,
    ) -> None:
        super().__init__(conn_id, transport, byte_limit=byte_limit, msg_limit=msg_limit,
                         close_timeout=close_timeout, cork=cork)
        self.room_id = room_id
        self._owner = owner
        self._parser = FrameParser(max_message_bytes)
        #: Reads this connection's plain socket (else its task reads for itself).
        self._hub = hub
        #: The run's clock, read once per received chunk: the clock's own ``current_time``
        #: (what ``trio.current_time`` calls through two more layers).
        self.clock = clock
        self._read_scope: trio.CancelScope | None = None
        #: Whether the core still counts this connection as open (the owner keeps it).
        self.in_core = True
        self.close_code: int | None = None
        self.close_reason = ""
        #: Known once joined; for logs only.
        self.user_id: str | None = None
        self.role: str | None = None

    # ------------------------------------------------------------------ what sending reports

    def _overflowed(self) -> None:
        self._owner.connection_lost(self, Departure.SLOW_CONSUMER, CloseCode.TRY_AGAIN_LATER,
                                    "slow consumer")

    def _fail(self) -> None:
        """The socket broke under a send: a drop, noticed by the sender instead of the reader."""
        if self.broken:
            return
        self.broken = True
        if self._read_scope is not None:
            self._read_scope.cancel()
        self._owner.connection_lost(self, Departure.DROPPED)

    # ------------------------------------------------------------------ closing

    def start_close(self, code: int, reason: str, *, drop_backlog: bool = False) -> None:
        """Send a close frame (after the queued messages, unless ``drop_backlog``).

        The reader then waits at most ``close_timeout`` for the client's close frame.
        """
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self.close_code = code
        self.close_reason = reason
        if drop_backlog:
            self._drop_backlog()
        if not self.broken:
            self._push(close_frame(code, reason), limited=False)
        if self._read_scope is not None:
            self._read_scope.deadline = min(
                self._read_scope.deadline, trio.current_time() + self._close_timeout)

    # ------------------------------------------------------------------ tasks

    async def run(self, initial: bytes = b"") -> None:
        """Serve the connection until it is closed; the transport is closed on return.

        The reader is the calling task itself, with no nursery of its own: a nursery and its
        cancel scope cost about a kilobyte per connection, for a writer that most connections
        never need. The writer, when a backlog first appears, is started in the nursery that
        runs this task (see :meth:`_wake_writer`) and is ended here, so it never outlives the
        connection.
        """
        self._nursery = trio.lowlevel.current_task().parent_nursery
        try:
            if self._queue is not None:
                self._wake_writer()
            with trio.CancelScope() as scope:
                self._read_scope = scope
                if self.state is not State.OPEN:
                    scope.deadline = trio.current_time() + self._close_timeout
                # The read loop is inlined (one coroutine frame less per connection); what a
                # chunk held is dropped before each wait, so an idle connection keeps none.
                transport = self.transport
                data = initial
                del initial
                hub = self._hub
                if hub is not None and type(transport) is PlainTransport:
                    # The hub reads (see :meth:`readable`); this task waits for the end.
                    if not (data and self._take(data)):
                        del data
                        try:
                            await hub.serve(transport.sock.fileno(), self)
                        except trio.ClosedResourceError:
                            self._ended_by_peer()
                else:
                    while not (data and self._take(data)):
                        data = b""
                        try:
                            data = await transport.receive()
                        except (OSError, trio.ClosedResourceError):
                            data = b""
                        if not data:
                            self._ended_by_peer()
                            break
            self._read_scope = None
            if self._lot is not None and self._queue is not None and not self.broken:
                # The writer sends what is left and returns; it gets ``close_timeout``.
                await self._drain_writer()
        finally:
            self._nursery = None
            self._read_scope = None
            writer = self._writer_scope
            if writer is not None:
                writer.cancel()
            self.state = State.CLOSED
            self.transport.close()
            if self.in_core:
                # Cancelled from outside (server stopping), or the reader ended abnormally.
                self._owner.connection_lost(self, Departure.DROPPED)

    def readable(self) -> int:
        """The read hub found this socket readable: read it (see :class:`.readhub.HubReader`),
        at most ``_READS_PER_TURN`` full buffers before the other connections' turn."""
        # The hub reads plain sockets only (see :meth:`run`): their ``recv`` is called here
        # directly, not through ``PlainTransport.receive_ready`` (a Python call less per read).
        transport: PlainTransport = self.transport  # type: ignore[assignment]
        recv = transport.sock.recv
        for _ in range(_READS_PER_TURN):
            try:
                data = recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return IDLE
            except OSError:  # a reset: the end of the stream, as ``receive_ready`` says
                data = b""
            if not data:
                self._ended_by_peer()
                return OVER
            if self._take(data):
                return OVER
            if len(data) < RECV_BYTES:  # a short read: nothing was left
                return IDLE
        return MORE

    def _ended_by_peer(self) -> None:
        """End of stream (or a reset) from the client: a drop, unless already closing."""
        if self.state is State.OPEN:
            self.state = State.CLOSING
            self.broken = True
            self._owner.connection_lost(self, Departure.DROPPED)

    def _take(self, data: bytes) -> bool:
        """Parse and hand over one received chunk; True when reading is over."""
        parser = self._parser
        events = parser.feed(data)
        if len(events) == 1 and events[0][0] == OP_TEXT:
            # The relay's common case (one text frame) without the cork's test and the
            # ``_dispatch`` call: what ``_dispatch`` does for it, in one piece.
            if self.state is State.OPEN:
                self._owner.on_text(self, events[0][1], self.clock())
            if parser.error is not None:
                self._violation(parser.error)
                return True
            return False
        cork = self._cork
        # Several frames in one chunk: hold what they relay and write it once, after.
        corked = len(events) > 1 and not cork.active
        if corked:
            cork.active = True
        try:
            closed = self._dispatch(events)
        finally:
            if corked:
                cork.release()
        if closed:
            return True
        if parser.error is not None:
            self._violation(parser.error)
            return True
        return False

    def _dispatch(self, events: list[tuple[int, bytes]]) -> bool:
        """Hand the frames of one chunk to the owner; True once a close frame was read."""
        owner = self._owner
        now = self.clock()
        for opcode, payload in events:
            if opcode == OP_TEXT:
                if self.state is State.OPEN:
                    owner.on_text(self, payload, now)
            elif opcode == OP_PONG:
                owner.on_alive(self, now)
            elif opcode == OP_PING:
                owner.on_alive(self, now)
                if self.state is State.OPEN:
                    self._push(control_frame(OP_PONG, payload), limited=False)
            elif opcode == OP_CLOSE:
                self._on_close_frame(payload)
                return True
        return False

    def _on_close_frame(self, payload: bytes) -> None:
        try:
            code, reason = parse_close_payload(payload)
        except FrameError as exc:
            self._violation(exc)
            return
        if self.state is State.OPEN:
            # The client closes: echo its code (RFC 6455 §5.5.1), then it departs.
            echo = CloseCode.NORMAL if code == CloseCode.NO_STATUS_RECEIVED else code
            self.state = State.CLOSING
            self.close_code = code
            self.close_reason = reason
            self._push(close_frame(echo, ""), limited=False)
            self._owner.connection_lost(self, Departure.CLOSED)

    def _violation(self, error: FrameError) -> None:
        if self.state is State.OPEN:
            self._owner.connection_lost(self, Departure.PROTOCOL_VIOLATION, error.code,
                                        error.reason)

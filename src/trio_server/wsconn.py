"""One accepted WebSocket: its reader task, a writer task when needed, and its outbound queue.

Sending never waits. :meth:`WsConnection.deliver` writes straight to the socket when nothing
is queued (the common case: no task wakes up per relayed message); what the kernel does not
take goes to the queue, which the writer task drains when the socket becomes writable. A queue
past its bound means the receiver cannot keep up: the owner is told (``SLOW_CONSUMER``) and the
connection is closed with 1013, so one slow peer never stalls anyone else.

Frames relayed while the reader works through one received chunk are *held* (see :class:`Cork`)
and written when the chunk is done: one ``send`` per receiver per chunk instead of one per
message. Under load a chunk holds many messages; a lone message is written at once as before.

Memory per idle connection is what bounds how many a server holds, so nothing is kept that
an idle connection does not use: the queue exists only while there is a backlog; the writer
task (with its parking lot and cancel scope) is started the first time a backlog appears, not
for every connection up front, in the nursery that runs the reader (the server's), so a
connection has no nursery of its own; and the reader keeps no chunk or frame while it waits.

This module decides nothing about the protocol: texts go to the owner (the server, which feeds
the core), and the owner calls :meth:`start_close` when the core says so.
"""

from __future__ import annotations

from collections import deque
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
    text_frame,
)
from .logs import ERROR, event
from .readhub import ReadHub
from .transport import RECV_BYTES, PlainTransport, Transport
from .wsparts import ConnectionOwner, Cork, State

_PING = control_frame(OP_PING)


class WsConnection:
    __slots__ = (
        "_byte_limit",
        "_close_timeout",
        "_cork",
        "_draining",
        "_held",
        "_hub",
        "_lot",
        "_msg_limit",
        "_nursery",
        "_owner",
        "_parser",
        "_queue",
        "_queued_bytes",
        "_read_scope",
        "_writer_done",
        "_writer_scope",
        "broken",
        "clock",
        "close_code",
        "close_reason",
        "conn_id",
        "in_core",
        "role",
        "room_id",
        "state",
        "transport",
        "user_id",
    )

    def __init__(
        self, conn_id: int, room_id: str, transport: Transport, owner: ConnectionOwner, *,
        max_message_bytes: int, byte_limit: int, msg_limit: int, close_timeout: float,
        cork: Cork | None = None, clock: Callable[[], float] = trio.current_time,
        hub: ReadHub | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.room_id = room_id
        self.transport = transport
        self._owner = owner
        self._parser = FrameParser(max_message_bytes)
        #: Frames the kernel has not taken yet, oldest first. ``None`` exactly when nothing is
        #: pending: the writer sets it back to ``None`` only after its last frame is sent, so a
        #: direct send can never overtake a frame still on its way.
        self._queue: deque[bytes | memoryview] | None = None
        self._cork = cork if cork is not None else Cork()
        #: Reads this connection's plain socket (else its task reads for itself).
        self._hub = hub
        #: The run's clock, read once per received chunk: the clock's own ``current_time``
        #: (what ``trio.current_time`` calls through two more layers).
        self.clock = clock
        #: Frames delivered while the cork is on; written by :meth:`write_held`.
        self._held: list[bytes] | None = None
        self._queued_bytes = 0
        self._byte_limit = byte_limit
        self._msg_limit = msg_limit
        self._close_timeout = close_timeout
        #: Where the writer task waits for a backlog; ``None`` until the writer is started.
        self._lot: trio.lowlevel.ParkingLot | None = None
        #: The reader is done: the writer returns once the backlog is sent instead of waiting.
        self._draining = False
        #: The nursery running :meth:`run`'s task (the server's), where the writer starts.
        self._nursery: trio.Nursery | None = None
        #: The writer's own scope (run ends it) and its end, both made with the writer.
        self._writer_scope: trio.CancelScope | None = None
        self._writer_done: trio.Event | None = None
        self._read_scope: trio.CancelScope | None = None
        self.state = State.OPEN
        #: Whether the core still counts this connection as open (the owner keeps it).
        self.in_core = True
        self.broken = False
        self.close_code: int | None = None
        self.close_reason = ""
        #: Known once joined; for logs only.
        self.user_id: str | None = None
        self.role: str | None = None

    # ------------------------------------------------------------------ sending (never waits)

    def deliver(self, data: bytes) -> None:
        """Send one text message (UTF-8 JSON) as a text frame, in order, without waiting."""
        if self.state is State.OPEN:
            if self._cork.active:
                held = self._held
                if held is None:
                    self._held = [text_frame(data)]
                    self._cork.holding.append(self)
                else:
                    held.append(text_frame(data))
            elif self._queue is None and self._held is None:
                # The common case of ``_push`` in one piece: nothing pending, a direct send.
                frame = text_frame(data)
                try:
                    sent = self.transport.try_send(frame)
                except OSError:
                    self._fail()
                    return
                if sent != len(frame):
                    self._queue_rest(frame, sent)
            else:
                self._push(text_frame(data), limited=True)

    def write_held(self) -> None:
        """Write the frames held while the cork was on (one ``send`` for all of them)."""
        frames = self._held
        if frames is None:
            return
        self._held = None
        # Held while the connection was open, so they go out even if a close was started since
        # (the close frame, pushed after them, waits for them). A broken socket takes nothing.
        if self.broken:
            return
        if len(frames) == 1:
            self._push(frames[0], limited=True)
            return
        if self._queue is not None:
            for frame in frames[:-1]:
                self._push(frame, limited=False)
            self._push(frames[-1], limited=True)
            return
        data = b"".join(frames)
        try:
            sent = self.transport.try_send(data)
        except OSError:
            self._fail()
            return
        if sent == len(data):
            return
        # What the kernel did not take is queued frame by frame; only the first may be cut.
        rest: deque[bytes | memoryview] = deque()
        for frame in frames:
            if sent >= len(frame):
                sent -= len(frame)
                continue
            rest.append(memoryview(frame)[sent:] if sent else frame)
            sent = 0
        self._queue = rest
        self._queued_bytes = sum(len(frame) for frame in rest)
        self._wake_writer()
        self._check_backlog()

    def send_ping(self) -> None:
        if self.state is State.OPEN:
            self._push(_PING, limited=False)

    @property
    def backlog_bytes(self) -> int:
        return self._queued_bytes

    def _push(self, frame: bytes, limited: bool) -> None:
        if self._held is not None:
            self.write_held()
        queue = self._queue
        if queue is None:
            try:
                sent = self.transport.try_send(frame)
            except OSError:
                self._fail()
                return
            if sent != len(frame):
                self._queue_rest(frame, sent)
            return
        queue.append(frame)
        self._queued_bytes += len(frame)
        if limited:
            self._check_backlog()

    def _queue_rest(self, frame: bytes, sent: int) -> None:
        """The kernel took ``sent`` bytes of ``frame``: the rest starts the backlog."""
        rest: bytes | memoryview = memoryview(frame)[sent:] if sent else frame
        self._queue = deque((rest,))
        self._queued_bytes = len(rest)
        self._wake_writer()

    def _check_backlog(self) -> None:
        queue = self._queue
        if queue is not None and (self._queued_bytes > self._byte_limit
                                  or len(queue) > self._msg_limit):
            self._owner.connection_lost(self, Departure.SLOW_CONSUMER, CloseCode.TRY_AGAIN_LATER,
                                        "slow consumer")

    def _wake_writer(self) -> None:
        """A backlog appeared: wake the writer, starting it on the first backlog.

        Before :meth:`run` has opened the nursery there is nowhere to start it; ``run`` does
        that itself when it finds a backlog.
        """
        lot = self._lot
        if lot is not None:
            lot.unpark()
        elif self._nursery is not None:
            self._lot = trio.lowlevel.ParkingLot()
            self._writer_done = trio.Event()
            self._nursery.start_soon(self._write_loop)

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

    def _drop_backlog(self) -> None:
        queue = self._queue
        if not queue:
            return
        # A frame already partly on the wire must be finished, or the stream is corrupt.
        # (The frame the writer holds is off the queue already: it is never cut.)
        keep = queue[0] if isinstance(queue[0], memoryview) else None
        queue.clear()
        self._queued_bytes = 0
        if keep is not None:
            queue.append(keep)
            self._queued_bytes = len(keep)

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

    def readable(self) -> bool:
        """The read hub found this socket readable: read it empty (a short read is the end
        of what is there), handle it; True when reading is over."""
        while True:
            data = self.transport.receive_ready()
            if data is None:
                return False
            if not data:
                self._ended_by_peer()
                return True
            if self._take(data):
                return True
            if len(data) < RECV_BYTES:
                return False

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

    async def _drain_writer(self) -> None:
        """Let the writer send the backlog left after the reader ended, for at most
        ``close_timeout``; it then returns on its own, or is cancelled by :meth:`run`."""
        self._draining = True
        done = self._writer_done
        assert self._lot is not None and done is not None
        self._lot.unpark()
        with trio.move_on_after(self._close_timeout):
            await done.wait()

    async def _write_loop(self) -> None:
        lot = self._lot
        done = self._writer_done
        assert lot is not None and done is not None
        transport = self.transport
        try:
            # Its own scope: the nursery is the server's, so the connection ends its writer.
            with trio.CancelScope() as scope:
                self._writer_scope = scope
                while self.state is not State.CLOSED:
                    queue = self._queue
                    if not queue:
                        # Everything is on the wire (the last frame included): direct sends
                        # may resume.
                        self._queue = None
                        if self._draining:
                            return
                        await lot.park()
                        continue
                    frame: bytes | memoryview = queue.popleft()
                    self._queued_bytes -= len(frame)
                    while frame:
                        sent = await transport.send(frame)
                        frame = memoryview(frame)[sent:]
        except (OSError, trio.ClosedResourceError):
            self._fail()
        except Exception as exc:
            # A bug must not reach the server's nursery (it would stop the server): this
            # connection is dropped instead, and the failure logged.
            event(ERROR, "connection-crashed", "connection writer failed",
                  conn=self.conn_id, error=repr(exc))
            self._fail()
        finally:
            self._writer_scope = None
            done.set()

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

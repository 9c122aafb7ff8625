"""The sending half of a WebSocket connection: its outbound queue and its writer task.

Sending never waits. :meth:`Outbox.deliver` writes straight to the socket when nothing is
queued (the common case: no task wakes up per relayed message); what the kernel does not take
goes to the queue, which the writer task drains when the socket becomes writable. A queue past
its bound means the receiver cannot keep up: :meth:`Outbox._overflowed` says so, and the
connection (:class:`~.wsconn.WsConnection`, the reading half) is closed with 1013, so one slow
peer never stalls anyone else.

Frames relayed while a reader works through what it received are *held* (see
:class:`~.wsparts.Cork`) and written when it is done: one ``send`` per receiver instead of one
per message. Under load that is many messages; a lone message is written at once as before.

Nothing is kept that an idle connection does not use: the queue exists only while there is a
backlog, and the writer task (with its parking lot and cancel scope) is started the first time
a backlog appears, in the nursery that runs the connection (the server's).
"""

from __future__ import annotations

from collections import deque

import trio

from .frames import OP_PING, control_frame, text_frame
from .logs import ERROR, event
from .transport import Transport
from .wsparts import Cork, State

_PING = control_frame(OP_PING)


class Outbox:
    __slots__ = (
        "_byte_limit",
        "_close_timeout",
        "_cork",
        "_draining",
        "_held",
        "_lot",
        "_msg_limit",
        "_nursery",
        "_queue",
        "_queued_bytes",
        "_writer_done",
        "_writer_scope",
        "broken",
        "conn_id",
        "state",
        "transport",
    )

    def __init__(self, conn_id: int, transport: Transport, *, byte_limit: int, msg_limit: int,
                 close_timeout: float, cork: Cork | None) -> None:
        self.conn_id = conn_id
        self.transport = transport
        #: Frames the kernel has not taken yet, oldest first. ``None`` exactly when nothing is
        #: pending: the writer sets it back to ``None`` only after its last frame is sent, so a
        #: direct send can never overtake a frame still on its way.
        self._queue: deque[bytes | memoryview] | None = None
        self._cork = cork if cork is not None else Cork()
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
        #: The nursery running the connection's task (the server's), where the writer starts.
        self._nursery: trio.Nursery | None = None
        #: The writer's own scope (the connection ends it) and its end, made with the writer.
        self._writer_scope: trio.CancelScope | None = None
        self._writer_done: trio.Event | None = None
        self.state = State.OPEN
        self.broken = False

    def _overflowed(self) -> None:
        """The backlog passed its bound (a slow consumer): the connection is to be closed."""
        raise NotImplementedError

    def _fail(self) -> None:
        """The socket broke under a send."""
        raise NotImplementedError

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
            self._overflowed()

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

"""Connections to the core: every live WebSocket and in-process participant, and their adapters.

A WebSocket (:class:`~.wsconn.WsConnection`) and an in-process participant
(:class:`~.local.LocalConnection`) each report what happened (a text, a sign of life, their
end); this module turns that into the core's inputs and hands the commands to the
:class:`~.command_runner.CommandRunner`. It owns the table of live connections by id, which the
runner delivers to. A departure always reaches the core through :meth:`CommandRunner.feed`, so
one noticed while a batch is carried out (a send into a full queue) waits for the batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import trio

from signaling_core import (
    CloseCode,
    Command,
    ConnectionActive,
    ConnectionClosed,
    ConnectionOpened,
    Departure,
    OrbEnded,
    ServerStopping,
    SignalingCore,
    SpawnOrb,
    TextReceived,
)
from signaling_core.orb_hosting import OrbHost

from .command_runner import CommandRunner, Recipient
from .config import ServerConfig
from .journal import Journal
from .local import LocalConnection
from .logs import INFO, event
from .readhub import ReadHub
from .server_metrics import ServerStats
from .transport import Transport
from .wsconn import WsConnection
from .wsparts import Cork

#: Close codes of an ordinary end, not worth a log line of their own.
_ORDINARY_CLOSES = (CloseCode.NORMAL, CloseCode.GOING_AWAY)


class Connections:
    """Implements :class:`~.wsconn.ConnectionOwner` and :class:`~.local.LocalOwner`."""

    def __init__(self, core: SignalingCore, config: ServerConfig, stats: ServerStats,
                 journal: Journal, orb_host: OrbHost | None,
                 deadline_moved: Callable[[], None]) -> None:
        """``deadline_moved`` is called after an input that set a deadline earlier than the
        one the core last told (its ``deadline_changed``): the timers look again."""
        self._core = core
        self._config = config
        self._stats = stats
        self._deadline_moved = deadline_moved
        self.live: dict[int, Recipient] = {}
        self.runner = CommandRunner(stats, journal, self.live, orb_host,
                                    orb_failed=self._orb_failed,
                                    close_recipient=self._closed_by_core)
        self._ids = itertools.count(1)
        self._ws_open = 0
        self._ws_gone = trio.lowlevel.ParkingLot()
        #: One for all WebSockets: a chunk's relays are written once the chunk is done.
        self._cork = Cork()
        #: Reads every plain WebSocket, once the server runs it (:meth:`ReadHub.run`).
        self.read_hub = ReadHub(self._cork)
        #: The one ``TextReceived`` every WebSocket message is handed to the core in, filled
        #: in place: the core keeps nothing of it, and a fresh event per relayed message would
        #: cost more than the relay path's budget.
        self._text = TextReceived(0, b"", 0.0)

    def websockets(self) -> Iterator[WsConnection]:
        return (conn for conn in list(self.live.values()) if type(conn) is WsConnection)

    def stop_all(self, now: float, restart: bool = False) -> None:
        """The server is stopping: every connection is closed with 1001 (1012 for a
        ``restart``, so clients reconnect at once), every orb stopped."""
        self.runner.run(self._core.handle(ServerStopping(now, restart)))

    async def websockets_closed(self) -> None:
        """Returns once every WebSocket has finished (wrap it in a deadline)."""
        while self._ws_open:
            await self._ws_gone.park()

    def orb_ended(self, room_id: str, session_id: str, spawn_id: int, *,
                  unavailable: bool = False) -> None:
        event(INFO, "orb-ended", "orb ended", room=room_id, session=session_id,
              unavailable=unavailable)
        now = trio.current_time()
        ended = OrbEnded(room_id, session_id, now, spawn_id, unavailable)
        self.runner.feed(lambda: self._told(self._core.handle(ended)))

    def _orb_failed(self, command: SpawnOrb) -> None:
        self.orb_ended(command.room_id, command.session_id, command.spawn_id)

    def _opened(self, recipient: Recipient, trusted: bool = False) -> None:
        # Through feed(): an orb host may open an orb's connection from inside spawn(),
        # that is, while the SpawnOrb's batch is being carried out.
        now, core = trio.current_time(), self._core
        conn_id, room_id = recipient.conn_id, recipient.room_id
        self.live[conn_id] = recipient
        opened = ConnectionOpened(conn_id, room_id, now, trusted)
        self.runner.feed(lambda: self._told(core.handle(opened)))

    def _told(self, commands: list[Command]) -> list[Command]:
        """Pass on what the core returned, first waking the timers when the input set a
        deadline earlier than the one the core last told."""
        if self._core.deadline_changed:
            self._deadline_moved()
        return commands

    def _departed(self, recipient: Recipient, cause: Departure) -> None:
        """``recipient`` ended on its own side; the core hears of it once, in turn."""
        if not recipient.in_core:
            return
        recipient.in_core = False
        conn_id, now, core = recipient.conn_id, trio.current_time(), self._core
        closed = ConnectionClosed(conn_id, now, cause)
        self.runner.feed(lambda: self._told(core.handle(closed)))

    def _closed_by_core(self, recipient: Recipient, code: int, reason: str) -> None:
        if type(recipient) is LocalConnection:
            recipient.end(code, reason)
            self.local_closed(recipient, Departure.CLOSED)
        elif type(recipient) is WsConnection:
            if code not in _ORDINARY_CLOSES:
                event(INFO, "connection-closing", f"closing: {reason}",
                      conn=recipient.conn_id, room=recipient.room_id, userId=recipient.user_id,
                      role=recipient.role, code=code, reason=reason)
            recipient.start_close(code, reason)

    # ------------------------------------------------------------------ WebSockets

    async def serve_websocket(self, transport: Transport, room_id: str, initial: bytes) -> None:
        """Serve one upgraded connection until it closes."""
        config = self._config
        conn = WsConnection(
            next(self._ids), room_id, transport, self,
            max_message_bytes=config.core.max_message_bytes,
            byte_limit=config.outbound_queue_limit,
            msg_limit=config.outbound_queue_messages,
            close_timeout=config.close_timeout, cork=self._cork,
            clock=trio.lowlevel.current_clock().current_time,
            hub=self.read_hub if self.read_hub.running else None,
        )
        self._ws_open += 1
        self._stats.connections_total += 1
        event(INFO, "connection-opened", "connection opened", conn=conn.conn_id,
              room=room_id, peer=transport.peer)
        try:
            self._opened(conn)
            # Not kept in this frame for the connection's whole life: only ``run`` holds it.
            serving = conn.run(initial)
            del initial
            await serving
        finally:
            self.live.pop(conn.conn_id, None)
            self._ws_open -= 1
            self._ws_gone.unpark_all()
            event(INFO, "connection-closed", "connection closed", conn=conn.conn_id,
                  room=conn.room_id, userId=conn.user_id, role=conn.role,
                  code=conn.close_code, reason=conn.close_reason or None)

    def on_text(self, conn: WsConnection, payload: bytes, now: float) -> None:
        core, text = self._core, self._text
        text.conn_id, text.text, text.now = conn.conn_id, payload, now
        commands = core.handle(text)
        if core.deadline_changed:
            self._deadline_moved()
        self.runner.run(commands, conn)
        # Counted once handled, in one call (the relay's hot path): a message whose handling
        # raised is not counted, and the server's next step is to end that connection.
        self._stats.count_handled(payload, conn.clock() - now)

    def on_alive(self, conn: WsConnection, now: float) -> None:
        self._core.handle(ConnectionActive(conn.conn_id, now))

    def connection_lost(self, conn: WsConnection, cause: Departure, code: int | None = None,
                        reason: str = "") -> None:
        if code is not None:
            conn.start_close(code, reason, drop_backlog=cause is Departure.SLOW_CONSUMER)
            self._stats.count_close(code)
        if cause is Departure.SLOW_CONSUMER:
            self._stats.slow_consumers += 1
        if cause is not Departure.CLOSED:
            event(INFO, "connection-lost", f"connection {cause.value}", conn=conn.conn_id,
                  room=conn.room_id, userId=conn.user_id, role=conn.role, cause=cause.value,
                  code=code, reason=reason or None)
        self._departed(conn, cause)

    # ------------------------------------------------------------------ in-process

    def open_local(self, room_id: str, *, stopping: bool) -> LocalConnection:
        """A trusted in-process participant for ``room_id`` (the orb)."""
        local = LocalConnection(self, next(self._ids), room_id,
                                self._config.outbound_queue_messages)
        if stopping:
            local.in_core = False
            local.end(CloseCode.GOING_AWAY, "server shutting down")
            return local
        event(INFO, "connection-opened", "local connection opened", conn=local.conn_id,
              room=room_id, peer="in-process")
        self._opened(local, trusted=True)
        return local

    def local_text(self, local: LocalConnection, text: str) -> None:
        # Through feed(), like _opened: an in-process participant may speak at any moment.
        self._stats.count_in(text.encode("utf-8", "surrogatepass"))
        conn_id, now, core = local.conn_id, trio.current_time(), self._core
        received = TextReceived(conn_id, text, now)
        self.runner.feed(lambda: self._told(core.handle(received)), local)

    def local_closed(self, local: LocalConnection, cause: Departure) -> None:
        self.live.pop(local.conn_id, None)
        if cause is Departure.SLOW_CONSUMER:
            self._stats.slow_consumers += 1
            self._stats.count_close(CloseCode.TRY_AGAIN_LATER)
        event(INFO, "connection-closed", "local connection closed", conn=local.conn_id,
              room=local.room_id, userId=local.user_id, role=local.role, cause=cause.value,
              code=local.close_code, reason=local.close_reason)
        self._departed(local, cause)


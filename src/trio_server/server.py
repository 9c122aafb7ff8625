"""The signaling server: sockets, time and commands around one :class:`SignalingCore`.

Everything the protocol decides is decided by the core. This module accepts connections,
feeds the core what happened (a text, a pong, a drop, the clock) and carries out the commands
it returns, in order: sends, closes, orb spawns and stops, session records. It never inspects
a message beyond counting its type.

Carrying out a command can itself end a connection (a send into a full queue, a broken
socket); the resulting departure is fed to the core at once and its commands are carried out
after the current batch, so commands are never interleaved and the core is never re-entered.
"""

from __future__ import annotations

import errno
import itertools
import socket
import ssl
from typing import Any

import trio

from signaling_core import (
    Close,
    Command,
    Departure,
    ParticipantJoined,
    ParticipantLeft,
    Send,
    SignalingCore,
    SpawnOrb,
    StopOrb,
)

from . import endpoints, web
from .admission import SERVER_FULL, Admission
from .config import ServerConfig
from .handshake import Upgrade
from .http import Router, text_response
from .http_front import HttpFront
from .ledger_sink import LedgerSink
from .local import LocalConnection
from .logs import ERROR, INFO, WARNING, event, log
from .metrics import Gauges, ServerStats, error_code, make_registry
from .orb_host import OrbHost
from .transport import PlainTransport, TlsTransport, Transport, make_tls_context
from .wsconn import WsConnection

AnyConnection = WsConnection | LocalConnection

#: Upper bound on how late a deadline the core moved earlier (a ``leave``) may be noticed.
_MAX_TIMER_SLEEP = 1.0
#: Refused connections answered (503) at once; beyond this many, a refusal is a bare close.
_MAX_REFUSALS_IN_FLIGHT = 64
#: Refusals under a flood are logged at most once per this many seconds (with a count).
_REFUSAL_LOG_INTERVAL = 1.0


class SignalingServer:
    """Serves docs/protocol.md on one port: ``/ws-simple/{roomId}`` plus the HTTP routes."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        orb_host: OrbHost | None = None,
        ledger: LedgerSink | None = None,
    ) -> None:
        self.config = config = config or ServerConfig()
        authorize = None
        if config.join_secret:
            from .join_tokens import make_authorizer

            authorize = make_authorizer(config.join_secret)
        self.core = SignalingCore(config.core, authorize_join=authorize)
        self.orb_host = orb_host
        self.ledger = ledger
        self.port: int | None = None
        self.stats = ServerStats()
        self.registry = make_registry(self.stats, Gauges(
            connections=lambda: self.core.connection_count,
            rooms=lambda: self.core.room_count,
            participants=lambda: self.core.snapshot().participants,
            orbs=lambda: self.core.orb_count,
        ))
        self.stopping = False
        self.router = Router()
        endpoints.register(self.router, self)
        web.register(self.router)
        self._front = HttpFront(self.router, config, self.stats, self._serve_websocket,
                                stopping=lambda: self.stopping)
        self._admission = Admission(config.max_connections, config.max_connections_per_address,
                                    config.cap_loopback)
        self._refusing = 0
        self._refusal_log_at = -_REFUSAL_LOG_INTERVAL
        self._refusals_unlogged = 0
        self._conns: dict[int, AnyConnection] = {}
        #: Upgrades accepted by the HTTP front, served once it has returned (room id, bytes).
        self._upgraded: dict[Transport, tuple[str, bytes]] = {}
        self._ws_open = 0
        self._ws_gone = trio.lowlevel.ParkingLot()
        self._ids = itertools.count(1)
        #: Batches produced while another batch was being carried out, with their source.
        self._pending: list[tuple[list[Command], AnyConnection | None]] = []
        self._dispatching = False
        self._roles: dict[tuple[str, str], str] = {}
        self._timer_scope: trio.CancelScope | None = None
        self._timer_poll = min(_MAX_TIMER_SLEEP, config.core.join_timeout / 4,
                               config.core.idle_timeout / 4)
        self._stop_requested = trio.Event()
        self._stopped = trio.Event()
        self._started_at: float | None = None
        self._nursery: trio.Nursery | None = None
        self._tls: ssl.SSLContext | None = None

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until :meth:`shutdown` or cancellation, then close everything with 1001."""
        config = self.config
        if config.certfile and config.keyfile:
            self._tls = make_tls_context(config.certfile, config.keyfile)
        listener = self._bind()
        self.port = listener.getsockname()[1]
        self._started_at = trio.current_time()
        scheme = "https" if self._tls else "http"
        event(INFO, "listening", f"listening on {scheme}://{config.host}:{self.port}",
              host=config.host, port=self.port, tls=bool(self._tls))
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self.ledger is not None:
                    await nursery.start(self._run_ledger)
                if self.orb_host is not None:
                    await nursery.start(self._run_orb_host)
                nursery.start_soon(self._timer_loop)
                nursery.start_soon(self._ping_loop)
                nursery.start_soon(self._accept_loop, listener)
                task_status.started(self.port)
                try:
                    await self._stop_requested.wait()
                finally:
                    with trio.CancelScope(shield=True):
                        await self._wind_down(listener)
                    nursery.cancel_scope.cancel()
        finally:
            self._close_listener(listener)
            self._stopped.set()
            event(INFO, "stopped", "server stopped")

    async def shutdown(self) -> None:
        """Stop accepting, close every connection with 1001, stop orbs; returns when done."""
        self._stop_requested.set()
        if self._started_at is not None:
            await self._stopped.wait()

    async def shutdown_complete(self) -> None:
        """Returns once :meth:`serve` has finished (after a shutdown or a cancellation)."""
        await self._stopped.wait()

    def uptime(self) -> float:
        return 0.0 if self._started_at is None else trio.current_time() - self._started_at

    def _bind(self) -> socket.socket:
        host = self.config.host
        infos = socket.getaddrinfo(host or None, self.config.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(self.config.backlog)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        return listener

    def _close_listener(self, listener: socket.socket) -> None:
        if listener.fileno() != -1:
            trio.lowlevel.notify_closing(listener)
            listener.close()

    async def _wind_down(self, listener: socket.socket) -> None:
        self.stopping = True
        self._close_listener(listener)
        event(INFO, "shutting-down", "shutting down", connections=len(self._conns))
        self._execute(self.core.stop(trio.current_time()))
        with trio.move_on_after(self.config.close_timeout + 0.5):
            while self._ws_open:
                await self._ws_gone.park()

    async def _run_ledger(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        assert self.ledger is not None
        await self.ledger.run(task_status=task_status)

    async def _run_orb_host(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        assert self.orb_host is not None
        await self.orb_host.run(self, task_status=task_status)

    # ------------------------------------------------------------------ time

    async def _timer_loop(self) -> None:
        core = self.core
        while True:
            now = trio.current_time()
            deadline = core.next_deadline()
            wake = now + self._timer_poll
            if deadline is not None and deadline < wake:
                wake = deadline
            with trio.CancelScope(deadline=wake) as scope:
                self._timer_scope = scope
                await trio.sleep_forever()
            self._timer_scope = None
            now = trio.current_time()
            deadline = core.next_deadline()
            if deadline is not None and deadline <= now:
                self._execute(core.tick(now))

    def _wake_timer_by(self, when: float) -> None:
        scope = self._timer_scope
        if scope is not None and when < scope.deadline:
            scope.deadline = when

    async def _ping_loop(self) -> None:
        interval = self.config.effective_ping_interval
        while True:
            await trio.sleep(interval)
            for conn in list(self._conns.values()):
                if type(conn) is WsConnection:
                    conn.send_ping()

    # ------------------------------------------------------------------ accepting

    async def _accept_loop(self, listener: socket.socket) -> None:
        assert self._nursery is not None
        nursery = self._nursery
        while True:
            try:
                await trio.lowlevel.wait_readable(listener)
            except (trio.ClosedResourceError, OSError):
                return
            for _ in range(64):
                try:
                    sock, _addr = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        event(WARNING, "accept-failed", "out of resources to accept",
                              error=exc.strerror)
                        await trio.sleep(0.1)
                        break
                    if listener.fileno() == -1:
                        return
                    break
                host = _addr[0] if isinstance(_addr, tuple) and _addr else "?"
                refusal, key = self._admission.admit(str(host))
                if refusal is None:
                    nursery.start_soon(self._handle_client, sock, key)
                else:
                    self._refuse_client(nursery, sock, str(host), refusal)

    def _wrap(self, sock: socket.socket) -> Transport | None:
        """``sock`` as a TLS or plain transport; None (the socket closed) when that fails."""
        try:
            return TlsTransport(sock, self._tls) if self._tls else PlainTransport(sock)
        except OSError:
            sock.close()
            return None

    async def _handle_client(self, sock: socket.socket, key: str) -> None:
        """One TCP connection, from its first byte to its close; never raises."""
        try:
            transport = self._wrap(sock)
            if transport is None:
                return
            try:
                await self._front.serve(transport)
                upgraded = self._upgraded.pop(transport, None)
                if upgraded is not None:
                    await self._run_websocket(transport, *upgraded)
            except Exception as exc:
                event(ERROR, "connection-crashed", "connection handler failed",
                      peer=transport.peer, error=repr(exc))
                log.debug("traceback of the failure above", exc_info=True)
            finally:
                self._upgraded.pop(transport, None)
                transport.close()
        finally:
            self._admission.release(key)

    def _refuse_client(self, nursery: trio.Nursery, sock: socket.socket, host: str,
                       reason: str) -> None:
        """A connection past a cap: 503 with the reason, or (under a flood) a bare close."""
        label = "server-full" if reason == SERVER_FULL else "address-cap"
        refusals = self.stats.connection_refusals
        refusals[label] = refusals.get(label, 0) + 1
        now = trio.current_time()
        if now - self._refusal_log_at >= _REFUSAL_LOG_INTERVAL:
            event(WARNING, "connection-refused", f"connection refused: {reason}",
                  peer=host, cause=label, earlier_unlogged=self._refusals_unlogged or None)
            self._refusal_log_at = now
            self._refusals_unlogged = 0
        else:
            self._refusals_unlogged += 1
        if self._refusing >= _MAX_REFUSALS_IN_FLIGHT:
            sock.close()
            return
        self._refusing += 1
        nursery.start_soon(self._answer_refusal, sock, reason)

    async def _answer_refusal(self, sock: socket.socket, reason: str) -> None:
        try:
            transport = self._wrap(sock)
            if transport is None:
                return
            try:
                await self._front.refuse_early(
                    transport, text_response(503, reason, {"Retry-After": "5"}))
            except Exception as exc:
                event(ERROR, "connection-crashed", "refusal failed", error=repr(exc))
            finally:
                transport.close()
        finally:
            self._refusing -= 1

    async def _serve_websocket(self, transport: Transport, upgrade: Upgrade,
                               initial: bytes) -> None:
        """Note an accepted upgrade; :meth:`_handle_client` serves it once the front returns.

        Serving it from here, inside the front's frames, would keep the handshake's h11 state
        and request headers alive for the connection's whole life (about 3 kB each).
        """
        self._upgraded[transport] = (upgrade.room_id, initial)

    async def _run_websocket(self, transport: Transport, room_id: str, initial: bytes) -> None:
        config = self.config
        conn_id = next(self._ids)
        conn = WsConnection(
            conn_id, room_id, transport, self,
            max_message_bytes=config.core.max_message_bytes,
            byte_limit=config.outbound_queue_limit,
            msg_limit=config.outbound_queue_messages,
            close_timeout=config.close_timeout,
        )
        self._conns[conn_id] = conn
        self._ws_open += 1
        self.stats.connections_total += 1
        now = trio.current_time()
        event(INFO, "connection-opened", "connection opened", conn=conn_id,
              room=room_id, peer=transport.peer)
        try:
            self._execute(self.core.open(conn_id, room_id, now))
            self._wake_timer_by(now + config.core.join_timeout)
            await conn.run(initial)
        finally:
            self._conns.pop(conn_id, None)
            self._ws_open -= 1
            self._ws_gone.unpark_all()
            event(INFO, "connection-closed", "connection closed", conn=conn_id,
                  room=conn.room_id, userId=conn.user_id, role=conn.role,
                  code=conn.close_code, reason=conn.close_reason or None)

    def on_text(self, conn: WsConnection, payload: bytes, now: float) -> None:
        self.stats.count_in(payload)
        self._execute(self.core.receive(conn.conn_id, payload, now), conn)
        self.stats.observe_latency(trio.current_time() - now)

    def on_pong(self, conn: WsConnection, now: float) -> None:
        self.core.activity(conn.conn_id, now)

    def connection_lost(self, conn: WsConnection, cause: Departure, code: int | None = None,
                        reason: str = "") -> None:
        if code is not None:
            conn.start_close(code, reason, drop_backlog=cause is Departure.SLOW_CONSUMER)
            self.stats.count_close(code)
        if cause is Departure.SLOW_CONSUMER:
            self.stats.slow_consumers += 1
        if cause is not Departure.CLOSED:
            event(INFO, "connection-lost", f"connection {cause.value}", conn=conn.conn_id,
                  room=conn.room_id, userId=conn.user_id, role=conn.role, cause=cause.value,
                  code=code, reason=reason or None)
        if conn.in_core:
            conn.in_core = False
            self._execute(self.core.closed(conn.conn_id, trio.current_time(), cause))

    # ------------------------------------------------------------------ in-process connections

    def open_local(self, room_id: str) -> LocalConnection:
        """An in-process participant for ``room_id`` (the orb); call from the Trio thread."""
        conn_id = next(self._ids)
        local = LocalConnection(self, conn_id, room_id, self.config.outbound_queue_messages)
        if self.stopping:
            local.in_core = False
            local.end(1001, "server shutting down")
            return local
        self._conns[conn_id] = local
        now = trio.current_time()
        event(INFO, "connection-opened", "local connection opened", conn=conn_id,
              room=room_id, peer="in-process")
        self._execute(self.core.open(conn_id, room_id, now, trusted=True))
        self._wake_timer_by(now + self.config.core.join_timeout)
        return local

    def _local_text(self, local: LocalConnection, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.stats.count_in(data)
        self._execute(self.core.receive(local.conn_id, text, trio.current_time()), local)

    def _local_closed(self, local: LocalConnection, cause: Departure) -> None:
        self._conns.pop(local.conn_id, None)
        if cause is Departure.SLOW_CONSUMER:
            self.stats.slow_consumers += 1
            self.stats.count_close(1013)
        event(INFO, "connection-closed", "local connection closed", conn=local.conn_id,
              room=local.room_id, userId=local.user_id, role=local.role, cause=cause.value,
              code=local.close_code, reason=local.close_reason)
        if local.in_core:
            local.in_core = False
            self._execute(self.core.closed(local.conn_id, trio.current_time(), cause))

    def orb_ended(self, room_id: str, session_id: str, spawn_id: int | None = None) -> None:
        """The orb host reports that the orb it ran for ``room_id`` is gone.

        ``spawn_id`` is the ``SpawnOrb``'s: a late report about an earlier orb of the same
        session then cannot end the orb that replaced it.
        """
        event(INFO, "orb-ended", "orb ended", room=room_id, session=session_id)
        self._execute(self.core.orb_ended(room_id, session_id, trio.current_time(), spawn_id))

    # ------------------------------------------------------------------ carrying out commands

    def _execute(self, commands: list[Command], source: AnyConnection | None = None) -> None:
        """Carry out ``commands`` (``source``: the connection whose input produced them)."""
        if not commands:
            return
        if self._dispatching:
            self._pending.append((commands, source))
            return
        self._dispatching = True
        try:
            self._carry_out(commands, source)
            while self._pending:
                batch, source = self._pending.pop(0)
                self._carry_out(batch, source)
        finally:
            self._dispatching = False

    def _carry_out(self, commands: list[Command], source: AnyConnection | None) -> None:
        conns = self._conns
        count_out = self.stats.count_out
        for command in commands:
            if type(command) is Send:
                conn = conns.get(command.conn_id)
                if conn is not None:
                    if count_out(command.data) == "error":
                        self._log_error(conn, command.data)
                    conn.deliver(command.data)
            elif type(command) is Close:
                self._close(command)
            else:
                self._carry_out_other(command, source)

    def _close(self, command: Close) -> None:
        conn = self._conns.get(command.conn_id)
        if conn is None:
            return
        conn.in_core = False
        self.stats.count_close(command.code)
        if type(conn) is LocalConnection:
            conn.end(command.code, command.reason)
            self._local_closed(conn, Departure.CLOSED)
        elif type(conn) is WsConnection:
            if command.code not in (1000, 1001):
                event(INFO, "connection-closing", f"closing: {command.reason}",
                      conn=conn.conn_id, room=conn.room_id, userId=conn.user_id,
                      role=conn.role, code=command.code, reason=command.reason)
            conn.start_close(command.code, command.reason)

    def _carry_out_other(self, command: Command, source: AnyConnection | None) -> None:
        if isinstance(command, SpawnOrb):
            event(INFO, "orb-spawn", "spawning orb", room=command.room_id,
                  session=command.session_id, userId=command.user_id)
            if self.orb_host is None:
                event(WARNING, "orb-unavailable", "orbs are enabled but no orb host runs",
                      room=command.room_id)
                self._execute(self.core.orb_ended(command.room_id, command.session_id,
                                                  trio.current_time(), command.spawn_id))
                return
            try:
                self.orb_host.spawn(command)
            except Exception as exc:
                event(ERROR, "orb-spawn-failed", "orb host failed to spawn",
                      room=command.room_id, error=repr(exc))
                self._execute(self.core.orb_ended(command.room_id, command.session_id,
                                                  trio.current_time(), command.spawn_id))
            return
        if isinstance(command, StopOrb):
            event(INFO, "orb-stop", "stopping orb", room=command.room_id,
                  session=command.session_id, reason=command.reason)
            if self.orb_host is not None:
                try:
                    self.orb_host.stop(command)
                except Exception as exc:
                    event(ERROR, "orb-stop-failed", "orb host failed to stop",
                          room=command.room_id, error=repr(exc))
            return
        if isinstance(command, ParticipantJoined):
            self._joined(command, source)
        elif isinstance(command, ParticipantLeft):
            self._left(command)
        if self.ledger is not None:
            try:
                self.ledger.record(command)  # type: ignore[arg-type]
            except Exception as exc:
                event(ERROR, "ledger-failed", "ledger refused a record",
                      error=repr(exc))

    def _joined(self, record: ParticipantJoined, source: AnyConnection | None) -> None:
        person = record.participant
        key = (record.room_id, person.user_id)
        self._roles[key] = person.user_role
        if source is not None and source.room_id == record.room_id:
            # Kept after the participant leaves: the close log names who it was.
            source.user_id = person.user_id
            source.role = person.user_role
        event(INFO, "participant-joined", "participant joined", room=record.room_id,
              userId=person.user_id, role=person.user_role, type=person.participant_type,
              session=record.session_id)

    def _left(self, record: ParticipantLeft) -> None:
        key = (record.room_id, record.user_id)
        role = self._roles.pop(key, None)
        event(INFO, "participant-left", "participant left", room=record.room_id,
              userId=record.user_id, role=role, ending=record.ending.value,
              session=record.session_id)

    def _log_error(self, conn: AnyConnection, data: bytes) -> None:
        code = error_code(data)
        self.stats.count_error(code)
        event(INFO, "protocol-error", "protocol error", conn=conn.conn_id, room=conn.room_id,
              userId=conn.user_id, role=conn.role, code=code)


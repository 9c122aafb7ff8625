"""The signaling server: one :class:`SignalingCore` and the parts that carry it over sockets.

Everything the protocol decides is decided by the core. :class:`SignalingServer` only composes
the parts, each in its own module, and runs their tasks:

* :mod:`.acceptor` accepts and admits TCP connections and hands each to the HTTP front;
* :mod:`.http_front` answers plain HTTP and returns accepted WebSocket upgrades;
* :mod:`.connections` adapts WebSockets and in-process participants to the core;
* :mod:`.command_runner` carries out the core's commands, in order, never re-entering the core;
* :mod:`.timers` tells the core the time when its deadlines come, and pings the WebSockets;
* :mod:`.journal` writes logs and hands session records to the ledger.

It is also the orb host's view of the server (:class:`signaling_core.orb_hosting.OrbHostServer`):
hosts call :meth:`open_local`, :meth:`orb_ended`, :meth:`ice_servers`, :meth:`join_token`,
:attr:`stopping` and :attr:`core_config`, nothing else.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import sys
import time
from typing import TYPE_CHECKING, Any

import trio

from signaling_core import CoreConfig, SignalingCore
from signaling_core.orb_hosting import MetricsOrbHost, ObservableOrbHost, OrbHost
from signaling_core.wire import HttpField

from . import endpoints, history, web
from .acceptor import Acceptor, bind, close_listener
from .admin import AdminGate, is_loopback
from .admission import Admission
from .config import ServerConfig
from .connections import Connections
from .history import HistoryAuth
from .http import Router
from .http_front import HttpFront
from .journal import Journal
from .ledger import Ledger
from .ledger_contract import LedgerSink
from .local import LocalConnection
from .logs import ERROR, INFO, WARNING, event, log
from .proxy_protocol import parse_networks
from .server_metrics import Gauges, NodeCollector, OrbFleetCollector, ServerStats, make_registry
from .timers import Timers, ping_forever
from .transport import make_tls_context
from .turn import ice_servers

if TYPE_CHECKING:
    from .cluster_view import ClusterView


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
            from signaling_core.join_tokens import make_authorizer

            authorize = make_authorizer(config.join_secret, time.time)
        self.core = core = SignalingCore(config.core, authorize_join=authorize)
        self.orb_host = orb_host
        self.ledger = ledger
        if config.retain_days is not None and isinstance(ledger, Ledger):
            ledger.set_retention(config.retain_days)
        self.port: int | None = None
        self.stats = stats = ServerStats()
        self.registry = make_registry(stats, Gauges(
            connections=lambda: core.connection_count,
            rooms=lambda: core.room_count,
            participants=lambda: core.snapshot().participants,
            orbs=lambda: core.orb_count,
        ))
        if isinstance(orb_host, ObservableOrbHost):
            self.registry.register(OrbFleetCollector(orb_host))
        if isinstance(orb_host, MetricsOrbHost):  # in-process orbs' per-turn figures
            for collector in orb_host.metric_collectors():
                self.registry.register(collector)
        self.registry.register(NodeCollector(lambda: self.node_id))
        self.stopping = False
        #: SIGTERM was received: ``/healthz`` fails (503) so the load balancer sends nothing
        #: new, for ``drain_seconds``, before the connections are told to reconnect.
        self.draining = False
        self.router = Router()
        #: The admin endpoints' access rule; every admin route is registered through it.
        self.admin = AdminGate(config.admin_token, join_tokens=bool(config.join_secret))
        endpoints.register(self.router, self)
        web.register(self.router)
        #: Opens the history (``/history``): ``--admin-token``, or one made up at start and
        #: printed as a login URL (the history serves content, which needs a token).
        self.history_token = config.admin_token or secrets.token_urlsafe(24)
        self.history_token_generated = config.admin_token is None
        if isinstance(ledger, Ledger):
            history.register(self.router,
                             HistoryAuth(self.history_token, config.join_secret, tls=config.tls),
                             ledger.reader().backend, web.page_server("history.html"))
        self._timers = Timers(core, lambda commands: self._connections.runner.run(commands))
        self._connections = Connections(core, config, stats, Journal(ledger), orb_host,
                                        self._timers.deadline_moved)
        self._tls: ssl.SSLContext | None = None
        if config.certfile and config.keyfile:
            self._tls = make_tls_context(config.certfile, config.keyfile)
        self._acceptor = Acceptor(
            HttpFront(self.router, config, stats, stopping=lambda: self.stopping),
            Admission(config.max_connections, config.max_connections_per_address,
                      config.cap_loopback),
            stats, self._connections.serve_websocket, self._tls,
            trusted_proxies=parse_networks(config.trusted_proxies),
            header_timeout=config.handshake_timeout)
        #: ``--cluster``: publishes this node's rooms to Redis and reads every node's.
        self.cluster_view: ClusterView | None = None
        if config.cluster_url:
            from .cluster_view import ClusterView

            self.cluster_view = ClusterView(config.cluster_url, ttl=config.cluster_ttl)
        self._stop_requested = trio.Event()
        #: The shutdown is a restart (SIGTERM, a deploy): connections are closed with 1012.
        self._restart = False
        self._stopped = trio.Event()
        self._started_at: float | None = None

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until :meth:`shutdown` or cancellation, then close everything with 1001."""
        config = self.config
        listener = bind(config.host, config.port, config.backlog)
        self.port = listener.getsockname()[1]
        self._started_at = trio.current_time()
        scheme = "https" if self._tls else "http"
        event(INFO, "listening", f"listening on {scheme}://{config.host}:{self.port}",
              host=config.host, port=self.port, tls=bool(self._tls), node=self.node_id)
        self._warn_if_exposed(str(listener.getsockname()[0]))
        if self.history_token_generated and isinstance(self.ledger, Ledger):
            self._print_history_login(scheme, str(listener.getsockname()[0]))
        try:
            async with trio.open_nursery() as nursery:
                if self.ledger is not None:
                    await nursery.start(self._run_ledger)
                if self.orb_host is not None:
                    await nursery.start(self._run_orb_host)
                await nursery.start(self._run_read_hub)
                nursery.start_soon(self._timers.run_deadlines)
                if self.cluster_view is not None:
                    nursery.start_soon(self.cluster_view.publish_forever,
                                       lambda: self.node_id, self.cluster_document)
                nursery.start_soon(ping_forever, config.effective_ping_interval,
                                   self._connections.websockets)
                nursery.start_soon(self._acceptor.accept_forever, listener, nursery)
                task_status.started(self.port)
                try:
                    await self._stop_requested.wait()
                finally:
                    with trio.CancelScope(shield=True):
                        await self._wind_down(listener)
                    nursery.cancel_scope.cancel()
        finally:
            close_listener(listener)
            self._stopped.set()
            event(INFO, "stopped", "server stopped")

    def _print_history_login(self, scheme: str, bound: str) -> None:
        """Without ``--admin-token``, the history's token was made up at start: say where to
        log in with it (the convention of notebook servers). The token rides in the URL's
        fragment, which browsers never send, so it is in no request line or access log; it
        goes to stderr, not to the structured log, and is valid until this process ends."""
        host = "127.0.0.1" if bound in ("0.0.0.0", "::", "") else bound
        if ":" in host:
            host = f"[{host}]"
        sys.stderr.write(f"Session history: {scheme}://{host}:{self.port}/history"
                         f"#token={self.history_token}\n")
        sys.stderr.flush()

    def _warn_if_exposed(self, bound: str) -> None:
        """Say at start what a listener beyond loopback leaves open, so it is not a surprise.

        Nothing is refused here: the defaults stay usable on a trusted network; the admin
        endpoints protect themselves (:mod:`.admin`), joins cannot without a secret.
        """
        if is_loopback(bound):
            return
        config = self.config
        if not config.join_secret:
            event(WARNING, "exposed-without-join-tokens",
                  f"listening on {bound} without --join-secret: anyone who can reach this "
                  "port and knows a room id can join that call", host=bound)
        if config.admin_token is None:
            event(WARNING, "exposed-without-admin-token",
                  f"listening on {bound} without --admin-token: the admin endpoints "
                  "(/api/rooms, /api/sessions) answer loopback clients only", host=bound)

    async def shutdown(self, restart: bool = False) -> None:
        """Stop accepting, close every connection with 1001, stop orbs; returns when done.

        ``restart``: the server is coming back (a deploy), so the close is 1012 ``service
        restart``, which tells clients to reconnect at once and keep their calls.
        """
        self._restart = self._restart or restart
        self._stop_requested.set()
        if self._started_at is not None:
            await self._stopped.wait()

    async def drain_and_restart(self) -> None:
        """SIGTERM in a cluster: fail the health check for ``drain_seconds`` (the balancer
        takes this node out and sends reconnections elsewhere), then close with 1012.

        Connections keep being served while draining: a room's late joiner still reaches its
        room here, and the 1012 afterwards moves the whole room at once.
        """
        if self.draining or self.stopping:
            return
        self.draining = True
        event(INFO, "draining", "draining: /healthz answers 503 before the restart",
              seconds=self.config.drain_seconds)
        await trio.sleep(self.config.drain_seconds)
        await self.shutdown(restart=True)

    def cluster_document(self) -> dict[str, Any]:
        """What the cluster view publishes of this node: ``/api/rooms`` plus its status."""
        status = "stopping" if self.stopping else "draining" if self.draining else "ok"
        return {**endpoints.local_rooms(self), HttpField.NODE_STATUS: status}

    @property
    def node_id(self) -> str:
        """This node's name: ``--node-id``, else ``host:port`` (the port once listening)."""
        config = self.config
        if config.node_id:
            return config.node_id
        return f"{config.host}:{self.port if self.port is not None else config.port}"

    async def shutdown_complete(self) -> None:
        """Returns once :meth:`serve` has finished (after a shutdown or a cancellation)."""
        await self._stopped.wait()

    def uptime(self) -> float:
        return 0.0 if self._started_at is None else trio.current_time() - self._started_at

    async def _wind_down(self, listener: socket.socket) -> None:
        self.stopping = True
        close_listener(listener)
        event(INFO, "shutting-down", "shutting down",
              connections=len(self._connections.live))
        self._connections.stop_all(trio.current_time(), self._restart)
        with trio.move_on_after(self.config.close_timeout + 0.5):
            await self._connections.websockets_closed()

    async def _run_ledger(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        assert self.ledger is not None
        from .ledger import Ledger

        # Only an explicit --node-id scopes the ledger to this node: it is the name that stays
        # the same across the node's restarts. Without one, the server is alone on its
        # database and its start closes every open session, as it always did.
        if isinstance(self.ledger, Ledger) and self.config.node_id:
            self.ledger.set_node(self.config.node_id)
        await self.ledger.run(task_status=task_status)

    async def _run_read_hub(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """The read hub, whose failure must not stop the server: its connections are dropped
        (their clients resume their seats) and new ones read in their own tasks."""
        try:
            await self._connections.read_hub.run(task_status=task_status)
        except Exception as exc:
            event(ERROR, "read-hub-failed", "read hub failed; connections now read themselves",
                  error=repr(exc))
            log.debug("traceback of the failure above", exc_info=True)

    async def _run_orb_host(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        assert self.orb_host is not None
        await self.orb_host.run(self, task_status=task_status)

    # ------------------------------------------------------------------ for tests and admin

    @property
    def admission(self) -> Admission:
        return self._acceptor.admission

    @property
    def connections(self) -> Connections:
        return self._connections

    # ------------------------------------------------------------------ OrbHostServer

    @property
    def core_config(self) -> CoreConfig:
        return self.config.core

    def open_local(self, room_id: str) -> LocalConnection:
        """An in-process participant for ``room_id`` (the orb); call from the Trio thread."""
        return self._connections.open_local(room_id, stopping=self.stopping)

    def orb_ended(self, room_id: str, session_id: str, spawn_id: int, *,
                  unavailable: bool = False) -> None:
        """The orb host reports that the orb of ``SpawnOrb(spawn_id)`` ended without joining.

        ``spawn_id`` is the ``SpawnOrb``'s: a late report about an earlier orb of the same
        session then cannot end the orb that replaced it. ``unavailable``: no orb could be
        placed; the room's coaches get ``orb-unavailable``.
        """
        self._connections.orb_ended(room_id, session_id, spawn_id, unavailable=unavailable)

    def ice_servers(self, room_id: str, user_id: str) -> list[dict[str, Any]]:
        """The STUN/TURN servers a participant gets (``/api/turn-credentials``), for an orb."""
        config = self.config
        body = ice_servers(user_id=user_id, room_id=room_id, now=time.time(),
                           stun_urls=config.stun_urls, turn_url=config.turn_url,
                           turn_secret=config.turn_secret, ttl=config.turn_ttl)
        servers: list[dict[str, Any]] = body["iceServers"]
        return servers

    def join_token(self, room_id: str, user_id: str, ttl: float) -> str | None:
        """A join token for exactly this orb identity, or ``None`` without ``--join-secret``."""
        secret = self.config.join_secret
        if not secret:
            return None
        from signaling_core.join_tokens import mint_token

        return mint_token(secret, room_id=room_id, user_id=user_id, user_role="ai",
                          participant_type="ai", ttl=ttl, now=time.time())

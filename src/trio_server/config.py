"""The server's settings, holding the core's own :class:`CoreConfig` rather than a copy of it.

Protocol limits (participants, message size, deadlines, orbs) live only in ``CoreConfig``; this
object adds what only the I/O layer knows about (address, TLS, queues, handshake deadline).
"""

from __future__ import annotations

import attrs

from signaling_core import CoreConfig

from .origins import normalize_origins

#: HS256 needs a key at least as long as its hash (RFC 7518 §3.2).
MIN_JOIN_SECRET_BYTES = 32


@attrs.frozen
class ServerConfig:
    """Settings of one :class:`~trio_server.server.SignalingServer`. Times are in seconds."""

    host: str = "127.0.0.1"
    #: 0 lets the kernel pick a free port; the server logs and reports the one it got.
    port: int = 3000
    log_level: str = "info"
    #: Level of every other library's loggers (faster-whisper, aiortc, aioice, ...): their
    #: chatter stays out of the log unless asked for (``--log-level-libraries``).
    log_level_libraries: str = "warning"
    log_json: bool = False
    certfile: str | None = None
    keyfile: str | None = None
    #: When set, the admin endpoints (``/api/rooms``, ``/api/sessions``) require
    #: ``Authorization: Bearer <admin_token>`` from every address; unset, they answer loopback
    #: clients only (and nobody with join tokens on), see :mod:`.admin`.
    admin_token: str | None = attrs.field(default=None, repr=False)
    #: Shared secret of the TURN server (coturn ``static-auth-secret``).
    turn_secret: str | None = attrs.field(default=None, repr=False)
    turn_url: str | None = None
    #: Lifetime of issued TURN credentials: an hour, so that a credential copied out of a
    #: page is soon worthless (coturn refuses it once its expiry passes).
    turn_ttl: int = 60 * 60
    #: ``/api/turn-credentials`` requests a minute per client address (also the burst);
    #: loopback is exempt unless ``cap_loopback``. Beyond it: 429 with Retry-After.
    turn_rate_limit: float = 30.0
    stun_urls: tuple[str, ...] = ()
    #: When set, every ``join`` must carry a signed token (see :mod:`signaling_core.join_tokens`).
    join_secret: str | None = attrs.field(default=None, repr=False)
    #: Origins whose pages may open a WebSocket (``*``: any); empty means the server's own.
    allowed_origins: tuple[str, ...] = attrs.field(default=(), converter=normalize_origins)
    #: Session records (and everything attached to them) whose session ended more than this
    #: many days ago are deleted at start and then hourly; None keeps them forever.
    retain_days: float | None = None
    #: Open TCP connections (HTTP and WebSocket) at once; beyond it, 503.
    max_connections: int = 10_000
    #: Open TCP connections from one client address (IPv6: one /64) at once; 0: no cap.
    max_connections_per_address: int = 256
    #: Apply the per-address cap to loopback clients too (off: a reverse proxy or local tools
    #: on this host would otherwise share one address's allowance).
    cap_loopback: bool = False
    #: Bytes a connection's outbound backlog may hold beyond the kernel's socket buffer.
    outbound_queue_limit: int = 1024 * 1024
    #: Messages that backlog (or an in-process connection's channel) may hold.
    outbound_queue_messages: int = 4096
    #: A client must finish its HTTP request head (or WebSocket handshake) within this time.
    handshake_timeout: float = 10.0
    #: How long a closing connection may take to finish the close handshake.
    close_timeout: float = 2.0
    #: Interval of WebSocket ping frames; ``None`` means a third of ``core.idle_timeout``.
    ping_interval: float | None = None
    #: Largest HTTP request head accepted.
    max_request_head_bytes: int = 16 * 1024
    #: Pending connections the kernel may hold for ``accept``.
    backlog: int = 1024
    #: This node's name in a cluster (logs, ``/healthz``, ``/metrics``, ``/api/rooms``, the
    #: ledger's runs); None: ``host:port`` once listening.
    node_id: str | None = None
    #: Networks (CIDR) of the load balancers allowed to name the real client with a PROXY
    #: protocol header (v1 or v2); nobody else's header is read (see :mod:`.proxy_protocol`).
    trusted_proxies: tuple[str, ...] = ()
    #: On SIGTERM, seconds ``/healthz`` answers 503 ``draining`` before the connections are
    #: closed with 1012: long enough for the load balancer's health checks to take this node
    #: out (HAProxy: ``inter`` x ``fall``), so the clients' reconnections go elsewhere.
    drain_seconds: float = 0.0
    #: Redis URL of the cluster view (``--cluster``): this node publishes its rooms there and
    #: ``/api/rooms?scope=cluster`` reads every node's; None: no cluster view, no Redis.
    cluster_url: str | None = attrs.field(default=None, repr=False)
    #: Seconds a node's published rooms outlive its last publish (it publishes every third of
    #: it): the longest a dead node's rooms stay in the cluster view.
    cluster_ttl: float = 6.0
    core: CoreConfig = attrs.field(factory=CoreConfig)

    def __attrs_post_init__(self) -> None:
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("certfile and keyfile go together")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0-65535")
        for name in ("handshake_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.ping_interval is not None and self.ping_interval <= 0:
            raise ValueError("ping_interval must be positive")
        if self.outbound_queue_limit < 1 or self.outbound_queue_messages < 1:
            raise ValueError("outbound queue limits must be positive")
        if self.max_connections < 1 or self.max_connections_per_address < 0:
            raise ValueError("max_connections must be positive, the per-address cap >= 0")
        if self.turn_ttl < 1 or self.turn_rate_limit <= 0:
            raise ValueError("turn_ttl and turn_rate_limit must be positive")
        if self.drain_seconds < 0:
            raise ValueError("drain_seconds must be >= 0")
        if self.cluster_url is not None and not self.cluster_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError("cluster_url must be a redis://, rediss:// or unix:// URL")
        if self.cluster_ttl < 1:
            raise ValueError("cluster_ttl must be at least 1 second")
        if self.node_id is not None and not 0 < len(self.node_id) <= 128:
            raise ValueError("node_id must be 1-128 characters")
        from .proxy_protocol import parse_networks

        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc}") from None
        if self.retain_days is not None and not self.retain_days > 0:
            raise ValueError("retain_days must be positive (unset: keep forever)")
        if (self.join_secret is not None
                and len(self.join_secret.encode("utf-8")) < MIN_JOIN_SECRET_BYTES):
            raise ValueError(f"join_secret must be at least {MIN_JOIN_SECRET_BYTES} bytes")

    @property
    def orbs(self) -> bool:
        """Whether rooms get an AI orb: the core's switch (``core.orbs_enabled``), read here."""
        return self.core.orbs_enabled

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    @property
    def effective_ping_interval(self) -> float:
        if self.ping_interval is not None:
            return self.ping_interval
        return self.core.idle_timeout / 3.0

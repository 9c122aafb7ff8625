"""Accepting TCP connections: admission caps, refusals, and one task per admitted connection.

Each admitted socket is wrapped (TLS or plain), served by the HTTP front, and, when the front
returns an accepted WebSocket upgrade, handed to the connection table for the rest of its
life. A connection past a cap gets a 503 with the reason, or, under a flood of refusals, a bare
close, so refusing never costs more than serving would.

A connection from a trusted proxy (``--trusted-proxy``) is admitted only once its PROXY header
is read, under the client address the header names (see :mod:`.proxy_protocol`): behind a load
balancer the caps count clients, not the balancer.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Awaitable, Callable

import trio

from .admission import SERVER_FULL, Admission
from .http import text_response
from .http_front import HttpFront
from .logs import ERROR, WARNING, event, log
from .proxy_protocol import Network, ProxyHeaderError, is_trusted, read_header
from .server_metrics import ServerStats
from .transport import PlainTransport, TlsTransport, Transport

#: Refused connections answered (503) at once; beyond this many, a refusal is a bare close.
_MAX_REFUSALS_IN_FLIGHT = 64
#: Refusals under a flood are logged at most once per this many seconds (with a count).
_REFUSAL_LOG_INTERVAL = 1.0
#: Connections taken from the kernel per wake-up, so one busy listener cannot starve the rest.
_ACCEPTS_PER_WAKE = 64

#: The name of every connection's task. Without one, Trio formats a new name string from the
#: function for each task, about 90 bytes kept for the connection's whole life.
_CONNECTION_TASK = "trio_server.acceptor.connection"

#: Serves an accepted WebSocket: (transport, room id, bytes read past the handshake).
WebSocketServer = Callable[[Transport, str, bytes], Awaitable[None]]


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening socket on ``host:port`` (port 0: the kernel picks)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(backlog)
        listener.setblocking(False)
    except OSError:
        listener.close()
        raise
    return listener


def close_listener(listener: socket.socket) -> None:
    if listener.fileno() != -1:
        trio.lowlevel.notify_closing(listener)
        listener.close()


class Acceptor:
    def __init__(self, front: HttpFront, admission: Admission, stats: ServerStats,
                 serve_websocket: WebSocketServer, tls: ssl.SSLContext | None, *,
                 trusted_proxies: tuple[Network, ...] = (),
                 header_timeout: float = 10.0) -> None:
        self._front = front
        self._trusted = trusted_proxies
        self._header_timeout = header_timeout
        self.admission = admission
        self._stats = stats
        self._serve_websocket = serve_websocket
        self._tls = tls
        self._refusing = 0
        self._refusal_log_at = -_REFUSAL_LOG_INTERVAL
        self._refusals_unlogged = 0

    async def accept_forever(self, listener: socket.socket, nursery: trio.Nursery) -> None:
        """Accept until the listener is closed; connection tasks go to ``nursery``."""
        while True:
            try:
                await trio.lowlevel.wait_readable(listener)
            except (trio.ClosedResourceError, OSError):
                return
            for _ in range(_ACCEPTS_PER_WAKE):
                try:
                    sock, address = listener.accept()
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
                host = str(address[0]) if isinstance(address, tuple) and address else "?"
                if self._trusted and is_trusted(host, self._trusted):
                    nursery.start_soon(self._serve_proxied, nursery, sock, host,
                                       name=_CONNECTION_TASK)
                    continue
                refusal, key = self.admission.admit(host)
                if refusal is None:
                    nursery.start_soon(self._serve_client, sock, key, name=_CONNECTION_TASK)
                else:
                    self._refuse(nursery, sock, host, refusal)

    async def _serve_proxied(self, nursery: trio.Nursery, sock: socket.socket,
                             proxy: str) -> None:
        """A trusted proxy's connection: read its PROXY header, then admit and serve the
        connection as the client the header names (as the proxy itself without a header)."""
        client = None
        try:
            with trio.fail_after(self._header_timeout):
                client = await read_header(sock)
        except (ProxyHeaderError, ConnectionError, OSError, trio.TooSlowError) as exc:
            event(WARNING, "proxy-header-refused", "bad or missing PROXY header from a "
                  "trusted proxy", peer=proxy, error=str(exc) or type(exc).__name__)
            sock.close()
            return
        host, peer = proxy, None
        if client is not None and client.host is not None:
            host, peer = client.host, f"{client.host}:{client.port}"
        refusal, key = self.admission.admit(host)
        if refusal is None:
            await self._serve_client(sock, key, peer)
        else:
            self._refuse(nursery, sock, host, refusal)

    def _wrap(self, sock: socket.socket) -> Transport | None:
        """``sock`` as a TLS or plain transport; None (the socket closed) when that fails."""
        try:
            return TlsTransport(sock, self._tls) if self._tls else PlainTransport(sock)
        except OSError:
            sock.close()
            return None

    async def _serve_client(self, sock: socket.socket, key: str,
                            peer: str | None = None) -> None:
        """One TCP connection, from its first byte to its close; never raises.

        ``peer``: the real client (``host:port``) a trusted proxy named, else the socket's.
        """
        try:
            transport = self._wrap(sock)
            if transport is None:
                return
            if peer is not None:
                transport.peer = peer
            try:
                # The front returns before the WebSocket is served, so its h11 state and the
                # request headers (about 3 kB) are not kept for the connection's whole life.
                upgrade = await self._front.serve(transport)
                if upgrade is not None:
                    # The upgrade (and the first frames it carries) is not kept in this frame.
                    serving = self._serve_websocket(transport, upgrade.room_id, upgrade.initial)
                    del upgrade
                    await serving
            except Exception as exc:
                event(ERROR, "connection-crashed", "connection handler failed",
                      peer=transport.peer, error=repr(exc))
                log.debug("traceback of the failure above", exc_info=True)
            finally:
                transport.close()
        finally:
            self.admission.release(key)

    def _refuse(self, nursery: trio.Nursery, sock: socket.socket, host: str,
                reason: str) -> None:
        """A connection past a cap: 503 with the reason, or (under a flood) a bare close."""
        label = "server-full" if reason == SERVER_FULL else "address-cap"
        refusals = self._stats.connection_refusals
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

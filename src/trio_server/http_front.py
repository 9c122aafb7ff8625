"""The HTTP front of every connection: request heads, plain answers, and the upgrade.

Each accepted socket starts here. Plain requests go to the router (keep-alive honoured, a body
sent with a GET drained and ignored); an upgrade to ``/ws-simple/{roomId}`` is checked and
answered with 101, then returned to the caller, which serves the WebSocket once this front's
frames (and the h11 state they hold) are gone; anything else is refused with a 4xx and a short
plain-text reason. A request head must arrive within ``handshake_timeout``, so a slowloris
client is cut off (408) instead of holding a connection forever. An upgrade from a web page
whose ``Origin`` is not allowed gets 403 (see :mod:`.origins`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import attrs
import h11
import trio

from .config import ServerConfig
from .handshake import (
    WS_PREFIX,
    Upgrade,
    check_upgrade,
    h11_response,
    parse_request,
    raw_response,
    send_all,
    switching_protocols,
    wants_websocket,
)
from .http import HttpRequest, HttpResponse, Router, text_response
from .logs import INFO, event
from .origins import origin_allowed
from .server_metrics import ServerStats
from .transport import Transport, peer_host

_MAX_DRAINED_BODY = 64 * 1024
#: Sent on every response when the server terminates TLS itself: browsers then refuse plain
#: http to this host for a year, so a network attacker cannot strip TLS on a later visit.
#: No includeSubDomains: other hosts of the operator's domain are not ours to commit.
HSTS = ("Strict-Transport-Security", "max-age=31536000")
#: A connection refused before its request (a cap) waits at most this long for the request.
_REFUSAL_READ_SECONDS = 2.0

@attrs.frozen
class AcceptedUpgrade:
    """A WebSocket handshake answered with 101: the connection is now the room's."""

    room_id: str
    #: Bytes the client sent after its handshake (its first frames), not yet parsed.
    initial: bytes


class HttpFront:
    def __init__(self, router: Router, config: ServerConfig, stats: ServerStats, *,
                 stopping: Callable[[], bool]) -> None:
        self._router = router
        self._config = config
        self._stats = stats
        self._stopping = stopping

    async def serve(self, transport: Transport) -> AcceptedUpgrade | None:
        """Answer requests until the peer leaves, a deadline passes, or it upgrades.

        Returns the upgrade when the connection became a WebSocket, else None.
        """
        conn = h11.Connection(h11.SERVER,
                              max_incomplete_event_size=self._config.max_request_head_bytes)
        while True:
            request = await self._read_head(transport, conn)
            if request is None:
                return None
            if isinstance(request, HttpResponse):
                await self._refuse(transport, request)
                return None
            http_request = parse_request(request, peer_host(transport.peer))
            if wants_websocket(http_request):
                return await self._upgrade(transport, http_request, conn.trailing_data[0])
            if http_request.path.startswith(WS_PREFIX):
                response = text_response(426, "this endpoint needs a WebSocket upgrade",
                                         {"Upgrade": "websocket"})
            else:
                response = await self._router.dispatch(http_request)
            response = self._secured(response)
            close = http_request.method not in ("GET", "HEAD") or self._stopping()
            data = conn.send(h11_response(response, close=close)) or b""
            if http_request.method != "HEAD":
                data += conn.send(h11.Data(data=response.body)) or b""
            data += conn.send(h11.EndOfMessage()) or b""
            await send_all(transport, data)
            if close or conn.our_state is h11.MUST_CLOSE:
                return None
            reusable = False
            with trio.move_on_after(self._config.handshake_timeout):
                reusable = await self._drain_body(transport, conn)
            if not reusable:
                return None
            conn.start_next_cycle()

    async def _read_head(
        self, transport: Transport, conn: h11.Connection
    ) -> h11.Request | HttpResponse | None:
        """The next request head within the handshake deadline (a slowloris gets a 408)."""
        with trio.move_on_after(self._config.handshake_timeout):
            return await self._next_request(transport, conn)
        if conn.trailing_data[0]:
            event(INFO, "handshake-timeout", "request head not finished in time",
                  peer=transport.peer)
            return text_response(408, "request head not finished in time")
        return None

    async def _upgrade(self, transport: Transport, request: HttpRequest,
                       initial: bytes) -> AcceptedUpgrade | None:
        decision = check_upgrade(request)
        origin = request.headers.get("origin")
        if self._stopping():
            decision = text_response(503, "server shutting down")
        elif isinstance(decision, Upgrade) and not origin_allowed(
                origin, request.headers.get("host"), allowed=self._config.allowed_origins,
                tls=self._config.tls):
            decision = text_response(403, "origin not allowed")
        if isinstance(decision, HttpResponse):
            refusals = self._stats.handshake_refusals
            refusals[decision.status] = refusals.get(decision.status, 0) + 1
            event(INFO, "handshake-refused", "websocket handshake refused",
                  peer=transport.peer, path=request.path[:200], status=decision.status,
                  origin=origin[:200] if decision.status == 403 and origin else None)
            await self._refuse(transport, decision)
            return None
        await send_all(transport, switching_protocols(decision))
        return AcceptedUpgrade(decision.room_id, initial)

    async def _next_request(
        self, transport: Transport, conn: h11.Connection
    ) -> h11.Request | HttpResponse | None:
        """The next request head, an error response to send, or None when the peer is gone."""
        while True:
            try:
                event_ = conn.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                return text_response(status, "bad request" if status == 400 else "refused")
            if event_ is h11.NEED_DATA:
                try:
                    data = await transport.receive()
                except OSError:
                    return None
                conn.receive_data(data)
                continue
            if type(event_) is h11.Request:
                return event_
            if type(event_) is h11.ConnectionClosed or event_ is h11.PAUSED:
                return None

    async def _drain_body(self, transport: Transport, conn: h11.Connection) -> bool:
        """Read (and ignore) a body sent with a GET, so the connection can be reused."""
        received = 0
        while conn.their_state is h11.SEND_BODY:
            try:
                event_ = conn.next_event()
            except h11.RemoteProtocolError:
                return False
            if event_ is h11.NEED_DATA:
                try:
                    data = await transport.receive()
                except OSError:
                    return False
                conn.receive_data(data)
            elif type(event_) is h11.Data:
                received += len(event_.data)
                if received > _MAX_DRAINED_BODY:
                    return False
            elif type(event_) is h11.ConnectionClosed:
                return False
        return conn.their_state is h11.DONE and conn.our_state is h11.DONE

    async def refuse_early(self, transport: Transport, response: HttpResponse) -> None:
        """Answer a connection refused on arrival (a cap) after reading its request head.

        Reading the head first (briefly) lets the client see the answer: closing a socket
        with unread input would reset it and could discard the response on the way.
        """
        conn = h11.Connection(h11.SERVER,
                              max_incomplete_event_size=self._config.max_request_head_bytes)
        with trio.move_on_after(min(self._config.handshake_timeout, _REFUSAL_READ_SECONDS)):
            await self._next_request(transport, conn)
        await self._refuse(transport, response)

    def _secured(self, response: HttpResponse) -> HttpResponse:
        """``response`` with HSTS added when this server speaks TLS (and not otherwise: over
        plain http the header is ignored, and a proxy terminating TLS sets its own)."""
        if not self._config.tls or HSTS[0] in response.headers:
            return response
        return attrs.evolve(response, headers={**response.headers, HSTS[0]: HSTS[1]})

    async def _refuse(self, transport: Transport, response: HttpResponse) -> None:
        response = self._secured(response)
        with trio.move_on_after(self._config.close_timeout):
            with contextlib.suppress(OSError):
                await send_all(transport, raw_response(response))

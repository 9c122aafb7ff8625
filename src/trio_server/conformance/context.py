"""What a running case gets: fresh room ids, connections it owns, and a note of where it is.

Every connection a case opens is closed when the case ends, pass or fail, so one case never
leaves participants behind in the server for the next.
"""

from __future__ import annotations

import secrets
import ssl

import trio
from trio_websocket import (
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)
from wsproto.utilities import LocalProtocolError

from signaling_core.wire import Field, MessageType

from .client import Peer, Who, short
from .options import SuiteOptions
from .raw import RawClient
from .registry import CaseFailed, Profile, check


async def _hold_connection(stream: trio.SocketStream | trio.SSLStream[trio.SocketStream],
                           host: str, path: str, max_message: int,
                           *, task_status: trio.TaskStatus[WebSocketConnection]) -> None:
    """Run one client connection's reader in a nursery of its own, handing the connection out.

    trio-websocket answers a ping that crosses our close frame with a pong that wsproto
    refuses (``LocalProtocolError`` in ``LOCAL_CLOSING``, python-trio/trio-websocket#184);
    the error is the library's, not the server's, and once our close is sent the connection
    has nothing left to tell the case, so it is dropped here instead of failing the case.
    Any other error, or this one on a connection we have not closed, still reaches the case.
    """
    ws: WebSocketConnection | None = None
    try:
        async with trio.open_nursery() as nursery:
            ws = await wrap_client_stream(nursery, stream, host, path,
                                          max_message_size=max_message)
            task_status.started(ws)
    except* LocalProtocolError:
        if ws is None or ws.closed is None:
            raise
        # The reader is gone, so no close frame will ever be read: let aclose() return now
        # rather than wait out its bound (trio-websocket has no public way to say this).
        ws._close_handshake.set()
        await stream.aclose()


class CaseContext:
    """The resources of one case; torn down by the runner with :meth:`aclose`."""

    def __init__(self, options: SuiteOptions, nursery: trio.Nursery,
                 profile: Profile = Profile.FULL) -> None:
        self.options = options
        #: The running case's own profile (not the run's): an ``original`` case sees every
        #: message through the seed guard, whichever profile the run has.
        self.profile = profile
        self._nursery = nursery
        self._peers: list[Peer] = []
        self._raws: list[RawClient] = []
        #: What the case is waiting for right now, for the timeout message.
        self.waiting = "starting"

    @property
    def full(self) -> bool:
        """The running case may check extensions (it is a ``full`` case)."""
        return self.profile is Profile.FULL

    def note(self, waiting: str) -> None:
        self.waiting = waiting

    def room(self) -> str:
        """A room id no other case (and no earlier run) uses."""
        return f"cf-{secrets.token_hex(8)}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.options.scheme != "wss":
            return None
        context = ssl.create_default_context()
        if self.options.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def connect(self, room_id: str, label: str) -> Peer:
        """Open ``/ws-simple/{room_id}``; the connection is not joined yet.

        TCP and TLS are set up here rather than inside trio-websocket, so that a refused
        connection or a rejected certificate fails the case at once with its real cause.
        """
        path = self.options.ws_path(room_id)
        url = self.options.ws_url(path)
        self.note(f"{label} connecting to {url}")
        host, port = self.options.host, self.options.port
        try:
            tcp = await trio.open_tcp_stream(host, port)
            stream: trio.SocketStream | trio.SSLStream[trio.SocketStream] = tcp
            context = self.ssl_context()
            if context is not None:
                stream = trio.SSLStream(tcp, context, server_hostname=host)
                await stream.do_handshake()
            ws = await self._nursery.start(_hold_connection, stream, f"{host}:{port}", path,
                                           4 * self.options.max_message_bytes)
        except ConnectionRejected as exc:
            raise CaseFailed(f"{label}: handshake refused with {exc.status_code}") from None
        except (HandshakeError, OSError, trio.BrokenResourceError) as exc:
            cause = exc.__cause__ or exc
            raise CaseFailed(f"{label}: cannot connect to {url}: {cause}") from None
        peer = Peer(ws, label, room_id, self.profile, self.note)
        self._peers.append(peer)
        return peer

    async def raw(self, label: str) -> RawClient:
        """A hand-driven TCP connection to the server, before any handshake."""
        self.note(f"{label} connecting")
        try:
            # Never answers pings: the deadline cases need a peer that stays silent.
            sock = await RawClient.connect(self.options.port, host=self.options.host,
                                           ssl_context=self.ssl_context(), label=label,
                                           answer_pings=False)
        except OSError as exc:
            raise CaseFailed(f"{label}: cannot connect: {exc}") from None
        self._raws.append(sock)
        return sock

    async def raw_ws(self, room_id: str, label: str) -> RawClient:
        """A hand-driven connection already upgraded to ``/ws-simple/{room_id}``."""
        sock = await self.raw(label)
        await sock.upgrade(self.options.ws_path(room_id))
        return sock

    async def join(self, room_id: str, who: Who, label: str | None = None) -> Peer:
        """Connect and join as ``who``; the ``peer-discovery`` is checked and consumed."""
        peer = await self.connect(room_id, label or who.user_id)
        await peer.join(who)
        return peer

    async def room_with(self, *whos: Who, room_id: str | None = None) -> list[Peer]:
        """A fresh room joined by ``whos`` in order; every ``user-joined`` is consumed.

        Checks only that each newcomer is announced to everyone already there; the cases of
        the discovery and offer-direction rules check the contents.
        """
        room = room_id or self.room()
        peers: list[Peer] = []
        for who in whos:
            newcomer = await self.join(room, who)
            for peer in peers:
                announced = await peer.expect(MessageType.USER_JOINED)
                check(announced.get(Field.USER_ID) == who.user_id,
                      f"{peer.label}: user-joined for {announced.get(Field.USER_ID)!r}, "
                      f"expected {who.user_id!r}",
                      expected=f"user-joined with userId {who.user_id!r}", got=short(announced))
            peers.append(newcomer)
        return peers

    async def aclose(self) -> None:
        """Close every connection the case opened, all at once (bounded; never raises)."""
        with trio.move_on_after(2):
            async with trio.open_nursery() as nursery:
                for peer in self._peers:
                    nursery.start_soon(peer.aclose)
                for sock in self._raws:
                    nursery.start_soon(sock.aclose)

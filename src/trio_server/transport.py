"""Byte transports under a connection: a plain socket we own, or TLS over Trio's SSLStream.

The plain transport is the fast path the server was measured on: it waits with
``trio.lowlevel.wait_readable``/``wait_writable`` on a non-blocking socket the server accepted
itself, and offers :meth:`PlainTransport.try_send`, a send that never waits, so a relay can
write straight to the receiver's socket without waking any task. The TLS transport cannot send
without awaiting (the TLS engine belongs to the stream), so its ``try_send`` always defers to
the connection's writer task.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Protocol

import trio

#: Above glibc's mmap threshold (128 KiB) every recv would map and unmap its buffer.
RECV_BYTES = 64 * 1024


class Transport(Protocol):
    peer: str

    async def receive(self) -> bytes:
        """Some bytes; ``b""`` at end of stream. Raises ``OSError`` on a reset."""
        ...

    def receive_ready(self) -> bytes | None:
        """Bytes there to read now without waiting (``None`` if none, ``b""`` at the end)."""
        ...

    def try_send(self, data: bytes | memoryview) -> int:
        """Send what fits now without waiting; returns bytes sent. ``OSError`` if broken."""
        ...

    async def send(self, data: bytes | memoryview) -> int:
        """Wait until some of ``data`` can be sent, send it, return how much."""
        ...

    def close(self) -> None:
        """Idempotent; wakes any task waiting on this transport."""
        ...


def peer_host(peer: str) -> str:
    """The address part of a ``peer`` string (``host:port``; IPv6 hosts are not bracketed).

    ``"?"`` (an unknown peer) gives ``""``, which no check takes for loopback.
    """
    host, sep, _ = peer.rpartition(":")
    return host if sep else ""


def _peer_name(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "?"
    return f"{host}:{port}"


class PlainTransport:
    """A non-blocking socket; every wait is a ``wait_readable``/``wait_writable`` on it.

    Waiting costs an epoll registration and a trip through the scheduler, so two reads are
    tried before waiting, where the bytes are usually there already: the first (a client
    sends its request head right after connecting) — ``eager``. Sends are always tried first:
    a socket with room in its buffer (nearly always) takes them at once.
    """

    __slots__ = ("_closed", "_eager", "peer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.peer = _peer_name(sock)
        self._closed = False
        self._eager = True

    async def receive(self) -> bytes:
        sock = self.sock
        if self._eager:
            self._eager = False
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                data = sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                pass
            else:
                # Bytes were ready: still let others run before this task goes on.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return data
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                continue

    def receive_ready(self) -> bytes | None:
        """What is there to read now, without waiting: ``None`` if nothing, ``b""`` at end
        of stream or on a reset (the read hub's read, see :mod:`.readhub`)."""
        try:
            return self.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def try_send(self, data: bytes | memoryview) -> int:
        try:
            return self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0

    async def send(self, data: bytes | memoryview) -> int:
        sock = self.sock
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return sent
        while True:
            await trio.lowlevel.wait_writable(sock)
            try:
                return sock.send(data)
            except (BlockingIOError, InterruptedError):
                continue

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()


class TlsTransport:
    """TLS for ``--certfile``: correct rather than fast (every send goes through the writer)."""

    __slots__ = ("_closed", "_stream", "peer", "sock")

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.peer = _peer_name(sock)
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
        self._stream = trio.SSLStream(stream, context, server_side=True)
        self._closed = False

    async def receive(self) -> bytes:
        try:
            return bytes(await self._stream.receive_some(RECV_BYTES))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ConnectionResetError(str(exc)) from exc

    def receive_ready(self) -> bytes | None:
        # The socket's bytes are TLS records: only the engine, in receive(), can read them.
        return None

    def try_send(self, data: bytes | memoryview) -> int:
        return 0

    async def send(self, data: bytes | memoryview) -> int:
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise BrokenPipeError(str(exc)) from exc
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Closing the raw socket (not an awaited TLS close_notify) keeps close() synchronous.
        self._stream.transport_stream.socket.close()


def make_tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context

"""A WebSocket client written by hand, for what a well-behaved client library will not do.

Binary frames, invalid UTF-8, unmasked frames, frames over the size limit, handshakes to bad
paths or from a chosen ``Origin``, a chosen source address (127.0.0.x: per-address caps see
different clients), a small receive window, a peer that never answers pings or stops reading,
and an abrupt TCP reset all need control over the bytes on the wire. The conformance suite
drives it through :class:`~.context.CaseContext`; the project's own server and abuse tests use
it directly. Only the subset of RFC 6455 that needs is here: client frames are masked unless
told otherwise, server frames must be unmasked and whole.

Frames are read only when asked: an attacker that "stops reading" never calls
:meth:`RawClient.recv_json`; an honest client calls it in a loop, which also answers the
server's pings (unless the client was opened with ``answer_pings=False``). The frame and
handshake helpers at module level are shared with the benchmark's asyncio client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import ssl
import struct
from typing import Any

import orjson
import trio

from signaling_core import CloseCode
from signaling_core.wire import Field

from .registry import CaseFailed, check

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: The close code RFC 6455 reports for a close frame without a status.
NO_STATUS = CloseCode.NO_STATUS_RECEIVED
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEAD = 16 * 1024
_MAX_BODY = 64 * 1024
#: What sending to, reading from or closing a connection the server already dropped may raise.
GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class Closed(CaseFailed, EOFError):
    """The server closed the connection; ``code`` is its close code (None: no close frame).

    A :class:`~.registry.CaseFailed`, so a case that meets it unexpectedly fails with the
    connection's label; an ``EOFError`` for code that only cares that the stream ended.
    """

    def __init__(self, code: int | None, reason: str = "", *, label: str = "") -> None:
        what = "connection dropped" if code is None else f"closed with {code} {reason!r}"
        super().__init__(f"{label}: {what}" if label else what)
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------------- the wire, shared


def apply_mask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``key`` (RFC 6455 §5.3), in pure Python."""
    n = len(payload)
    if n == 0:
        return payload
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame_header(opcode: int, size: int, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0) -> bytes:
    """The first 2-10 bytes of a frame of ``size`` payload bytes (the masking key not included)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask else 0
    if size < 126:
        return struct.pack("!BB", first, mask_bit | size)
    if size < 1 << 16:
        return struct.pack("!BBH", first, mask_bit | 126, size)
    return struct.pack("!BBQ", first, mask_bit | 127, size)


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0) -> bytes:
    """One client frame; masked (as RFC 6455 requires of clients) unless told otherwise."""
    head = frame_header(opcode, len(payload), fin=fin, mask=mask, rsv=rsv)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + apply_mask(payload, key)


def close_code(payload: bytes) -> int:
    """The status code of a close frame's payload (1005 for an empty one, as RFC 6455 says)."""
    return NO_STATUS if len(payload) < 2 else int(struct.unpack_from("!H", payload)[0])


def new_key() -> bytes:
    """A fresh ``Sec-WebSocket-Key`` (base64 of 16 random bytes)."""
    return base64.b64encode(os.urandom(16))


def accept_key(key: bytes) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer ``key`` with."""
    return base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()


def upgrade_request(path: str, *, host: str, origin: str | None = None,
                    extra: dict[str, str] | None = None, key: bytes | None = None) -> bytes:
    """The opening handshake's GET (a fresh key unless one is given)."""
    key = key or new_key()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key.decode()}",
             "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    lines.extend(f"{name}: {value}" for name, value in (extra or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_response_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """(status, reason, lower-cased headers) of an HTTP response head without its blank line.

    Raises ``ValueError`` for a malformed status line.
    """
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"malformed status line {status_line!r}")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


# ---------------------------------------------------------------------- the client


async def open_tcp(port: int, *, host: str = "127.0.0.1", source: str | None = None,
                   rcvbuf: int | None = None) -> trio.SocketStream:
    """A TCP connection, from ``source`` (an IPv4 address) and with ``rcvbuf`` when given."""
    if source is None and rcvbuf is None:
        return await trio.open_tcp_stream(host, port)
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Set before connecting, so the TCP window is small from the start.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source is not None:
        await sock.bind((source, 0))
    await sock.connect((host, port))
    return trio.SocketStream(sock)


class RawClient:
    """One TCP (or TLS) connection speaking WebSocket by hand."""

    def __init__(self, stream: trio.abc.Stream, tcp: trio.SocketStream, port: int, *,
                 host: str = "127.0.0.1", label: str | None = None,
                 answer_pings: bool = True) -> None:
        #: What is read and written: ``tcp`` itself, or TLS over it.
        self.stream = stream
        self.tcp = tcp
        self.port = port
        self.host = host
        self.label = label or f"{host}:{port}"
        self.answer_pings = answer_pings
        self._buf = bytearray()
        self._send_lock = trio.Lock()
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, port: int, *, host: str = "127.0.0.1", source: str | None = None,
                      rcvbuf: int | None = None, ssl_context: ssl.SSLContext | None = None,
                      label: str | None = None, answer_pings: bool = True) -> RawClient:
        """A TCP (TLS with ``ssl_context``) connection only; nothing is sent yet."""
        tcp = await open_tcp(port, host=host, source=source, rcvbuf=rcvbuf)
        stream: trio.abc.Stream = tcp
        if ssl_context is not None:
            stream = trio.SSLStream(tcp, ssl_context, server_hostname=host)
        return cls(stream, tcp, port, host=host, label=label, answer_pings=answer_pings)

    @classmethod
    async def open(cls, port: int, path: str, *, source: str | None = None,
                   origin: str | None = None, rcvbuf: int | None = None) -> RawClient:
        """Connect and upgrade; fails (:class:`CaseFailed`) unless the server answers 101."""
        client = await cls.connect(port, source=source, rcvbuf=rcvbuf)
        await client.upgrade(path, origin=origin)
        return client

    # ------------------------------------------------------------------ HTTP

    async def handshake(self, path: str, *, origin: str | None = None) -> tuple[int, bytes]:
        """(status, body of a refusal); the body also stays readable by :meth:`read_to_eof`.

        A 101 must carry the right ``Sec-WebSocket-Accept``.
        """
        key = new_key()
        await self.send_raw(upgrade_request(path, host=f"{self.host}:{self.port}",
                                            origin=origin, key=key))
        status, headers = await self._read_head(f"GET {path}")
        if status == 101:
            check(headers.get("sec-websocket-accept") == accept_key(key),
                  f"{self.label}: wrong Sec-WebSocket-Accept")
            return status, b""
        length = min(int(headers.get("content-length", "0") or 0), _MAX_BODY)
        with trio.move_on_after(1):
            with contextlib.suppress(Closed):
                await self._fill(length)
        return status, bytes(self._buf[:length])

    async def upgrade(self, path: str, *, origin: str | None = None) -> None:
        status, body = await self.handshake(path, origin=origin)
        if status != 101:
            await self.aclose()
        check(status == 101,
              f"{self.label}: GET {path} answered {status}, expected 101: {body[:200]!r}")

    async def read_http_response(self) -> tuple[int, bytes]:
        """(status, body) of the answer to what was sent; the body is read to the stream's end."""
        status, _ = await self._read_head("the request")
        return status, await self.read_to_eof()

    async def _read_head(self, answering: str) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self._buf:
            check(len(self._buf) < _MAX_HEAD, f"{self.label}: response head over 16 KiB")
            if not await self._receive():
                raise Closed(None, label=f"{self.label}: no HTTP response to {answering}")
        end = self._buf.index(b"\r\n\r\n")
        head = bytes(self._buf[:end])
        del self._buf[: end + 4]
        try:
            status, _, headers = parse_response_head(head)
        except ValueError as exc:
            raise CaseFailed(f"{self.label}: {exc}") from None
        return status, headers

    async def read_to_eof(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        while await self._receive():
            pass
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    # ------------------------------------------------------------------ sending

    async def send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def send_frame(self, opcode: int, payload: bytes, **kwargs: Any) -> None:
        """One frame; ``fin``, ``mask`` and ``rsv`` as :func:`encode_frame` takes them."""
        await self.send_raw(encode_frame(opcode, payload, **kwargs))

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_frame(OP_TEXT, orjson.dumps(message))

    # ------------------------------------------------------------------ receiving

    async def _receive(self) -> bool:
        """Read what is there into the buffer; False at the end of the stream."""
        try:
            chunk = await self.stream.receive_some(65536)
        except GONE:
            chunk = b""
        self._buf += chunk
        return bool(chunk)

    async def _fill(self, size: int) -> None:
        while len(self._buf) < size:
            if not await self._receive():
                raise Closed(self.close_code, label=self.label)

    async def recv_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; :class:`Closed` when the TCP stream ends."""
        await self._fill(2)
        first, second = self._buf[0], self._buf[1]
        check(not second & 0x80, f"{self.label}: server sent a masked frame")
        size = second & 0x7F
        head = 2
        if size == 126:
            await self._fill(4)
            size = struct.unpack_from("!H", self._buf, 2)[0]
            head = 4
        elif size == 127:
            await self._fill(10)
            size = struct.unpack_from("!Q", self._buf, 2)[0]
            head = 10
        await self._fill(head + size)
        payload = bytes(self._buf[head:head + size])
        del self._buf[:head + size]
        check(first & 0x80, f"{self.label}: server sent a fragmented frame")
        return first & 0x0F, payload

    async def recv_json(self) -> dict[str, Any]:
        """The next text message; pings are answered on the way, a close raises Closed."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_TEXT:
                message = orjson.loads(payload)
                check(isinstance(message, dict), f"{self.label}: non-object message")
                assert isinstance(message, dict)
                return message
            if opcode == OP_PING and self.answer_pings:
                await self.send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.close_code = close_code(payload) if len(payload) >= 2 else None
                raise Closed(self.close_code, payload[2:].decode("utf-8", "replace"),
                             label=self.label)

    async def recv_until(self, wanted: str) -> dict[str, Any]:
        """Skip messages until one of type ``wanted``."""
        while True:
            message = await self.recv_json()
            if message.get(Field.TYPE) == wanted:
                return message

    async def recv_close(self) -> int:
        """Read until the server's close frame; returns its code (texts are skipped)."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_CLOSE:
                self.close_code = close_code(payload)
                return self.close_code

    async def close_code_after(self) -> int | None:
        """Read (discarding texts, answering pings) until the server closes; its close code."""
        try:
            while True:
                await self.recv_json()
        except Closed as closed:
            return closed.code

    async def expect_close(self) -> int | None:
        """Read until the close frame; returns its code, or None if TCP ended without one.

        Like a browser, it answers the close frame (unless a send is still in progress) and
        then closes the TCP connection, so the server is not left waiting for it.
        """
        try:
            code = await self.recv_close()
        except Closed:
            return None
        if not self._send_lock.locked():
            with contextlib.suppress(*GONE):
                await self.send_frame(OP_CLOSE, b"" if code == NO_STATUS
                                      else struct.pack("!H", code))
        await self.aclose()
        return code

    # ------------------------------------------------------------------ closing

    async def abort(self) -> None:
        """Drop the connection with a TCP reset: no close frame, no FIN."""
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.tcp.aclose()

    async def aclose(self) -> None:
        """Close the connection (bounded; never raises)."""
        with trio.move_on_after(1):
            with contextlib.suppress(*GONE):
                await self.stream.aclose()

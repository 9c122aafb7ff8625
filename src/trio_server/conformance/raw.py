"""A WebSocket client written by hand, for what a well-behaved library will not send.

Binary frames, invalid UTF-8, frames over the size limit, handshakes to bad paths, a peer that
never answers pings, and an abrupt TCP reset all need control over the bytes on the wire. Only
the subset of RFC 6455 the suite needs is here: client frames are always masked, server frames
must not be.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import ssl
import struct
from typing import Any

import attrs
import trio

from .registry import CaseFailed, check

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_HEAD = 16 * 1024
#: What sending to or closing a connection the server already dropped may raise.
GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


@attrs.frozen
class HandshakeResult:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


@attrs.frozen
class Frame:
    opcode: int
    payload: bytes


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One masked client frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class RawSocket:
    """One TCP (or TLS) connection speaking WebSocket by hand."""

    def __init__(self, stream: trio.abc.Stream, tcp: trio.SocketStream, host: str,
                 label: str) -> None:
        self._stream = stream
        self._tcp = tcp
        self._host = host
        self._buf = bytearray()
        self._eof = False
        self._send_lock = trio.Lock()
        self.label = label

    @classmethod
    async def connect(cls, host: str, port: int, label: str,
                      ssl_context: ssl.SSLContext | None = None) -> RawSocket:
        tcp = await trio.open_tcp_stream(host, port)
        stream: trio.abc.Stream = tcp
        if ssl_context is not None:
            stream = trio.SSLStream(tcp, ssl_context, server_hostname=host)
        return cls(stream, tcp, f"{host}:{port}", label)

    async def _fill(self) -> bool:
        if self._eof:
            return False
        data = await self._stream.receive_some(65536)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    async def _read_exact(self, n: int) -> bytes | None:
        while len(self._buf) < n:
            if not await self._fill():
                return None
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk

    async def handshake(self, path: str) -> HandshakeResult:
        """Send an upgrade request for ``path``; returns the response head (and a short body)."""
        key = base64.b64encode(os.urandom(16))
        request = (f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode("latin-1")
        await self._stream.send_all(request)
        while b"\r\n\r\n" not in self._buf:
            check(len(self._buf) < _MAX_HEAD, f"{self.label}: response head over 16 KiB")
            if not await self._fill():
                raise CaseFailed(f"{self.label}: connection closed before an HTTP response "
                                 f"to GET {path}")
        end = self._buf.index(b"\r\n\r\n")
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        check(len(parts) >= 2 and parts[1].isdigit(),
              f"{self.label}: malformed status line {status_line!r}")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(parts[1])
        body = b""
        if status == 101:
            expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
            check(headers.get("sec-websocket-accept") == expected,
                  f"{self.label}: wrong Sec-WebSocket-Accept")
        else:
            length = min(int(headers.get("content-length", "0") or 0), 4096)
            with trio.move_on_after(1):
                body = await self._read_exact(length) or b""
        return HandshakeResult(status, parts[2] if len(parts) > 2 else "", headers, body)

    async def upgrade(self, path: str) -> None:
        result = await self.handshake(path)
        check(result.status == 101,
              f"{self.label}: GET {path} answered {result.status}, expected 101")

    async def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        async with self._send_lock:
            await self._stream.send_all(encode_frame(opcode, payload, fin=fin))

    async def send_json(self, message: dict[str, object]) -> None:
        await self.send_frame(TEXT, json.dumps(message).encode())

    async def recv_frame(self) -> Frame | None:
        """The next whole frame, or ``None`` when the server closed the TCP connection."""
        head = await self._read_exact(2)
        if head is None:
            return None
        opcode, n = head[0] & 0x0F, head[1] & 0x7F
        check(not head[1] & 0x80, f"{self.label}: server sent a masked frame")
        if n >= 126:
            ext = await self._read_exact(2 if n == 126 else 8)
            if ext is None:
                return None
            n = int.from_bytes(ext, "big")
        payload = await self._read_exact(n)
        return None if payload is None else Frame(opcode, payload)

    async def recv_json(self) -> dict[str, Any]:
        """The next text message as an object; pings are ignored (never answered)."""
        while True:
            frame = await self.recv_frame()
            check(frame is not None, f"{self.label}: connection dropped")
            assert frame is not None
            check(frame.opcode != CLOSE,
                  f"{self.label}: closed ({close_code(frame.payload)}) while reading")
            if frame.opcode == TEXT:
                message = json.loads(frame.payload)
                check(isinstance(message, dict), f"{self.label}: non-object message")
                assert isinstance(message, dict)
                return message

    async def expect_close(self) -> int | None:
        """Read until the close frame; returns its code, or None if TCP ended without one.

        Like a browser, it answers the close frame (unless a send is still in progress) and
        then closes the TCP connection, so the server is not left waiting for it.
        """
        while True:
            try:
                frame = await self.recv_frame()
            except (trio.BrokenResourceError, OSError):
                return None
            if frame is None:
                return None
            if frame.opcode == CLOSE:
                code = close_code(frame.payload)
                if not self._send_lock.locked():
                    with contextlib.suppress(*GONE):
                        await self.send_frame(CLOSE, frame.payload[:2])
                await self.aclose()
                return code

    async def abort(self) -> None:
        """Drop the connection with a TCP reset: no close frame, no FIN."""
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self._tcp.aclose()

    async def aclose(self) -> None:
        with trio.move_on_after(1):
            with contextlib.suppress(*GONE):
                await self._stream.aclose()


def close_code(payload: bytes) -> int | None:
    """The status code of a close frame's payload (None for an empty payload: RFC 1005)."""
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None

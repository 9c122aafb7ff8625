"""A deliberately small WebSocket client over a raw TCP stream, for what real clients refuse.

trio-websocket cannot send invalid UTF-8, unmasked frames or a half-finished handshake, choose
its source address (127.0.0.x: the per-address caps see different clients), nor stop reading
on purpose; the server and abuse suites use this client for that. It masks its frames (as
RFC 6455 requires of clients) unless told otherwise, and reads the server's frames whole, only
when asked: an attacker that "stops reading" simply never calls :meth:`RawClient.recv_json`;
an honest client runs it in a loop, which also answers the server's pings.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from typing import Any

import orjson
import trio

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class Closed(EOFError):
    """The server closed the connection; ``code`` is its close code (None: no close frame)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0) -> bytes:
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    size = len(payload)
    mask_bit = 0x80 if mask else 0
    if size < 126:
        head = bytes((first, mask_bit | size))
    elif size < 1 << 16:
        head = bytes((first, mask_bit | 126)) + struct.pack("!H", size)
    else:
        head = bytes((first, mask_bit | 127)) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    whole = (key * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(whole, "big")).to_bytes(
        size, "big") if size else b""
    return head + key + masked


def close_code(payload: bytes) -> int:
    return 1005 if len(payload) < 2 else int(struct.unpack_from("!H", payload)[0])


async def open_tcp(port: int, *, source: str = "127.0.0.1",
                   rcvbuf: int | None = None) -> trio.SocketStream:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Set before connecting, so the TCP window is small from the start.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.bind((source, 0))
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


def upgrade_request(path: str, *, host: str, origin: str | None = None,
                    extra: dict[str, str] | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    lines.extend(f"{name}: {value}" for name, value in (extra or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawClient:
    def __init__(self, stream: trio.SocketStream, port: int) -> None:
        self.stream = stream
        self.port = port
        self._buf = bytearray()
        self._send_lock = trio.Lock()
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, port: int, *, source: str = "127.0.0.1",
                      rcvbuf: int | None = None) -> RawClient:
        """A TCP connection only; nothing is sent yet."""
        return cls(await open_tcp(port, source=source, rcvbuf=rcvbuf), port)

    @classmethod
    async def open(cls, port: int, path: str, *, source: str = "127.0.0.1",
                   origin: str | None = None, rcvbuf: int | None = None) -> RawClient:
        """Connect and upgrade; raises ``AssertionError`` when the server does not answer 101."""
        client = await cls.connect(port, source=source, rcvbuf=rcvbuf)
        status, body = await client.handshake(path, origin=origin)
        if status != 101:
            await client.aclose()
            raise AssertionError(f"handshake answered {status}: {body!r}")
        return client

    # ------------------------------------------------------------------ HTTP

    async def handshake(self, path: str, *, origin: str | None = None) -> tuple[int, bytes]:
        """(status, body of a refusal); the body also stays readable by :meth:`read_to_eof`."""
        await self.send_raw(upgrade_request(path, host=f"127.0.0.1:{self.port}",
                                            origin=origin))
        status, head = await self._read_head()
        if status == 101:
            return status, b""
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self._buf) < length:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                break
            self._buf += chunk
        return status, bytes(self._buf[:length])

    async def read_http_response(self) -> tuple[int, bytes]:
        """(status, body) of the answer to what was sent; the body is read to the stream's end."""
        status, _ = await self._read_head()
        return status, await self.read_to_eof()

    async def _read_head(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self._buf:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("connection closed during the response head")
            self._buf += chunk
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        return int(head.split(b" ", 2)[1]), head

    async def read_to_eof(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        while chunk := await self.stream.receive_some(65536):
            self._buf += chunk
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    # ------------------------------------------------------------------ sending

    async def send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def send_frame(self, opcode: int, payload: bytes, **kwargs: Any) -> None:
        await self.send_raw(encode_frame(opcode, payload, **kwargs))

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_frame(OP_TEXT, orjson.dumps(message))

    # ------------------------------------------------------------------ receiving

    async def _fill(self, size: int) -> None:
        while len(self._buf) < size:
            try:
                chunk = await self.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                raise Closed(self.close_code)
            self._buf += chunk

    async def recv_frame(self) -> tuple[int, bytes]:
        await self._fill(2)
        first, second = self._buf[0], self._buf[1]
        assert not second & 0x80, "server frames are never masked"
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
        assert first & 0x80, "server frames are never fragmented"
        return first & 0x0F, payload

    async def recv_json(self) -> dict[str, Any]:
        """The next text message; pings are answered on the way, a close raises Closed."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_TEXT:
                message: dict[str, Any] = orjson.loads(payload)
                return message
            if opcode == OP_PING:
                await self.send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.close_code = close_code(payload) if len(payload) >= 2 else None
                raise Closed(self.close_code, payload[2:].decode("utf-8", "replace"))

    async def recv_until(self, wanted: str) -> dict[str, Any]:
        """Skip messages until one of type ``wanted``."""
        while True:
            message = await self.recv_json()
            if message.get("type") == wanted:
                return message

    async def recv_close(self) -> int:
        """Read until the server's close frame; returns its code (texts are skipped)."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_CLOSE:
                return close_code(payload)

    async def close_code_after(self) -> int | None:
        """Read (discarding texts, answering pings) until the server closes; its close code."""
        try:
            while True:
                await self.recv_json()
        except Closed as closed:
            return closed.code

    async def aclose(self) -> None:
        await self.stream.aclose()

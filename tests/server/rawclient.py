"""A deliberately small WebSocket client over a raw TCP stream, for what real clients refuse.

trio-websocket cannot send invalid UTF-8, unmasked frames or a half-finished handshake, nor
stop reading on purpose; the tests that need that use this client. It masks its frames (as
RFC 6455 requires of clients) unless told otherwise, and reads the server's frames whole.
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


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0) -> bytes:
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head = bytes((first, mask_bit | n))
    elif n < 65536:
        head = bytes((first, mask_bit | 126)) + struct.pack("!H", n)
    else:
        head = bytes((first, mask_bit | 127)) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


class RawClient:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buf = bytearray()

    @classmethod
    async def connect(cls, port: int, *, rcvbuf: int | None = None) -> RawClient:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Set before connecting, so the TCP window is small from the start.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await sock.connect(("127.0.0.1", port))
        return cls(trio.SocketStream(sock))

    @classmethod
    async def open(cls, port: int, path: str, *, rcvbuf: int | None = None) -> RawClient:
        client = await cls.connect(port, rcvbuf=rcvbuf)
        status, _ = await client.handshake(path)
        assert status == 101, status
        return client

    async def handshake(self, path: str) -> tuple[int, bytes]:
        key = base64.b64encode(os.urandom(16)).decode()
        await self.stream.send_all(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        return await self.read_http_response(head_only=True)

    async def read_http_response(self, *, head_only: bool = False) -> tuple[int, bytes]:
        """(status, body); for a refusal the body is read to the end of the stream."""
        while b"\r\n\r\n" not in self._buf:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("connection closed during the response head")
            self._buf += chunk
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        status = int(head.split(b" ", 2)[1])
        if head_only:
            return status, b""
        while True:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                break
            self._buf += chunk
        return status, bytes(self._buf)

    async def read_to_eof(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        while chunk := await self.stream.receive_some(65536):
            self._buf += chunk
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    async def send_frame(self, opcode: int, payload: bytes, **kwargs: Any) -> None:
        await self.stream.send_all(encode_frame(opcode, payload, **kwargs))

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_frame(OP_TEXT, orjson.dumps(message))

    async def _fill(self, n: int) -> None:
        while len(self._buf) < n:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("connection closed")
            self._buf += chunk

    async def recv_frame(self) -> tuple[int, bytes]:
        await self._fill(2)
        b0, b1 = self._buf[0], self._buf[1]
        assert not b1 & 0x80, "server frames are never masked"
        n = b1 & 0x7F
        head = 2
        if n == 126:
            await self._fill(4)
            n = struct.unpack_from("!H", self._buf, 2)[0]
            head = 4
        elif n == 127:
            await self._fill(10)
            n = struct.unpack_from("!Q", self._buf, 2)[0]
            head = 10
        await self._fill(head + n)
        payload = bytes(self._buf[head:head + n])
        del self._buf[:head + n]
        assert b0 & 0x80, "server frames are never fragmented"
        return b0 & 0x0F, payload

    async def recv_json(self) -> dict[str, Any]:
        """The next text message, answering pings and skipping pongs on the way."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_TEXT:
                message: dict[str, Any] = orjson.loads(payload)
                return message
            if opcode == OP_PING:
                await self.send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                raise AssertionError(f"closed: {close_code(payload)}")

    async def recv_close(self) -> int:
        """Read until the server's close frame; returns its code (texts are skipped)."""
        while True:
            opcode, payload = await self.recv_frame()
            if opcode == OP_CLOSE:
                return close_code(payload)

    async def aclose(self) -> None:
        await self.stream.aclose()


def close_code(payload: bytes) -> int:
    return 1005 if len(payload) < 2 else int(struct.unpack_from("!H", payload)[0])

"""A lean WebSocket client on an asyncio Protocol, for the load generator only.

The load generator shares two cores with the server it measures, so every microsecond it spends
per message is a microsecond the server does not get. This client therefore does the least a
correct RFC 6455 client must: a checked opening handshake, masked text frames (the C masking of
``websockets.speedups`` when present), unmasked server frames parsed in place, pong replies,
the closing handshake. Writes made during one event-loop turn go out in one ``write`` call.
It must never be used as a general client: no extensions, no TLS, no redirects.

Why it is not :class:`trio_server.conformance.raw.RawClient` (the hand-written client of the
conformance suite and the server tests): that one is a Trio client that reads a frame when a
test asks for one, to drive misbehaviour step by step; the load generator needs thousands of
connections on one asyncio loop pushing frames through callbacks, parsed in place with no
per-frame await. What is the same, the wire itself (opcodes, frame headers, masking, the
upgrade request and its checks, close codes), is imported from that module rather than
written twice.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable
from typing import Protocol, cast

from trio_server.conformance.raw import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    accept_key,
    apply_mask,
    close_code,
    frame_header,
    new_key,
    parse_response_head,
    upgrade_request,
)

_c_apply_mask: Callable[[bytes, bytes], bytes] | None
try:
    from websockets.speedups import apply_mask as _c_apply_mask
except ImportError:  # pragma: no cover - the pure-Python path is only a fallback
    _c_apply_mask = None



def _apply_mask(data: bytes, mask: bytes) -> bytes:
    if _c_apply_mask is not None:
        return bytes(_c_apply_mask(data, mask))
    return apply_mask(data, mask)


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (C masking when available: this is the hot path)."""
    mask = random.randbytes(4)
    return frame_header(opcode, len(payload)) + mask + _apply_mask(payload, mask)


class Listener(Protocol):
    """What a client reports to: the scenario's participant that owns it."""

    def on_text(self, payload: bytes) -> None: ...

    def on_closed(self, code: int | None) -> None: ...


class HandshakeError(Exception):
    """The server did not accept the WebSocket upgrade."""


class WSClient(asyncio.Protocol):
    """One client connection. Create it with :func:`connect`."""

    def __init__(self, host: str, path: str, listener: Listener) -> None:
        self._host = host
        self._path = path
        self._key = new_key()
        self._listener = listener
        self._transport: asyncio.Transport | None = None
        self._buf = b""
        self._open = False
        self._fragments: list[bytes] = []
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._close_sent = False
        self.close_code: int | None = None
        self.closed = False
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not a subclass of asyncio.Transport, hence no check).
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(upgrade_request(self._path, host=self._host, key=self._key))

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            self._accept(buf[:end])
            buf = buf[end + 4:]
            if not self._open:
                return
        self._buf = self._parse(buf)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionResetError("closed during handshake"))
        if not self.lost.done():
            self.lost.set_result(None)
        self._listener.on_closed(self.close_code)

    # -- sending ------------------------------------------------------------------------------
    def send_text(self, payload: bytes) -> None:
        """Queue one text message; it leaves at the end of this event-loop turn."""
        if self.closed or self._close_sent:
            return
        self._out.append(encode_frame(OP_TEXT, payload))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._transport is not None and self._out and not self._transport.is_closing():
            out = self._out
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        self._out = []

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the server then closes the TCP connection."""
        if self._close_sent or self.closed or self._transport is None:
            return
        self._flush()
        self._close_sent = True
        self._transport.write(encode_frame(OP_CLOSE, struct.pack("!H", code)))
        # Do not wait forever for a server that never closes its side.
        self._loop.call_later(2.0, self.abort)

    def abort(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.abort()

    # -- receiving ----------------------------------------------------------------------------
    def _accept(self, head: bytes) -> None:
        try:
            status, _, headers = parse_response_head(head)
        except ValueError:
            status, headers = 0, {}
        if status != 101 or headers.get("sec-websocket-accept") != accept_key(self._key):
            error = HandshakeError(head.split(b"\r\n", 1)[0].decode("latin-1"))
            if not self.opened.done():
                self.opened.set_exception(error)
            self.abort()
            return
        self._open = True
        self.opened.set_result(None)

    def _parse(self, buf: bytes) -> bytes:
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2:pos + 10], "big")
                start = pos + 10
            if buf[pos + 1] & 0x80:  # servers never mask (RFC 6455 §5.1)
                self.close(1002)
                return b""
            end = start + length
            if end > n:
                break
            pos = end
            opcode = b0 & 0x0F
            if opcode == OP_TEXT and b0 & 0x80:
                self._listener.on_text(buf[start:end])
            else:
                self._control_or_fragment(b0, opcode, buf[start:end])
        return buf[pos:] if pos < n else b""

    def _control_or_fragment(self, b0: int, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            if self._transport is not None and not self._close_sent:
                self._flush()
                self._transport.write(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.close_code = close_code(payload)
            if not self._close_sent and self._transport is not None:
                self._close_sent = True
                self._transport.write(encode_frame(OP_CLOSE, payload[:2]))
            if self._transport is not None:
                self._transport.close()
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
            self._fragments.append(payload)
            if b0 & 0x80:
                whole = b"".join(self._fragments)
                self._fragments = []
                self._listener.on_text(whole)
        # pongs are ignored


async def connect(host: str, port: int, path: str, listener: Listener,
                  timeout: float = 10.0) -> WSClient:
    """Open one WebSocket connection to ``ws://host:port{path}``."""
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: WSClient(f"{host}:{port}", path, listener), host, port),
        timeout,
    )
    await asyncio.wait_for(asyncio.shield(client.opened), timeout)
    return client

"""RFC 6455 framing for the server side: encode our frames, parse (and police) the client's.

Written here rather than taken from wsproto because the server needs two things on its hot
path that a general library does not give cheaply: a text frame header built by a table
lookup (server frames are unmasked and never fragmented), and limits checked from a frame's
*header*, so an oversized or binary message is refused before its payload is buffered.

The parser performs no I/O; it raises :class:`FrameError` carrying the close code to send.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from signaling_core import CloseCode, is_valid_close_code


def _c_masking() -> Callable[[bytes | bytearray, bytes | bytearray], bytes] | None:
    """websockets' C unmasking (websockets is a dependency already, for orb-worker): about
    12x faster than the big-integer XOR of :func:`unmask` for a 250-byte message, and every
    message is unmasked. None on a platform without its compiled wheel."""
    try:
        from websockets.speedups import apply_mask
    except ImportError:  # pragma: no cover
        return None
    return apply_mask


_c_unmask = _c_masking()

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


_MAX_CONTROL_PAYLOAD = 125
_SHORT_TEXT_HEADERS = [bytes((0x80 | OP_TEXT, n)) for n in range(126)]
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")
#: First byte, second byte (126) and 16-bit length of a text frame of 126-65535 bytes.
_TEXT_HEAD_16 = struct.Struct("!BBH")
_FIN_TEXT = 0x80 | OP_TEXT


class FrameError(Exception):
    """The client broke RFC 6455 or our limits; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _header(first: int, length: int) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return bytes((first, 126)) + _U16.pack(length)
    return bytes((first, 127)) + _U64.pack(length)


def text_frame(data: bytes) -> bytes:
    """One unfragmented, unmasked text frame carrying ``data`` (already UTF-8)."""
    n = len(data)
    if n < 126:
        return _SHORT_TEXT_HEADERS[n] + data
    if n < 65536:
        return _TEXT_HEAD_16.pack(_FIN_TEXT, 126, n) + data
    return _header(_FIN_TEXT, n) + data


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        raise ValueError("control frame payload over 125 bytes")
    return bytes((0x80 | opcode, len(payload))) + payload


def close_payload(code: int, reason: str) -> bytes:
    """Code and reason, the reason cut (on a character boundary) to fit a control frame."""
    raw = reason.encode("utf-8")[:_MAX_CONTROL_PAYLOAD - 2]
    return _U16.pack(code) + raw.decode("utf-8", "ignore").encode("utf-8")


def close_frame(code: int, reason: str = "") -> bytes:
    return control_frame(OP_CLOSE, close_payload(code, reason))


def parse_close_payload(payload: bytes) -> tuple[int, str]:
    """(code, reason) of a received close frame; ``NO_STATUS_RECEIVED`` when it has no code."""
    if not payload:
        return CloseCode.NO_STATUS_RECEIVED, ""
    if len(payload) == 1:
        raise FrameError(CloseCode.PROTOCOL_ERROR, "close frame with a 1-byte payload")
    code = _U16.unpack_from(payload)[0]
    if not is_valid_close_code(code):
        raise FrameError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(CloseCode.INVALID_PAYLOAD, "close reason is not UTF-8") from None
    return code, reason


def unmask(payload: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    """XOR with the 4-byte mask: in C (websockets' speedups) when available, else as one
    big-integer operation (C speed too, no Python loop, but several big temporaries)."""
    if _c_unmask is not None:
        return _c_unmask(payload, mask)
    n = len(payload)
    if n == 0:
        return b""
    key = (bytes(mask) * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


#: What the fast path of :meth:`FrameParser.feed` calls: the C unmasking itself when there is
#: one (a Python call less per message), else :func:`unmask`.
_unmask_now: Callable[[bytes | bytearray, bytes | bytearray], bytes] = (
    _c_unmask if _c_unmask is not None else unmask)


class FrameParser:
    """Turns the client's byte stream into whole messages and control frames.

    :meth:`feed` returns ``(opcode, payload)`` pairs: ``OP_TEXT`` with the complete message (its
    UTF-8 already checked), ``OP_PING``, ``OP_PONG`` or ``OP_CLOSE`` with the frame's payload.
    A binary message, a message over ``max_message_bytes``, or any framing error sets
    :attr:`error` as soon as the offending frame's header is seen; the frames before it are
    still returned, and nothing after it is ever parsed.
    """

    __slots__ = ("_buf", "_fragments", "_fragments_len", "_max", "error")

    def __init__(self, max_message_bytes: int) -> None:
        self._max = max_message_bytes
        self._buf = bytearray()
        self._fragments: list[bytes] | None = None
        self._fragments_len = 0
        self.error: FrameError | None = None

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        # The common case in one piece: nothing buffered, and the chunk is exactly one whole,
        # final, masked text frame (FIN + text opcode, no reserved bits: 0x81) within the
        # limit. It applies the same rules as ``_parse``; anything else goes there.
        if not self._buf and self._fragments is None and self.error is None:
            n = len(data)
            if n > 6 and data[0] == _FIN_TEXT:
                length = data[1] - 0x80  # negative when the mask bit is not set
                head = 6
                if length == 126 and n > 8:
                    length = (data[2] << 8) | data[3]
                    head = 8
                elif length >= 126:  # a 64-bit length, or a 16-bit one cut short
                    length = -1
                if 0 <= length <= self._max and n == head + length:
                    payload = _unmask_now(data[head:], data[head - 4:head])
                    if payload.isascii():  # ASCII is UTF-8: no call to ``_checked_text``
                        return [(OP_TEXT, payload)]
                    try:
                        return [(OP_TEXT, _checked_text(payload))]
                    except FrameError as exc:
                        self.error = exc
                        return []
        out: list[tuple[int, bytes]] = []
        if self.error is None:
            try:
                self._parse(data, out)
            except FrameError as exc:
                self.error = exc
                self._buf = bytearray()
        return out

    def _parse(self, data: bytes, out: list[tuple[int, bytes]]) -> None:
        buf: bytes | bytearray
        if self._buf:
            self._buf += data
            buf = self._buf
        else:
            buf = data
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            opcode = b0 & 0x0F
            if b0 & 0x70:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits set without an extension")
            if not b1 & 0x80:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
            length = b1 & 0x7F
            head = 6
            if length == 126:
                if end - pos < 8:
                    break
                length = _U16.unpack_from(buf, pos + 2)[0]
                head = 8
            elif length == 127:
                if end - pos < 14:
                    break
                length = _U64.unpack_from(buf, pos + 2)[0]
                head = 14
            fin = b0 & 0x80
            self._check(opcode, fin, length)
            if end - pos < head + length:
                break
            mask = buf[pos + head - 4:pos + head]
            start = pos + head
            payload = unmask(buf[start:start + length], mask)
            pos = start + length
            if opcode >= OP_CLOSE:
                out.append((opcode, payload))
            elif fin and opcode == OP_TEXT:
                out.append((OP_TEXT, _checked_text(payload)))
            else:
                self._fragment(opcode, fin, payload, out)
        if buf is self._buf:
            if pos:
                del self._buf[:pos]
        elif pos < end:
            self._buf = bytearray(buf[pos:])

    def _check(self, opcode: int, fin: int, length: int) -> None:
        """Every rule decidable from a header alone, before its payload is buffered."""
        if opcode >= OP_CLOSE:
            if opcode > OP_PONG:
                raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
            if not fin or length > _MAX_CONTROL_PAYLOAD:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "invalid control frame")
            return
        if opcode == OP_BINARY:
            raise FrameError(CloseCode.UNSUPPORTED_DATA, "binary messages are not supported")
        if opcode == OP_CONTINUATION:
            if self._fragments is None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "continuation without a message")
        elif opcode == OP_TEXT:
            if self._fragments is not None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one")
        else:
            raise FrameError(CloseCode.PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if self._fragments_len + length > self._max:
            raise FrameError(CloseCode.MESSAGE_TOO_BIG, f"message over {self._max} bytes")

    def _fragment(self, opcode: int, fin: int, payload: bytes,
                  out: list[tuple[int, bytes]]) -> None:
        if opcode == OP_TEXT:
            self._fragments = [payload]
            self._fragments_len = len(payload)
            return
        assert self._fragments is not None
        self._fragments.append(payload)
        self._fragments_len += len(payload)
        if fin:
            message = b"".join(self._fragments)
            self._fragments = None
            self._fragments_len = 0
            out.append((OP_TEXT, _checked_text(message)))


def _checked_text(payload: bytes) -> bytes:
    if not payload.isascii():
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(CloseCode.INVALID_PAYLOAD, "text message is not valid UTF-8") from None
    return payload

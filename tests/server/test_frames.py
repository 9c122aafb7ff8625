"""The frame parser and encoder on their own: RFC 6455 rules and our limits, byte by byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_server.conformance.raw import OP_BINARY, encode_frame
from trio_server.frames import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameParser,
    close_frame,
    parse_close_payload,
    text_frame,
    unmask,
)

LIMIT = 1000


def feed_all(parser: FrameParser, data: bytes, step: int | None = None) -> list[tuple[int, bytes]]:
    events = []
    step = step or len(data) or 1
    for i in range(0, len(data), step):
        events.extend(parser.feed(data[i:i + step]))
    return events


def test_one_masked_text_frame() -> None:
    parser = FrameParser(LIMIT)
    assert parser.feed(encode_frame(OP_TEXT, b'{"type":"ping"}')) == [
        (OP_TEXT, b'{"type":"ping"}')]
    assert parser.error is None


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 999, 1000])
def test_every_length_encoding_and_every_split(size: int) -> None:
    payload = bytes(range(97, 123)) * (size // 26 + 1)
    payload = payload[:size]
    stream = encode_frame(OP_TEXT, payload) + encode_frame(OP_PING, b"p")
    for step in (1, 2, 3, 7, 64, len(stream)):
        parser = FrameParser(LIMIT)
        assert feed_all(parser, stream, step) == [(OP_TEXT, payload), (OP_PING, b"p")]


def test_fragmented_text_with_a_ping_in_between() -> None:
    stream = (encode_frame(OP_TEXT, b"hel", fin=False) + encode_frame(OP_PING, b"x")
              + encode_frame(0x0, b"lo ", fin=False) + encode_frame(0x0, "wörld".encode()))
    parser = FrameParser(LIMIT)
    assert feed_all(parser, stream, 5) == [(OP_PING, b"x"), (OP_TEXT, "hello wörld".encode())]


def test_utf8_split_across_fragments_is_valid() -> None:
    text = "é".encode()
    stream = encode_frame(OP_TEXT, text[:1], fin=False) + encode_frame(0x0, text[1:])
    assert FrameParser(LIMIT).feed(stream) == [(OP_TEXT, text)]


def _error_of(stream: bytes, limit: int = LIMIT) -> FrameError:
    parser = FrameParser(limit)
    parser.feed(stream)
    assert parser.error is not None
    return parser.error


def test_binary_is_refused_from_its_header_alone() -> None:
    header = encode_frame(OP_BINARY, b"x" * 500)[:8]
    assert _error_of(header).code == 1003


def test_oversized_is_refused_before_the_payload_arrives() -> None:
    header = encode_frame(OP_TEXT, b"x" * (LIMIT + 1))[:8]
    assert _error_of(header).code == 1009


def test_oversized_across_fragments() -> None:
    half = b"x" * (LIMIT // 2 + 1)
    stream = encode_frame(OP_TEXT, half, fin=False) + encode_frame(0x0, half)[:8]
    assert _error_of(stream).code == 1009


def test_exactly_the_limit_is_accepted() -> None:
    payload = b"x" * LIMIT
    assert FrameParser(LIMIT).feed(encode_frame(OP_TEXT, payload)) == [(OP_TEXT, payload)]


def test_a_whole_non_ascii_message_in_one_chunk_is_checked_and_kept() -> None:
    payload = "héllo ✓".encode()
    assert FrameParser(LIMIT).feed(encode_frame(OP_TEXT, payload)) == [(OP_TEXT, payload)]


@pytest.mark.parametrize("payload", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"ok\xc0\xaf"])
def test_invalid_utf8(payload: bytes) -> None:
    assert _error_of(encode_frame(OP_TEXT, payload)).code == 1007


@pytest.mark.parametrize("stream", [
    encode_frame(OP_TEXT, b"x", mask=False),                       # unmasked client frame
    encode_frame(OP_TEXT, b"x", rsv=4),                            # RSV1 without extension
    encode_frame(0x3, b"x"),                                       # reserved data opcode
    encode_frame(0xB, b"x"),                                       # reserved control opcode
    encode_frame(OP_PING, b"x" * 126),                             # control frame too long
    encode_frame(OP_PING, b"x", fin=False),                        # fragmented control frame
    encode_frame(0x0, b"x"),                                       # continuation, no message
    encode_frame(OP_TEXT, b"a", fin=False) + encode_frame(OP_TEXT, b"b"),  # nested message
])
def test_protocol_errors(stream: bytes) -> None:
    assert _error_of(stream).code == 1002


def test_frames_before_an_error_are_kept_and_nothing_after() -> None:
    stream = (encode_frame(OP_TEXT, b"first") + encode_frame(OP_BINARY, b"bin")
              + encode_frame(OP_TEXT, b"never"))
    parser = FrameParser(LIMIT)
    assert parser.feed(stream) == [(OP_TEXT, b"first")]
    assert parser.error is not None and parser.error.code == 1003
    assert parser.feed(encode_frame(OP_TEXT, b"later")) == []


def test_close_payloads() -> None:
    assert parse_close_payload(b"") == (1005, "")
    assert parse_close_payload(close_frame(1000, "bye")[2:]) == (1000, "bye")
    assert parse_close_payload(close_frame(4001, "replaced")[2:]) == (4001, "replaced")
    for bad, code in ((b"\x03", 1002), (b"\x03\xe7", 1002), (b"\x03\xed", 1002),
                      (b"\x03\xe8\xff", 1007)):
        with pytest.raises(FrameError) as info:
            parse_close_payload(bad)
        assert info.value.code == code


def test_close_reason_is_cut_to_fit_on_a_character_boundary() -> None:
    frame = close_frame(1000, "é" * 100)
    assert len(frame) <= 127
    code, reason = parse_close_payload(frame[2:])
    assert code == 1000 and set(reason) == {"é"}


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_text_frame_headers(size: int) -> None:
    frame = text_frame(b"a" * size)
    assert frame[0] == 0x81
    if size < 126:
        assert frame[1] == size and len(frame) == size + 2
    elif size < 65536:
        assert frame[1] == 126 and int.from_bytes(frame[2:4], "big") == size
    else:
        assert frame[1] == 127 and int.from_bytes(frame[2:10], "big") == size


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_unmask_is_xor_with_the_repeated_key(payload: bytes, key: bytes) -> None:
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert unmask(payload, key) == expected


@given(st.lists(st.tuples(st.sampled_from([OP_TEXT, OP_PING, OP_PONG]),
                          st.text(max_size=31)), max_size=8),
       st.integers(min_value=1, max_value=50))
def test_any_split_of_valid_frames_gives_the_same_messages(
        frames: list[tuple[int, str]], step: int) -> None:
    stream = b"".join(encode_frame(op, text.encode()) for op, text in frames)
    expected = [(op, text.encode()) for op, text in frames]
    parser = FrameParser(LIMIT)
    assert feed_all(parser, stream, step) == expected
    assert parser.error is None


def test_close_opcode_is_reported() -> None:
    assert FrameParser(LIMIT).feed(encode_frame(OP_CLOSE, b"\x03\xe8")) == [
        (OP_CLOSE, b"\x03\xe8")]


def test_message_type_labels() -> None:
    from trio_server.server_metrics import message_type

    assert message_type(b'{"type":"ice-candidate","candidate":{}}') == "ice-candidate"
    assert message_type(b'{"type": "offer", "offer": {}}') == "offer"
    assert message_type(b'{"toId":"x","type":"answer"}') == "answer"
    assert message_type(b'{"type":"made-up-type"}') == "other"
    assert message_type(b'{"type":"' + b"x" * 100) == "other"
    assert message_type(b"[1,2,3]") == "other"
    assert message_type(b"") == "other"


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_any_bytes_yield_messages_or_the_protocols_own_error(data: bytes, step: int) -> None:
    """h11's fuzz property for our parser: no input raises anything but a close code."""
    parser = FrameParser(LIMIT)
    for i in range(0, len(data), step):
        for opcode, payload in parser.feed(data[i:i + step]):
            assert opcode in (OP_TEXT, OP_PING, OP_PONG, OP_CLOSE)
            if opcode == OP_TEXT:
                payload.decode("utf-8")
                assert len(payload) <= LIMIT
    assert parser.error is None or parser.error.code in (1002, 1003, 1007, 1009)


def _general_path(parser: FrameParser, data: bytes) -> list[tuple[int, bytes]]:
    """What ``feed`` gives without its one-whole-frame fast path (the general loop only)."""
    out: list[tuple[int, bytes]] = []
    try:
        parser._parse(data, out)
    except FrameError as exc:
        parser.error = exc
        parser._buf = bytearray()
    return out


@given(st.binary(min_size=1, max_size=3), st.sampled_from([0, 5, 125, 126, 127, 300, 999, 1000,
                                                          1001, 70_000]),
       st.binary(min_size=4, max_size=4), st.binary(max_size=8),
       st.sampled_from([1000, 65_536, 1 << 20]), st.integers(min_value=-3, max_value=3))
def test_the_one_frame_fast_path_agrees_with_the_general_parser(
        head: bytes, size: int, mask: bytes, tail: bytes, limit: int, cut: int) -> None:
    """Any first byte (FIN, reserved bits, opcode), any length form (7-bit, 16-bit, 64-bit,
    masked or not), whole, cut short or with bytes after it: the same events, error and
    buffer as the general loop."""
    b0 = head[0]
    payload = (tail * (size // max(len(tail), 1) + 1))[:size] if tail else b"a" * size
    if size < 126:
        b1 = size
        length = b""
    elif size < 65_536:
        b1, length = 126, size.to_bytes(2, "big")
    else:
        b1, length = 127, size.to_bytes(8, "big")
    masked = len(head) < 3 or head[2] & 1
    frame = bytes((b0, b1 | (0x80 if masked else 0))) + length
    frame += (mask + unmask(payload, mask)) if masked else payload
    if cut < 0:
        frame = frame[:cut]
    elif cut > 0:
        frame += tail[:cut]
    fast, general = FrameParser(limit), FrameParser(limit)
    assert fast.feed(frame) == _general_path(general, frame)
    assert (fast.error is None) == (general.error is None)
    if fast.error is not None and general.error is not None:
        assert fast.error.code == general.error.code
    assert bytes(fast._buf) == bytes(general._buf)


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_the_pure_python_unmask_matches(payload: bytes, key: bytes) -> None:
    """The fallback used where websockets' C speedups are missing gives the same bytes."""
    import trio_server.frames as frames

    c_unmask = frames._c_unmask
    frames._c_unmask = None
    try:
        assert frames.unmask(payload, key) == bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    finally:
        frames._c_unmask = c_unmask

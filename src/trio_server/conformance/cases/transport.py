"""§1 transport: the endpoint's path rules and the WebSocket-level violations."""

from __future__ import annotations

import contextlib
import secrets
import string

import trio

from signaling_core import CloseCode
from signaling_core.wire import Field, MessageType

from ..client import Who
from ..context import CaseContext
from ..raw import GONE, OP_BINARY, OP_TEXT, RawClient
from ..registry import FULL, case, check
from ..rules import CLOSE_CODES, TRANSPORT
from ._helpers import expect_user_left

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


async def _refused_at_handshake(ctx: CaseContext, path: str) -> None:
    sock = await ctx.raw(f"GET {path}")
    status, _ = await sock.handshake(path)
    check(400 <= status < 500, f"GET {path} with an upgrade answered {status}, expected 4xx",
          expected="HTTP 4xx", got=f"HTTP {status}")
    await sock.aclose()


@case("handshake.bad-path", "an upgrade to any path other than /ws-simple/{roomId} gets a 4xx",
      rules=TRANSPORT, profile=FULL)
async def bad_path(ctx: CaseContext) -> None:
    base = ctx.options.base_path
    for path in ("/", "/nope", "/ws-simple", "/ws-simple/", "/ws-simplex/room-1",
                 "/ws-simple/room-1/extra", "/ws/room-1"):
        await _refused_at_handshake(ctx, base + path)


@case("handshake.bad-room-id", "a room id outside [A-Za-z0-9_.~-]{1,128} gets a 4xx",
      rules=TRANSPORT, profile=FULL)
async def bad_room_id(ctx: CaseContext) -> None:
    for room_id in ("r" * 129, "bad$id", "sp%20ace", "%C3%BCmlaut", "a%2Fb", "semi;colon",
                    "star*", "quote%22", "a+b"):
        await _refused_at_handshake(ctx, ctx.options.ws_path(room_id))


@case("handshake.valid-room-ids", "room ids of 1 and of 128 allowed characters are accepted",
      rules=TRANSPORT, profile=FULL)
async def valid_room_ids(ctx: CaseContext) -> None:
    longest = ((ctx.room() + "_A.z~0-9") * 8)[:128]
    for room_id in (secrets.choice(string.ascii_letters), longest):
        peer = await ctx.connect(room_id, f"room id of {len(room_id)} characters")
        await peer.join(Who(f"client-{secrets.token_hex(4)}", "client"))
        await peer.aclose()


async def _violation(ctx: CaseContext, label: str, opcode: int, payload: bytes,
                     expected: int) -> None:
    """A joined raw client commits a violation: closed with ``expected``, and it departs."""
    (coach,) = await ctx.room_with(COACH)
    sock = await ctx.raw_ws(coach.room_id, f"client({label})")
    await sock.send_json(CLIENT.join_message(coach.room_id))
    check((await sock.recv_json()).get(Field.TYPE) == MessageType.PEER_DISCOVERY, "raw join failed")
    await coach.expect(MessageType.USER_JOINED)

    async def send_ignoring_errors(conn: RawClient) -> None:
        # The server may close before reading the whole frame; that is its right.
        with contextlib.suppress(*GONE):
            await conn.send_frame(opcode, payload)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_ignoring_errors, sock)
        ctx.note(f"client({label}) waiting for close {expected}")
        code = await sock.expect_close()
    check(code == expected, f"{label}: closed with {code}, expected {expected}"
          if code is not None else f"{label}: TCP closed without a close frame, expected "
          f"close code {expected}", expected=f"close code {expected}",
          got="no close frame" if code is None else f"close code {code}")
    await expect_user_left(coach, CLIENT)


@case("ws.binary-frame", "a binary frame is answered with close 1003 and counts as a departure",
      rules=(TRANSPORT, CLOSE_CODES), profile=FULL)
async def binary_frame(ctx: CaseContext) -> None:
    await _violation(ctx, "binary", OP_BINARY, b'{"type":"ping"}',
                     CloseCode.UNSUPPORTED_DATA)


@case("ws.invalid-utf8", "a text frame of invalid UTF-8 gets close 1007 and counts as a "
                         "departure", rules=(TRANSPORT, CLOSE_CODES), profile=FULL)
async def invalid_utf8(ctx: CaseContext) -> None:
    await _violation(ctx, "invalid UTF-8", OP_TEXT, b'{"type":"ping","x":"\xff\xfe\xc3"}',
                     CloseCode.INVALID_PAYLOAD)


@case("ws.oversized-frame", "a message over the size limit gets close 1009 and counts as a "
                            "departure", rules=(TRANSPORT, CLOSE_CODES), profile=FULL)
async def oversized(ctx: CaseContext) -> None:
    limit = ctx.options.max_message_bytes
    body = b'{"type":"ping","pad":"' + b"x" * limit + b'"}'
    await _violation(ctx, "oversized", OP_TEXT, body, CloseCode.MESSAGE_TOO_BIG)

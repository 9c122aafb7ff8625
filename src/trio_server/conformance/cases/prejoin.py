"""§3 before join: ping is answered, every signaling and room message is refused and relayed
to no one, and the connection can still join afterwards."""

from __future__ import annotations

from typing import Any

from signaling_core.wire import ORB_SHUTDOWN_ERROR, ErrorCode, Field, MessageType

from ..client import Who, short
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import PERMISSIONS, RELAY
from ._helpers import check_public
from .relay import answer, candidate, offer

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


@case("ping.before-join", "ping before join is answered with pong, and only that",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def ping_before_join(ctx: CaseContext) -> None:
    peer = await ctx.connect(ctx.room(), "unjoined")
    await peer.send({Field.TYPE: MessageType.PING})
    pong = await peer.expect(MessageType.PONG)
    check(set(pong) == {Field.TYPE}, f"pong carries extra fields: {sorted(pong)}",
          expected='{"type":"pong"}', got=short(pong))
    await peer.quiet("after a pong")


@case("ping.after-join", "ping after join is answered with pong and not relayed",
      rules=RELAY, profile=ORIGINAL)
async def ping_after_join(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    await client.send({Field.TYPE: MessageType.PING})
    await client.expect(MessageType.PONG)
    await coach.quiet("after the client's ping")


def _room_messages() -> list[dict[str, Any]]:
    return [
        offer(COACH.user_id),
        answer(COACH.user_id),
        candidate(COACH.user_id),
        candidate(),
        {Field.TYPE: MessageType.CLIENT_SIGNAL, Field.ACTION: "raise-hand"},
        {Field.TYPE: MessageType.AI_STATUS, Field.STATUS: "ready", Field.SESSION_ID: "s1"},
        {Field.TYPE: MessageType.AI_CONTROL, Field.ACTION: "pause"},
        {Field.TYPE: MessageType.ORB_HEARTBEAT, Field.METRICS: {"fps": 30}},
        {Field.TYPE: MessageType.ORB_SHUTDOWN, Field.SESSION_ID: "s1",
         Field.REASON: ORB_SHUTDOWN_ERROR},
        {Field.TYPE: MessageType.LEAVE},
    ]


@case("prejoin.refused",
      "signaling and room messages before join get an error, reach no one, and join still works",
      rules=PERMISSIONS, profile=FULL)
async def refused_before_join(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    stranger = await ctx.connect(coach.room_id, "unjoined")
    for message in _room_messages():
        await stranger.send(message)
        await stranger.expect_error(ErrorCode.NOT_JOINED, message[Field.TYPE])
        await coach.quiet(f"after an unjoined connection sent {message[Field.TYPE]}")
    await stranger.join(CLIENT)
    joined = await coach.expect(MessageType.USER_JOINED)
    check_public("coach", joined, CLIENT, MessageType.USER_JOINED)


@case("prejoin.not-relayed",
      "offer, answer, ice-candidate and leave from a connection that has not joined reach no "
      "one, and the connection can still join", rules=(RELAY, PERMISSIONS), profile=ORIGINAL)
async def not_relayed_before_join(ctx: CaseContext) -> None:
    # The seed relays with the sender's userId as fromId: a connection without one is no
    # sender. What it is told back (an error, in docs/protocol.md) is not the seed's business.
    (coach,) = await ctx.room_with(COACH)
    stranger = await ctx.connect(coach.room_id, "unjoined")
    for message in [*_room_messages()[:4], {Field.TYPE: MessageType.LEAVE}]:
        await stranger.send(message)
        await stranger.sync()
        await coach.quiet(f"after an unjoined connection sent {message[Field.TYPE]}")
    await stranger.join(CLIENT)
    joined = await coach.expect(MessageType.USER_JOINED)
    check(joined.get(Field.USER_ID) == CLIENT.user_id, "coach: user-joined for someone else",
          expected=f"user-joined for {CLIENT.user_id!r}", got=short(joined))

"""Orb mode **[ext]**: only a human coach sets whom the orb talks to (the role rule of the
permission table); everyone hears ``ai-mode``; a later joiner reads the mode in its
``peer-discovery`` and every relayed ``ai_status`` carries it. ``ai_ask`` ("Ask the orb")
reaches the room's orb only, and is refused in ``listen`` and when repeated at once."""

from __future__ import annotations

from signaling_core import orb_user_id
from signaling_core.wire import ErrorCode, Field, MessageType

from ..client import Who
from ..context import CaseContext
from ..registry import FULL, case, check
from ..rules import ORB_MODE, PERMISSIONS, ROLE_RULE
from ._helpers import all_quiet

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("s1"), "ai", "AI Assistant", "ai")
LATE = Who("client-2", "client")


@case("ai_mode.coach-only",
      "ai_mode from a client or an ai is refused with forbidden and reaches no one",
      rules=(PERMISSIONS, ROLE_RULE, ORB_MODE), profile=FULL)
async def coach_only(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    for peer in (client, ai):
        await peer.send({Field.TYPE: MessageType.AI_MODE, Field.MODE: "active"})
        await peer.expect_error(ErrorCode.FORBIDDEN, MessageType.AI_MODE)
    await coach.send({Field.TYPE: MessageType.AI_MODE, Field.MODE: "loud"})
    await coach.expect_error(ErrorCode.INVALID_MESSAGE, MessageType.AI_MODE)
    await all_quiet([coach, client, ai], "after refused ai_mode")


@case("ai_mode.to-everyone",
      "a coach's ai_mode: ai-mode to everyone (the coach and the orb too); a later joiner's "
      "peer-discovery and the relayed ai_status carry the mode",
      rules=(ORB_MODE,), profile=FULL)
async def to_everyone(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await coach.send({Field.TYPE: MessageType.AI_MODE, Field.MODE: "listen"})
    for peer in (coach, client, ai):
        await peer.expect(MessageType.AI_MODE_CHANGED, {Field.MODE: "listen",
                                                        Field.BY: COACH.user_id})
    late = await ctx.connect(coach.room_id, "client-2")
    discovery = await late.join(LATE)
    check(discovery.get(Field.ORB_MODE) == "listen",
          f"peer-discovery.orbMode is {discovery.get(Field.ORB_MODE)!r}, expected 'listen'",
          expected="orbMode 'listen'", got=repr(discovery.get(Field.ORB_MODE)))
    for peer in (coach, client, ai):
        await peer.expect(MessageType.USER_JOINED, {Field.USER_ID: LATE.user_id})
    await ai.send({Field.TYPE: MessageType.AI_STATUS, Field.STATUS: "listening",
                   Field.SESSION_ID: "s1"})
    for peer in (coach, client, late):
        await peer.expect(MessageType.AI_STATUS, {Field.STATUS: "listening", Field.MODE: "listen"})
    await all_quiet([coach, client, ai, late], "after ai_mode")


@case("ai_ask.to-the-orb",
      "ai_ask reaches the room's ai only (with fromId); again at once is rate-limited; in "
      "listen it is refused with orb-listening",
      rules=(ORB_MODE, PERMISSIONS), profile=FULL)
async def ask(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await coach.send({Field.TYPE: MessageType.AI_MODE, Field.MODE: "addressed"})
    for peer in (coach, client, ai):
        await peer.expect(MessageType.AI_MODE_CHANGED, {Field.MODE: "addressed"})
    await client.send({Field.TYPE: MessageType.AI_ASK})
    await ai.expect(MessageType.AI_ASK, {Field.FROM_ID: CLIENT.user_id})
    await client.send({Field.TYPE: MessageType.AI_ASK})
    await client.expect_error(ErrorCode.RATE_LIMITED, MessageType.AI_ASK)
    await ai.send({Field.TYPE: MessageType.AI_ASK})
    await ai.expect_error(ErrorCode.FORBIDDEN, MessageType.AI_ASK)
    await coach.send({Field.TYPE: MessageType.AI_MODE, Field.MODE: "listen"})
    for peer in (coach, client, ai):
        await peer.expect(MessageType.AI_MODE_CHANGED, {Field.MODE: "listen"})
    await coach.send({Field.TYPE: MessageType.AI_ASK})
    await coach.expect_error(ErrorCode.ORB_LISTENING, MessageType.AI_ASK)
    await all_quiet([coach, client, ai], "after ai_ask")

"""End session **[ext]**: only a human coach may end the call (the role rule of the permission
table); then every human hears ``session-ended``, the others are closed with 4010 and leave,
and the coach stays."""

from __future__ import annotations

from signaling_core import CloseCode, orb_user_id
from signaling_core.wire import ENDED_BY_COACH, ErrorCode, Field, MessageType

from ..client import Who
from ..context import CaseContext
from ..registry import FULL, case
from ..rules import CLOSE_CODES, END_SESSION, PERMISSIONS, ROLE_RULE
from ._helpers import all_quiet, expect_user_left

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("s1"), "ai", "AI Assistant", "ai")
END = {Field.TYPE: MessageType.END_SESSION}


@case("end_session.coach-only",
      "end_session from a client or an ai is refused with forbidden and changes nothing",
      rules=(PERMISSIONS, ROLE_RULE), profile=FULL)
async def coach_only(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    for peer in (client, ai):
        await peer.send(END)
        await peer.expect_error(ErrorCode.FORBIDDEN, MessageType.END_SESSION)
    await all_quiet([coach, client, ai], "after a refused end_session")


@case("end_session.ends-for-everyone",
      "a coach's end_session: session-ended to every human, the client closed with 4010, "
      "user-left to those who stay, the coach still joined",
      rules=(END_SESSION, CLOSE_CODES), profile=FULL)
async def ends_for_everyone(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await coach.send(END)
    ended = {Field.REASON: ENDED_BY_COACH, Field.BY: COACH.user_id}
    await coach.expect(MessageType.SESSION_ENDED, ended)
    await client.expect(MessageType.SESSION_ENDED, ended)
    await client.expect_closed(int(CloseCode.SESSION_ENDED))
    await expect_user_left(coach, CLIENT)
    await expect_user_left(ai, CLIENT)
    await coach.send({Field.TYPE: MessageType.PING})
    await coach.expect(MessageType.PONG)
    await all_quiet([coach, ai], "after end_session")

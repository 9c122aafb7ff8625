"""Orb mode **[ext]**: only a human coach sets whom the orb talks to (the role rule of the
permission table); everyone hears ``ai-mode``; a later joiner reads the mode in its
``peer-discovery`` and every relayed ``ai_status`` carries it. ``ai_ask`` ("Ask the orb")
reaches the room's orb only, and is refused in ``listen`` and when repeated at once."""

from __future__ import annotations

from signaling_core import orb_user_id

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
        await peer.send({"type": "ai_mode", "mode": "active"})
        await peer.expect_error("forbidden", "ai_mode")
    await coach.send({"type": "ai_mode", "mode": "loud"})
    await coach.expect_error("invalid-message", "ai_mode")
    await all_quiet([coach, client, ai], "after refused ai_mode")


@case("ai_mode.to-everyone",
      "a coach's ai_mode: ai-mode to everyone (the coach and the orb too); a later joiner's "
      "peer-discovery and the relayed ai_status carry the mode",
      rules=(ORB_MODE,), profile=FULL)
async def to_everyone(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await coach.send({"type": "ai_mode", "mode": "listen"})
    for peer in (coach, client, ai):
        await peer.expect("ai-mode", mode="listen", by=COACH.user_id)
    late = await ctx.connect(coach.room_id, "client-2")
    discovery = await late.join(LATE)
    check(discovery.get("orbMode") == "listen",
          f"peer-discovery.orbMode is {discovery.get('orbMode')!r}, expected 'listen'",
          expected="orbMode 'listen'", got=repr(discovery.get("orbMode")))
    for peer in (coach, client, ai):
        await peer.expect("user-joined", userId=LATE.user_id)
    await ai.send({"type": "ai_status", "status": "listening", "sessionId": "s1"})
    for peer in (coach, client, late):
        await peer.expect("ai_status", status="listening", mode="listen")
    await all_quiet([coach, client, ai, late], "after ai_mode")


@case("ai_ask.to-the-orb",
      "ai_ask reaches the room's ai only (with fromId); again at once is rate-limited; in "
      "listen it is refused with orb-listening",
      rules=(ORB_MODE, PERMISSIONS), profile=FULL)
async def ask(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await coach.send({"type": "ai_mode", "mode": "addressed"})
    for peer in (coach, client, ai):
        await peer.expect("ai-mode", mode="addressed")
    await client.send({"type": "ai_ask"})
    await ai.expect("ai_ask", fromId=CLIENT.user_id)
    await client.send({"type": "ai_ask"})
    await client.expect_error("rate-limited", "ai_ask")
    await ai.send({"type": "ai_ask"})
    await ai.expect_error("forbidden", "ai_ask")
    await coach.send({"type": "ai_mode", "mode": "listen"})
    for peer in (coach, client, ai):
        await peer.expect("ai-mode", mode="listen")
    await coach.send({"type": "ai_ask"})
    await coach.expect_error("orb-listening", "ai_ask")
    await all_quiet([coach, client, ai], "after ai_ask")

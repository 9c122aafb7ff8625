"""§3 ai_transcript and ai_summary **[ext]**: what the orb understood goes to the humans (the
transcript) or to the room's coaches (the summary), and only an ai may send either."""

from __future__ import annotations

from signaling_core import orb_user_id
from signaling_core.wire import ErrorCode, Field, MessageType, TranscriptLine, ai_transcript

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import FULL, case
from ..rules import ORB_UNDERSTOOD, PERMISSIONS, RELAY
from ._helpers import all_quiet, check_relayed

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("s1"), "ai", "AI Assistant", "ai")
T0 = 1_750_000_000.0
#: Built with the wire vocabulary's names; what the peers get is judged by the suite's own
#: ``check_relayed``, field by field, not by the server's parser.
LINE: dict[str, object] = ai_transcript(TranscriptLine(
    "s1-1", "client-1", "client", "I want more time for my family.", T0, T0 + 2.5))


async def _room(ctx: CaseContext) -> tuple[Peer, Peer, Peer]:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    return coach, client, ai


@case("ai_transcript.to-humans",
      "ai_transcript from the ai reaches every human, fields kept, with fromId",
      rules=(RELAY, ORB_UNDERSTOOD), profile=FULL)
async def transcript_to_humans(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await ai.send(LINE)
    for peer in (coach, client):
        check_relayed(peer.label, await peer.expect(MessageType.AI_TRANSCRIPT), LINE, AI.user_id)
    await all_quiet([coach, client, ai], "after ai_transcript")


@case("ai_transcript.not-to-another-ai",
      "ai_transcript never reaches a second ai participant of the room",
      rules=(RELAY, ORB_UNDERSTOOD), profile=FULL)
async def transcript_not_to_ai(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    second = await ctx.join(coach.room_id, Who(orb_user_id("s2"), "ai", "Second AI", "ai"))
    for peer in (coach, client, ai):
        await peer.expect(MessageType.USER_JOINED)
    await ai.send(LINE)
    for peer in (coach, client):
        await peer.expect(MessageType.AI_TRANSCRIPT)
    await all_quiet([coach, client, ai, second], "after ai_transcript with two ais")


@case("ai_transcript.validated",
      "an ai_transcript with a missing or wrong field is refused with invalid-message",
      rules=(RELAY, ORB_UNDERSTOOD), profile=FULL)
async def transcript_validated(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    for broken in ({**LINE, Field.TEXT: ""}, {**LINE, Field.STARTED_AT: "soon"},
                   {**LINE, Field.ENDED_AT: T0 - 1}):
        await ai.send(broken)
        await ai.expect_error(ErrorCode.INVALID_MESSAGE, MessageType.AI_TRANSCRIPT)
    await all_quiet([coach, client, ai], "after refused transcripts")


@case("ai_summary.to-coaches",
      "ai_summary from the ai reaches the room's coaches, as sent with fromId, and no one else",
      rules=(RELAY, ORB_UNDERSTOOD), profile=FULL)
async def summary_to_coaches(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    summary = {Field.TYPE: MessageType.AI_SUMMARY, Field.TEXT: "Key topics: family",
               Field.METHOD: "extractive",
               Field.KEY_TOPICS: ["family"]}
    await ai.send(summary)
    check_relayed(coach.label, await coach.expect(MessageType.AI_SUMMARY), summary, AI.user_id)
    await all_quiet([coach, client, ai], "after ai_summary")


@case("ai_transcript.only-from-ai",
      "ai_transcript and ai_summary from a human are refused and reach no one",
      rules=(PERMISSIONS, ORB_UNDERSTOOD), profile=FULL)
async def only_from_ai(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    for message in (LINE, {Field.TYPE: MessageType.AI_SUMMARY, Field.TEXT: "x",
                           Field.METHOD: "extractive"}):
        await client.send(message)
        await client.expect_error(ErrorCode.FORBIDDEN, str(message[Field.TYPE]))
        await all_quiet([coach, client, ai], f"after a human's {message[Field.TYPE]}")

"""Away and resume **[ext]**: a lost connection keeps its seat for the reconnect grace, a join
with the seat's ``resumeToken`` takes it back without a departure, any other proof is refused,
and a token for a seat the server does not hold (after a restart) is a fresh join: a reunion.

A connection is lost here by aborting its TCP stream (no close frame), as a network would.
"""

from __future__ import annotations

from typing import Any

from signaling_core.wire import MAX_ID_CHARS, PEER_UNCHANGED, ErrorCode, Field, MessageType

from ..client import Peer, Who, short
from ..context import CaseContext
from ..raw import RawClient
from ..registry import FULL, case, check
from ..rules import AWAY_AND_RESUME, SERVER_TO_CLIENT
from ._helpers import check_public, expect_user_left, settle

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


async def _client_seat(ctx: CaseContext, room_id: str, coach: Peer) -> tuple[RawClient, str]:
    """The client joins on a raw connection (so it can be cut); returns it and its token."""
    raw = await ctx.raw_ws(room_id, "client(raw)")
    await raw.send_json(CLIENT.join_message(room_id))
    discovery = await raw.recv_json()
    check(discovery.get(Field.TYPE) == MessageType.PEER_DISCOVERY, "client expected peer-discovery",
          expected=MessageType.PEER_DISCOVERY, got=short(discovery))
    token = discovery.get(Field.RESUME_TOKEN)
    check(isinstance(token, str) and 0 < len(token) <= MAX_ID_CHARS,
          f"peer-discovery carries no resumeToken (a string of 1-{MAX_ID_CHARS} characters)",
          expected="resumeToken: a string", got=short(discovery))
    await coach.expect(MessageType.USER_JOINED)
    assert isinstance(token, str)
    return raw, token


async def _away(ctx: CaseContext) -> tuple[Peer, str, str]:
    """A coach and a client whose connection was just lost; the coach saw user-away."""
    room_id = ctx.room()
    coach = await ctx.join(room_id, COACH)
    raw, token = await _client_seat(ctx, room_id, coach)
    await raw.abort()
    away = await coach.expect(MessageType.USER_AWAY)
    check_public("coach", away, CLIENT, MessageType.USER_AWAY)
    return coach, room_id, token


def _resume_join(token: str | None) -> dict[str, Any]:
    message = dict(CLIENT.join_message(None))
    if token is not None:
        message[Field.RESUME_TOKEN] = token
    return message


@case("resume.away-and-back",
      "a lost connection makes its seat away (user-away, no user-left); a join with the seat's "
      "resumeToken takes it back: resumed peer-discovery, user-back, and no departure",
      rules=(AWAY_AND_RESUME, SERVER_TO_CLIENT), profile=FULL)
async def away_and_back(ctx: CaseContext) -> None:
    coach, room_id, token = await _away(ctx)
    back = await ctx.connect(room_id, "client(back)")
    await back.send(_resume_join(token))
    discovery = await back.expect(MessageType.PEER_DISCOVERY)
    check(discovery.get(Field.RESUMED) is True and discovery.get(Field.LEFT) == [],
          "the resumed peer-discovery says resumed: true and left: []",
          expected="resumed: true, left: []", got=short(discovery))
    peers = discovery.get(Field.PEERS) or []
    check(len(peers) == 1 and peers[0].get(Field.USER_ID) == COACH.user_id
          and peers[0].get(Field.STATUS) == PEER_UNCHANGED
          and peers[0].get(Field.SHOULD_CREATE_OFFER) is False,
          "the coach is listed unchanged, and the client still does not offer",
          expected="[coach-1, status unchanged, shouldCreateOffer false]", got=short(peers))
    check(discovery.get(Field.RESUME_TOKEN) == token, "a resume keeps the seat's resumeToken",
          expected=token, got=discovery.get(Field.RESUME_TOKEN))
    check_public("coach", await coach.expect(MessageType.USER_BACK), CLIENT, MessageType.USER_BACK)
    await settle()
    await coach.quiet("after a resume (no user-left, no user-joined)")


@case("resume.grace-ends",
      "an away seat that does not come back departs when the grace ends: exactly one user-left",
      rules=(AWAY_AND_RESUME, SERVER_TO_CLIENT), profile=FULL, grace=True)
async def grace_ends(ctx: CaseContext) -> None:
    coach, _, _ = await _away(ctx)
    await expect_user_left(coach, CLIENT)
    await settle()
    await coach.quiet("after the away seat departed")


@case("resume.token-check",
      "an away seat is refused (resume-refused) to a join without its token, with another "
      "user's token or with a token from another room; its own token resumes it",
      rules=AWAY_AND_RESUME, profile=FULL)
async def token_check(ctx: CaseContext) -> None:
    room_id = ctx.room()
    coach = await ctx.connect(room_id, COACH.user_id)
    coach_token = (await coach.join(COACH)).get(Field.RESUME_TOKEN)
    raw, token = await _client_seat(ctx, room_id, coach)
    await raw.abort()
    await coach.expect(MessageType.USER_AWAY)
    elsewhere = await ctx.connect(ctx.room(), "client-1(another room)")
    other_room_token = (await elsewhere.join(CLIENT)).get(Field.RESUME_TOKEN)
    thief = await ctx.connect(room_id, "thief")
    for proof in (None, coach_token, other_room_token):
        await thief.send(_resume_join(proof if isinstance(proof, str) or proof is None
                                      else "v1.0.x"))
        await thief.expect_error(ErrorCode.RESUME_REFUSED, MessageType.JOIN)
    await coach.quiet("after refused claims on the away seat")
    await thief.send(_resume_join(token))
    discovery = await thief.expect(MessageType.PEER_DISCOVERY)
    check(discovery.get(Field.RESUMED) is True, "the seat's own token resumes it",
          expected="resumed: true", got=short(discovery))
    await coach.expect(MessageType.USER_BACK)


@case("resume.wrong-user-token",
      "a join claiming a seat with another participant's resumeToken is refused "
      "(resume-refused), and the seat's owner is not disturbed",
      rules=AWAY_AND_RESUME, profile=FULL)
async def wrong_user_token(ctx: CaseContext) -> None:
    room_id = ctx.room()
    coach = await ctx.connect(room_id, COACH.user_id)
    coach_token = (await coach.join(COACH)).get(Field.RESUME_TOKEN)
    client = await ctx.join(room_id, CLIENT)
    await coach.expect(MessageType.USER_JOINED)
    thief = await ctx.connect(room_id, "thief")
    await thief.send(_resume_join(coach_token if isinstance(coach_token, str) else "v1.0.x"))
    await thief.expect_error(ErrorCode.RESUME_REFUSED, MessageType.JOIN)
    await settle()
    await coach.quiet("after a refused claim")
    await client.quiet("after a refused claim on its seat")


@case("resume.peer-away",
      "a message addressed to an away participant is refused (peer-away) and never delivered "
      "after its resume",
      rules=(AWAY_AND_RESUME, SERVER_TO_CLIENT), profile=FULL)
async def peer_away(ctx: CaseContext) -> None:
    coach, room_id, token = await _away(ctx)
    candidate = {Field.TYPE: MessageType.ICE_CANDIDATE, Field.TO_ID: CLIENT.user_id,
                 Field.CANDIDATE: None,
                 "n": "while away"}
    await coach.send(candidate)
    await coach.expect_error(ErrorCode.PEER_AWAY, MessageType.ICE_CANDIDATE)
    back = await ctx.connect(room_id, "client(back)")
    await back.send(_resume_join(token))
    await back.expect(MessageType.PEER_DISCOVERY)
    await coach.expect(MessageType.USER_BACK)
    await settle()
    await back.quiet("after its resume (nothing held for it while away)")


@case("resume.reunion",
      "a resumeToken for a seat the server no longer holds (it ended, or the server restarted) "
      "is ignored: the join is a fresh join, announced with user-joined",
      rules=AWAY_AND_RESUME, profile=FULL)
async def reunion(ctx: CaseContext) -> None:
    room_id = ctx.room()
    coach = await ctx.join(room_id, COACH)
    client = await ctx.connect(room_id, CLIENT.user_id)
    token = (await client.join(CLIENT)).get(Field.RESUME_TOKEN)
    await coach.expect(MessageType.USER_JOINED)
    await client.send({Field.TYPE: MessageType.LEAVE})
    await expect_user_left(coach, CLIENT)
    again = await ctx.connect(room_id, "client(again)")
    await again.send(_resume_join(token if isinstance(token, str) else "v1.0.x"))
    discovery = await again.expect(MessageType.PEER_DISCOVERY)
    check(Field.RESUMED not in discovery, "a token for a seat that is gone makes a fresh join",
          expected="no resumed field", got=short(discovery))
    joined = await coach.expect(MessageType.USER_JOINED)
    check_public("coach", joined, CLIENT, "user-joined after a reunion")

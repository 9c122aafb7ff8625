"""§6 replacement: a join with a userId already present replaces the older connection."""

from __future__ import annotations

from signaling_core import CloseCode
from signaling_core.wire import Field, MessageType

from ..client import Peer, Who, short
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import CLOSE_CODES, REPLACEMENT
from ._helpers import check_public, check_relayed, expect_user_left, settle
from .relay import offer

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


async def _announced_as_replaced(coach: Peer, newer: Peer) -> None:
    """The others see user-left then user-joined; the newcomer gets a fresh peer-discovery."""
    await expect_user_left(coach, CLIENT)
    joined = await coach.expect(MessageType.USER_JOINED)
    check_public("coach", joined, CLIENT, "user-joined after replacement")
    check(joined.get(Field.SHOULD_CREATE_OFFER) is True,
          f"coach: user-joined.shouldCreateOffer after replacement is "
          f"{joined.get(Field.SHOULD_CREATE_OFFER)!r}, expected True")


async def _newer_is_in_room(coach: Peer, newer: Peer) -> None:
    """The replacing connection, not the old one, is the room's client-1."""
    message = offer(CLIENT.user_id)
    await coach.send(message)
    check_relayed(newer.label, await newer.expect(MessageType.OFFER), message, COACH.user_id)
    await coach.quiet("after the old connection went away (no second user-left)")
    await newer.quiet("after the replacement settled")


@case("replace.rejoin",
      "rejoining closes the old connection with 4001 'replaced'; others see user-left then "
      "user-joined; the newcomer gets a fresh peer-discovery",
      rules=(REPLACEMENT, CLOSE_CODES), profile=FULL)
async def rejoin(ctx: CaseContext) -> None:
    coach, older = await ctx.room_with(COACH, CLIENT)
    newer = await ctx.connect(coach.room_id, "client-1(new)")
    discovery = await newer.join(CLIENT)
    listed = [p.get(Field.USER_ID) for p in discovery[Field.PEERS]]
    check(listed == [COACH.user_id],
          f"peer-discovery of the replacing connection lists {listed}, expected "
          f"{[COACH.user_id]}")
    _code, reason = await older.expect_closed(CloseCode.REPLACED)
    check(reason == "replaced", f"old connection closed with reason {reason!r}, "
                                "expected 'replaced'")
    await _announced_as_replaced(coach, newer)
    await settle()
    await _newer_is_in_room(coach, newer)


@case("replace.old-drop-keeps-new",
      "the replaced connection's later abrupt drop does not remove the new one",
      rules=REPLACEMENT, profile=FULL)
async def old_drop(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    older = await ctx.raw_ws(coach.room_id, "client-1(old, raw)")
    await older.send_json(CLIENT.join_message(coach.room_id))
    first = await older.recv_json()
    check(first.get(Field.TYPE) == MessageType.PEER_DISCOVERY, f"old connection got {first}")
    await coach.expect(MessageType.USER_JOINED)
    newer = await ctx.connect(coach.room_id, "client-1(new)")
    await newer.join(CLIENT)
    await _announced_as_replaced(coach, newer)
    await older.abort()
    await settle()
    await _newer_is_in_room(coach, newer)


@case("replace.stale-close-keeps-new",
      "a user who reconnects (joins with its userId on a new connection) stays in the room "
      "when its old connection closes: no user-left, and messages to it still arrive",
      rules=REPLACEMENT, profile=ORIGINAL)
async def stale_close(ctx: CaseContext) -> None:
    # The seed's clients reconnect by joining again with the same userId; whether the server
    # closes the old connection (docs/protocol.md) or leaves it open (the original), that
    # connection's end is not the departure of a user who is connected and joined.
    coach, older = await ctx.room_with(COACH, CLIENT)
    newer = await ctx.connect(coach.room_id, "client-1(new)")
    await newer.join(CLIENT)
    while True:  # docs/protocol.md first sends user-left; the original only user-joined
        seen = await coach.recv("user-joined for the reconnected client-1")
        check(seen[Field.TYPE] in (MessageType.USER_JOINED, MessageType.USER_LEFT)
              and seen.get(Field.USER_ID) == CLIENT.user_id,
              "coach: unexpected message on a reconnect",
              expected="user-joined for 'client-1'", got=short(seen))
        if seen[Field.TYPE] == MessageType.USER_JOINED:
            break
    await older.aclose()
    await settle()
    await coach.quiet("after the reconnected user's old connection closed (client-1 is still "
                      "connected)")
    message = offer(CLIENT.user_id)
    await coach.send(message)
    check_relayed(newer.label, await newer.expect(MessageType.OFFER), message, COACH.user_id)

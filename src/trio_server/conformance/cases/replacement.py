"""§6 replacement: a join with a userId already present replaces the older connection."""

from __future__ import annotations

from signaling_core import CloseCode

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import case, check
from ._helpers import check_public, check_relayed, expect_user_left, settle
from .relay import offer

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


async def _announced_as_replaced(coach: Peer, newer: Peer) -> None:
    """The others see user-left then user-joined; the newcomer gets a fresh peer-discovery."""
    await expect_user_left(coach, CLIENT)
    joined = await coach.expect("user-joined")
    check_public("coach", joined, CLIENT, "user-joined after replacement")
    check(joined.get("shouldCreateOffer") is True,
          f"coach: user-joined.shouldCreateOffer after replacement is "
          f"{joined.get('shouldCreateOffer')!r}, expected True")


async def _newer_is_in_room(coach: Peer, newer: Peer) -> None:
    """The replacing connection, not the old one, is the room's client-1."""
    message = offer(CLIENT.user_id)
    await coach.send(message)
    check_relayed(newer.label, await newer.expect("offer"), message, COACH.user_id)
    await coach.quiet("after the old connection went away (no second user-left)")
    await newer.quiet("after the replacement settled")


@case("replace.rejoin",
      "rejoining closes the old connection with 4001 'replaced'; others see user-left then "
      "user-joined; the newcomer gets a fresh peer-discovery")
async def rejoin(ctx: CaseContext) -> None:
    coach, older = await ctx.room_with(COACH, CLIENT)
    newer = await ctx.connect(coach.room_id, "client-1(new)")
    discovery = await newer.join(CLIENT)
    listed = [p.get("userId") for p in discovery["peers"]]
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
      "the replaced connection's later abrupt drop does not remove the new one")
async def old_drop(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    older = await ctx.raw_ws(coach.room_id, "client-1(old, raw)")
    await older.send_json(CLIENT.join_message(coach.room_id))
    first = await older.recv_json()
    check(first.get("type") == "peer-discovery", f"old connection got {first}")
    await coach.expect("user-joined")
    newer = await ctx.connect(coach.room_id, "client-1(new)")
    await newer.join(CLIENT)
    await _announced_as_replaced(coach, newer)
    await older.abort()
    await settle()
    await _newer_is_in_room(coach, newer)

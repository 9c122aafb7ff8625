"""§5 offer direction: for every pair exactly one side offers, decided by the server.

Each pair is checked in a fresh room, in both join orders: the participant already there reads
``user-joined.shouldCreateOffer`` (the seed's flag); in a ``full`` case the joiner's
``peer-discovery`` entry (an extension) must say the opposite (both false for two ai
participants). The seed fixes the coach-client and human-ai pairs ("Coach creates offers to
both Client and AI Orb", "AI Orb ONLY answers offers"); the rest is docs/protocol.md's.
"""

from __future__ import annotations

from signaling_core import orb_user_id
from signaling_core.wire import Field, MessageType

from ..client import Who, short
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import OFFER_DIRECTION, SERVER_TO_CLIENT

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("1"), "ai", "AI Assistant", "ai")


async def _pair(ctx: CaseContext, first: Who, second: Who,
                first_offers: bool, second_offers: bool) -> None:
    """``first`` joins, then ``second``; both sides' flags must match the rule."""
    room = ctx.room()
    existing = await ctx.join(room, first, f"{first.user_id}(first)")
    joiner = await ctx.connect(room, f"{second.user_id}(second)")
    discovery = await joiner.join(second)
    joined = await existing.expect(MessageType.USER_JOINED)
    pair = f"{first.user_id} ({first.role}) then {second.user_id} ({second.role})"
    check(joined.get(Field.SHOULD_CREATE_OFFER) is first_offers,
          f"{pair}: user-joined.shouldCreateOffer to {first.user_id} is "
          f"{joined.get(Field.SHOULD_CREATE_OFFER)!r}, expected {first_offers}",
          expected=f"{first.user_id} gets shouldCreateOffer {first_offers}", got=short(joined))
    if ctx.full:
        entries = discovery[Field.PEERS]
        check(len(entries) == 1, f"{pair}: peer-discovery lists {len(entries)} peers",
              expected="one peer", got=short(entries))
        flag = entries[0].get(Field.SHOULD_CREATE_OFFER)
        check(flag is second_offers,
              f"{pair}: peer-discovery entry shouldCreateOffer to {second.user_id} is "
              f"{flag!r}, expected {second_offers}",
              expected=f"{second.user_id}'s entry has shouldCreateOffer {second_offers}",
              got=short(entries[0]))
    await existing.aclose()
    await joiner.aclose()


async def _both_orders(ctx: CaseContext, offerer: Who, answerer: Who) -> None:
    await _pair(ctx, offerer, answerer, True, False)
    await _pair(ctx, answerer, offerer, False, True)


@case("offer.coach-client", "between coach and client the coach offers, whoever joins first",
      rules=OFFER_DIRECTION, profile=ORIGINAL)
async def coach_client(ctx: CaseContext) -> None:
    await _both_orders(ctx, COACH, CLIENT)


@case("offer.human-ai", "between a coach or client and an ai the human offers",
      rules=OFFER_DIRECTION, profile=ORIGINAL)
async def human_ai(ctx: CaseContext) -> None:
    for human in (COACH, CLIENT):
        await _both_orders(ctx, human, AI)


@case("offer.same-role", "two of the same role: the lower userId in code-point order offers",
      rules=OFFER_DIRECTION, profile=FULL)
async def same_role(ctx: CaseContext) -> None:
    await _both_orders(ctx, Who("client-a", "client"), Who("client-b", "client"))
    await _both_orders(ctx, Who("coach-a", "coach"), Who("coach-b", "coach"))
    # Code-point order, not case-insensitive: "Zed" < "adam".
    await _both_orders(ctx, Who("Zed", "client"), Who("adam", "client"))


@case("offer.other-roles",
      "other roles use the lower userId, even against a coach or client; against an ai they "
      "offer", rules=OFFER_DIRECTION, profile=FULL)
async def other_roles(ctx: CaseContext) -> None:
    await _both_orders(ctx, Who("zz-observer", "observer"), AI)
    await _both_orders(ctx, Who("a-observer", "observer"), Who("z-coach", "coach"))
    await _both_orders(ctx, Who("a-client", "client"), Who("b-observer", "observer"))


@case("offer.ai-ai", "two ai participants do not connect: neither is told to offer (an ai "
                     "never offers)", rules=OFFER_DIRECTION, profile=ORIGINAL)
async def ai_ai(ctx: CaseContext) -> None:
    await _pair(ctx, Who(orb_user_id("a"), "ai"), Who(orb_user_id("b"), "ai"), False, False)
    await _pair(ctx, Who(orb_user_id("b"), "ai"), Who(orb_user_id("a"), "ai"), False, False)


@case("offer.peer-discovery-flags",
      "each peer-discovery entry carries shouldCreateOffer opposite to the other side's",
      rules=(OFFER_DIRECTION, SERVER_TO_CLIENT), profile=FULL)
async def peer_discovery_flags(ctx: CaseContext) -> None:
    # A three-party room in every join order: each pair has exactly one offerer.
    people = [COACH, CLIENT, AI]
    offerer = {(COACH.user_id, CLIENT.user_id): True, (COACH.user_id, AI.user_id): True,
               (CLIENT.user_id, AI.user_id): True}
    orders = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    for order in orders:
        room = ctx.room()
        for index in order:
            who = people[index]
            peer = await ctx.connect(room, who.user_id)
            discovery = await peer.join(who)
            for entry in discovery[Field.PEERS]:
                other = entry.get(Field.USER_ID)
                expected = offerer.get((who.user_id, other), False)
                check(entry.get(Field.SHOULD_CREATE_OFFER) is expected,
                      f"join order {[people[i].user_id for i in order]}: {who.user_id}'s "
                      f"entry for {other} has shouldCreateOffer "
                      f"{entry.get(Field.SHOULD_CREATE_OFFER)!r}, expected {expected}",
                      expected=f"shouldCreateOffer {expected}", got=short(entry))
            await peer.quiet("after joining")

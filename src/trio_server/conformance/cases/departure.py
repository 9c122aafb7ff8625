"""user-left: exactly once per departure, whether by leave, close or abrupt drop.

The seed shows ``user-left`` as the way a participant learns that another is gone, so one
departure is one ``user-left``: a second one (after a ``leave`` and then a close) tells the
others about a departure that did not happen, and a client that rebuilds peer connections on
``user-left`` tears down a connection it had just set up.
"""

from __future__ import annotations

from signaling_core import orb_user_id
from signaling_core.wire import Field, MessageType

from ..client import Who, short
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import RELAY, SERVER_TO_CLIENT, SESSION
from ._helpers import all_quiet, check_public, expect_user_left, settle

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("1"), "ai", "AI Assistant", "ai")


@case("leave.user-left", "leave sends one user-left to each other participant",
      rules=(SERVER_TO_CLIENT, RELAY), profile=ORIGINAL)
async def leave(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await client.send({Field.TYPE: MessageType.LEAVE})
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await all_quiet([coach, ai, client], "after one leave")


@case("leave.rejoin", "after leave the same connection may join again: peer-discovery lists "
                      "the others, who get user-joined", rules=(RELAY, SESSION), profile=FULL)
async def rejoin_after_leave(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await client.send({Field.TYPE: MessageType.LEAVE})
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    discovery = await client.join(CLIENT)
    listed = [p.get(Field.USER_ID) for p in discovery[Field.PEERS]]
    check(listed == [COACH.user_id, AI.user_id],
          f"peer-discovery on rejoin lists {listed}, expected {[COACH.user_id, AI.user_id]}",
          expected=f"peers {[COACH.user_id, AI.user_id]}", got=short(discovery))
    for peer in (coach, ai):
        check_public(peer.label, await peer.expect(MessageType.USER_JOINED), CLIENT,
                     MessageType.USER_JOINED)


@case("user-left.fields", "user-left carries the leaver's four participant fields",
      rules=SERVER_TO_CLIENT, profile=FULL)
async def user_left_fields(ctx: CaseContext) -> None:
    named = Who("client-1", "client", "Client Chris")
    coach, client, ai = await ctx.room_with(COACH, named, AI)
    await ai.send({Field.TYPE: MessageType.LEAVE})
    await expect_user_left(coach, AI)
    await client.aclose()
    await expect_user_left(coach, named)


@case("close.user-left", "a clean close sends one user-left to each other participant",
      rules=SERVER_TO_CLIENT, profile=ORIGINAL)
async def close(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await client.aclose()
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await settle()
    await all_quiet([coach, ai], "after one close")


@case("drop.user-left",
      "an abrupt TCP drop (no close frame) sends one user-left to each other participant "
      "(after the reconnect grace, if the server keeps seats)",
      rules=SERVER_TO_CLIENT, profile=ORIGINAL, grace=True)
async def drop(ctx: CaseContext) -> None:
    coach, ai = await ctx.room_with(COACH, AI)
    raw = await ctx.raw_ws(coach.room_id, "client(raw)")
    await raw.send_json(CLIENT.join_message(coach.room_id, seed_shape=True))
    discovery = await raw.recv_json()
    check(discovery.get(Field.TYPE) == MessageType.PEER_DISCOVERY,
          "raw client expected peer-discovery", expected=MessageType.PEER_DISCOVERY,
          got=short(discovery))
    for peer in (coach, ai):
        await peer.expect(MessageType.USER_JOINED)
    await raw.abort()
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await settle()
    await all_quiet([coach, ai], "after one drop")


@case("leave.then-close", "leave followed by close is one departure: a single user-left",
      rules=(SERVER_TO_CLIENT, SESSION), profile=ORIGINAL)
async def leave_then_close(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    await client.send({Field.TYPE: MessageType.LEAVE})
    await expect_user_left(coach, CLIENT)
    await client.quiet("after leaving")
    await client.aclose()
    await settle()
    await coach.quiet("after a close that followed a leave (the second user-left of one "
                      "departure)")


@case("room.empty-after-departures",
      "a room whose participants all left is gone: the next joiner sees no peers",
      rules=(SERVER_TO_CLIENT, SESSION), profile=ORIGINAL)
async def empty_room(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    await client.aclose()
    await expect_user_left(coach, CLIENT)
    await coach.send({Field.TYPE: MessageType.LEAVE})
    await coach.quiet("after leaving an otherwise empty room")
    newcomer = await ctx.connect(coach.room_id, "newcomer")
    discovery = await newcomer.join(Who("client-2", "client"))
    check(discovery[Field.PEERS] == [], "peer-discovery after everyone left lists peers",
          expected="peers: []", got=short(discovery))
    await coach.aclose()
    await settle()
    await newcomer.quiet("after a connection that had left closed")


@case("room.stale-close-after-empty",
      "a connection that left an emptied room, closing later, does not disturb the people "
      "who have since met there: the next joiner still sees them",
      rules=(SERVER_TO_CLIENT, SESSION), profile=ORIGINAL)
async def stale_close_after_empty(ctx: CaseContext) -> None:
    (former,) = await ctx.room_with(COACH)
    await former.send({Field.TYPE: MessageType.LEAVE})
    await former.quiet("after leaving")
    newcomer_who = Who("client-2", "client")
    newcomer = await ctx.join(former.room_id, newcomer_who)
    await former.aclose()
    await settle()
    late = await ctx.connect(former.room_id, "late")
    listed = (await late.join(Who("client-3", "client")))[Field.PEERS]
    ids = [entry.get(Field.USER_ID) for entry in listed]
    check(ids == [newcomer_who.user_id],
          f"after an old connection of the room closed, peer-discovery lists {ids}, expected "
          f"{[newcomer_who.user_id]} (who is still connected)",
          expected=f"peers [{newcomer_who.user_id!r}]", got=short(listed))
    await newcomer.expect(MessageType.USER_JOINED)

"""§4 user-left: exactly once per departure, whether by leave, close or abrupt drop."""

from __future__ import annotations

from signaling_core import orb_user_id

from ..client import Who
from ..context import CaseContext
from ..registry import case, check
from ._helpers import all_quiet, check_public, expect_user_left, settle

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("1"), "ai", "AI Assistant", "ai")


@case("leave.user-left",
      "leave sends one user-left to each other participant; the connection may join again")
async def leave(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await client.send({"type": "leave"})
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await all_quiet([coach, ai, client], "after one leave")
    discovery = await client.join(CLIENT)
    listed = [p.get("userId") for p in discovery["peers"]]
    check(listed == [COACH.user_id, AI.user_id],
          f"peer-discovery on rejoin lists {listed}, expected {[COACH.user_id, AI.user_id]}")
    for peer in (coach, ai):
        check_public(peer.label, await peer.expect("user-joined"), CLIENT, "user-joined")


@case("close.user-left", "a clean close sends one user-left to each other participant")
async def close(ctx: CaseContext) -> None:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    await client.aclose()
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await settle()
    await all_quiet([coach, ai], "after one close")


@case("drop.user-left",
      "an abrupt TCP drop (no close frame) sends one user-left to each other participant")
async def drop(ctx: CaseContext) -> None:
    coach, ai = await ctx.room_with(COACH, AI)
    raw = await ctx.raw_ws(coach.room_id, "client(raw)")
    await raw.send_json(CLIENT.join_message(coach.room_id))
    discovery = await raw.recv_json()
    check(discovery.get("type") == "peer-discovery",
          f"raw client expected peer-discovery, got {discovery}")
    for peer in (coach, ai):
        await peer.expect("user-joined")
    await raw.abort()
    for peer in (coach, ai):
        await expect_user_left(peer, CLIENT)
    await settle()
    await all_quiet([coach, ai], "after one drop")


@case("leave.then-close", "leave followed by close is one departure: a single user-left")
async def leave_then_close(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    await client.send({"type": "leave"})
    await expect_user_left(coach, CLIENT)
    await client.quiet("after leaving")
    await client.aclose()
    await settle()
    await coach.quiet("after a close that followed a leave")


@case("room.empty-after-departures",
      "a room whose participants all left is gone: the next joiner sees no peers")
async def empty_room(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    await client.aclose()
    await expect_user_left(coach, CLIENT)
    await coach.send({"type": "leave"})
    await coach.quiet("after leaving an otherwise empty room")
    newcomer = await ctx.connect(coach.room_id, "newcomer")
    discovery = await newcomer.join(Who("client-2", "client"))
    check(discovery["peers"] == [], f"peers after everyone left: {discovery['peers']!r}")
    await coach.aclose()
    await settle()
    await newcomer.quiet("after a connection that had left closed")

"""§8 delivery: order per sender→receiver pair, nothing lost, nothing across rooms."""

from __future__ import annotations

from typing import Any

import trio

from signaling_core import orb_user_id
from signaling_core.wire import Field, MessageType

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import DELIVERY
from ._helpers import all_quiet, expect_user_left
from .relay import candidate, offer

#: Messages each sender sends in the order case (well under any sane rate limit's burst).
ORDER_COUNT = 200


async def _send_numbered(sender: Peer, to_id: str | None) -> None:
    for seq in range(ORDER_COUNT):
        await sender.send(candidate(to_id, seq=seq))


async def _collect(receiver: Peer, count: int, into: list[dict[str, Any]]) -> None:
    for _ in range(count):
        into.append(await receiver.expect(MessageType.ICE_CANDIDATE))


def _check_order(label: str, got: list[dict[str, Any]], senders: list[str]) -> None:
    for sender in senders:
        seqs = [m.get("seq") for m in got if m.get(Field.FROM_ID) == sender]
        check(len(seqs) == ORDER_COUNT,
              f"{label} got {len(seqs)} of {ORDER_COUNT} messages from {sender}")
        for position, seq in enumerate(seqs):
            check(seq == position,
                  f"{label}: message {position} from {sender} has seq {seq} (reordered, "
                  "lost or duplicated)")


@case("delivery.order-per-pair",
      f"{ORDER_COUNT} messages per sender, sent concurrently by three senders, arrive complete "
      "and in order at each receiver",
      rules=DELIVERY, profile=ORIGINAL)
async def order(ctx: CaseContext) -> None:
    a, b, c = await ctx.room_with(Who("coach-1", "coach"), Who("client-1", "client"),
                                  Who("client-2", "client"))
    at_a: list[dict[str, Any]] = []
    at_b: list[dict[str, Any]] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_collect, a, 2 * ORDER_COUNT, at_a)
        nursery.start_soon(_collect, b, 2 * ORDER_COUNT, at_b)
        nursery.start_soon(_send_numbered, a, "client-1")  # a -> b, targeted
        nursery.start_soon(_send_numbered, b, "coach-1")  # b -> a, targeted
        nursery.start_soon(_send_numbered, c, None)  # c -> a and b, broadcast
    _check_order("coach-1", at_a, ["client-1", "client-2"])
    _check_order("client-1", at_b, ["coach-1", "client-2"])
    await all_quiet([a, b, c], "after the numbered messages")


@case("delivery.no-cross-room",
      "joins, relays, signals and departures in one room never reach another room, even "
      "with the same userIds",
      rules=DELIVERY, profile=FULL)
async def no_cross_room(ctx: CaseContext) -> None:
    coach, client = Who("coach-1", "coach"), Who("client-1", "client")
    other_room = await ctx.room_with(coach, client)
    room = await ctx.room_with(coach, client, Who(orb_user_id("1"), "ai"))
    await all_quiet(other_room, "after joins in another room")
    sender, receiver, orb = room
    for message in (offer("client-1"), candidate(),
                    {Field.TYPE: MessageType.CLIENT_SIGNAL, Field.ACTION: "x"},
                    {Field.TYPE: MessageType.AI_CONTROL, Field.ACTION: "pause"}):
        mtype = message[Field.TYPE]
        await sender.send(message)
        await (orb if mtype == MessageType.AI_CONTROL else receiver).expect(mtype)
        if message.get(Field.TO_ID) is None and mtype != MessageType.AI_CONTROL:
            await orb.expect(mtype)
        await all_quiet(other_room, f"after a {mtype} in another room")
    await orb.send({Field.TYPE: MessageType.AI_STATUS, Field.STATUS: "ready",
                    Field.SESSION_ID: "s"})
    for peer in (sender, receiver):
        await peer.expect(MessageType.AI_STATUS)
    await receiver.send({Field.TYPE: MessageType.LEAVE})
    await expect_user_left(sender, client)
    await all_quiet(other_room, "after events in another room")

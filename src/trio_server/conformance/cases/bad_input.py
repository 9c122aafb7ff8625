"""§3 bad input: every malformed or misplaced message gets an error, changes nothing, and
leaves the connection usable."""

from __future__ import annotations

from signaling_core.wire import ErrorCode, Field, MessageType

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import FULL, case, check
from ..rules import JOIN, PERMISSIONS
from ._helpers import all_quiet, check_public, check_relayed, expect_user_left

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")


async def _still_usable(sender: Peer, receiver: Peer) -> None:
    """``sender`` is still a joined participant: its client_signal reaches ``receiver``."""
    assert sender.who is not None
    signal = {Field.TYPE: MessageType.CLIENT_SIGNAL, Field.ACTION: "still-here"}
    await sender.send(signal)
    check_relayed(receiver.label, await receiver.expect(MessageType.CLIENT_SIGNAL), signal,
                  sender.who.user_id)


@case("input.unknown-type",
      "an unknown type gets an error, before and after join, and the connection stays usable",
      rules=PERMISSIONS, profile=FULL)
async def unknown_type(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    client = await ctx.connect(coach.room_id, "client")
    await client.send({Field.TYPE: "no-such-type"})
    await client.expect_error(ErrorCode.UNKNOWN_TYPE, "no-such-type")
    await client.join(CLIENT)
    await coach.expect(MessageType.USER_JOINED)
    await client.send({Field.TYPE: "bogus", Field.TO_ID: COACH.user_id, Field.OFFER: {}})
    await client.expect_error(ErrorCode.UNKNOWN_TYPE, "bogus")
    await coach.quiet("after an unknown type")
    await _still_usable(client, coach)


@case("input.invalid-json", "text that is not JSON gets an error; the connection stays usable",
      rules=PERMISSIONS, profile=FULL)
async def invalid_json(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    client = await ctx.connect(coach.room_id, "client")
    for text in ("{not json", "", "{\"type\": \"ping\""):
        await client.send(text)
        await client.expect_error(ErrorCode.INVALID_JSON)
    await client.join(CLIENT)
    await coach.expect(MessageType.USER_JOINED)
    await client.send("}{")
    await client.expect_error(ErrorCode.INVALID_JSON)
    await coach.quiet("after invalid JSON")
    await _still_usable(client, coach)


@case("input.not-an-object",
      "JSON that is not an object, or has no string type, gets an error; nothing changes",
      rules=PERMISSIONS, profile=FULL)
async def not_an_object(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    for text in ("[1, 2]", "42", "\"join\"", "null", "true", "{}", "{\"type\": 7}",
                 "{\"type\": null}", "{\"type\": [\"offer\"]}", "[{\"type\": \"leave\"}]"):
        await client.send(text)
        await client.expect_error(ErrorCode.INVALID_MESSAGE)
    await coach.quiet("after malformed messages")
    await _still_usable(client, coach)


@case("join.room-mismatch",
      "a join whose roomId differs from the path is refused; roomId may be omitted",
      rules=JOIN, profile=FULL)
async def room_mismatch(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    client = await ctx.connect(coach.room_id, "client")
    await client.send(CLIENT.join_message("some-other-room"))
    await client.expect_error(ErrorCode.ROOM_MISMATCH, MessageType.JOIN)
    await coach.quiet("after a refused join")
    discovery = await client.join(CLIENT, send_room_id=False)
    check([p.get(Field.USER_ID) for p in discovery[Field.PEERS]] == [COACH.user_id],
          f"peer-discovery after a join without roomId: {discovery[Field.PEERS]!r}")
    check_public("coach", await coach.expect(MessageType.USER_JOINED), CLIENT,
                 MessageType.USER_JOINED)


@case("join.already-joined",
      "a second join on a joined connection is refused and changes nothing",
      rules=(JOIN, PERMISSIONS), profile=FULL)
async def already_joined(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    for who in (CLIENT, Who("client-2", "client")):
        await client.send(who.join_message(client.room_id))
        await client.expect_error(ErrorCode.ALREADY_JOINED, MessageType.JOIN)
        await coach.quiet(f"after a second join as {who.user_id}")
    await _still_usable(client, coach)


@case("join.invalid-fields",
      "a join with a missing or invalid field is refused and announced to no one",
      rules=JOIN, profile=FULL)
async def invalid_fields(ctx: CaseContext) -> None:
    (coach,) = await ctx.room_with(COACH)
    client = await ctx.connect(coach.room_id, "client")
    room = coach.room_id
    good = CLIENT.join_message(room)
    bad_joins = [
        {k: v for k, v in good.items() if k != Field.USER_ID},
        {**good, Field.USER_ID: ""},
        {**good, Field.USER_ID: "u" * 129},
        {**good, Field.USER_ID: 42},
        {k: v for k, v in good.items() if k != Field.USER_ROLE},
        {**good, Field.USER_ROLE: "r" * 33},
        {**good, Field.USER_NAME: "n" * 129},
        {**good, Field.PARTICIPANT_TYPE: "robot"},
    ]
    for message in bad_joins:
        await client.send(message)
        await client.expect_error(ErrorCode.INVALID_MESSAGE, MessageType.JOIN)
        await coach.quiet(f"after an invalid join {message}")
    await client.join(CLIENT)
    await coach.expect(MessageType.USER_JOINED)


@case("join.room-full",
      "a join beyond max_participants is refused with room-full and announced to no one",
      rules=JOIN, profile=FULL)
async def room_full(ctx: CaseContext) -> None:
    limit = ctx.options.max_participants
    whos = [Who(f"p-{i:03d}", "client") for i in range(limit)]
    peers = await ctx.room_with(*whos)
    extra_who = Who("p-extra", "client")
    extra = await ctx.connect(peers[0].room_id, "extra")
    await extra.send(extra_who.join_message(extra.room_id))
    await extra.expect_error(ErrorCode.ROOM_FULL, MessageType.JOIN)
    await all_quiet(peers, "after a refused join to a full room")
    await peers[-1].send({Field.TYPE: MessageType.LEAVE})
    for peer in peers[:-1]:
        await expect_user_left(peer, whos[-1])
    discovery = await extra.join(extra_who)
    check(len(discovery[Field.PEERS]) == limit - 1,
          f"peer-discovery after a place freed lists {len(discovery[Field.PEERS])} peers, "
          f"expected {limit - 1}")

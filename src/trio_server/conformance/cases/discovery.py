"""§3 join and §4 peer-discovery / user-joined: who is told what when someone enters."""

from __future__ import annotations

from signaling_core import orb_user_id
from signaling_core.wire import Field, MessageType

from ..client import Who, short
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case, check
from ..rules import JOIN, SERVER_TO_CLIENT, SESSION
from ._helpers import check_public


@case("join.first-peer-discovery",
      "the first joiner gets peer-discovery with no peers, and nothing else",
      rules=(SERVER_TO_CLIENT, JOIN), profile=ORIGINAL)
async def first_joiner(ctx: CaseContext) -> None:
    peer = await ctx.connect(ctx.room(), "coach")
    discovery = await peer.join(Who("coach-1", "coach"))
    check(discovery[Field.PEERS] == [], "peer-discovery of an empty room lists peers",
          expected="peers: []", got=short(discovery))
    await peer.quiet("after joining an empty room")


@case("join.peer-discovery-room-id",
      "peer-discovery carries the roomId of the joined path, also when the join omits it",
      rules=SERVER_TO_CLIENT, profile=FULL)
async def discovery_room_id(ctx: CaseContext) -> None:
    room = ctx.room()
    peer = await ctx.connect(room, "coach")
    await peer.send(Who("coach-1", "coach").join_message(None))
    discovery = await peer.expect(MessageType.PEER_DISCOVERY)
    check(discovery.get(Field.ROOM_ID) == room, f"peer-discovery.roomId is "
          f"{discovery.get(Field.ROOM_ID)!r}, expected {room!r}", expected=f"roomId {room!r}",
          got=short(discovery))


@case("join.peer-discovery-peers",
      "peer-discovery lists exactly the others still there, each once, with their four fields",
      rules=(SERVER_TO_CLIENT, SESSION), profile=ORIGINAL)
async def discovery_peers(ctx: CaseContext) -> None:
    whos = [Who("coach-1", "coach", "Coach Carol"), Who("client-1", "client", "Client Chris"),
            Who(orb_user_id("s1"), "ai", "AI Assistant", "ai")]
    peers = await ctx.room_with(*whos)
    await peers[1].aclose()  # a connection that closed is no longer a peer
    for peer in (peers[0], peers[2]):
        await peer.expect(MessageType.USER_LEFT)
    newcomer = await ctx.connect(peers[0].room_id, "newcomer")
    listed = (await newcomer.join(Who("client-2", "client", "Client Dana")))[Field.PEERS]
    present = {w.user_id: w for w in (whos[0], whos[2])}
    ids = sorted(str(entry.get(Field.USER_ID)) for entry in listed)
    check(ids == sorted(present), f"peer-discovery lists {ids}, expected {sorted(present)}",
          expected=f"peers {sorted(present)}", got=short(listed))
    for entry in listed:
        check_public("newcomer", entry, present[entry[Field.USER_ID]], "peer-discovery entry")


@case("join.peer-discovery-order",
      "peer-discovery lists exactly the others, in join order, with their four fields",
      rules=SERVER_TO_CLIENT, profile=FULL)
async def discovery_order(ctx: CaseContext) -> None:
    # Join order differs from every sort order of the ids, roles and names.
    whos = [Who("zed-3", "client", "Zed"), Who("amy-1", "coach", "Amy"),
            Who("mia-2", "observer", "Mia")]
    peers = await ctx.room_with(*whos)
    newcomer = await ctx.connect(peers[0].room_id, "newcomer")
    discovery = await newcomer.join(Who("bob-0", "client", "Bob"))
    listed = discovery[Field.PEERS]
    check([p.get(Field.USER_ID) for p in listed] == [w.user_id for w in whos],
          f"peer-discovery lists {[p.get(Field.USER_ID) for p in listed]}, expected "
          f"{[w.user_id for w in whos]}", expected=f"peers in join order "
          f"{[w.user_id for w in whos]}", got=short(listed))
    for entry, who in zip(listed, whos, strict=True):
        check_public("newcomer", entry, who, "peer-discovery entry")
    await newcomer.quiet("after its peer-discovery")


@case("join.user-joined-fields",
      "each participant already there gets one user-joined with the newcomer's fields, "
      "names kept verbatim", rules=(SERVER_TO_CLIENT, SESSION), profile=ORIGINAL)
async def user_joined_fields(ctx: CaseContext) -> None:
    first, second = await ctx.room_with(Who("coach-1", "coach"), Who(orb_user_id("s1"), "ai"))
    newcomer_who = Who("client-1", "client", "<b>Chris</b> & \"Co\" \u00e9\u6f22\U0001f600")
    newcomer = await ctx.join(first.room_id, newcomer_who)
    for peer in (first, second):
        joined = await peer.expect(MessageType.USER_JOINED)
        check_public(peer.label, joined, newcomer_who, MessageType.USER_JOINED)
        check(isinstance(joined.get(Field.SHOULD_CREATE_OFFER), bool),
              f"{peer.label}: user-joined.shouldCreateOffer is "
              f"{joined.get(Field.SHOULD_CREATE_OFFER)!r}, expected a boolean",
              expected="shouldCreateOffer: true or false", got=short(joined))
        await peer.quiet("after one user-joined")
    await newcomer.quiet("after joining (no user-joined about itself)")


@case("join.participant-type-default",
      "participantType defaults to human, and to ai for userRole ai", rules=JOIN,
      profile=FULL)
async def participant_type_default(ctx: CaseContext) -> None:
    coach = await ctx.join(ctx.room(), Who("coach-1", "coach"))
    for who in (Who("client-1", "client"), Who(orb_user_id("x"), "ai")):
        assert who.participant_type is None
        await ctx.join(coach.room_id, who)
        joined = await coach.expect(MessageType.USER_JOINED)
        check_public("coach", joined, who, MessageType.USER_JOINED)
    late = await ctx.connect(coach.room_id, "late")
    discovery = await late.join(Who("client-2", "client", participant_type="human"))
    types = [p.get(Field.PARTICIPANT_TYPE) for p in discovery[Field.PEERS]]
    check(types == ["human", "human", "ai"],
          f"peer-discovery participantTypes {types}, expected ['human', 'human', 'ai']",
          expected="participantTypes ['human', 'human', 'ai']", got=short(discovery))

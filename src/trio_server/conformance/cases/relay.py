"""§3 relay of offer / answer / ice-candidate: targeted or broadcast, fromId set by the server."""

from __future__ import annotations

from typing import Any

from signaling_core import orb_user_id
from signaling_core.wire import (
    SDP_ANSWER,
    SDP_OFFER,
    SIGNAL_PAYLOAD_FIELD,
    ErrorCode,
    Field,
    MessageType,
    WebRtcField,
)

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import FULL, ORIGINAL, case
from ..rules import PERMISSIONS, RELAY, TRANSPORT
from ._helpers import all_quiet, check_relayed

COACH = Who("coach-1", "coach", "Coach Carol")
CLIENT = Who("client-1", "client", "Client Chris")
AI = Who(orb_user_id("1"), "ai", "AI Assistant", "ai")
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    WebRtcField.CANDIDATE: "candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx "
                           "raddr 10.0.0.5 rport 46154 generation 0 ufrag EEtu network-cost 999",
    WebRtcField.SDP_MID: "0", WebRtcField.SDP_M_LINE_INDEX: 0,
    WebRtcField.USERNAME_FRAGMENT: "EEtu",
}


def _signal(mtype: MessageType, payload: object, to_id: str | None,
            extra: dict[str, Any]) -> dict[str, Any]:
    """A relayed message of ``mtype`` carrying ``payload`` in its own field (``offer``,
    ``answer`` or ``candidate``), ``extra`` fields after it and ``toId`` last."""
    message: dict[str, Any] = {Field.TYPE: mtype, SIGNAL_PAYLOAD_FIELD[mtype]: payload,
                               **extra}
    if to_id is not None:
        message[Field.TO_ID] = to_id
    return message


def offer(to_id: str | None = None, **extra: Any) -> dict[str, Any]:
    description = {WebRtcField.SDP_TYPE: SDP_OFFER, WebRtcField.SDP: SDP}
    return _signal(MessageType.OFFER, description, to_id, extra)


def answer(to_id: str | None = None, **extra: Any) -> dict[str, Any]:
    description = {WebRtcField.SDP_TYPE: SDP_ANSWER, WebRtcField.SDP: SDP}
    return _signal(MessageType.ANSWER, description, to_id, extra)


def candidate(to_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return _signal(MessageType.ICE_CANDIDATE, dict(CANDIDATE), to_id, extra)


async def trio_room(ctx: CaseContext) -> tuple[Peer, Peer, Peer]:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    return coach, client, ai


@case("relay.targeted",
      "offer/answer/ice-candidate with toId reach only that participant, unchanged plus fromId",
      rules=RELAY, profile=ORIGINAL)
async def targeted(ctx: CaseContext) -> None:
    coach, client, ai = await trio_room(ctx)
    peers = {COACH.user_id: coach, CLIENT.user_id: client, AI.user_id: ai}
    exchanges = [
        (coach, offer(CLIENT.user_id, extra={"nested": [1, 2.5, None, True]})),
        (client, answer(COACH.user_id)),
        (client, candidate(AI.user_id)),
        (ai, answer(COACH.user_id)),
        (ai, candidate(CLIENT.user_id)),
        (coach, candidate(AI.user_id, trickle=True)),
    ]
    for sender, message in exchanges:
        assert sender.who is not None
        target = peers[message[Field.TO_ID]]
        await sender.send(message)
        got = await target.expect(message[Field.TYPE])
        check_relayed(target.label, got, message, sender.who.user_id)
        bystanders = [p for p in peers.values() if p is not target]
        await all_quiet(bystanders, f"after a {message[Field.TYPE]} targeted at {target.label}")


@case("relay.broadcast",
      "without toId a message reaches every other participant, never the sender",
      rules=RELAY, profile=ORIGINAL)
async def broadcast(ctx: CaseContext) -> None:
    coach, client, ai = await trio_room(ctx)
    for sender, message in ((client, candidate()), (coach, offer()), (ai, candidate())):
        assert sender.who is not None
        await sender.send(message)
        for receiver in (coach, client, ai):
            if receiver is sender:
                continue
            got = await receiver.expect(message[Field.TYPE])
            check_relayed(receiver.label, got, message, sender.who.user_id)
        await all_quiet([coach, client, ai], f"after a broadcast {message[Field.TYPE]}")


@case("relay.fromid-overwrite",
      "a fromId sent by the client is replaced by the sender's true userId",
      rules=RELAY, profile=ORIGINAL)
async def fromid_overwrite(ctx: CaseContext) -> None:
    coach, client, ai = await trio_room(ctx)
    spoofed = offer(CLIENT.user_id, **{Field.FROM_ID: AI.user_id})
    await coach.send(spoofed)
    check_relayed("client", await client.expect(MessageType.OFFER), spoofed, COACH.user_id)
    spoofed_broadcast = candidate(**{Field.FROM_ID: "someone-else"})
    await client.send(spoofed_broadcast)
    for receiver in (coach, ai):
        got = await receiver.expect(MessageType.ICE_CANDIDATE)
        check_relayed(receiver.label, got, spoofed_broadcast, CLIENT.user_id)
    await all_quiet([coach, client, ai], "after the spoofed messages")


@case("relay.unknown-target",
      "a toId not in the room is refused with unknown-target and reaches no one",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def unknown_target(ctx: CaseContext) -> None:
    coach, client, ai = await trio_room(ctx)
    await coach.send(offer("nobody-here"))
    await coach.expect_error(ErrorCode.UNKNOWN_TARGET, MessageType.OFFER)
    await all_quiet([coach, client, ai], "after an offer to an unknown toId")


@case("relay.large-message",
      "a message just under the size limit is relayed intact", rules=(RELAY, TRANSPORT),
      profile=FULL)
async def large_message(ctx: CaseContext) -> None:
    coach, client = await ctx.room_with(COACH, CLIENT)
    budget = ctx.options.max_message_bytes - 512
    message = offer(CLIENT.user_id)
    padding = "x" * (budget - len(SDP) - 200)
    message[Field.OFFER][WebRtcField.SDP] = SDP + "a=x-pad:" + padding + "\r\n"
    await coach.send(message)
    check_relayed("client", await client.expect(MessageType.OFFER), message, COACH.user_id)

"""§3 ai_status, ai_control, client_signal, orb_heartbeat and ai-orb-shutdown: where each
goes, and who may send it."""

from __future__ import annotations

from signaling_core import ORB_MODES, orb_user_id
from signaling_core.wire import (
    ORB_SHUTDOWN_COMPLETE,
    ORB_SHUTDOWN_ERROR,
    ErrorCode,
    Field,
    MessageType,
)

from ..client import Peer, Who
from ..context import CaseContext
from ..registry import FULL, case, check
from ..rules import PERMISSIONS, RELAY, SERVER_TO_CLIENT
from ._helpers import all_quiet, check_relayed, expect_user_left, settle
from .relay import offer

COACH = Who("coach-1", "coach")
CLIENT = Who("client-1", "client")
AI = Who(orb_user_id("s1"), "ai", "AI Assistant", "ai")


async def _room(ctx: CaseContext) -> tuple[Peer, Peer, Peer]:
    coach, client, ai = await ctx.room_with(COACH, CLIENT, AI)
    return coach, client, ai


async def _refused(sender: Peer, message: dict[str, object], others: list[Peer]) -> None:
    await sender.send(message)
    await sender.expect_error(ErrorCode.FORBIDDEN, str(message[Field.TYPE]))
    await all_quiet([*others, sender], f"after a refused {message[Field.TYPE]}")


@case("ai_status.relayed",
      "ai_status from the ai reaches every other participant, fields kept, with fromId",
      rules=RELAY, profile=FULL)
async def ai_status(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    for status in ("ready", "listening", "thinking", "speaking", "paused", "processing"):
        message = {Field.TYPE: MessageType.AI_STATUS, Field.STATUS: status, Field.SESSION_ID: "s1"}
        await ai.send(message)
        for peer in (coach, client):
            got = dict(await peer.expect(MessageType.AI_STATUS))
            # The server stamps the room's orb mode on it (Orb mode); nothing else changes.
            mode = got.pop(Field.MODE, None)
            check(mode in ORB_MODES, f"{peer.label}: ai_status.mode is {mode!r}",
                  expected="mode: one of " + ", ".join(ORB_MODES), got=repr(mode))
            check_relayed(peer.label, got, message, AI.user_id)
    await all_quiet([coach, client, ai], "after ai_status")


@case("ai_status.only-from-ai", "ai_status from a human is refused and reaches no one",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def ai_status_from_human(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await _refused(client, {Field.TYPE: MessageType.AI_STATUS, Field.STATUS: "speaking",
                            Field.SESSION_ID: "s1"},
                   [coach, ai])


@case("ai_control.to-ai-only",
      "ai_control from a human reaches only the room's ai participants, with fromId",
      rules=RELAY, profile=FULL)
async def ai_control(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    ai2_who = Who(orb_user_id("s2"), "ai", "Second AI", "ai")
    ai2 = await ctx.join(coach.room_id, ai2_who)
    for peer in (coach, client, ai):
        await peer.expect(MessageType.USER_JOINED)
    for sender, action in ((coach, "pause"), (client, "resume")):
        assert sender.who is not None
        message = {Field.TYPE: MessageType.AI_CONTROL, Field.ACTION: action, Field.REASON: "test",
                   "level": 3}
        await sender.send(message)
        for orb in (ai, ai2):
            check_relayed(orb.label, await orb.expect(MessageType.AI_CONTROL), message,
                          sender.who.user_id)
        await all_quiet([coach, client, ai, ai2], f"after ai_control {action}")


@case("ai_control.only-from-humans", "ai_control from an ai is refused and reaches no one",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def ai_control_from_ai(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await _refused(ai, {Field.TYPE: MessageType.AI_CONTROL, Field.ACTION: "pause"}, [coach, client])


@case("client_signal.broadcast",
      "client_signal reaches every other participant (the ai too), fields kept, with fromId",
      rules=RELAY, profile=FULL)
async def client_signal(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    message = {Field.TYPE: MessageType.CLIENT_SIGNAL, Field.ACTION: "raise-hand", "raised": True}
    await client.send(message)
    for peer in (coach, ai):
        check_relayed(peer.label, await peer.expect(MessageType.CLIENT_SIGNAL), message,
                      CLIENT.user_id)
    await all_quiet([coach, client, ai], "after client_signal")


@case("orb_heartbeat.not-relayed", "orb_heartbeat from the ai is accepted and relayed to no one",
      rules=RELAY, profile=FULL)
async def orb_heartbeat(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await ai.send({Field.TYPE: MessageType.ORB_HEARTBEAT, Field.METRICS: {"fps": 30, "cpu": 0.4}})
    await ai.send({Field.TYPE: MessageType.ORB_HEARTBEAT})
    await all_quiet([coach, client, ai], "after orb_heartbeat")


@case("orb_heartbeat.only-from-ai", "orb_heartbeat from a human is refused",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def orb_heartbeat_from_human(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await _refused(coach, {Field.TYPE: MessageType.ORB_HEARTBEAT, Field.METRICS: {}}, [client, ai])


@case("ai-orb-shutdown.leaves",
      "ai-orb-shutdown from the ai: others get one user-left; its later close adds nothing",
      rules=(RELAY, SERVER_TO_CLIENT), profile=FULL)
async def orb_shutdown(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await ai.send({Field.TYPE: MessageType.ORB_SHUTDOWN, Field.SESSION_ID: "s1",
                   Field.REASON: ORB_SHUTDOWN_COMPLETE})
    for peer in (coach, client):
        await expect_user_left(peer, AI)
    await all_quiet([coach, client], "after ai-orb-shutdown")
    await ai.aclose()
    await settle()
    await all_quiet([coach, client], "after the orb closed following its shutdown")


@case("ai-orb-shutdown.only-from-ai",
      "ai-orb-shutdown from a human is refused; the human stays in the room",
      rules=(RELAY, PERMISSIONS), profile=FULL)
async def orb_shutdown_from_human(ctx: CaseContext) -> None:
    coach, client, ai = await _room(ctx)
    await _refused(client, {Field.TYPE: MessageType.ORB_SHUTDOWN, Field.SESSION_ID: "s1",
                            Field.REASON: ORB_SHUTDOWN_ERROR},
                   [coach, ai])
    message = offer(CLIENT.user_id)
    await coach.send(message)
    check_relayed("client", await client.expect(MessageType.OFFER), message, COACH.user_id)

"""``ai_mode`` and ``ai_ask``: whom the orb talks to, set by the coach (issue 24).

The mode is the room's: a coach sets it (the role rule of the permission table, as for
``end_session``), everyone hears ``ai-mode``, a joining or returning orb reads it in its
``peer-discovery``, and every relayed ``ai_status`` carries it. "Ask the orb" is a message
any human may send, reaching only the orb, refused in ``listen`` and rate-limited per seat.
"""

from __future__ import annotations

import pytest

from signaling_core import MESSAGE_RULES, CoreConfig, OrbModeChanged, Phase, ProtocolError
from signaling_core._rules import check_phase_and_sender, permission_table_markdown

from .harness import Harness
from .test_relay import assert_error, nobody_else, room_of_three


def test_mode_switching_is_a_coach_rule_in_the_table() -> None:
    assert MESSAGE_RULES["ai_mode"].roles == frozenset({"coach"})
    check_phase_and_sender("ai_mode", Phase.JOINED, "human", "coach")
    for ptype, role in (("human", "client"), ("ai", "ai"), ("ai", "coach")):
        with pytest.raises(ProtocolError) as err:
            check_phase_and_sender("ai_mode", Phase.JOINED, ptype, role)
        assert err.value.code == "forbidden"
    table = permission_table_markdown()
    assert "| `ai_mode` | `not-joined` | yes | coach only |" in table
    assert "| `ai_ask` | `not-joined` | yes | human only |" in table


def test_a_new_room_has_the_configured_mode_in_peer_discovery() -> None:
    h = Harness(CoreConfig(orb_mode="listen"))
    coach = h.join("coach-1", "coach")
    [discovery] = [m for m in coach.inbox if m["type"] == "peer-discovery"]
    assert discovery["orbMode"] == "listen"
    default = Harness().join("coach-1", "coach")
    assert [m["orbMode"] for m in default.inbox if m["type"] == "peer-discovery"] == [
        "addressed"]


def test_the_coach_switches_the_mode_for_everyone_and_the_ledger() -> None:
    h, coach, orb, client = room_of_three()
    commands = h.send(coach, {"type": "ai_mode", "mode": "listen"})
    told = {"type": "ai-mode", "mode": "listen", "by": "coach-1"}
    for peer in (coach, orb, client):
        assert peer.take() == [told]
    assert [c for c in commands if isinstance(c, OrbModeChanged)] == [
        OrbModeChanged("s1", "room-1", "listen", "coach-1", h.now)]
    # The orb's status carries the room's mode, whatever the orb wrote.
    h.send(orb, {"type": "ai_status", "status": "listening", "mode": "active"})
    assert coach.take_one()["mode"] == "listen"
    # A later joiner (a returning orb on another worker, say) reads it at once.
    late = h.join("observer-1", "observer")
    assert [m["orbMode"] for m in late.inbox if m["type"] == "peer-discovery"] == ["listen"]


def test_a_client_cannot_switch_the_mode() -> None:
    h, coach, orb, client = room_of_three()
    commands = h.send(client, {"type": "ai_mode", "mode": "active"})
    assert_error(client, "forbidden", "ai_mode")
    nobody_else(coach, orb)
    assert not [c for c in commands if isinstance(c, OrbModeChanged)]
    h.send(orb, {"type": "ai_status", "status": "listening"})
    assert coach.take_one()["mode"] == "addressed"
    h.send(orb, {"type": "ai_mode", "mode": "active"})
    assert_error(orb, "forbidden", "ai_mode")


@pytest.mark.parametrize("mode", ["loud", "", None, 3, "LISTEN"])
def test_an_unknown_mode_is_invalid_and_changes_nothing(mode: object) -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": "ai_mode", "mode": mode})
    assert_error(coach, "invalid-message", "ai_mode")
    nobody_else(orb, client)


def test_ask_reaches_the_orb_only_and_is_rate_limited_per_participant() -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": "ai_ask"})
    assert orb.take() == [{"type": "ai_ask", "fromId": "client-1", "userRole": "client"}]
    nobody_else(coach, client)
    h.advance(1.0)
    h.send(client, {"type": "ai_ask"})
    assert_error(client, "rate-limited", "ai_ask")
    nobody_else(orb)
    h.send(coach, {"type": "ai_ask"})  # another seat has its own allowance
    assert orb.take_one()["fromId"] == "coach-1"
    h.advance(2.5)
    h.send(client, {"type": "ai_ask"})
    assert orb.take_one()["fromId"] == "client-1"
    h.send(orb, {"type": "ai_ask"})
    assert_error(orb, "forbidden", "ai_ask")


def test_ask_is_refused_in_listen_and_without_an_orb() -> None:
    h, coach, orb, client = room_of_three()
    h.send(coach, {"type": "ai_mode", "mode": "listen"})
    for peer in (coach, orb, client):
        peer.take()
    h.send(client, {"type": "ai_ask"})
    assert_error(client, "orb-listening", "ai_ask")
    nobody_else(orb)
    alone = Harness()
    solo = alone.join("coach-1", "coach")
    solo.take()
    alone.send(solo, {"type": "ai_ask"})
    assert_error(solo, "orb-unavailable", "ai_ask")

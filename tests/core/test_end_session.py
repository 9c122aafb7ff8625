"""``end_session`` and where ``ai_summary`` goes: the coach's record of a call (issue 27).

A coach ends the call for everyone; a client may not (the role rule of the permission
table). The others get ``session-ended`` and a 4010 close, so they do not reconnect; the coach
stays, to receive the orb's summary, which goes to the room's coaches only.
"""

from __future__ import annotations

import pytest

from signaling_core import (
    MESSAGE_RULES,
    CoreConfig,
    Departure,
    ParticipantLeft,
    Phase,
    ProtocolError,
    SessionEnded,
    StopOrb,
)
from signaling_core._rules import check_phase_and_sender, permission_table_markdown

from .harness import Harness
from .test_relay import assert_error, nobody_else, room_of_three

END = {"type": "end_session"}
SUMMARY = {"type": "ai_summary", "text": "Key topics: family time", "method": "extractive",
           "keyTopics": ["family time"], "goals": ["more evenings at home"]}


def test_the_rule_is_written_by_role() -> None:
    rule = MESSAGE_RULES["end_session"]
    assert rule.roles == frozenset({"coach"})
    check_phase_and_sender("end_session", Phase.JOINED, "human", "coach")
    for ptype, role in (("human", "client"), ("ai", "ai"), ("human", "observer"),
                        ("ai", "coach")):
        with pytest.raises(ProtocolError) as err:
            check_phase_and_sender("end_session", Phase.JOINED, ptype, role)
        assert err.value.code == "forbidden"
    assert "| `end_session` | `not-joined` | yes | coach only |" in permission_table_markdown()


def test_a_client_may_not_end_the_session() -> None:
    h, coach, orb, client = room_of_three()
    commands = h.send(client, END)
    assert_error(client, "forbidden", "end_session")
    nobody_else(coach, orb)
    assert client.open and coach.open
    assert not [c for c in commands if isinstance(c, ParticipantLeft | SessionEnded)]


def test_the_orb_may_not_end_the_session() -> None:
    h, coach, orb, client = room_of_three()
    h.send(orb, END)
    assert_error(orb, "forbidden", "end_session")
    nobody_else(coach, client)


def test_before_join_is_not_joined() -> None:
    h = Harness()
    peer = h.connect()
    h.send(peer, END)
    assert_error(peer, "not-joined", "end_session")


def test_coach_ends_it_for_everyone_and_stays() -> None:
    h, coach, orb, client = room_of_three()
    other = h.join("client-2", "client")
    for p in (coach, orb, client, other):
        p.take()
    commands = h.send(coach, END)
    ended = {"type": "session-ended", "reason": "ended-by-coach", "by": "coach-1"}
    assert client.take()[0] == ended and other.take()[0] == ended
    assert client.close_frame == (4010, "session ended")
    assert other.close_frame == (4010, "session ended")
    assert coach.open
    coach_saw = coach.take()
    assert coach_saw[0] == ended
    assert sorted(m["userId"] for m in coach_saw if m["type"] == "user-left") == [
        "client-1", "client-2"]
    left = {c.user_id: c.ending for c in commands if isinstance(c, ParticipantLeft)}
    assert left == {"client-1": Departure.SESSION_ENDED, "client-2": Departure.SESSION_ENDED}
    # The orb is not thrown out: it was asked (if it is the room's orb) to stop, and it may
    # still send the summary, which the coach receives.
    assert orb.open
    h.assert_consistent()


def test_an_away_client_departs_at_once() -> None:
    h, coach, _orb, client = room_of_three(Harness(CoreConfig(reconnect_grace=10.0)))
    h.close(client, Departure.DROPPED)
    coach.take()
    commands = h.send(coach, END)
    left = [c for c in commands if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending) for c in left] == [("client-1", Departure.SESSION_ENDED)]
    h.assert_consistent()


def test_the_ledger_hears_how_it_ended() -> None:
    h, coach, orb, _client = room_of_three()
    h.send(coach, END)
    h.send(orb, {"type": "leave"})
    commands = h.send(coach, {"type": "leave"})
    ended = [c for c in commands if isinstance(c, SessionEnded)]
    assert len(ended) == 1 and ended[0].how == "ended-by-coach"


def test_an_ordinary_end_says_nothing_special() -> None:
    h, coach, orb, client = room_of_three()
    h.send(client, {"type": "leave"})
    h.send(orb, {"type": "leave"})
    commands = h.send(coach, {"type": "leave"})
    ended = [c for c in commands if isinstance(c, SessionEnded)]
    assert len(ended) == 1 and ended[0].how is None


def test_end_session_stops_the_rooms_orb() -> None:
    h = Harness(CoreConfig(orbs_enabled=True, idle_timeout=1e6))
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    client = h.join("client-1", "client")
    for p in (coach, orb, client):
        p.take()
    h.send(coach, END)
    assert h.stopped == [StopOrb("room-1", "s1", "session_complete")]
    # The orb's summary, then its shutdown, reach the coach.
    h.send(orb, SUMMARY)
    assert [m["type"] for m in coach.take()][-1] == "ai_summary"
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "session_complete"})
    assert coach.take() == [{"type": "user-left", "userId": "ai-orb-s1",
                             "userName": "AI Assistant", "userRole": "ai",
                             "participantType": "ai"}]
    h.assert_consistent()


def test_summary_goes_to_the_rooms_coaches_only() -> None:
    h, coach, orb, client = room_of_three()
    coach2 = h.join("coach-2", "coach")
    other_ai = h.join("ai-2", "ai", ptype="ai")
    for p in (coach, orb, client, coach2):
        p.take()
    h.send(orb, SUMMARY)
    expected = {**SUMMARY, "fromId": "ai-orb-1"}
    assert coach.take() == [expected]
    assert coach2.take()[-1] == expected
    nobody_else(client, orb)
    assert all(m["type"] != "ai_summary" for m in other_ai.inbox)


def test_summary_skips_an_away_coach() -> None:
    h, coach, orb, client = room_of_three(Harness(CoreConfig(reconnect_grace=10.0)))
    h.close(coach, Departure.DROPPED)
    client.take()
    h.send(orb, SUMMARY)
    nobody_else(client)

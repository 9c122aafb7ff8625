"""The orb's life as the core decides it (§9): spawn, join, idle grace, lifetime, stop."""

from __future__ import annotations

from signaling_core import (
    Close,
    CoreConfig,
    Departure,
    OrbEnded,
    ParticipantLeft,
    SpawnOrb,
    StopOrb,
)

from .harness import Harness

GRACE = 300.0
LIFETIME = 7200.0
JOIN_LIMIT = 30.0
STOP_LIMIT = 10.0

# Long idle limit so that only the orb's own limits act in these tests.
ORBS = CoreConfig(orbs_enabled=True, idle_timeout=1e6)


def orb_state(h: Harness, room_id: str = "room-1") -> str | None:
    for room in h.snapshot().rooms:
        if room.room_id == room_id:
            return None if room.orb is None else room.orb.state
    return None


def test_first_coach_spawns_an_orb() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    assert h.spawned == [SpawnOrb("room-1", "s1", "ai-orb-s1", spawn_id=1)]
    assert h.snapshot().rooms[0].session_id == "s1"
    assert orb_state(h) == "starting"
    assert h.core.orb_count == 1
    h.assert_consistent()


def test_client_does_not_spawn_but_a_later_coach_does() -> None:
    h = Harness(ORBS)
    h.join("client-1", "client")
    h.join("guest-1", "observer")
    assert h.spawned == []
    h.join("coach-1", "coach")
    assert [s.user_id for s in h.spawned] == ["ai-orb-s1"]


def test_no_spawn_when_orbs_are_disabled() -> None:
    h = Harness(CoreConfig(orbs_enabled=False))
    h.join("coach-1", "coach")
    assert h.spawned == [] and h.core.orb_count == 0
    h.assert_consistent()


def test_no_second_spawn_while_one_exists() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    h.join("coach-2", "coach")
    h.send(coach, {"type": "leave"})
    h.join("coach-1", "coach", peer=coach)
    assert len(h.spawned) == 1
    h.join_orb()
    h.join("coach-3", "coach")
    assert len(h.spawned) == 1
    assert h.core.orb_count == 1
    h.assert_consistent()


def test_orb_joins_under_its_user_id() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    coach.take()
    orb = h.join_orb()
    assert orb_state(h) == "joined"
    assert orb.take_one()["peers"][0]["shouldCreateOffer"] is False
    joined = coach.take_one()
    assert joined["userId"] == "ai-orb-s1" and joined["shouldCreateOffer"] is True
    room = h.snapshot().rooms[0]
    assert room.orb is not None and room.orb.user_id == "ai-orb-s1"
    assert room.orb.spawned_at == 0.0 and room.orb.last_heartbeat is None
    h.assert_consistent()


def test_heartbeat_visible_in_snapshot() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    orb = h.join_orb()
    h.now = 12.0
    h.send(orb, {"type": "orb_heartbeat", "metrics": {"fps": 24, "rtt_ms": 3.5}})
    snap = h.snapshot().rooms[0].orb
    assert snap is not None
    assert snap.last_heartbeat == 12.0 and snap.metrics == {"fps": 24, "rtt_ms": 3.5}
    h.now = 13.0
    h.send(orb, {"type": "orb_heartbeat", "metrics": "not a dict"})
    snap = h.snapshot().rooms[0].orb
    assert snap is not None
    assert snap.last_heartbeat == 13.0 and snap.metrics == {"fps": 24, "rtt_ms": 3.5}
    assert h.snapshot().to_dict()["rooms"][0]["orb"]["lastHeartbeat"] == 13.0


def test_heartbeat_of_another_ai_does_not_touch_the_orb() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    other = h.join("ai-other", "ai")
    h.send(other, {"type": "orb_heartbeat", "metrics": {"x": 1}})
    snap = h.snapshot().rooms[0].orb
    assert snap is not None and snap.last_heartbeat is None and snap.metrics == {}


def test_room_waits_for_a_starting_orb() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    h.close(coach)
    assert h.core.room_count == 1 and orb_state(h) == "starting"
    orb = h.join_orb()
    assert orb.take_one()["peers"] == []
    h.assert_consistent()


def test_idle_grace_stops_the_orb_then_it_leaves() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    h.advance_to(100.0)
    h.close(coach)
    h.advance_to(100.0 + GRACE - 0.01)
    assert h.stopped == []
    h.advance_to(100.0 + GRACE)
    assert h.stopped == [StopOrb("room-1", "s1", "session_complete")]
    assert orb_state(h) == "stopping"
    h.advance(1.0)
    assert len(h.stopped) == 1
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "session_complete"})
    assert h.core.orb_count == 0 and h.core.room_count == 0
    h.close(orb)
    h.assert_consistent()


def test_human_back_in_time_cancels_the_idle_grace() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    h.join_orb()
    h.advance_to(10.0)
    h.close(coach)
    h.advance_to(10.0 + GRACE - 1)
    h.join("client-1", "client")
    h.advance_to(10.0 + GRACE + 1000)
    assert h.stopped == []
    assert orb_state(h) == "joined"
    h.assert_consistent()


def test_max_lifetime_stops_the_orb_with_timeout() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    orb = h.join_orb()
    h.advance_to(LIFETIME - 1)
    assert h.stopped == []
    h.advance_to(LIFETIME)
    assert h.stopped == [StopOrb("room-1", "s1", "timeout")]
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "timeout"})
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [c.ending for c in left] == [Departure.ORB_TIMEOUT]
    assert h.core.orb_count == 0
    h.assert_consistent()


def test_orb_forced_out_after_stop_timeout() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    h.join("client-1", "client")
    h.advance_to(LIFETIME)
    assert [s.reason for s in h.stopped] == ["timeout"]
    coach.take()
    h.advance_to(LIFETIME + STOP_LIMIT - 0.01)
    assert orb.open
    h.advance_to(LIFETIME + STOP_LIMIT)
    assert orb.close_frame is not None and orb.close_frame[0] == 1000
    assert [m["type"] for m in coach.take()] == ["user-left"]
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending) for c in left] == [("ai-orb-s1", Departure.ORB_TIMEOUT)]
    assert h.core.orb_count == 0 and orb_state(h) is None
    h.assert_consistent()


def test_max_orbs_then_orb_unavailable() -> None:
    h = Harness(CoreConfig(orbs_enabled=True, max_orbs=1, idle_timeout=1e6))
    h.join("coach-a", "coach", room="a")
    coach_b = h.join("coach-b", "coach", room="b")
    assert len(h.spawned) == 1
    msgs = coach_b.take()
    assert msgs[0]["type"] == "peer-discovery"
    assert [(m["type"], m["code"]) for m in msgs[1:]] == [("error", "orb-unavailable")]
    assert orb_state(h, "b") is None
    assert h.core.orb_count == 1
    h.assert_consistent()
    # Once room a's orb is gone, the next coach in room b gets one.
    h.orb_ended(h.spawned[0])
    h.join("coach-b2", "coach", room="b")
    assert [s.room_id for s in h.spawned] == ["a", "b"]
    h.assert_consistent()


def test_zero_max_orbs() -> None:
    h = Harness(CoreConfig(orbs_enabled=True, max_orbs=0))
    coach = h.join("coach-1", "coach")
    assert coach.errors() == ["orb-unavailable"]
    assert h.spawned == []


def test_orb_ended_frees_the_slot_of_an_orb_that_never_joined() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    spawn = h.spawned[0]
    assert h.core.handle(OrbEnded("room-1", "wrong-session", h.now)) == []
    assert h.core.handle(OrbEnded("no-room", spawn.session_id, h.now)) == []
    h.orb_ended(spawn)
    assert h.core.orb_count == 0 and orb_state(h) is None
    h.close(coach)
    assert h.core.room_count == 0
    h.assert_consistent()


def test_orb_ended_deletes_a_room_that_only_waited_for_the_orb() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    h.close(coach)
    h.orb_ended(h.spawned[0])
    assert h.core.room_count == 0 and h.core.orb_count == 0
    h.assert_consistent()


def test_orb_ended_is_a_no_op_for_a_joined_orb() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    orb = h.join_orb()
    assert h.orb_ended(h.spawned[0]) == []
    assert orb_state(h) == "joined" and orb.open
    h.close(orb)
    assert h.core.orb_count == 0
    h.assert_consistent()


def test_orb_join_timeout_gives_the_orb_up() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    h.advance_to(JOIN_LIMIT - 0.01)
    assert h.stopped == []
    h.advance_to(JOIN_LIMIT)
    assert h.stopped == [StopOrb("room-1", "s1", "error")]
    assert h.core.orb_count == 0 and orb_state(h) is None
    h.assert_consistent()
    # A late orb may still join as an ordinary ai participant; it holds no orb slot.
    h.join_orb()
    assert h.core.orb_count == 0
    h.assert_consistent()


def test_replacing_the_orb_keeps_its_slot() -> None:
    h = Harness(ORBS)
    coach = h.join("coach-1", "coach")
    old = h.join_orb()
    coach.take()
    new = h.join_orb()
    assert old.close_frame == (4001, "replaced")
    assert [m["type"] for m in coach.take()] == ["user-left", "user-joined"]
    assert h.core.orb_count == 1 and orb_state(h) == "joined"
    assert h.close(old) == []
    assert orb_state(h) == "joined"
    h.send(new, {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "error"})
    assert h.core.orb_count == 0
    h.assert_consistent()


def test_orb_leaving_by_close_frees_the_slot() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    orb = h.join_orb()
    h.close(orb, Departure.DROPPED)
    assert h.core.orb_count == 0 and orb_state(h) is None
    h.assert_consistent()


def test_stop_closes_everything_with_1001() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach", room="a")
    h.join_orb()
    h.join("client-1", "client", room="a")
    h.join("coach-2", "coach", room="b")
    lurker = h.connect("c")
    commands = h.stop()
    closes = [c for c in commands if isinstance(c, Close)]
    assert sorted(c.conn_id for c in closes) == sorted(h.peers)
    assert {(c.code, c.reason) for c in closes} == {(1001, "server shutting down")}
    assert lurker.close_frame == (1001, "server shutting down")
    assert sorted((s.room_id, s.reason) for s in h.stopped) == [
        ("a", "server-shutdown"), ("b", "server-shutdown")]
    left = [c for c in commands if isinstance(c, ParticipantLeft)]
    assert {c.ending for c in left} == {Departure.SERVER_STOPPED} and len(left) == 4
    assert h.core.connection_count == h.core.room_count == h.core.orb_count == 0
    assert h.core.next_deadline() is None
    h.assert_consistent()


def test_a_late_report_about_an_earlier_orb_does_not_end_its_successor() -> None:
    h = Harness(ORBS)
    h.join("coach-1", "coach")
    first = h.spawned[0]
    h.advance(ORBS.orb_join_timeout)  # the first orb never joins: given up
    assert orb_state(h) is None and h.core.orb_count == 0
    h.join("coach-2", "coach")  # the next coach brings a new orb for the same session
    second = h.spawned[1]
    assert (second.session_id, second.user_id) == (first.session_id, first.user_id)
    assert second.spawn_id != first.spawn_id
    assert h.orb_ended(first) == []  # the host reports the first orb's end only now
    assert orb_state(h) == "starting" and h.core.orb_count == 1
    h.orb_ended(second)
    assert orb_state(h) is None and h.core.orb_count == 0
    h.assert_consistent()

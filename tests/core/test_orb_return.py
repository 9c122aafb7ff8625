"""Orbs run elsewhere (``CoreConfig.orbs_rejoin``): a re-dispatched orb comes back as the room's
orb, an orb of an ended session is refused, and a host that could not place an orb makes the
coaches hear ``orb-unavailable``."""

from __future__ import annotations

from signaling_core import CoreConfig, OrbEnded, OrbState, SpawnOrb

from .harness import Harness

REMOTE = CoreConfig(orbs_enabled=True, orbs_rejoin=True, idle_timeout=1e6, join_timeout=1e6)


def test_the_sessions_orb_comes_back_after_its_worker_died() -> None:
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    assert h.core.orb_state("room-1") is OrbState.JOINED
    h.close(orb)  # the worker was killed: its connection drops without ai-orb-shutdown
    assert h.core.orb_state("room-1") is None and h.core.orb_count == 0
    back = h.join_orb()  # the job, re-dispatched to another worker
    assert h.core.orb_state("room-1") is OrbState.JOINED and h.core.orb_count == 1
    assert len(h.spawned) == 1  # no new SpawnOrb: the orb came back by itself
    assert "user-joined" in coach.types()
    # It is the room's orb again: the core's limits apply to it.
    h.close(coach)
    assert h.core.orb_state("room-1") is OrbState.UNATTENDED
    h.advance(REMOTE.orb_idle_grace)
    assert [s.reason for s in h.stopped] == ["session_complete"]
    assert back.open


def test_a_returning_orb_in_a_room_without_humans_is_unattended() -> None:
    h = Harness(REMOTE)
    client = h.join("client-1", "client")
    coach = h.join("coach-1", "coach")
    orb = h.join_orb()
    h.close(orb)
    h.close(coach)
    h.join_orb()  # the client is still there: the session goes on
    assert h.core.orb_state("room-1") is OrbState.JOINED
    h.close(client)
    assert h.core.orb_state("room-1") is OrbState.UNATTENDED


def test_an_orb_whose_session_ended_never_joins_late() -> None:
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    spawn = h.spawned[-1]
    orb = h.join_orb()
    h.close(orb)
    h.close(coach)  # the room empties: its session is over
    assert h.user_ids() == []
    late = h.connect()
    h.send(late, {"type": "join", "roomId": "room-1", "userId": spawn.user_id,
                  "userName": "AI Assistant", "userRole": "ai", "participantType": "ai"})
    assert late.errors() == ["forbidden"]
    assert h.user_ids() == []  # and it opened no room either
    # A later session's orb is a different identity; the old one is still refused there.
    h.join("coach-2", "coach")
    h.send(late, {"type": "join", "roomId": "room-1", "userId": spawn.user_id,
                  "userName": "AI Assistant", "userRole": "ai", "participantType": "ai"})
    assert late.errors() == ["forbidden", "forbidden"]
    assert h.spawned[-1].session_id != spawn.session_id


def test_a_returning_orb_beyond_the_cap_is_refused() -> None:
    h = Harness(CoreConfig(orbs_enabled=True, orbs_rejoin=True, max_orbs=1,
                           idle_timeout=1e6, join_timeout=1e6))
    h.join("coach-1", "coach")
    orb = h.join_orb()
    h.close(orb)
    h.join("coach-2", "coach", room="room-2")  # takes the only slot
    assert h.core.orb_count == 1
    late = h.connect()
    h.send(late, {"type": "join", "roomId": "room-1", "userId": h.spawned[0].user_id,
                  "userName": "AI Assistant", "userRole": "ai", "participantType": "ai"})
    assert late.errors() == ["orb-unavailable"]


def test_without_rejoin_an_orb_that_left_is_an_ordinary_ai() -> None:
    h = Harness(CoreConfig(orbs_enabled=True, idle_timeout=1e6, join_timeout=1e6))
    h.join("coach-1", "coach")
    orb = h.join_orb()
    h.close(orb)
    h.join_orb()
    assert h.core.orb_state("room-1") is None and h.core.orb_count == 0


def test_unavailable_host_report_tells_the_coaches() -> None:
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    spawn = h.spawned[-1]
    coach.take()
    client.take()
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id,
                              unavailable=True)))
    assert coach.errors() == ["orb-unavailable"]
    assert client.errors() == []
    assert h.core.orb_count == 0 and h.core.orb_state("room-1") is None
    # A report about another spawn changes nothing and tells no one.
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now,
                              SpawnOrb(spawn.room_id, spawn.session_id, spawn.user_id,
                                       99).spawn_id, unavailable=True)))
    assert coach.errors() == ["orb-unavailable"]


def test_an_orb_that_left_and_cannot_be_placed_again_is_reported_unavailable_once() -> None:
    """Its worker handed the job back (draining) and no other worker took it: the host
    reports it ended and unavailable after the orb had already left the room."""
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    client = h.join("client-1", "client")
    spawn = h.spawned[-1]
    orb = h.join_orb()
    h.close(orb)
    assert h.core.orb_state("room-1") is None
    coach.take()
    client.take()
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id,
                              unavailable=True)))
    assert coach.errors() == ["orb-unavailable"] and client.errors() == []
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id,
                              unavailable=True)))
    assert coach.errors() == ["orb-unavailable"]  # said once


def test_a_report_about_an_orb_that_already_came_back_tells_no_one() -> None:
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    spawn = h.spawned[-1]
    h.close(h.join_orb())
    h.join_orb()  # back from another worker
    coach.take()
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id,
                              unavailable=True)))
    assert coach.errors() == []
    assert h.core.orb_state("room-1") is OrbState.JOINED


def test_an_ordinary_end_of_an_orb_that_left_tells_no_one() -> None:
    h = Harness(REMOTE)
    coach = h.join("coach-1", "coach")
    spawn = h.spawned[-1]
    h.close(h.join_orb())
    coach.take()
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id)))
    h._apply(h.core.handle(OrbEnded(spawn.room_id, spawn.session_id, h.now, spawn.spawn_id,
                              unavailable=True)))
    assert coach.errors() == []  # its host said it ended; a later report changes nothing

"""A coach joins a room without an orb while an ``ai`` already holds the orb's userId.

Found by the Hypothesis sweep (coach leaves, orb leaves, orb rejoins, coach rejoins): the core
started a second orb under a userId a participant already held, so the room had a ``starting``
orb whose userId was present, and the new orb would have replaced the one in the call. The
protocol (docs/protocol.md, "The AI orb") makes the holder the room's orb instead, as a returning
orb is: no second orb is started, and the core's limits apply to it.
"""

from __future__ import annotations

from signaling_core import CoreConfig, OrbState

from .harness import Harness

LOCAL = CoreConfig(orbs_enabled=True, idle_timeout=1e6, join_timeout=1e6)


def _orb_left_and_came_back(h: Harness) -> None:
    """coach-1 and client-1 with the orb; the coach leaves, the orb leaves and joins again."""
    coach = h.join("coach-1", "coach")
    h.join_orb()
    h.join("client-1", "client")
    h.send(coach, {"type": "leave"})
    orb = next(p for p in h.peers.values() if p.user_id == h.spawned[-1].user_id)
    h.send(orb, {"type": "leave"})
    assert h.core.orb_state("room-1") is None and h.core.orb_count == 0
    h.join(h.spawned[-1].user_id, "ai", peer=orb, name="AI Assistant", ptype="ai")
    h.assert_consistent()


def test_a_coach_joining_adopts_the_ai_holding_the_orbs_user_id() -> None:
    h = Harness(LOCAL)
    _orb_left_and_came_back(h)
    h.join("coach-1", "coach")
    assert len(h.spawned) == 1  # no second orb under the same userId
    assert h.core.orb_state("room-1") is OrbState.JOINED and h.core.orb_count == 1
    h.assert_consistent()
    # It is the room's orb: its limits apply (idle grace once the humans are gone).
    for p in list(h.peers.values()):
        if p.open and p.user_id in {"coach-1", "client-1"}:
            h.close(p)
    assert h.core.orb_state("room-1") is OrbState.UNATTENDED
    h.advance(LOCAL.orb_idle_grace)
    assert [s.reason for s in h.stopped] == ["session_complete"]
    h.assert_consistent()


def test_without_a_free_orb_slot_the_coach_hears_orb_unavailable() -> None:
    cfg = CoreConfig(orbs_enabled=True, max_orbs=1, idle_timeout=1e6, join_timeout=1e6)
    h = Harness(cfg)
    _orb_left_and_came_back(h)
    h.join("coach-2", "coach", room="room-2")  # takes the only slot
    assert h.core.orb_count == 1 and len(h.spawned) == 2
    coach = h.join("coach-1", "coach")
    assert coach.errors() == ["orb-unavailable"]
    assert len(h.spawned) == 2 and h.core.orb_state("room-1") is None
    h.assert_consistent()

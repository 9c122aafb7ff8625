"""Deadlines (§7): join and idle limits through ``tick(now)``, and ``next_deadline()``."""

from __future__ import annotations

import pytest

from signaling_core import Close, CoreConfig, Departure, ParticipantLeft

from .harness import Harness, join_message

JOIN = 10.0
IDLE = 75.0


def test_join_deadline_closes_4008_without_departure() -> None:
    h = Harness()
    coach = h.join("coach-1")
    coach.take()
    lurker = h.connect()
    assert h.core.next_deadline() == pytest.approx(JOIN)
    assert h.advance_to(JOIN - 0.01) == []
    assert h.advance_to(JOIN) == [Close(lurker.conn_id, 4008, "join deadline passed")]
    assert coach.inbox == []
    assert h.core.connection_count == 1
    h.assert_consistent()


def test_ping_does_not_postpone_the_join_deadline() -> None:
    h = Harness()
    lurker = h.connect()
    for t in (3.0, 6.0, 9.0):
        h.advance_to(t)
        h.send(lurker, {"type": "ping"})
        assert lurker.take() == [{"type": "pong"}]
    h.advance_to(JOIN)
    assert lurker.close_frame == (4008, "join deadline passed")


def test_joining_in_time_cancels_the_join_deadline() -> None:
    h = Harness()
    peer = h.connect()
    h.advance_to(JOIN - 1)
    h.join("u1", peer=peer)
    h.advance_to(JOIN + 30)
    assert peer.open
    h.assert_consistent()


def test_idle_deadline_closes_4008_with_departure() -> None:
    h = Harness(CoreConfig(reconnect_grace=0))  # an idle loss departs at once without a grace
    coach = h.join("coach-1")
    h.advance_to(1.0)
    client = h.join("client-1", "client")
    coach.take()
    client.take()
    h.advance_to(IDLE - 0.01)
    assert coach.open
    h.advance_to(IDLE)
    assert coach.close_frame == (4008, "idle deadline passed")
    assert client.take() == [{"type": "user-left", "userId": "coach-1",
                              "userName": "Name of coach-1", "userRole": "coach",
                              "participantType": "human"}]
    left = [c for c in h.last if isinstance(c, ParticipantLeft)]
    assert [(c.user_id, c.ending) for c in left] == [("coach-1", Departure.TIMED_OUT)]
    h.assert_consistent()
    h.advance_to(1.0 + IDLE)
    assert client.close_frame == (4008, "idle deadline passed")
    assert h.core.room_count == 0
    h.assert_consistent()


def test_activity_postpones_the_idle_deadline() -> None:
    h = Harness()
    peer = h.join("u1")
    h.advance_to(50.0)
    h.activity(peer)
    h.advance_to(IDLE + 1)
    assert peer.open
    h.advance_to(50.0 + IDLE - 0.01)
    assert peer.open
    h.advance_to(50.0 + IDLE)
    assert peer.close_frame == (4008, "idle deadline passed")


@pytest.mark.parametrize("text", ['{"type":"ping"}', "not json", '{"type":"nope"}'])
def test_any_received_text_postpones_the_idle_deadline(text: str) -> None:
    h = Harness()
    peer = h.join("u1")
    h.advance_to(60.0)
    h.send(peer, text)
    h.advance_to(60.0 + IDLE - 0.01)
    assert peer.open
    h.advance_to(60.0 + IDLE)
    assert not peer.open


def test_snapshot_shows_last_seen() -> None:
    h = Harness()
    peer = h.join("u1")
    h.advance_to(12.5)
    h.activity(peer)
    assert h.snapshot().rooms[0].participants[0].last_seen == 12.5


def test_leave_restarts_the_join_deadline() -> None:
    h = Harness()
    peer = h.join("u1")
    h.advance_to(50.0)
    h.send(peer, {"type": "leave"})
    assert h.core.next_deadline() is not None
    assert h.core.next_deadline() <= 50.0 + JOIN  # type: ignore[operator]
    h.advance_to(50.0 + JOIN - 0.01)
    assert peer.open
    h.advance_to(50.0 + JOIN)
    assert peer.close_frame == (4008, "join deadline passed")
    assert [c for c in h.last if isinstance(c, ParticipantLeft)] == []


def test_rejoin_after_leave_escapes_the_join_deadline() -> None:
    h = Harness()
    peer = h.join("u1")
    h.advance_to(50.0)
    h.send(peer, {"type": "leave"})
    h.advance_to(55.0)
    h.send(peer, join_message("u1"))
    h.advance_to(50.0 + JOIN + 1)
    assert peer.open
    h.advance_to(55.0 + IDLE)
    assert peer.close_frame == (4008, "idle deadline passed")


def test_orb_shutdown_restarts_the_join_deadline() -> None:
    h = Harness()
    orb = h.join("ai-orb-1", "ai")
    h.advance_to(20.0)
    h.send(orb, {"type": "ai-orb-shutdown", "sessionId": "1", "reason": "session_complete"})
    h.advance_to(20.0 + JOIN)
    assert orb.close_frame == (4008, "join deadline passed")


def test_one_tick_far_ahead_closes_everyone_once() -> None:
    h = Harness(CoreConfig(reconnect_grace=0))  # idle losses depart at once, in this tick
    peers = [h.join(f"u{i}", "client") for i in range(4)]
    lurker = h.connect()
    h.advance_to(10_000.0)
    assert all(p.close_frame is not None and p.close_frame[0] == 4008 for p in peers)
    assert lurker.close_frame == (4008, "join deadline passed")
    closes = [c for c in h.last if isinstance(c, Close)]
    assert len(closes) == 5
    assert h.core.connection_count == 0 and h.core.room_count == 0
    assert h.core.next_deadline() is None or h.core.next_deadline() > h.now  # type: ignore[operator]
    h.assert_consistent()


def test_closed_connection_has_no_deadline_effect() -> None:
    h = Harness()
    peer = h.join("u1")
    h.close(peer)
    assert h.advance_to(1000.0) == []


def test_custom_limits() -> None:
    h = Harness(CoreConfig(join_timeout=1.0, idle_timeout=2.0))
    lurker = h.connect()
    joined = h.join("u1")
    h.advance_to(1.0)
    assert lurker.close_frame == (4008, "join deadline passed")
    assert joined.open
    h.advance_to(2.0)
    assert joined.close_frame == (4008, "idle deadline passed")


def test_next_deadline_is_none_when_idle() -> None:
    assert Harness().core.next_deadline() is None


def run_server_loop(h: Harness, until: float, max_iterations: int = 1000) -> int:
    """Drive the core like an I/O loop that sleeps until ``next_deadline()``.

    Each wake-up must make progress: after ``tick(now)``, the next deadline lies strictly in
    the future (else a real server would spin)."""
    iterations = 0
    while True:
        deadline = h.core.next_deadline()
        if deadline is None or deadline > until:
            return iterations
        assert deadline >= h.now - 1e-9 or iterations == 0, (deadline, h.now)
        h.advance_to(max(deadline, h.now))
        iterations += 1
        after = h.core.next_deadline()
        assert after is None or after > h.now, (after, h.now, iterations)
        assert iterations < max_iterations
        h.assert_consistent()


def test_next_deadline_drives_a_room_to_the_end() -> None:
    h = Harness()
    h.join("coach-1")
    h.advance_to(3.0)
    h.join("client-1", "client")
    h.connect()
    iterations = run_server_loop(h, until=1_000.0)
    assert iterations <= 6  # three connection deadlines, two reconnect graces
    assert h.core.connection_count == 0 and h.core.room_count == 0


def test_next_deadline_with_orbs_never_lies_in_the_past() -> None:
    """Orb limits feed next_deadline too; a stopping orb must not pin it to a past time."""
    cfg = CoreConfig(orbs_enabled=True, idle_timeout=10_000.0, orb_idle_grace=5.0,
                     orb_stop_timeout=10.0, orb_max_lifetime=100.0)
    h = Harness(cfg)
    coach = h.join("coach-1")
    orb = h.join_orb()
    h.advance_to(1.0)
    h.close(coach)
    run_server_loop(h, until=50.0)
    assert h.stopped[-1].reason == "session_complete"
    assert orb.close_frame is not None  # forced out after orb_stop_timeout
    h.assert_consistent()


def test_next_deadline_after_lifetime_stop() -> None:
    cfg = CoreConfig(orbs_enabled=True, idle_timeout=10_000.0, orb_stop_timeout=10.0,
                     orb_max_lifetime=100.0)
    h = Harness(cfg)
    h.join("coach-1")
    orb = h.join_orb()
    run_server_loop(h, until=150.0)
    assert [s.reason for s in h.stopped] == ["timeout"]
    assert orb.close_frame is not None
    h.assert_consistent()


def test_idle_deadlines_due_in_one_tick_expire_in_their_own_order() -> None:
    """Two connections idle past their limits by the same tick go in the order their true
    deadlines fell, not in the order their (older) heap entries were pushed: the coach was
    active later, so the client's loss (first) is told to the coach before the coach goes
    away itself, and a resume of the coach does not list the client in ``left``.

    (Found by the Hypothesis state machine: a refreshed connection's stale entry was expired
    in place of its true deadline, ahead of a connection whose deadline fell earlier.)"""
    h = Harness(CoreConfig(reconnect_grace=5.0))
    coach = h.join("coach-1")
    client = h.join("client-1", "client")
    h.advance_to(0.5)
    h.activity(coach)
    closes = [c.conn_id for c in h.advance_to(IDLE + 0.5) if isinstance(c, Close)]
    assert closes == [client.conn_id, coach.conn_id]
    h.assert_consistent()

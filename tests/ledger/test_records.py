"""A real core's session records become the expected sessions, participations and timings."""

from __future__ import annotations

import pytest

from signaling_core import CoreConfig, Departure
from trio_server.ledger import ORB_ENDED, LedgerReader, SessionView, backend_from_url

from .conftest import make_ledger, query, running
from .driver import WALL0, CoreDriver


def sessions(db: str, room: str | None = None) -> list[SessionView]:
    return LedgerReader(backend_from_url(db)).sessions(room=room, limit=100)


def parts(session: SessionView) -> dict[str, list[tuple[float, float | None, str | None]]]:
    """userId -> [(joined, left, ending)] relative to WALL0, in join order."""
    out: dict[str, list[tuple[float, float | None, str | None]]] = {}
    for p in session.participants:
        left = None if p.left_at is None else round(p.left_at - WALL0, 6)
        out.setdefault(p.user_id, []).append((round(p.joined_at - WALL0, 6), left, p.ending))
    return out


async def play(db: str, config: CoreConfig, script: object) -> CoreDriver:
    ledger = make_ledger(db)
    async with running(ledger):
        driver = CoreDriver(ledger, config)
        script(driver)  # type: ignore[operator]
        await ledger.wait_committed()
        assert ledger.stats.dropped == 0
    return driver


async def test_full_three_party_session_with_orb(db: str) -> None:
    config = CoreConfig(orbs_enabled=True, orb_idle_grace=30.0)

    def script(d: CoreDriver) -> None:
        coach = d.at(0).join("room-1", "coach-1", "coach", "Coach Carol")
        orb = d.at(1).join("room-1", "ai-orb-s1", "ai", "AI Assistant")
        d.at(2).join("room-1", "client-1", "client", "Client Chris")
        for t, status in [(3, "listening"), (5, "thinking"), (6, "speaking"), (9, "paused"),
                          (10, "listening")]:
            d.at(t).status(orb, status, "s1")
        d.at(20).send(3, {"type": "leave"})
        d.at(25).close(coach)
        d.at(55).tick()  # idle grace over: the core asks the orb to stop
        d.at(56).send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                            "reason": "session_complete"})

    driver = await play(db, config, script)
    assert [type(r).__name__ for r in driver.records].count("SessionEnded") == 1

    [session] = sessions(db)
    assert (session.session_id, session.room) == ("s1", "room-1")
    assert session.started_at == WALL0 and session.ended_at == WALL0 + 56
    assert session.end_reason == "session_complete"
    assert parts(session) == {
        "coach-1": [(0, 25, "close")],
        "ai-orb-s1": [(1, 56, "session_complete")],
        "client-1": [(2, 20, "leave")],
    }
    orb_view = next(p for p in session.participants if p.type == "ai")
    assert (orb_view.name, orb_view.role) == ("AI Assistant", "ai")
    assert orb_view.status_seconds == pytest.approx(
        {"listening": 2 + 46, "thinking": 1, "speaking": 3, "paused": 1})
    coach_view = next(p for p in session.participants if p.user_id == "coach-1")
    assert (coach_view.name, coach_view.role, coach_view.type, coach_view.status_seconds) == (
        "Coach Carol", "coach", "human", {})
    # The raw rows agree with the view: one span per status change, all closed.
    spans = query(db, "SELECT status, started_at, ended_at FROM orb_status_spans "
                      "ORDER BY started_at")
    assert [(s, a - WALL0, b - WALL0) for s, a, b in spans] == [
        ("listening", 3, 5), ("thinking", 5, 6), ("speaking", 6, 9), ("paused", 9, 10),
        ("listening", 10, 56)]


async def test_replacement_keeps_the_session_and_records_both_parts(db: str) -> None:
    def script(d: CoreDriver) -> None:
        d.at(0).join("room-r", "coach-1", "coach")
        d.at(1).join("room-r", "client-1", "client")
        d.at(5).join("room-r", "coach-1", "coach")  # same userId, new connection
        d.at(7).close(2)
        d.at(8).send(3, {"type": "leave"})

    driver = await play(db, CoreConfig(), script)
    assert 1 in driver.closed  # the replaced connection was closed by the core
    [session] = sessions(db)
    assert parts(session) == {
        "coach-1": [(0, 5, "replaced"), (5, 8, "leave")],
        "client-1": [(1, 7, "close")],
    }
    assert (session.ended_at, session.end_reason) == (WALL0 + 8, "leave")


async def test_orb_replacement_moves_status_timing_to_the_new_part(db: str) -> None:
    def script(d: CoreDriver) -> None:
        d.at(0).join("room-o", "coach-1", "coach")
        orb = d.at(1).join("room-o", "ai-orb-s1", "ai")
        d.at(2).status(orb, "listening", "s1")
        orb2 = d.at(4).join("room-o", "ai-orb-s1", "ai")
        d.at(5).status(orb2, "speaking", "s1")
        d.at(9).stop()

    await play(db, CoreConfig(orbs_enabled=True), script)
    [session] = sessions(db)
    assert parts(session)["ai-orb-s1"] == [(1, 4, "replaced"), (4, 9, "server-stopped")]
    first, second = [p for p in session.participants if p.type == "ai"]
    assert first.status_seconds == pytest.approx({"listening": 2})
    assert second.status_seconds == pytest.approx({"speaking": 4})
    assert session.end_reason == "server-stopped"


async def test_time_outs_end_parts_and_the_session(db: str) -> None:
    # Without a reconnect grace, so a time-out ends the part at once (see the grace test).
    config = CoreConfig(idle_timeout=75.0, reconnect_grace=0)

    def script(d: CoreDriver) -> None:
        d.at(0).join("room-t", "client-1", "client")
        coach = d.at(1).join("room-t", "coach-1", "coach")
        d.at(50).send(coach, {"type": "ping"})
        d.at(76).tick()
        d.at(126).tick()

    await play(db, config, script)
    [session] = sessions(db)
    assert parts(session) == {"client-1": [(0, 76, "time-out")],
                              "coach-1": [(1, 126, "time-out")]}
    assert (session.ended_at, session.end_reason) == (WALL0 + 126, "time-out")


async def test_an_away_seat_ends_its_part_when_the_grace_runs_out_not_before(db: str) -> None:
    """A drop within the reconnect grace is no ending; the grace's end is, with the drop's cause.

    The client drops at 5 and never comes back: its part ends at 15 (the grace of 10 s), as
    ``dropped``. The coach drops at 20 and comes back with its resume token at 25: one part,
    which ends only when it leaves at 30.
    """
    config = CoreConfig(reconnect_grace=10.0)

    def script(d: CoreDriver) -> None:
        d.at(0).join("room-g", "client-1", "client")
        coach = d.at(1).join("room-g", "coach-1", "coach")
        token = d.resume_token(coach)
        d.at(5).close(d.conn_of("client-1"), Departure.DROPPED)
        d.at(15).tick()
        d.at(20).close(coach, Departure.DROPPED)
        again = d.at(25).join("room-g", "coach-1", "coach", resume_token=token)
        d.at(30).send(again, {"type": "leave"})

    await play(db, config, script)
    [session] = sessions(db)
    assert parts(session) == {"client-1": [(0, 15, "dropped")],
                              "coach-1": [(1, 30, "leave")]}


async def test_every_other_ending_is_recorded(db: str) -> None:
    config = CoreConfig(orbs_enabled=True, max_message_bytes=1024, reconnect_grace=0)

    def script(d: CoreDriver) -> None:
        a = d.at(0).join("room-e", "a", "client")
        b = d.at(0).join("room-e", "b", "client")
        d.join("room-e", "c", "client")
        d.at(1).close(a, Departure.SLOW_CONSUMER)
        d.at(2).send(b, {"type": "client_signal", "action": "x", "pad": "x" * 2000})
        d.at(3).stop()
        # An orb that never joins: the session ends when the core gives up on it.
        coach = d.at(10).join("room-f", "coach-1", "coach")
        d.at(11).close(coach, Departure.DROPPED)
        d.at(41).tick()

    await play(db, config, script)
    by_room = {s.room: s for s in sessions(db)}
    assert parts(by_room["room-e"]) == {"a": [(0, 1, "slow-consumer")],
                                        "b": [(0, 2, "protocol-violation")],
                                        "c": [(0, 3, "server-stopped")]}
    assert by_room["room-e"].end_reason == "server-stopped"
    assert parts(by_room["room-f"]) == {"coach-1": [(10, 11, "dropped")]}
    assert (by_room["room-f"].ended_at, by_room["room-f"].end_reason) == (WALL0 + 41, ORB_ENDED)


async def test_sessions_query_filters_by_room_and_limits_newest_first(db: str) -> None:
    def script(d: CoreDriver) -> None:
        for i in range(5):
            conn = d.at(10 * i).join("room-a" if i % 2 == 0 else "room-b", f"u{i}", "coach")
            d.at(10 * i + 1).send(conn, {"type": "leave"})
        d.at(100).join("room-a", "still-here", "client")  # an open session

    await play(db, CoreConfig(), script)
    reader = LedgerReader(backend_from_url(db))
    assert [s.session_id for s in reader.sessions(limit=100)] == [
        "s6", "s5", "s4", "s3", "s2", "s1"]
    assert [s.session_id for s in reader.sessions(room="room-a")] == ["s6", "s5", "s3", "s1"]
    assert [s.session_id for s in reader.sessions(room="room-b", limit=1)] == ["s4"]
    assert reader.sessions(room="nowhere") == []
    open_session = reader.sessions(limit=1)[0]
    assert (open_session.ended_at, open_session.end_reason) == (None, None)
    assert open_session.participants[0].left_at is None

"""Every (orb state, input) pair against the lifecycle table, then the real core against it.

As the message-permission sweep (``test_sweep.py``) does for connections: first each pair of
``OrbState`` x ``OrbInput`` is tried on the table itself, which must answer with its row or its
own :class:`OrbLifecycleError`, nothing else. Then, for every row the core can be driven
through, a fresh core is brought into the row's state by ordinary protocol steps (joins,
closes, time), the input is produced the way the I/O side would produce it, and the core's orb
must be in the row's next state, with the row's ``StopOrb`` reason when it issues one.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from signaling_core import (
    ORB_TIMERS,
    ORB_TRANSITIONS,
    CoreConfig,
    OrbEffect,
    OrbInput,
    OrbLifecycleError,
    OrbState,
    SpawnOrb,
)
from signaling_core._orb_lifecycle import ORB_TIMER_CLOCKS, orb_step

from .harness import Harness, Peer

S, In = OrbState, OrbInput
NOT_JOINED = (S.STARTING, S.STARTING_UNATTENDED, S.STOPPING_UNJOINED)
ALL_PAIRS = [(state, event) for state in OrbState for event in OrbInput]


# --------------------------------------------------------------------------- the table alone


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=[f"{s}+{e}" for s, e in ALL_PAIRS])
def test_every_pair_is_its_row_or_the_lifecycle_error(state: OrbState, event: OrbInput) -> None:
    row = ORB_TRANSITIONS.get((state, event))
    if row is None:
        with pytest.raises(OrbLifecycleError) as caught:
            orb_step(state, event)
        assert (caught.value.state, caught.value.event) == (state, event)
    else:
        assert orb_step(state, event) is row
        assert isinstance(row.next_state, OrbState) and isinstance(row.effect, OrbEffect)
        issues_stop = row.effect in (OrbEffect.REQUEST_STOP, OrbEffect.GIVE_UP,
                                     OrbEffect.ANNOUNCE_STOP)
        assert bool(row.reason) == issues_stop, row


def test_the_table_is_closed_and_every_state_lives_and_ends() -> None:
    assert {k for k in ORB_TRANSITIONS if k[0] is S.ENDED} == set()
    assert {k for k in ORB_TRANSITIONS if k[0] is S.NEW} == {(S.NEW, In.SPAWNED),
                                                             (S.NEW, In.RETURNED)}
    # Every state is reachable from NEW, and ENDED from every state.
    reach = {S.NEW}
    while True:
        more = {row.next_state for (state, _), row in ORB_TRANSITIONS.items() if state in reach}
        if more <= reach:
            break
        reach |= more
    assert reach == set(OrbState)
    for start in OrbState:
        seen, todo = {start}, [start]
        while todo:
            here = todo.pop()
            for (state, _), row in ORB_TRANSITIONS.items():
                if state is here and row.next_state not in seen:
                    seen.add(row.next_state)
                    todo.append(row.next_state)
        assert S.ENDED in seen, start
    # The server stopping ends any live orb; only ENDED and NEW have no timers.
    for state in set(OrbState) - {S.NEW, S.ENDED}:
        assert ORB_TRANSITIONS[(state, In.SERVER_STOPPING)].next_state is S.ENDED
        assert ORB_TIMERS[state], state
        for event in ORB_TIMERS[state]:
            assert (state, event) in ORB_TRANSITIONS and event in ORB_TIMER_CLOCKS
    assert set(ORB_TIMERS) == set(OrbState) - {S.NEW, S.ENDED}


# --------------------------------------------------------------------------- the real core

#: Limits under which each timer is the first to expire in the states it runs in.
LIMITS = {"orb_idle_grace": 5.0, "orb_join_timeout": 30.0, "orb_max_lifetime": 100.0,
          "orb_stop_timeout": 10.0}
LIMITS_FOR = {
    In.JOIN_TIMEOUT: {**LIMITS, "orb_join_timeout": 5.0, "orb_idle_grace": 50.0},
    In.MAX_LIFETIME: {**LIMITS, "orb_max_lifetime": 20.0, "orb_idle_grace": 50.0},
}


@attrs.define
class World:
    h: Harness
    humans: list[Peer] = attrs.Factory(list)
    #: The connection holding the orb's userId, once one does.
    orb: Peer | None = None
    spawn: SpawnOrb | None = None
    #: What an outside observer knows of the current orb: it joined, it was told to stop.
    joined: bool = False
    stops_at_spawn: int = 0

    def state(self) -> OrbState:
        found = self.h.core.orb_state("room-1")
        return S.ENDED if found is None else found

    def observed(self) -> OrbState:
        """The state as the messages and commands so far show it, without asking the core."""
        rooms = self.h.snapshot().rooms
        if not rooms or rooms[0].orb is None:
            return S.ENDED
        if len(self.h.stopped) > self.stops_at_spawn:
            return S.STOPPING if self.joined else S.STOPPING_UNJOINED
        humans = any(p.open and p.user_id is not None for p in self.humans)
        if self.joined:
            return S.JOINED if humans else S.UNATTENDED
        return S.STARTING if humans else S.STARTING_UNATTENDED

    def human_joins(self, role: str = "client") -> None:
        self.humans.append(self.h.join(f"{role}-{len(self.humans) + 1}", role))
        if role == "coach" and self.h.spawned and self.h.spawned[-1] is not self.spawn:
            self.spawn = self.h.spawned[-1]
            self.joined = False
            self.stops_at_spawn = len(self.h.stopped)

    def humans_go(self) -> None:
        for peer in self.humans:
            if peer.open:
                self.h.close(peer)
        self.humans = []

    def orb_joins(self) -> None:
        assert self.spawn is not None
        self.orb = self.h.join_orb(self.spawn)
        self.joined = self.h.core.orb_count == 1  # not when it joins after being given up

    def expire_next(self) -> None:
        due = self.h.core.next_deadline()
        assert due is not None
        self.h.advance_to(due)


def starting(w: World) -> None:
    w.human_joins("coach")


def with_namesake(w: World) -> None:
    """The first orb of the session was given up, joined late anyway, and a second coach
    came: that coach adopts the late orb (``returned``) instead of starting a second one under
    the same userId, so no orb is ever STARTING while its userId is held."""
    w.human_joins("coach")
    w.h.advance(w.h.core.config.orb_join_timeout)
    assert w.state() is S.ENDED
    w.orb_joins()
    w.human_joins("coach")
    assert w.spawn is not None and w.spawn.spawn_id == 1


RECIPES: dict[OrbState, list[Callable[[World], None]]] = {
    S.STARTING: [],
    S.STARTING_UNATTENDED: [World.humans_go],
    S.JOINED: [World.orb_joins],
    S.UNATTENDED: [World.orb_joins, World.humans_go],
    S.STOPPING: [World.orb_joins, World.humans_go, World.expire_next],
    S.STOPPING_UNJOINED: [World.humans_go, World.expire_next],
}
#: The inputs that, before the orb joined, can only come from a namesake.
FROM_NAMESAKE = {In.HEARTBEAT, In.SHUTDOWN, In.LEFT, In.REPLACED}


def bring_into(state: OrbState, event: OrbInput) -> World:
    limits = LIMITS_FOR.get(event, LIMITS)
    w = World(Harness(CoreConfig(orbs_enabled=True, idle_timeout=1e6, join_timeout=1e6,
                                 **limits)))
    starting(w)
    assert w.state() is S.STARTING
    for step in RECIPES[state]:
        step(w)
    assert w.state() is state and w.observed() is state, (state, event)
    return w


def ensure_human(w: World) -> None:
    if not any(p.open for p in w.humans):
        w.human_joins()


def produce(w: World, event: OrbInput) -> None:
    """Make ``event`` happen the way the I/O side (or the orb, or time) would."""
    h = w.h
    if event in (In.JOINED, In.REPLACED):
        w.orb_joins()
    elif event is In.HEARTBEAT:
        assert w.orb is not None
        h.send(w.orb, {"type": "orb_heartbeat", "metrics": {"fps": 1}})
    elif event is In.HUMANS_ALL_LEFT:
        ensure_human(w)  # a stopping orb's room may have none: one comes (a self-loop) first
        w.humans_go()
    elif event is In.HUMAN_RETURNED:
        w.humans_go()  # likewise: in a stopping state, the humans first go (a self-loop)
        w.human_joins()
    elif event in ORB_TIMER_CLOCKS:
        w.expire_next()
    elif event is In.SHUTDOWN:
        assert w.orb is not None
        h.send(w.orb, {"type": "ai-orb-shutdown", "sessionId": "s1", "reason": "error"})
    elif event is In.LEFT:
        assert w.orb is not None
        h.close(w.orb)
    elif event is In.HOST_ENDED:
        assert w.spawn is not None
        h.orb_ended(w.spawn)
    elif event is In.SERVER_STOPPING:
        h.stop()
    elif event is In.SESSION_ENDED:
        coaches = [p for p in w.humans if p.open and p.user_id and p.user_id.startswith("coach")]
        if not coaches:  # a stopping orb's room may have none: one comes (a self-loop) first
            w.human_joins("coach")
            coaches = [w.humans[-1]]
        h.send(coaches[0], {"type": "end_session"})
        assert coaches[0].take()[-1]["type"] == "session-ended"
    else:
        raise AssertionError(f"no way to produce {event}")


DRIVEN = [pair for pair in ORB_TRANSITIONS if pair[0] is not S.NEW]


def test_the_table_has_no_row_the_core_cannot_reach() -> None:
    """No dead rows: the inputs only a namesake could make before the orb joined have none
    (a coach adopts an ai holding the orb's userId, so nobody holds it then), and the sweep
    below drives every row but NEW's two (driven by the spawn and return tests)."""
    assert not {pair for pair in ORB_TRANSITIONS
                if pair[0] in NOT_JOINED and pair[1] in FROM_NAMESAKE}
    assert set(DRIVEN) | {(S.NEW, In.SPAWNED), (S.NEW, In.RETURNED)} == set(ORB_TRANSITIONS)
    assert all(pair[0] in RECIPES for pair in DRIVEN)


def test_a_late_orb_is_adopted_never_doubled() -> None:
    """The sweep's finding: no second orb is spawned while an ai holds the orb's userId."""
    w = World(Harness(CoreConfig(orbs_enabled=True, idle_timeout=1e6, join_timeout=1e6,
                                 **LIMITS)))
    with_namesake(w)
    assert w.state() is S.JOINED and w.h.core.orb_count == 1
    assert len(w.h.spawned) == 1
    w.h.assert_consistent()


@pytest.mark.parametrize(("state", "event"), DRIVEN, ids=[f"{s}+{e}" for s, e in DRIVEN])
def test_the_core_moves_as_the_table_says(state: OrbState, event: OrbInput) -> None:
    row = ORB_TRANSITIONS[(state, event)]
    w = bring_into(state, event)
    stops_before = len(w.h.stopped)
    holder = w.orb if w.orb is not None and w.orb.open else None
    produce(w, event)
    assert w.state() is row.next_state, (state, event, w.state())
    assert w.observed() is row.next_state, (state, event, w.observed())
    new_stops = [s.reason for s in w.h.stopped[stops_before:]]
    assert new_stops == ([row.reason] if row.reason else []), (state, event, new_stops)
    if row.next_state is S.ENDED:
        assert w.h.core.orb_count == 0
        if row.effect is OrbEffect.FORCE_OUT and holder is not None:
            assert holder.close_frame == (1000, "orb stopped")
    else:
        assert w.h.core.orb_count == 1
    if not (row.next_state in NOT_JOINED and w.orb is not None and w.orb.open):
        w.h.assert_consistent()  # (it takes a "starting" orb's userId to be absent)


def test_a_coach_spawns_the_orb_new_to_starting() -> None:
    h = Harness(CoreConfig(orbs_enabled=True))
    h.join("coach-1", "coach")
    assert h.core.orb_state("room-1") is ORB_TRANSITIONS[(S.NEW, In.SPAWNED)].next_state
    assert h.spawned == [SpawnOrb("room-1", "s1", "ai-orb-s1", 1)]


@pytest.mark.parametrize("state", [S.JOINED, S.UNATTENDED, S.STOPPING])
def test_a_host_report_about_an_orb_in_the_room_never_reaches_the_table(
        state: OrbState) -> None:
    """(state, host-reported-ended) has no row for these states: the core filters it out."""
    assert (state, In.HOST_ENDED) not in ORB_TRANSITIONS
    w = bring_into(state, In.HEARTBEAT)
    assert w.spawn is not None
    assert w.h.orb_ended(w.spawn) == []
    assert w.state() is state


def test_a_stale_report_never_reaches_the_table() -> None:
    w = bring_into(S.STARTING, In.HEARTBEAT)
    w.h.advance(w.h.core.config.orb_join_timeout)  # the first orb is given up
    assert w.state() is S.ENDED
    w.human_joins("coach")  # a second coach: a second orb is starting
    assert w.state() is S.STARTING and len(w.h.spawned) == 2
    first = w.h.spawned[0]
    assert w.h.orb_ended(first) == []  # the spawn id is the first orb's
    assert w.state() is S.STARTING

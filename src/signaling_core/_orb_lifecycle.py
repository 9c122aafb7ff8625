"""The orb's lifecycle as data: its states, its inputs, and one table of transitions.

As in h11's ``_state.py``, every legal move is a row of :data:`ORB_TRANSITIONS`, keyed by
``(state, input)``; a pair missing from the table is not a no-op but an
:class:`OrbLifecycleError`, raised before anything is changed. The core looks the pair up with
:func:`orb_step` and then carries out the row's :class:`OrbEffect`; it never decides an orb's
next state on its own. :data:`ORB_TIMERS` says which deadlines run in each state and which wins
when several have passed, and docs/protocol.md prints the table (:func:`orb_table_markdown`).

The times an orb carries (``humans_absent_since``, ``stop_requested_at``) are data of a state,
meaningful only in the states that set them; whether the orb has joined, has humans around or
is stopping is the state itself, never inferred from which fields are set.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import NamedTuple


class OrbState(enum.StrEnum):
    """Where one orb stands, from the core's decision to spawn it until it is gone."""

    #: Created, ``SpawnOrb`` not yet issued (only inside the call that spawns it).
    NEW = "new"
    #: Spawned; it has not joined yet and a human is in the room.
    STARTING = "starting"
    #: Spawned, not joined, and no human in the room (the idle grace runs).
    STARTING_UNATTENDED = "starting-unattended"
    #: In the room with at least one human.
    JOINED = "joined"
    #: In the room without humans (the idle grace runs).
    UNATTENDED = "unattended"
    #: Asked to stop (``StopOrb`` sent) after it joined; it has ``orb_stop_timeout`` to leave.
    STOPPING = "stopping"
    #: Asked to stop before it joined (a lifetime or grace shorter than the join timeout).
    STOPPING_UNJOINED = "stopping-unjoined"
    #: Gone: its slot is free and the room no longer refers to it. No input is accepted.
    ENDED = "ended"


class OrbInput(enum.StrEnum):
    """What can happen to an orb."""

    SPAWNED = "spawned"
    #: A participant with the orb's userId joined on a connection of its own.
    JOINED = "joined"
    #: A participant with the orb's userId joined in place of one already there (§6).
    REPLACED = "replaced"
    HEARTBEAT = "heartbeat"
    #: The room's last human departed.
    HUMANS_ALL_LEFT = "humans-all-left"
    #: A human joined a room that had none.
    HUMAN_RETURNED = "human-returned"
    JOIN_TIMEOUT = "join-timeout-elapsed"
    MAX_LIFETIME = "max-lifetime-elapsed"
    IDLE_GRACE = "idle-grace-elapsed"
    STOP_TIMEOUT = "stop-timeout-elapsed"
    #: The orb sent ``ai-orb-shutdown`` (and so left).
    SHUTDOWN = "ai-orb-shutdown"
    #: The orb's participant departed otherwise (leave, close, drop, deadline).
    LEFT = "left"
    #: The host reported the orb gone (``orb_ended`` with this orb's session and spawn id)
    #: while no participant holds its userId.
    HOST_ENDED = "host-reported-ended"
    #: The session's orb joined while the room had none: a re-dispatched orb coming back
    #: (``CoreConfig.orbs_rejoin``), or a coach joined while an ai held the orb's userId;
    #: it is the room's orb again without a new ``SpawnOrb``.
    RETURNED = "returned"
    SERVER_STOPPING = "server-stopping"
    #: A coach ended the session (``end_session``): the orb writes its summary and goes.
    SESSION_ENDED = "session-ended"


class OrbEffect(enum.Enum):
    """What the core does when a transition fires (besides setting the next state)."""

    NOTHING = "nothing"
    #: Issue ``SpawnOrb``.
    SPAWN = "spawn"
    #: Note when the humans went (the idle grace starts).
    MARK_UNATTENDED = "mark-unattended"
    #: Issue ``StopOrb(reason)`` and note when (the stop timeout starts).
    REQUEST_STOP = "request-stop"
    #: Issue ``StopOrb(reason)``, free the slot and the room if nothing else holds it.
    GIVE_UP = "give-up"
    #: Free the slot; the departure in progress then deletes the room if it is empty.
    RELEASE = "release"
    #: Free the slot and the room if nothing else holds it.
    FORGET = "forget"
    #: Free the slot, then close the connection holding the orb's userId (1000), if any.
    FORCE_OUT = "force-out"
    #: Issue ``StopOrb(reason)``; the core is emptying itself.
    ANNOUNCE_STOP = "announce-stop"


class OrbTransition(NamedTuple):
    next_state: OrbState
    effect: OrbEffect = OrbEffect.NOTHING
    #: The ``StopOrb`` reason, for the effects that issue one.
    reason: str = ""


class OrbLifecycleError(Exception):
    """An input the table has no row for, in this state: a bug of the caller, never acted on."""

    def __init__(self, state: OrbState, event: OrbInput) -> None:
        super().__init__(f"orb lifecycle: no transition for {event.value!r} in state "
                         f"{state.value!r}")
        self.state = state
        self.event = event


_NOT_JOINED = (OrbState.STARTING, OrbState.STARTING_UNATTENDED, OrbState.STOPPING_UNJOINED)
_IN_ROOM = (OrbState.JOINED, OrbState.UNATTENDED, OrbState.STOPPING)
_LIVE = (*_NOT_JOINED, *_IN_ROOM)


def _rows() -> dict[tuple[OrbState, OrbInput], OrbTransition]:
    S, In, E, T = OrbState, OrbInput, OrbEffect, OrbTransition
    rows: dict[tuple[OrbState, OrbInput], OrbTransition] = {
        (S.NEW, In.SPAWNED): T(S.STARTING, E.SPAWN),
        (S.NEW, In.RETURNED): T(S.JOINED),
        # The orb arrives. Before it joined, nobody holds its userId (a coach adopts an ai
        # already holding it instead of spawning: ``Orbs.adopt``), so ``replaced``,
        # ``heartbeat``, ``ai-orb-shutdown`` and ``left`` have no row in the states before it
        # joined: the core cannot produce them there, and the sweep drives every row it keeps.
        (S.STARTING, In.JOINED): T(S.JOINED),
        (S.STARTING_UNATTENDED, In.JOINED): T(S.UNATTENDED),
        (S.STOPPING_UNJOINED, In.JOINED): T(S.STOPPING),
        # Humans come and go; once stopping, that no longer matters.
        (S.STARTING, In.HUMANS_ALL_LEFT): T(S.STARTING_UNATTENDED, E.MARK_UNATTENDED),
        (S.STARTING_UNATTENDED, In.HUMAN_RETURNED): T(S.STARTING),
        (S.JOINED, In.HUMANS_ALL_LEFT): T(S.UNATTENDED, E.MARK_UNATTENDED),
        (S.UNATTENDED, In.HUMAN_RETURNED): T(S.JOINED),
        (S.STOPPING, In.HUMANS_ALL_LEFT): T(S.STOPPING),
        (S.STOPPING, In.HUMAN_RETURNED): T(S.STOPPING),
        (S.STOPPING_UNJOINED, In.HUMANS_ALL_LEFT): T(S.STOPPING_UNJOINED),
        (S.STOPPING_UNJOINED, In.HUMAN_RETURNED): T(S.STOPPING_UNJOINED),
        # The limits (which of them run in each state: ORB_TIMERS).
        (S.STARTING, In.JOIN_TIMEOUT): T(S.ENDED, E.GIVE_UP, "error"),
        (S.STARTING_UNATTENDED, In.JOIN_TIMEOUT): T(S.ENDED, E.GIVE_UP, "error"),
        (S.STARTING, In.MAX_LIFETIME): T(S.STOPPING_UNJOINED, E.REQUEST_STOP, "timeout"),
        (S.STARTING_UNATTENDED, In.MAX_LIFETIME):
            T(S.STOPPING_UNJOINED, E.REQUEST_STOP, "timeout"),
        (S.STARTING_UNATTENDED, In.IDLE_GRACE):
            T(S.STOPPING_UNJOINED, E.REQUEST_STOP, "session_complete"),
        (S.JOINED, In.MAX_LIFETIME): T(S.STOPPING, E.REQUEST_STOP, "timeout"),
        (S.UNATTENDED, In.MAX_LIFETIME): T(S.STOPPING, E.REQUEST_STOP, "timeout"),
        (S.UNATTENDED, In.IDLE_GRACE): T(S.STOPPING, E.REQUEST_STOP, "session_complete"),
        (S.STOPPING, In.STOP_TIMEOUT): T(S.ENDED, E.FORCE_OUT),
        (S.STOPPING_UNJOINED, In.STOP_TIMEOUT): T(S.ENDED, E.FORCE_OUT),
        # A coach ended the session: stop as a finished session does (summary, goodbye).
        # The coach is in the room, so the orb is never unattended then.
        (S.STARTING, In.SESSION_ENDED):
            T(S.STOPPING_UNJOINED, E.REQUEST_STOP, "session_complete"),
        (S.JOINED, In.SESSION_ENDED): T(S.STOPPING, E.REQUEST_STOP, "session_complete"),
        (S.STOPPING, In.SESSION_ENDED): T(S.STOPPING),
        (S.STOPPING_UNJOINED, In.SESSION_ENDED): T(S.STOPPING_UNJOINED),
    }
    for state in _IN_ROOM:
        rows[(state, In.REPLACED)] = T(state)  # the same orb on a new connection keeps its slot
    for state in _NOT_JOINED:
        rows[(state, In.HOST_ENDED)] = T(S.ENDED, E.FORGET)
    for state in _IN_ROOM:
        # Only a participant holding the orb's userId sends or causes these.
        rows[(state, In.HEARTBEAT)] = T(state)
        rows[(state, In.SHUTDOWN)] = T(S.ENDED, E.RELEASE)
        rows[(state, In.LEFT)] = T(S.ENDED, E.RELEASE)
    for state in _LIVE:
        rows[(state, In.SERVER_STOPPING)] = T(S.ENDED, E.ANNOUNCE_STOP, "server-shutdown")
    return rows


#: Every legal ``(state, input)`` and what follows. Anything else raises.
ORB_TRANSITIONS: Mapping[tuple[OrbState, OrbInput], OrbTransition] = _rows()

#: The deadlines running in each state, in the order they win when several have passed.
ORB_TIMERS: Mapping[OrbState, tuple[OrbInput, ...]] = {
    OrbState.STARTING: (OrbInput.JOIN_TIMEOUT, OrbInput.MAX_LIFETIME),
    OrbState.STARTING_UNATTENDED:
        (OrbInput.JOIN_TIMEOUT, OrbInput.MAX_LIFETIME, OrbInput.IDLE_GRACE),
    OrbState.JOINED: (OrbInput.MAX_LIFETIME,),
    OrbState.UNATTENDED: (OrbInput.MAX_LIFETIME, OrbInput.IDLE_GRACE),
    OrbState.STOPPING: (OrbInput.STOP_TIMEOUT,),
    OrbState.STOPPING_UNJOINED: (OrbInput.STOP_TIMEOUT,),
}

#: What each timer counts from: (the orb's time it starts at, the ``CoreConfig`` limit).
ORB_TIMER_CLOCKS: Mapping[OrbInput, tuple[str, str]] = {
    OrbInput.JOIN_TIMEOUT: ("spawned_at", "orb_join_timeout"),
    OrbInput.MAX_LIFETIME: ("spawned_at", "orb_max_lifetime"),
    OrbInput.IDLE_GRACE: ("humans_absent_since", "orb_idle_grace"),
    OrbInput.STOP_TIMEOUT: ("stop_requested_at", "orb_stop_timeout"),
}

#: The coarse state admin snapshots show.
SNAPSHOT_STATE: Mapping[OrbState, str] = {
    OrbState.NEW: "starting",
    OrbState.STARTING: "starting",
    OrbState.STARTING_UNATTENDED: "starting",
    OrbState.JOINED: "joined",
    OrbState.UNATTENDED: "joined",
    OrbState.STOPPING: "stopping",
    OrbState.STOPPING_UNJOINED: "stopping",
    OrbState.ENDED: "ended",
}


def orb_step(state: OrbState, event: OrbInput) -> OrbTransition:
    """The table's row for ``(state, event)``; :class:`OrbLifecycleError` if there is none."""
    try:
        return ORB_TRANSITIONS[(state, event)]
    except KeyError:
        raise OrbLifecycleError(state, event) from None


def orb_table_markdown() -> str:
    """The transition table as markdown; docs/protocol.md embeds it and a test keeps it equal."""
    lines = ["| state | input | next state | effect |", "|---|---|---|---|"]
    states, events = list(OrbState), list(OrbInput)
    rows = sorted(ORB_TRANSITIONS.items(),
                  key=lambda item: (states.index(item[0][0]), events.index(item[0][1])))
    for (state, event), row in rows:
        effect = "-" if row.effect is OrbEffect.NOTHING else row.effect.value
        if row.reason:
            effect += f" `{row.reason}`"
        lines.append(f"| {state.value} | {event.value} | {row.next_state.value} | {effect} |")
    return "\n".join(lines)

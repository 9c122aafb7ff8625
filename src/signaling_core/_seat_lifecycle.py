"""A seat's lifecycle as data: its states, its inputs, and one table of transitions.

A seat is a participant's place in a room, from its ``join`` until it departs. Like the orb's
(:mod:`._orb_lifecycle`), every legal move is a row of :data:`SEAT_TRANSITIONS`, keyed by
``(state, input)``; a pair missing from the table raises :class:`SeatLifecycleError` before
anything is changed. The core's departure, away and resume paths look the pair up with
:func:`seat_step` and carry out the row's :class:`SeatEffect`; ``Participant.away`` is written
only from the row's next state. docs/protocol.md prints the table (:func:`seat_table_markdown`).

The connection's side is the protocol's phase (``awaiting-join`` / ``joined``,
:class:`._rules.Phase`, with the permission table): a connection whose seat departed by
``leave`` or ``ai-orb-shutdown`` is awaiting a join again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ._model import Participant


class SeatState(enum.StrEnum):
    """Where one seat stands."""

    #: Bound to a live connection.
    PRESENT = "present"
    #: Its connection was lost; held for ``reconnect_grace`` for a ``join`` with its token.
    AWAY = "away"
    #: Departed: no input is accepted.
    GONE = "gone"


class SeatInput(enum.StrEnum):
    """What can happen to a seat."""

    #: A human's connection was lost without a decision to go (a reconnectable cause, a
    #: grace above zero).
    LOST = "connection-lost"
    #: A ``join`` with the seat's ``resumeToken``.
    RESUMED = "resumed"
    #: The seat departs: ``leave``, ``ai-orb-shutdown``, a clean close, a close by the core
    #: that is not reconnectable, ``end_session`` for the others.
    DEPARTED = "departed"
    #: A ``join`` under the same userId without the token takes its place (§6).
    REPLACED = "replaced"
    #: The reconnect grace ended with nobody back.
    GRACE_ENDED = "grace-ended"


class SeatEffect(enum.Enum):
    """What the core does when a transition fires (besides setting the next state)."""

    #: ``user-away`` to the others; the grace starts.
    ANNOUNCE_AWAY = "announce-away"
    #: The new connection gets a resumed ``peer-discovery``; the others ``user-back``.
    ANNOUNCE_BACK = "announce-back"
    #: As ANNOUNCE_BACK, after closing the connection that still held the seat (4001).
    TAKE_OVER = "take-over"
    #: ``user-left`` to the others and the departure's record; the room may end.
    ANNOUNCE_LEFT = "announce-left"
    #: ``user-left`` and the record; the join in progress seats the newcomer in the same room.
    SWAP = "swap"


class SeatTransition(NamedTuple):
    next_state: SeatState
    effect: SeatEffect


class SeatLifecycleError(Exception):
    """An input the table has no row for, in this state: a bug of the caller, never acted on."""

    def __init__(self, state: SeatState, event: SeatInput) -> None:
        super().__init__(f"seat lifecycle: no transition for {event.value!r} in state "
                         f"{state.value!r}")
        self.state = state
        self.event = event


_S, _In, _E, _T = SeatState, SeatInput, SeatEffect, SeatTransition

#: Every legal ``(state, input)`` and what follows. Anything else raises.
SEAT_TRANSITIONS: Mapping[tuple[SeatState, SeatInput], SeatTransition] = {
    (_S.PRESENT, _In.LOST): _T(_S.AWAY, _E.ANNOUNCE_AWAY),
    (_S.PRESENT, _In.RESUMED): _T(_S.PRESENT, _E.TAKE_OVER),
    (_S.PRESENT, _In.DEPARTED): _T(_S.GONE, _E.ANNOUNCE_LEFT),
    (_S.PRESENT, _In.REPLACED): _T(_S.GONE, _E.SWAP),
    (_S.AWAY, _In.RESUMED): _T(_S.PRESENT, _E.ANNOUNCE_BACK),
    # ``end_session`` ends an away seat at once.
    (_S.AWAY, _In.DEPARTED): _T(_S.GONE, _E.ANNOUNCE_LEFT),
    (_S.AWAY, _In.GRACE_ENDED): _T(_S.GONE, _E.ANNOUNCE_LEFT),
}


def seat_step(state: SeatState, event: SeatInput) -> SeatTransition:
    """The row for ``(state, event)``; raises :class:`SeatLifecycleError` when there is none."""
    row = SEAT_TRANSITIONS.get((state, event))
    if row is None:
        raise SeatLifecycleError(state, event)
    return row


def move_seat(participant: Participant, event: SeatInput) -> SeatEffect:
    """The one way a seat's state changes: the table's row (a missing pair raises before
    anything changed), its next state set; the caller carries out the effect."""
    row = seat_step(participant.seat, event)
    participant.seat = row.next_state
    participant.away = row.next_state is SeatState.AWAY
    return row.effect


def seat_table_markdown() -> str:
    """The transition table as markdown; docs/protocol.md embeds it and a test keeps it equal."""
    lines = ["| state | input | next state | effect |", "|---|---|---|---|"]
    states, events = list(SeatState), list(SeatInput)
    rows = sorted(SEAT_TRANSITIONS.items(),
                  key=lambda item: (states.index(item[0][0]), events.index(item[0][1])))
    for (state, event), row in rows:
        lines.append(f"| {state.value} | {event.value} | {row.next_state.value} | "
                     f"{row.effect.value} |")
    return "\n".join(lines)

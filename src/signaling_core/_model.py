"""The core's mutable state: connections, participants, rooms and orbs.

Plain slotted classes, private to the package. Only the core's modules change them
(:mod:`._core`, :mod:`._rooms`, :mod:`._orbs`); an orb's state changes only by a row of the
table in :mod:`._orb_lifecycle`.
"""

from __future__ import annotations

import math
from typing import Any

from ._commands import ParticipantRecord
from ._events import ConnectionId, Departure
from ._orb_lifecycle import OrbState
from ._rules import AI
from ._seat_lifecycle import SeatState
from .wire import DEFAULT_ORB_MODE, participant_fields


class Connection:
    """One open WebSocket for one room path, joined or not."""

    __slots__ = (
        "conn_id", "heap_deadline", "join_deadline", "last_refill", "last_seen", "participant",
        "room_id", "strikes", "tokens", "trusted",
    )

    def __init__(
        self, conn_id: ConnectionId, room_id: str, now: float, join_deadline: float,
        burst: int, trusted: bool,
    ) -> None:
        self.conn_id = conn_id
        self.trusted = trusted
        self.tokens = float(burst)
        self.last_refill = now
        self.strikes = 0
        self.room_id = room_id
        self.last_seen = now
        self.join_deadline = join_deadline
        self.heap_deadline = join_deadline
        self.participant: Participant | None = None


class Participant:
    """A joined participant (a *seat*); ``public`` is the four protocol fields, shared by every
    message.

    A seat whose connection was lost without a departure is ``away`` until ``away_until``: it
    stays in the room (its place, offer roles and the orb's count of humans are kept) and
    ``conn`` still names the lost connection. ``resume_token`` proves a later ``join`` is this
    seat coming back; ``epoch`` is the room's membership counter when the seat was taken, and
    ``away_epoch``/``peers_seen`` what the room held when it went away, so the resumed
    ``peer-discovery`` can say which peers are unchanged, new, or gone.
    """

    __slots__ = (
        "allowed", "away", "away_cause", "away_epoch", "away_until", "conn", "epoch", "is_ai",
        "joined_at", "last_ask", "participant_type", "peers_seen", "public", "resume_token", "room",
        "seat", "status", "user_id", "user_name", "user_role",
    )

    def __init__(
        self, conn: Connection, room: Room, user_id: str, user_name: str, user_role: str,
        participant_type: str, joined_at: float, allowed: frozenset[str],
        resume_token: str = "",
    ) -> None:
        self.conn = conn
        self.room = room
        self.resume_token = resume_token
        room.epoch += 1
        self.epoch = room.epoch
        #: The seat's lifecycle (:mod:`._seat_lifecycle`); ``away`` mirrors it for the hot
        #: path, both written only by ``_seat_lifecycle.move_seat``.
        self.seat = SeatState.PRESENT
        self.away = False
        self.away_cause = Departure.DROPPED
        self.away_until = 0.0
        self.away_epoch = 0
        self.peers_seen: dict[str, dict[str, str]] = {}
        #: The message types this participant may send (read on every message it sends).
        self.allowed = allowed
        self.user_id = user_id
        self.user_name = user_name
        self.user_role = user_role
        self.participant_type = participant_type
        self.is_ai = participant_type == AI
        self.joined_at = joined_at
        self.status: str | None = None
        #: When this seat last opened an addressed turn (``ai_ask``), for its rate limit.
        self.last_ask: float | None = None
        self.public: dict[str, str] = participant_fields(user_id, user_name, user_role,
                                                         participant_type)

    def record(self) -> ParticipantRecord:
        return ParticipantRecord(
            self.user_id, self.user_name, self.user_role, self.participant_type
        )


class Orb:
    """The orb the core decided to spawn for a room, from spawn until it leaves.

    ``state`` is the lifecycle (:mod:`._orb_lifecycle`); the times below belong to states:
    ``humans_absent_since`` to the unattended ones, ``stop_requested_at`` and ``stop_reason``
    to the stopping ones.
    """

    __slots__ = (
        "due", "humans_absent_since", "last_heartbeat", "metrics", "session_id", "spawn_id",
        "spawned_at", "state", "stop_reason", "stop_requested_at", "user_id",
    )

    def __init__(self, session_id: str, user_id: str, spawned_at: float, spawn_id: int) -> None:
        self.session_id = session_id
        self.spawn_id = spawn_id
        self.user_id = user_id
        self.spawned_at = spawned_at
        self.state = OrbState.NEW
        self.humans_absent_since = spawned_at
        self.stop_requested_at = spawned_at
        self.stop_reason = ""
        #: The first of its state's timers (inf: none runs); its entry in the core's heap.
        self.due = math.inf
        self.last_heartbeat: float | None = None
        self.metrics: dict[str, Any] = {}


class Room:
    """Participants in join order (dict order), the session they share, and the room's orb."""

    __slots__ = ("created_at", "ended_by", "epoch", "humans", "orb", "orb_may_return",
                 "orb_mode", "participants", "room_id", "session_id")

    def __init__(self, room_id: str, session_id: str, created_at: float,
                 orb_mode: str = DEFAULT_ORB_MODE) -> None:
        self.room_id = room_id
        self.session_id = session_id
        self.created_at = created_at
        self.participants: dict[str, Participant] = {}
        self.humans = 0
        #: Counts the seats ever taken in this room (see ``Participant.epoch``).
        self.epoch = 0
        self.orb: Orb | None = None
        #: The session's orb left without ending (its worker died or handed it back,
        #: ``CoreConfig.orbs_rejoin``): its host may bring it back, or report it ended.
        self.orb_may_return = False
        #: The coach who ended the session (``end_session``), once one has.
        self.ended_by: str | None = None
        #: Whom the orb talks to (``ai_mode``); kept by the room, so an orb that comes back
        #: on another worker learns it from its ``peer-discovery``.
        self.orb_mode = orb_mode

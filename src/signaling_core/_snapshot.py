"""A read-only picture of the core's state, for admin endpoints and tests.

Built from the live state on demand; holds copies, never references, so a caller can keep it
while the core moves on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ._model import Room
from ._orb_lifecycle import SNAPSHOT_STATE
from .wire import Field, HttpField


@attrs.frozen
class ParticipantSnapshot:
    user_id: str
    user_name: str
    user_role: str
    participant_type: str
    joined_at: float
    last_seen: float
    status: str | None
    #: Away: its connection was lost and its seat is kept for the reconnect grace.
    away: bool = False


@attrs.frozen
class OrbSnapshot:
    session_id: str
    user_id: str
    state: str  # "starting", "joined" or "stopping"
    spawned_at: float
    last_heartbeat: float | None
    metrics: dict[str, Any]


@attrs.frozen
class RoomSnapshot:
    room_id: str
    session_id: str
    created_at: float
    participants: tuple[ParticipantSnapshot, ...]
    orb: OrbSnapshot | None
    #: Whom the orb talks to in this room (``ai_mode``).
    orb_mode: str = "addressed"


@attrs.frozen
class CoreSnapshot:
    rooms: tuple[RoomSnapshot, ...]
    connections: int
    orbs: int

    @property
    def participants(self) -> int:
        return sum(len(room.participants) for room in self.rooms)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (field names as in the protocol where they exist)."""
        return {
            HttpField.CONNECTIONS: self.connections,
            HttpField.ORBS: self.orbs,
            HttpField.ROOMS: [
                {
                    Field.ROOM_ID: room.room_id,
                    Field.SESSION_ID: room.session_id,
                    HttpField.CREATED_AT: room.created_at,
                    Field.ORB_MODE: room.orb_mode,
                    HttpField.PARTICIPANTS: [
                        {
                            Field.USER_ID: p.user_id,
                            Field.USER_NAME: p.user_name,
                            Field.USER_ROLE: p.user_role,
                            Field.PARTICIPANT_TYPE: p.participant_type,
                            HttpField.JOINED_AT: p.joined_at,
                            HttpField.LAST_SEEN: p.last_seen,
                            Field.STATUS: p.status,
                            Field.AWAY: p.away,
                        }
                        for p in room.participants
                    ],
                    HttpField.ORB: None if room.orb is None else {
                        Field.SESSION_ID: room.orb.session_id,
                        Field.USER_ID: room.orb.user_id,
                        HttpField.STATE: room.orb.state,
                        HttpField.SPAWNED_AT: room.orb.spawned_at,
                        HttpField.LAST_HEARTBEAT: room.orb.last_heartbeat,
                        Field.METRICS: room.orb.metrics,
                    },
                }
                for room in self.rooms
            ],
        }


def snapshot_of(rooms: Iterable[Room], connections: int, orbs: int) -> CoreSnapshot:
    room_snaps = []
    for room in rooms:
        orb = room.orb
        orb_snap = None
        if orb is not None:
            orb_snap = OrbSnapshot(orb.session_id, orb.user_id, SNAPSHOT_STATE[orb.state],
                                   orb.spawned_at, orb.last_heartbeat, dict(orb.metrics))
        room_snaps.append(RoomSnapshot(
            room.room_id, room.session_id, room.created_at,
            tuple(
                ParticipantSnapshot(p.user_id, p.user_name, p.user_role, p.participant_type,
                                    p.joined_at, p.conn.last_seen, p.status, p.away)
                for p in room.participants.values()
            ),
            orb_snap,
            room.orb_mode,
        ))
    return CoreSnapshot(tuple(room_snaps), connections, orbs)

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
            "connections": self.connections,
            "orbs": self.orbs,
            "rooms": [
                {
                    "roomId": room.room_id,
                    "sessionId": room.session_id,
                    "createdAt": room.created_at,
                    "orbMode": room.orb_mode,
                    "participants": [
                        {
                            "userId": p.user_id,
                            "userName": p.user_name,
                            "userRole": p.user_role,
                            "participantType": p.participant_type,
                            "joinedAt": p.joined_at,
                            "lastSeen": p.last_seen,
                            "status": p.status,
                            "away": p.away,
                        }
                        for p in room.participants
                    ],
                    "orb": None if room.orb is None else {
                        "sessionId": room.orb.session_id,
                        "userId": room.orb.user_id,
                        "state": room.orb.state,
                        "spawnedAt": room.orb.spawned_at,
                        "lastHeartbeat": room.orb.last_heartbeat,
                        "metrics": room.orb.metrics,
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

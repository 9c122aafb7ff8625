"""The core's state and the room side of the protocol: relaying, departures, room deletion.

:class:`RoomBook` holds every connection, room and deadline of one core, and is the only place
a participant leaves a room (so the only place a ``user-left`` is made). :class:`SignalingCore`
(:mod:`._core`) is built on it, with the orb bookkeeping of :mod:`._orbs` in between.
"""

from __future__ import annotations

import heapq
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from . import _messages as messages
from ._commands import Close, Command, OrbStatusChanged, ParticipantLeft, Send, SessionEnded
from ._config import CoreConfig
from ._errors import ErrorCode, ProtocolError
from ._events import ConnectionId, Departure
from ._model import Connection, Orb, Participant, Room
from ._orb_lifecycle import OrbInput, OrbState
from ._rules import AI_STATUSES, ORB_SHUTDOWN_ENDINGS, JoinRequest, require_action
from ._snapshot import CoreSnapshot, snapshot_of

#: Departures that are an orb's own ``ai-orb-shutdown``.
_SHUTDOWN_DEPARTURES = frozenset(ORB_SHUTDOWN_ENDINGS.values())


def new_session_id() -> str:
    return secrets.token_hex(8)


class RoomBook:
    """Connections, rooms and deadlines of one server, and how participants leave rooms."""

    def __init__(
        self,
        config: CoreConfig | None = None,
        *,
        session_ids: Callable[[], str] = new_session_id,
        authorize_join: Callable[[str, JoinRequest], bool] | None = None,
    ) -> None:
        self.config = config or CoreConfig()
        self._new_session_id = session_ids
        self._authorize_join = authorize_join
        self._conns: dict[ConnectionId, Connection] = {}
        self._rooms: dict[str, Room] = {}
        self._deadlines: list[tuple[float, ConnectionId]] = []
        self._orb_count = 0
        #: Counts SpawnOrb commands, so each spawned orb has an id of its own.
        self._spawns = 0

    # ------------------------------------------------------------------ read side

    def snapshot(self) -> CoreSnapshot:
        """A read-only picture of rooms, participants and orbs for admin endpoints."""
        return snapshot_of(self._rooms.values(), len(self._conns), self._orb_count)

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    @property
    def room_count(self) -> int:
        return len(self._rooms)

    @property
    def orb_count(self) -> int:
        return self._orb_count

    def room_of(self, conn_id: ConnectionId) -> tuple[str, str | None] | None:
        """(room id, userId or None) of a connection, for the I/O layer's logs."""
        conn = self._conns.get(conn_id)
        if conn is None:
            return None
        return conn.room_id, conn.participant.user_id if conn.participant else None

    def orb_state(self, room_id: str) -> OrbState | None:
        """The lifecycle state of the orb of ``room_id`` (None: the room has no orb)."""
        room = self._rooms.get(room_id)
        return None if room is None or room.orb is None else room.orb.state

    # ------------------------------------------------------------------ hook for the orbs

    def _orb_input(self, room: Room, orb: Orb, event: OrbInput, now: float,
                   out: list[Command]) -> None:
        """Feed ``event`` to the orb's lifecycle (implemented by :class:`._orbs.OrbKeeper`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ relay

    @staticmethod
    def _encode_relay(msg: dict[str, Any], mtype: str) -> bytes:
        try:
            return orjson.dumps(msg)
        except orjson.JSONEncodeError:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, "message is nested too deeply", mtype
            ) from None

    def _relay(self, sender: Participant, msg: dict[str, Any], mtype: str,
               out: list[Command], skip_ai_pairs: bool = False) -> None:
        """Relay to ``toId`` or, without one, to everyone else; ``fromId`` is the sender."""
        room = sender.room
        to_id = msg.get("toId")
        msg["fromId"] = sender.user_id
        if to_id is not None:
            if type(to_id) is not str:
                raise ProtocolError(ErrorCode.INVALID_MESSAGE, "toId must be a string", mtype)
            target = room.participants.get(to_id)
            if target is None or target is sender:
                raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                    "no such participant in this room", mtype)
            if skip_ai_pairs and sender.is_ai and target.is_ai:
                raise ProtocolError(ErrorCode.FORBIDDEN,
                                    "ai participants do not connect to each other", mtype)
            out.append(Send(target.conn.conn_id, self._encode_relay(msg, mtype), mtype))
            return
        data: bytes | None = None
        for other in room.participants.values():
            if other is sender or (skip_ai_pairs and sender.is_ai and other.is_ai):
                continue
            if data is None:
                data = self._encode_relay(msg, mtype)
            out.append(Send(other.conn.conn_id, data, mtype))

    # ------------------------------------------------------------------ relayed messages

    def _on_ai_status(self, conn: Connection, msg: dict[str, Any], now: float,
                      out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        status = msg.get("status")
        if type(status) is not str or status not in AI_STATUSES:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE,
                                "status must be one of " + ", ".join(sorted(AI_STATUSES)),
                                "ai_status")
        msg.pop("toId", None)
        self._relay(sender, msg, "ai_status", out)
        sender.status = status
        room = sender.room
        out.append(OrbStatusChanged(room.session_id, room.room_id, sender.user_id, status, now))

    def _on_ai_control(self, conn: Connection, msg: dict[str, Any], now: float,
                       out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, "ai_control")
        msg.pop("toId", None)
        msg["fromId"] = sender.user_id
        data: bytes | None = None
        for other in sender.room.participants.values():
            if other.is_ai:
                if data is None:
                    data = self._encode_relay(msg, "ai_control")
                out.append(Send(other.conn.conn_id, data, "ai_control"))

    def _on_client_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, "client_signal")
        self._relay(sender, msg, "client_signal", out)

    # ------------------------------------------------------------------ departures

    def _rejoin_deadline(self, conn: Connection, now: float) -> None:
        """A connection that left its room may join again: it gets a fresh join deadline."""
        conn.join_deadline = now + self.config.join_timeout
        if conn.join_deadline < conn.heap_deadline:
            conn.heap_deadline = conn.join_deadline
            heapq.heappush(self._deadlines, (conn.join_deadline, conn.conn_id))

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side; it is gone from now on."""
        del self._conns[conn.conn_id]
        out.append(Close(conn.conn_id, code, reason))
        if conn.participant is not None:
            self._depart(conn.participant, ending, now, out, replaced)

    def _depart(self, participant: Participant, ending: Departure, now: float,
                out: list[Command], replaced: bool = False) -> None:
        """Remove a participant; the only place a ``user-left`` is produced.

        ``replaced``: a join under the same userId is taking its place (§6), in this same call.
        The room stays even if it held only this participant, and the orb's lifecycle hears of
        the swap from the join (``replaced``), not from this departure. A ``Departure.REPLACED``
        reported by the I/O layer is an ordinary departure.
        """
        participant.conn.participant = None
        room = participant.room
        del room.participants[participant.user_id]
        data: bytes | None = None
        for other in room.participants.values():
            if data is None:
                data = messages.user_left(participant.public)
            out.append(Send(other.conn.conn_id, data, "user-left"))
        out.append(ParticipantLeft(room.session_id, room.room_id, participant.user_id, now,
                                   ending))
        orb = room.orb
        if participant.is_ai:
            # A replaced orb is the same orb on a new connection: the join reports it.
            if orb is not None and orb.user_id == participant.user_id and not replaced:
                self._orb_input(room, orb, OrbInput.SHUTDOWN if ending in _SHUTDOWN_DEPARTURES
                                else OrbInput.LEFT, now, out)
        else:
            room.humans -= 1
            if room.humans == 0 and orb is not None:
                self._orb_input(room, orb, OrbInput.HUMANS_ALL_LEFT, now, out)
        if not replaced:
            self._maybe_delete_room(room, now, out)

    def _maybe_delete_room(self, room: Room, now: float, out: list[Command]) -> None:
        if not room.participants and room.orb is None:
            del self._rooms[room.room_id]
            out.append(SessionEnded(room.session_id, room.room_id, now))

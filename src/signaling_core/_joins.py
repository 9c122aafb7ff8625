"""The ``join``: who may take a seat in a room, and what everyone is told when one does.

Admission (join tokens, the orb's reserved userIds, resume tokens, replacement, room and
server caps) decides first and raises the protocol's error for any rule broken; seating then
creates the room if needed, answers the joiner with ``peer-discovery`` (each peer with who
offers to whom) and tells the others with ``user-joined``; a joining orb or coach moves the
orb's lifecycle on.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, Literal, Protocol

from . import _messages as messages
from . import wire
from ._commands import Command, ParticipantJoined, Send, SessionStarted
from ._config import CoreConfig
from ._errors import CloseCode, ErrorCode, ProtocolError
from ._events import Departure
from ._model import Connection, Participant, Room
from ._orb_lifecycle import OrbInput
from ._orbs import Orbs
from ._rules import (
    AI,
    COACH,
    ORB_USER_PREFIX,
    JoinRequest,
    joined_ok,
    orb_user_id,
    parse_join,
    should_create_offer,
)
from ._seats import Seats
from .wire import MessageType


def new_session_id() -> str:
    """A session's id (and so its orb's userId): random unless the core is given a maker."""
    return secrets.token_hex(8)


def _offers(a: Participant, b: Participant) -> bool:
    return should_create_offer(
        a.user_id, a.user_role, a.is_ai, b.user_id, b.user_role, b.is_ai
    )


class JoinSide(Protocol):
    """What a join needs from the core's connection table, and nothing more."""

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side (a refused or replaced one)."""


class Joins:
    """Handles ``join``: a component the core owns. It reads and fills the rooms (``rooms``,
    shared), tells the orbs (``orbs``) of joiners, gives seats back and issues their tokens
    through ``seats``, and closes connections only through :class:`JoinSide`."""

    def __init__(self, config: CoreConfig, rooms: dict[str, Room], orbs: Orbs, seats: Seats,
                 side: JoinSide, *, session_ids: Callable[[], str],
                 authorize_join: Callable[[str, JoinRequest], bool] | None) -> None:
        self.config = config
        self._rooms = rooms
        self._orbs = orbs
        self._seats = seats
        self._side = side
        self._new_session_id = session_ids
        self._authorize_join = authorize_join

    def on_join(self, conn: Connection, msg: dict[str, Any], now: float,
                out: list[Command]) -> None:
        request = parse_join(msg, conn.room_id)
        admitted = self._admit(conn, request, now, out)
        if admitted is not False:
            self._seat(conn, request, admitted, now, out)

    def _admit(self, conn: Connection, request: JoinRequest, now: float,
               out: list[Command]) -> Participant | Literal[False] | None:
        """Whether the join may take a seat: ``False`` when it was answered here already (a
        refusal, a resume); else the participant it replaces (its old connection dropped)
        or None. A rule it breaks raises the protocol's error."""
        if (self._authorize_join is not None and not conn.trusted
                and not self._authorize_join(conn.room_id, request)):
            # Refused before any room lookup, so nothing about the room is revealed.
            out.append(messages.error_send(
                conn.conn_id, ErrorCode.UNAUTHORIZED, "missing or invalid join token",
                MessageType.JOIN))
            self._side._drop(conn, CloseCode.UNAUTHORIZED, "unauthorized",
                             Departure.PROTOCOL_VIOLATION, now, out)
            return False
        if request.user_id.startswith(ORB_USER_PREFIX) and request.participant_type != AI:
            raise ProtocolError(ErrorCode.FORBIDDEN,
                                f"userIds starting with {ORB_USER_PREFIX!r} are for ai "
                                "participants",
                                MessageType.JOIN)
        room = self._rooms.get(conn.room_id)
        if self.config.orbs_rejoin and request.user_id.startswith(ORB_USER_PREFIX) and (
                room is None or request.user_id != orb_user_id(room.session_id)):
            # An orb of a session that is over (or of no session here) never joins late.
            raise ProtocolError(ErrorCode.FORBIDDEN,
                                "no orb of that session is expected in this room",
                                MessageType.JOIN)
        if self.config.orbs_rejoin and room is not None and room.orb is None \
                and request.user_id.startswith(ORB_USER_PREFIX) \
                and self._orbs.count >= self.config.max_orbs:
            raise ProtocolError(ErrorCode.ORB_UNAVAILABLE,
                                "the server runs as many orbs as it may", MessageType.JOIN)
        existing = room.participants.get(request.user_id) if room is not None else None
        if existing is not None:
            if request.resume_token is not None:
                if not hmac.compare_digest(request.resume_token.encode(),
                                           existing.resume_token.encode()):
                    raise ProtocolError(ErrorCode.RESUME_REFUSED,
                                        "this resumeToken is not this seat's", MessageType.JOIN)
                self._seats.resume(conn, existing, now, out)
                return False
            if existing.away:
                raise ProtocolError(
                    ErrorCode.RESUME_REFUSED,
                    "this userId's seat is held for its participant, who is reconnecting: "
                    "join with its resumeToken, or after the grace", MessageType.JOIN)
            if not self.config.replace_on_rejoin:
                raise ProtocolError(
                    ErrorCode.DUPLICATE_USER, "this userId is already in the room", MessageType.JOIN
                )
            # §6: the newer connection wins; the old one is closed and departs first.
            # The room (and its session) outlives the swap even if it held only this user.
            self._side._drop(existing.conn, CloseCode.REPLACED, "replaced", Departure.REPLACED,
                             now, out, replaced=True)
        elif room is not None and len(room.participants) >= self.config.max_participants:
            raise ProtocolError(ErrorCode.ROOM_FULL, "the room is full", MessageType.JOIN)
        return existing

    def _seat(self, conn: Connection, request: JoinRequest, existing: Participant | None,
              now: float, out: list[Command]) -> None:
        """Seat an admitted joiner: peer-discovery to it, user-joined to the others."""
        room = self._rooms.get(conn.room_id)
        if room is None:
            if len(self._rooms) >= self.config.max_rooms:
                raise ProtocolError(ErrorCode.ROOM_FULL,
                                    "the server is full: no new room can be opened now",
                                    MessageType.JOIN)
            room = Room(conn.room_id, self._new_session_id(), now, self.config.orb_mode)
            self._rooms[conn.room_id] = room
            out.append(SessionStarted(room.session_id, room.room_id, now))

        joiner = Participant(conn, room, request.user_id, request.user_name, request.user_role,
                             request.participant_type, now,
                             joined_ok(request.participant_type, request.user_role),
                             self._seats.new_resume_token(room.room_id, request.user_id))
        others = list(room.participants.values())
        peers = [wire.discovered_peer(other.public, _offers(joiner, other), away=other.away)
                 for other in others]
        conn.participant = joiner
        room.participants[joiner.user_id] = joiner
        out.append(Send(conn.conn_id, wire.peer_discovery(room.room_id, peers,
                                                              joiner.resume_token,
                                                              orb_mode=room.orb_mode),
                        MessageType.PEER_DISCOVERY))
        encoded: dict[bool, bytes] = {}
        for other in others:
            if other.away:
                continue
            offer = _offers(other, joiner)
            data = encoded.get(offer)
            if data is None:
                data = encoded[offer] = wire.user_joined(joiner.public, offer)
            out.append(Send(other.conn.conn_id, data, MessageType.USER_JOINED))
        out.append(ParticipantJoined(room.session_id, room.room_id, joiner.record(), now))

        orb = room.orb
        if joiner.is_ai:
            if orb is not None and orb.user_id == joiner.user_id:
                self._orbs.joined(room, orb, existing is not None, now, out)
            elif orb is None and self.config.orbs_rejoin \
                    and joiner.user_id == orb_user_id(room.session_id):
                self._orbs.returned(room, now, out)
        else:
            room.humans += 1
            if orb is not None:
                if room.humans == 1:
                    self._orbs.input(room, orb, OrbInput.HUMAN_RETURNED, now, out)
            elif self.config.orbs_enabled and joiner.user_role == COACH:
                if orb_user_id(room.session_id) in room.participants:
                    # An ai already holds the orb's userId (the orb left and came back, or
                    # one given up joined late): it becomes the room's orb, as a returning
                    # orb does; a second orb under the same userId would replace it.
                    self._orbs.adopt(room, joiner, now, out)
                else:
                    self._orbs.spawn(room, joiner, now, out)


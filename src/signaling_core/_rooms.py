"""The rooms of one core: who sits in each, what passes between them, and how seats leave.

:class:`Rooms` is the component of :class:`~._core.SignalingCore` that owns the room table.
It is the only place a participant leaves a room (so the only place a ``user-left`` is made)
and it holds the relay path: a valid targeted ``offer``/``answer``/``ice-candidate`` is parsed
once (by the core) and encoded once (here). It tells the orbs (:class:`._orbs.Orbs`) of the
departures that concern them; the core, the seats and the session's controls call it.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._commands import Command, OrbStatusChanged, ParticipantLeft, Send, SessionEnded
from ._config import CoreConfig
from ._errors import ErrorCode, ProtocolError
from ._events import Departure
from ._model import Connection, Participant, Room
from ._orb_lifecycle import OrbInput
from ._orbs import Orbs
from ._rules import ORB_SHUTDOWN_ENDINGS, SIGNAL_PAYLOAD_FIELD
from ._seat_lifecycle import SeatInput, move_seat
from .wire import (
    ENDED_BY_COACH,
    Field,
    MessageType,
    require_action,
    require_status,
    user_left,
)

#: Departures that are an orb's own ``ai-orb-shutdown``.
_SHUTDOWN_DEPARTURES = frozenset(ORB_SHUTDOWN_ENDINGS.values())
_TYPE, _TO_ID, _FROM_ID = Field.TYPE, Field.TO_ID, Field.FROM_ID
_dumps = orjson.dumps
_JSONEncodeError = orjson.JSONEncodeError


class Rooms:
    """The rooms by id (``by_id``, shared with the orbs and the joins, which seat into it),
    the relayed messages, and departures.

    A room exists while it has participants or an orb on its way, and not a moment longer.
    """

    def __init__(self, config: CoreConfig, by_id: dict[str, Room], orbs: Orbs) -> None:
        self.config = config
        self.by_id = by_id
        self._orbs = orbs

    # ------------------------------------------------------------------ relay

    @staticmethod
    def encode_relay(msg: dict[str, Any], mtype: str) -> bytes:
        """A relayed message's bytes; orjson's refusal (too deeply nested) is the protocol's
        ``invalid-message``."""
        try:
            return _dumps(msg)
        except _JSONEncodeError:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, "message is nested too deeply", mtype
            ) from None

    def relay(self, sender: Participant, msg: dict[str, Any], mtype: str,
              out: list[Command], skip_ai_pairs: bool = False) -> None:
        """Relay to ``toId`` or, without one, to everyone else; ``fromId`` is the sender."""
        room = sender.room
        to_id = msg.get(_TO_ID)
        msg[_FROM_ID] = sender.user_id
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
            if target.away:
                raise ProtocolError(ErrorCode.PEER_AWAY,
                                    "that participant is away; the message was dropped", mtype)
            out.append(Send(target.conn.conn_id, self.encode_relay(msg, mtype), mtype))
            return
        data: bytes | None = None
        for other in room.participants.values():
            if other is sender or other.away or (skip_ai_pairs and sender.is_ai and other.is_ai):
                continue
            if data is None:
                data = self.encode_relay(msg, mtype)
            out.append(Send(other.conn.conn_id, data, mtype))

    # ------------------------------------------------------------------ relayed messages

    def on_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
        """``offer``, ``answer``, ``ice-candidate``: the relay's hot path."""
        sender = conn.participant
        assert sender is not None
        mtype: str = msg[_TYPE]
        if SIGNAL_PAYLOAD_FIELD[mtype] not in msg:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE,
                                f"{mtype} needs a '{SIGNAL_PAYLOAD_FIELD[mtype]}' field", mtype)
        to_id = msg.get(_TO_ID)
        if type(to_id) is str:
            # The hot path (a valid targeted relay) in one piece; anything unusual, errors
            # included, goes through the general ``relay``.
            target = sender.room.participants.get(to_id)
            if target is not None and target is not sender and not target.away and not (
                    sender.is_ai and target.is_ai):
                msg[_FROM_ID] = sender.user_id
                try:
                    data = _dumps(msg)
                except _JSONEncodeError:
                    data = self.encode_relay(msg, mtype)  # raises the protocol's error
                out.append(Send(target.conn.conn_id, data, mtype))
                return
        self.relay(sender, msg, mtype, out, skip_ai_pairs=True)

    def on_ai_status(self, conn: Connection, msg: dict[str, Any], now: float,
                     out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        status = require_status(msg)
        msg.pop(_TO_ID, None)
        msg[Field.MODE] = sender.room.orb_mode  # the room's word on the mode, not the orb's
        self.relay(sender, msg, MessageType.AI_STATUS, out)
        sender.status = status
        room = sender.room
        out.append(OrbStatusChanged(room.session_id, room.room_id, sender.user_id, status, now))

    def on_ai_control(self, conn: Connection, msg: dict[str, Any], now: float,
                      out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, MessageType.AI_CONTROL)
        msg.pop(_TO_ID, None)
        msg[_FROM_ID] = sender.user_id
        data: bytes | None = None
        for other in sender.room.participants.values():
            if other.is_ai:
                if data is None:
                    data = self.encode_relay(msg, MessageType.AI_CONTROL)
                out.append(Send(other.conn.conn_id, data, MessageType.AI_CONTROL))

    def on_client_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                         out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, MessageType.CLIENT_SIGNAL)
        self.relay(sender, msg, MessageType.CLIENT_SIGNAL, out)

    # ------------------------------------------------------------------ departures

    def depart(self, participant: Participant, ending: Departure, now: float,
               out: list[Command], replaced: bool = False,
               event: SeatInput = SeatInput.DEPARTED) -> None:
        """Remove a participant; the only place a ``user-left`` is produced.

        ``replaced``: a join under the same userId is taking its place (§6), in this same call.
        The room stays even if it held only this participant, and the orb's lifecycle hears of
        the swap from the join (``replaced``), not from this departure. A ``Departure.REPLACED``
        reported by the I/O layer is an ordinary departure.
        """
        move_seat(participant, SeatInput.REPLACED if replaced else event)
        participant.conn.participant = None
        room = participant.room
        del room.participants[participant.user_id]
        data: bytes | None = None
        for other in room.participants.values():
            if other.away:
                continue
            if data is None:
                data = user_left(participant.public)
            out.append(Send(other.conn.conn_id, data, MessageType.USER_LEFT))
        out.append(ParticipantLeft(room.session_id, room.room_id, participant.user_id, now,
                                   ending))
        orb = room.orb
        if participant.is_ai:
            # A replaced orb is the same orb on a new connection: the join reports it.
            if orb is not None and orb.user_id == participant.user_id and not replaced:
                self._orbs.input(room, orb, OrbInput.SHUTDOWN if ending in _SHUTDOWN_DEPARTURES
                                 else OrbInput.LEFT, now, out)
        else:
            room.humans -= 1
            if room.humans == 0 and orb is not None:
                self._orbs.input(room, orb, OrbInput.HUMANS_ALL_LEFT, now, out)
        if not replaced:
            self.delete_if_empty(room, now, out)

    def delete_if_empty(self, room: Room, now: float, out: list[Command]) -> None:
        """Delete the room if nothing keeps it (no participants, no orb on its way): its
        session ends."""
        if not room.participants and room.orb is None:
            del self.by_id[room.room_id]
            out.append(SessionEnded(room.session_id, room.room_id, now,
                                    None if room.ended_by is None else ENDED_BY_COACH))

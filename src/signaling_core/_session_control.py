"""The messages that steer a room's session rather than pass through it.

``leave``, ``ai-orb-shutdown``, ``ai_mode``, ``ai_ask`` and ``end_session``: each changes who
is in the call or how the orb behaves. :class:`SessionControl` is a component of
:class:`~._core.SignalingCore`; it uses the rooms (:class:`._rooms.Rooms`) for departures, the
orbs for their lifecycle, and the rest of the core only through :class:`ControlSide`.
"""

from __future__ import annotations

from typing import Any, Protocol

from . import wire
from ._commands import Command, OrbModeChanged, Send
from ._config import CoreConfig
from ._errors import CloseCode, ErrorCode, ProtocolError
from ._events import Departure
from ._model import Connection
from ._orb_lifecycle import OrbInput
from ._orbs import Orbs
from ._rooms import Rooms
from ._rules import ORB_SHUTDOWN_ENDINGS, ORB_SHUTDOWN_REASONS
from .wire import (
    ENDED_BY_COACH,
    ORB_MODE_LISTEN,
    MessageType,
    require_mode,
    require_shutdown_reason,
)


class ControlSide(Protocol):
    """What the session's controls need from the core's connection table, and nothing more."""

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side; its seat departs or goes away."""

    def _rejoin_deadline(self, conn: Connection, now: float) -> None:
        """A connection that left its room may join again before a fresh join deadline."""


class SessionControl:
    """Handlers of the session-steering messages (the permission table has let them in)."""

    def __init__(self, config: CoreConfig, rooms: Rooms, orbs: Orbs, side: ControlSide) -> None:
        self.config = config
        self._rooms = rooms
        self._orbs = orbs
        self._side = side

    def on_leave(self, conn: Connection, msg: dict[str, Any], now: float,
                 out: list[Command]) -> None:
        assert conn.participant is not None
        self._rooms.depart(conn.participant, Departure.LEAVE, now, out)
        self._side._rejoin_deadline(conn, now)

    def on_orb_shutdown(self, conn: Connection, msg: dict[str, Any], now: float,
                        out: list[Command]) -> None:
        """``ai-orb-shutdown``: the sender leaves (the departure tells the orb's lifecycle
        when the sender is the room's orb)."""
        sender = conn.participant
        assert sender is not None
        reason = require_shutdown_reason(msg, ORB_SHUTDOWN_REASONS)
        self._rooms.depart(sender, ORB_SHUTDOWN_ENDINGS[reason], now, out)
        self._side._rejoin_deadline(conn, now)

    def on_ai_mode(self, conn: Connection, msg: dict[str, Any], now: float,
                   out: list[Command]) -> None:
        """A coach sets whom the orb talks to (the rules let only a coach get here).

        The room keeps the mode (a new or returning orb reads it in its ``peer-discovery``);
        everyone, the coach and the orb included, gets ``ai-mode``; the ledger records it.
        """
        coach = conn.participant
        assert coach is not None
        mode = require_mode(msg)
        room = coach.room
        room.orb_mode = mode
        data = wire.ai_mode(mode, coach.user_id)
        for other in room.participants.values():
            if not other.away:
                out.append(Send(other.conn.conn_id, data, MessageType.AI_MODE_CHANGED))
        out.append(OrbModeChanged(room.session_id, room.room_id, mode, coach.user_id, now))

    def on_ai_ask(self, conn: Connection, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
        """A human opens an addressed turn ("Ask the orb"): relayed to the orb only.

        Refused while the orb only listens (``orb-listening``), when the room has no orb
        (``orb-unavailable``) and more often than once per ``ask_interval`` per seat
        (``rate-limited``), so a held button cannot make the orb talk on and on.
        """
        asker = conn.participant
        assert asker is not None
        room = asker.room
        if room.orb_mode == ORB_MODE_LISTEN:
            raise ProtocolError(ErrorCode.ORB_LISTENING,
                                "the orb only listens in this call", MessageType.AI_ASK)
        orbs = [p for p in room.participants.values() if p.is_ai and not p.away]
        if not orbs:
            raise ProtocolError(ErrorCode.ORB_UNAVAILABLE, "no orb in this call",
                                MessageType.AI_ASK)
        if asker.last_ask is not None and now - asker.last_ask < self.config.ask_interval:
            raise ProtocolError(ErrorCode.RATE_LIMITED,
                                "asked the orb too recently; wait a moment", MessageType.AI_ASK)
        asker.last_ask = now
        data = wire.ai_ask_relayed(asker.user_id, asker.user_role)
        for orb in orbs:
            out.append(Send(orb.conn.conn_id, data, MessageType.AI_ASK))

    def on_end_session(self, conn: Connection, msg: dict[str, Any], now: float,
                       out: list[Command]) -> None:
        """A coach ends the call for everyone (the rules let only a coach get here).

        Every other human gets ``session-ended`` and is closed with 4010 (its page does not
        reconnect) and departs; an away one departs at once. The coach stays, so that the
        orb's last summary reaches it; the room's orb is asked to stop (it writes that
        summary on its way out). The session ends when the coach leaves, recorded as
        ``ended-by-coach``.
        """
        coach = conn.participant
        assert coach is not None
        room = coach.room
        room.ended_by = coach.user_id
        data = wire.session_ended(ENDED_BY_COACH, coach.user_id)
        others = [p for p in room.participants.values() if p is not coach and not p.is_ai]
        # Everyone hears that it ended before hearing of anyone's departure.
        for other in (coach, *others):
            if not other.away:
                out.append(Send(other.conn.conn_id, data, MessageType.SESSION_ENDED))
        for other in others:
            if other.away:
                self._rooms.depart(other, Departure.SESSION_ENDED, now, out)
                continue
            self._side._drop(other.conn, CloseCode.SESSION_ENDED, "session ended",
                             Departure.SESSION_ENDED, now, out)
        if room.orb is not None:
            self._orbs.input(room, room.orb, OrbInput.SESSION_ENDED, now, out)

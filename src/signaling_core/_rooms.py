"""The core's state and the room side of the protocol: relaying, departures, room deletion.

:class:`RoomBook` holds every connection, room and deadline of one core, and is the only place
a participant leaves a room (so the only place a ``user-left`` is made). :class:`SignalingCore`
(:mod:`._core`) is built on it. The orbs (:class:`._orbs.Orbs`) and the joins
(:class:`._joins.Joins`) are components it owns, fed through ``self._orbs`` and
``self._joins``; they act back on it only through their narrow protocols
(:class:`._orbs.RoomSide`, :class:`._joins.SeatSide`).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import math
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from . import wire
from ._commands import (
    Close,
    Command,
    OrbModeChanged,
    OrbStatusChanged,
    ParticipantLeft,
    Send,
    SessionEnded,
)
from ._config import CoreConfig
from ._errors import CloseCode, ErrorCode, ProtocolError
from ._events import RECONNECTABLE, ConnectionId, Departure
from ._joins import Joins
from ._model import Connection, Participant, Room
from ._orb_lifecycle import OrbInput, OrbState
from ._orbs import Orbs
from ._rules import (
    ORB_SHUTDOWN_ENDINGS,
    ORB_SHUTDOWN_REASONS,
    JoinRequest,
    should_create_offer,
)
from ._seat_lifecycle import SeatEffect, SeatInput, SeatState, seat_step
from ._snapshot import CoreSnapshot, snapshot_of
from .wire import (
    ENDED_BY_COACH,
    ORB_MODE_LISTEN,
    PEER_JOINED,
    PEER_UNCHANGED,
    Field,
    MessageType,
    require_action,
    require_mode,
    require_shutdown_reason,
    require_status,
)

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
        resume_secret: bytes | None = None,
    ) -> None:
        self.config = config or CoreConfig()
        #: Keys the resume tokens; random per core unless given, so a token never outlives
        #: the server that issued it (after a restart, a join is a fresh join: a reunion).
        self._resume_key = resume_secret or secrets.token_bytes(32)
        #: Counts the seats this core has issued a resume token for; part of each token.
        self._seats = 0
        #: Away seats by the end of their grace: (away_until, tie-breaker, seat); stale entries
        #: (the seat came back or left) are skipped when popped.
        self._away: list[tuple[float, int, Participant]] = []
        self._conns: dict[ConnectionId, Connection] = {}
        self._rooms: dict[str, Room] = {}
        self._deadlines: list[tuple[float, ConnectionId]] = []
        #: The deadline :meth:`next_deadline` last told (inf: none), and whether one earlier
        #: than it has been set since: the I/O layer reads ``next_deadline()`` again then.
        self._told = math.inf
        self.deadline_changed = False
        #: The orbs: a component of its own, told of rooms' events through narrow calls.
        self._orbs = Orbs(self.config, self._rooms, self)
        #: The joins: a component too, seating into the rooms and telling the orbs.
        self._joins = Joins(self.config, self._rooms, self._orbs, self,
                            session_ids=session_ids, authorize_join=authorize_join)

    # ------------------------------------------------------------------ read side

    def snapshot(self) -> CoreSnapshot:
        """A read-only picture of rooms, participants and orbs for admin endpoints."""
        return snapshot_of(self._rooms.values(), len(self._conns), self._orbs.count)

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    @property
    def room_count(self) -> int:
        return len(self._rooms)

    @property
    def orb_count(self) -> int:
        return self._orbs.count

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
        to_id = msg.get(Field.TO_ID)
        msg[Field.FROM_ID] = sender.user_id
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
            out.append(Send(target.conn.conn_id, self._encode_relay(msg, mtype), mtype))
            return
        data: bytes | None = None
        for other in room.participants.values():
            if other is sender or other.away or (skip_ai_pairs and sender.is_ai and other.is_ai):
                continue
            if data is None:
                data = self._encode_relay(msg, mtype)
            out.append(Send(other.conn.conn_id, data, mtype))

    # ------------------------------------------------------------------ relayed messages

    def _on_ai_status(self, conn: Connection, msg: dict[str, Any], now: float,
                      out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        status = require_status(msg)
        msg.pop(Field.TO_ID, None)
        msg[Field.MODE] = sender.room.orb_mode  # the room's word on the mode, not the orb's
        self._relay(sender, msg, MessageType.AI_STATUS, out)
        sender.status = status
        room = sender.room
        out.append(OrbStatusChanged(room.session_id, room.room_id, sender.user_id, status, now))

    def _on_ai_control(self, conn: Connection, msg: dict[str, Any], now: float,
                       out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, MessageType.AI_CONTROL)
        msg.pop(Field.TO_ID, None)
        msg[Field.FROM_ID] = sender.user_id
        data: bytes | None = None
        for other in sender.room.participants.values():
            if other.is_ai:
                if data is None:
                    data = self._encode_relay(msg, MessageType.AI_CONTROL)
                out.append(Send(other.conn.conn_id, data, MessageType.AI_CONTROL))

    def _on_ai_mode(self, conn: Connection, msg: dict[str, Any], now: float,
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

    def _on_ai_ask(self, conn: Connection, msg: dict[str, Any], now: float,
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

    def _on_client_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, MessageType.CLIENT_SIGNAL)
        self._relay(sender, msg, MessageType.CLIENT_SIGNAL, out)

    def _on_end_session(self, conn: Connection, msg: dict[str, Any], now: float,
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
                self._depart(other, Departure.SESSION_ENDED, now, out)
                continue
            self._drop(other.conn, CloseCode.SESSION_ENDED, "session ended",
                       Departure.SESSION_ENDED, now, out)
        if room.orb is not None:
            self._orbs.input(room, room.orb, OrbInput.SESSION_ENDED, now, out)

    def _on_orb_shutdown(self, conn: Connection, msg: dict[str, Any], now: float,
                         out: list[Command]) -> None:
        """``ai-orb-shutdown``: the sender leaves (the departure tells the orb's lifecycle
        when the sender is the room's orb)."""
        sender = conn.participant
        assert sender is not None
        reason = require_shutdown_reason(msg, ORB_SHUTDOWN_REASONS)
        self._depart(sender, ORB_SHUTDOWN_ENDINGS[reason], now, out)
        self._rejoin_deadline(conn, now)

    # ------------------------------------------------------------------ departures

    def _rejoin_deadline(self, conn: Connection, now: float) -> None:
        """A connection that left its room may join again: it gets a fresh join deadline."""
        conn.join_deadline = now + self.config.join_timeout
        if conn.join_deadline < conn.heap_deadline:
            conn.heap_deadline = conn.join_deadline
            heapq.heappush(self._deadlines, (conn.join_deadline, conn.conn_id))
            self._deadline_set(conn.join_deadline)

    def _deadline_set(self, when: float) -> None:
        """A deadline was set: if it comes before the one last told, say so."""
        if when < self._told:
            self.deadline_changed = True

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side; it is gone from now on."""
        del self._conns[conn.conn_id]
        out.append(Close(conn.conn_id, code, reason))
        if conn.participant is not None:
            if replaced:
                self._depart(conn.participant, ending, now, out, replaced)
            else:
                self._lose(conn.participant, ending, now, out)

    # ------------------------------------------------------------------ away seats

    def _new_resume_token(self, room_id: str, user_id: str) -> str:
        """``v1.<seat>.<mac>``: a keyed BLAKE2b over (room, user, seat), so only this core can
        have issued it and it names one seat of one user in one room."""
        self._seats += 1
        seat = format(self._seats, "x")
        mac = hashlib.blake2b(f"{room_id}\0{user_id}\0{seat}".encode(),
                              key=self._resume_key, digest_size=15).digest()
        return f"v1.{seat}.{base64.urlsafe_b64encode(mac).decode()}"

    def _lose(self, participant: Participant, cause: Departure, now: float,
              out: list[Command]) -> None:
        """The participant's connection is gone: away for the grace when it may come back (a
        human, lost without a decision to go), a departure otherwise."""
        grace = self.config.reconnect_grace
        if grace > 0 and cause in RECONNECTABLE and not participant.is_ai:
            self._go_away(participant, cause, now + grace, out)
        else:
            self._depart(participant, cause, now, out)

    @staticmethod
    def _seat_input(participant: Participant, event: SeatInput) -> SeatEffect:
        """The one way a seat's state changes: the table's row (a missing pair raises before
        anything changed), its next state set; the caller carries out the effect."""
        row = seat_step(participant.seat, event)
        participant.seat = row.next_state
        participant.away = row.next_state is SeatState.AWAY
        return row.effect

    def _go_away(self, participant: Participant, cause: Departure, until: float,
                 out: list[Command]) -> None:
        self._seat_input(participant, SeatInput.LOST)
        participant.conn.participant = None
        participant.away_cause = cause
        participant.away_until = until
        room = participant.room
        participant.away_epoch = room.epoch
        participant.peers_seen = {uid: other.public for uid, other in room.participants.items()
                                  if other is not participant}
        self._seats += 1
        heapq.heappush(self._away, (until, self._seats, participant))
        self._deadline_set(until)
        data: bytes | None = None
        for other in room.participants.values():
            if other is participant or other.away:
                continue
            if data is None:
                data = wire.user_away(participant.public)
            out.append(Send(other.conn.conn_id, data, MessageType.USER_AWAY))

    def _resume(self, conn: Connection, seat: Participant, now: float,
                out: list[Command]) -> None:
        """``conn`` takes ``seat`` back: no departure, no arrival, the same place and roles.

        A seat still bound to a connection (its loss not noticed yet) is taken from that
        connection, closed with 4001. The returning participant's ``peer-discovery`` says, per
        peer, ``unchanged`` (the seat it knew) or ``joined`` (taken since it went away), and
        lists in ``left`` the peers it knew that are gone; the others get ``user-back``.
        """
        room = seat.room
        if self._seat_input(seat, SeatInput.RESUMED) is SeatEffect.ANNOUNCE_BACK:
            since, seen = seat.away_epoch, seat.peers_seen
        else:  # TAKE_OVER: the connection that still holds the seat is closed first
            old = seat.conn
            del self._conns[old.conn_id]
            old.participant = None
            out.append(Close(old.conn_id, CloseCode.REPLACED, "replaced"))
            since, seen = room.epoch, {}
        seat.peers_seen = {}
        seat.conn = conn
        conn.participant = seat
        peers = [
            wire.discovered_peer(
                other.public,
                should_create_offer(seat.user_id, seat.user_role, seat.is_ai, other.user_id,
                                    other.user_role, other.is_ai),
                away=other.away,
                resumed_status=PEER_JOINED if other.epoch > since else PEER_UNCHANGED)
            for other in room.participants.values() if other is not seat]
        left = [public for uid, public in seen.items() if uid not in room.participants]
        out.append(Send(conn.conn_id, wire.peer_discovery(room.room_id, peers,
                                                          seat.resume_token, left,
                                                          orb_mode=room.orb_mode),
                        MessageType.PEER_DISCOVERY))
        data: bytes | None = None
        for other in room.participants.values():
            if other is seat or other.away:
                continue
            if data is None:
                data = wire.user_back(seat.public)
            out.append(Send(other.conn.conn_id, data, MessageType.USER_BACK))

    def _expire_away(self, now: float, out: list[Command]) -> None:
        """Seats whose grace is over depart, with the cause that made them away."""
        heap = self._away
        while heap and heap[0][0] <= now:
            until, _, participant = heapq.heappop(heap)
            if (participant.away and participant.away_until == until
                    and participant.room.participants.get(participant.user_id) is participant):
                self._depart(participant, participant.away_cause, now, out,
                             event=SeatInput.GRACE_ENDED)

    def _depart(self, participant: Participant, ending: Departure, now: float,
                out: list[Command], replaced: bool = False,
                event: SeatInput = SeatInput.DEPARTED) -> None:
        """Remove a participant; the only place a ``user-left`` is produced.

        ``replaced``: a join under the same userId is taking its place (§6), in this same call.
        The room stays even if it held only this participant, and the orb's lifecycle hears of
        the swap from the join (``replaced``), not from this departure. A ``Departure.REPLACED``
        reported by the I/O layer is an ordinary departure.
        """
        self._seat_input(participant, SeatInput.REPLACED if replaced else event)
        participant.conn.participant = None
        room = participant.room
        del room.participants[participant.user_id]
        data: bytes | None = None
        for other in room.participants.values():
            if other.away:
                continue
            if data is None:
                data = wire.user_left(participant.public)
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
            self._maybe_delete_room(room, now, out)

    def _maybe_delete_room(self, room: Room, now: float, out: list[Command]) -> None:
        if not room.participants and room.orb is None:
            del self._rooms[room.room_id]
            out.append(SessionEnded(room.session_id, room.room_id, now,
                                    None if room.ended_by is None else ENDED_BY_COACH))

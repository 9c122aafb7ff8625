"""Seats that outlive their connection: resume tokens, the reconnect grace, taking a seat back.

:class:`Seats` is the component of :class:`~._core.SignalingCore` that holds the away seats
(by the end of their grace) and issues the resume tokens. Every change of a seat's state goes
through :func:`._seat_lifecycle.move_seat` (the table); departures go through
:meth:`._rooms.Rooms.depart`. It acts on the rest of the core only through :class:`SeatSide`.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import secrets
from collections.abc import Callable, Mapping
from typing import Protocol

from . import wire
from ._commands import Close, Command, Send
from ._config import CoreConfig
from ._errors import CloseCode
from ._events import RECONNECTABLE, ConnectionId, Departure
from ._model import Connection, Participant
from ._rooms import Rooms
from ._rules import should_create_offer
from ._seat_lifecycle import SeatEffect, SeatInput, move_seat
from .wire import PEER_JOINED, PEER_UNCHANGED, MessageType


def _tell_the_others(seat: Participant, encode: Callable[[Mapping[str, str]], bytes],
                     kind: str, out: list[Command]) -> None:
    """One message about ``seat`` to every other present participant of its room, encoded
    once, and only if someone is there to get it."""
    data: bytes | None = None
    for other in seat.room.participants.values():
        if other is seat or other.away:
            continue
        if data is None:
            data = encode(seat.public)
        out.append(Send(other.conn.conn_id, data, kind))


class SeatSide(Protocol):
    """What the seats need from the core, and nothing more."""

    def _forget_connection(self, conn_id: ConnectionId) -> None:
        """The connection is closed by the core and gone from its table."""

    def _deadline_set(self, when: float) -> None:
        """A deadline was set: the I/O side may need to wake earlier."""


class Seats:
    """The away seats and the resume tokens of one core."""

    def __init__(self, config: CoreConfig, rooms: Rooms, side: SeatSide,
                 resume_secret: bytes | None) -> None:
        self.config = config
        self._rooms = rooms
        self._side = side
        #: Keys the resume tokens; random per core unless given, so a token never outlives
        #: the server that issued it (after a restart, a join is a fresh join: a reunion).
        self._resume_key = resume_secret or secrets.token_bytes(32)
        #: Counts the seats this core has issued a resume token for (part of each token), and
        #: the away heap's tie-breakers.
        self._issued = 0
        #: Away seats by the end of their grace: (away_until, tie-breaker, seat); stale entries
        #: (the seat came back or left) are skipped when popped.
        self._away: list[tuple[float, int, Participant]] = []

    def clear(self) -> None:
        """The server stopped: no seat is held any more."""
        self._away.clear()

    def new_resume_token(self, room_id: str, user_id: str) -> str:
        """``v1.<seat>.<mac>``: a keyed BLAKE2b over (room, user, seat), so only this core can
        have issued it and it names one seat of one user in one room."""
        self._issued += 1
        seat = format(self._issued, "x")
        mac = hashlib.blake2b(f"{room_id}\0{user_id}\0{seat}".encode(),
                              key=self._resume_key, digest_size=15).digest()
        return f"v1.{seat}.{base64.urlsafe_b64encode(mac).decode()}"

    def lose(self, participant: Participant, cause: Departure, now: float,
             out: list[Command]) -> None:
        """The participant's connection is gone: away for the grace when it may come back (a
        human, lost without a decision to go), a departure otherwise."""
        grace = self.config.reconnect_grace
        if grace > 0 and cause in RECONNECTABLE and not participant.is_ai:
            self._go_away(participant, cause, now + grace, out)
        else:
            self._rooms.depart(participant, cause, now, out)

    def _go_away(self, participant: Participant, cause: Departure, until: float,
                 out: list[Command]) -> None:
        move_seat(participant, SeatInput.LOST)
        participant.conn.participant = None
        participant.away_cause = cause
        participant.away_until = until
        room = participant.room
        participant.away_epoch = room.epoch
        participant.peers_seen = {uid: other.public for uid, other in room.participants.items()
                                  if other is not participant}
        self._issued += 1
        heapq.heappush(self._away, (until, self._issued, participant))
        self._side._deadline_set(until)
        _tell_the_others(participant, wire.user_away, MessageType.USER_AWAY, out)

    def resume(self, conn: Connection, seat: Participant, now: float,
               out: list[Command]) -> None:
        """``conn`` takes ``seat`` back: no departure, no arrival, the same place and roles.

        A seat still bound to a connection (its loss not noticed yet) is taken from that
        connection, closed with 4001. The returning participant's ``peer-discovery`` says, per
        peer, ``unchanged`` (the seat it knew) or ``joined`` (taken since it went away), and
        lists in ``left`` the peers it knew that are gone; the others get ``user-back``.
        """
        room = seat.room
        if move_seat(seat, SeatInput.RESUMED) is SeatEffect.ANNOUNCE_BACK:
            since, seen = seat.away_epoch, seat.peers_seen
        else:  # TAKE_OVER: the connection that still holds the seat is closed first
            old = seat.conn
            self._side._forget_connection(old.conn_id)
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
        _tell_the_others(seat, wire.user_back, MessageType.USER_BACK, out)

    def expire(self, now: float, out: list[Command]) -> None:
        """Seats whose grace is over depart, with the cause that made them away."""
        heap = self._away
        while heap and heap[0][0] <= now:
            until, _, participant = heapq.heappop(heap)
            if (participant.away and participant.away_until == until
                    and participant.room.participants.get(participant.user_id) is participant):
                self._rooms.depart(participant, participant.away_cause, now, out,
                                   event=SeatInput.GRACE_ENDED)

    def next_deadline(self) -> float | None:
        """The end of the first grace still running (stale heap entries dropped), or None."""
        away = self._away
        while away and (not away[0][2].away or away[0][2].away_until != away[0][0]):
            heapq.heappop(away)
        return away[0][0] if away else None

"""The signaling state machine: events in, commands out, through one entry point.

:class:`SignalingCore` owns every room, participant and connection of one server. It never
performs I/O, reads a clock or logs: each :meth:`SignalingCore.handle` changes the state and
returns the commands the I/O layer must carry out, in order, before it feeds the next event.

Invariants kept here (and checked by the Hypothesis state machine in the tests):

* a participant is in exactly one room and bound to exactly one live connection;
* every departure yields exactly one ``user-left`` to each remaining participant; a seat that
  is away (its connection lost, ``reconnect_grace``) has not departed: it yields ``user-away``,
  then ``user-back`` if it resumes, or its one ``user-left`` when the grace ends;
* a message reaches only participants of the sender's room, with ``fromId`` set to the sender;
* a room exists while it has participants or an orb on its way, and not a moment longer.

The core is composed, not inherited: it holds the connection table (and, in
:class:`._conn_deadlines.ConnectionDeadlines`, their join and idle deadlines), reads
each message once and hands it to the component whose job it is — the rooms
(:class:`._rooms.Rooms`: relaying, departures), the seats (:class:`._seats.Seats`: away
seats, resume tokens), the joins (:class:`._joins.Joins`), the orbs (:class:`._orbs.Orbs`,
their lifecycle table in :mod:`._orb_lifecycle`) and the session's controls
(:class:`._session_control.SessionControl`). The components act back on the core only through
the narrow protocols they declare (``OrbSide``, ``JoinSide``, ``SeatSide``, ``ControlSide``),
which the core's underscore methods below implement. The direct methods of the inputs
(:meth:`receive`, :meth:`open`, ...) are deprecated thin wrappers of :meth:`handle`
(:mod:`._inputs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from . import _messages as messages
from . import wire
from ._commands import Close, Command, ParticipantLeft, Send, SessionEnded
from ._config import CoreConfig
from ._conn_deadlines import ConnectionDeadlines
from ._errors import CloseCode, CoreFailedError, ErrorCode, ProtocolError
from ._events import (
    ConnectionActive,
    ConnectionClosed,
    ConnectionId,
    ConnectionOpened,
    Departure,
    Event,
    OrbEnded,
    ServerStopping,
    TextReceived,
    TimeAdvanced,
)
from ._inputs import DirectInputs
from ._joins import Joins, new_session_id
from ._model import Connection, Room
from ._orb_lifecycle import OrbInput, OrbState
from ._orbs import Orbs
from ._rooms import Rooms
from ._rules import (
    MESSAGE_RULES,
    UNJOINED_OK,
    JoinRequest,
    Phase,
    check_phase_and_sender,
    is_valid_room_id,
)
from ._seats import Seats
from ._session_control import SessionControl
from ._snapshot import CoreSnapshot, snapshot_of
from ._transcripts import on_ai_summary, on_ai_transcript
from .wire import Field, MessageType

Handler = Callable[[Connection, dict[str, Any], float, list[Command]], None]


_TYPE = Field.TYPE
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class SignalingCore(DirectInputs):
    """The whole protocol of docs/protocol.md for one server, without any I/O.

    ``session_ids`` makes session ids (and so orb userIds) deterministic in tests; by default
    they are random. ``resume_secret`` keys the resume tokens (random by default: tokens die
    with the core that issued them).
    """

    def __init__(
        self,
        config: CoreConfig | None = None,
        *,
        session_ids: Callable[[], str] = new_session_id,
        authorize_join: Callable[[str, JoinRequest], bool] | None = None,
        resume_secret: bytes | None = None,
    ) -> None:
        self.config = cfg = config or CoreConfig()
        self._conns: dict[ConnectionId, Connection] = {}
        self._conn_deadlines = ConnectionDeadlines(cfg, self._conns)
        #: The deadline :meth:`next_deadline` last told (inf: none), and whether one earlier
        #: than it has been set since: the I/O layer reads ``next_deadline()`` again then.
        self._told = math.inf
        self.deadline_changed = False
        #: The exception that broke the core (None while it works): the error state.
        self.failure: Exception | None = None
        # The components, each with its job; the room table is shared by those that seat
        # into it or look rooms up by id.
        rooms: dict[str, Room] = {}
        self._orbs = Orbs(cfg, rooms, self)
        self._rooms = Rooms(cfg, rooms, self._orbs)
        self._seats = Seats(cfg, self._rooms, self, resume_secret)
        self._joins = Joins(cfg, rooms, self._orbs, self._seats, self,
                            session_ids=session_ids, authorize_join=authorize_join)
        self._control = SessionControl(cfg, self._rooms, self._orbs, self)
        # Read on every message; the config is frozen, so they are copied once.
        self._max_bytes = cfg.max_message_bytes
        self._max_chars = cfg.max_message_bytes // 4
        self._rate = cfg.rate_limit_per_second
        self._burst = cfg.rate_limit_burst
        self._strikes = cfg.rate_limit_strikes
        # What a connection that has not joined may send as is (``_rules.UNJOINED_OK``).
        self._unjoined_ok = UNJOINED_OK
        rooms_, control = self._rooms, self._control
        self._handlers: dict[str, Handler] = {
            MessageType.PING.value: self._on_ping,
            MessageType.JOIN.value: self._joins.on_join,
            MessageType.LEAVE.value: control.on_leave,
            MessageType.OFFER.value: rooms_.on_signal,
            MessageType.ANSWER.value: rooms_.on_signal,
            MessageType.ICE_CANDIDATE.value: rooms_.on_signal,
            MessageType.AI_STATUS.value: rooms_.on_ai_status,
            MessageType.AI_CONTROL.value: rooms_.on_ai_control,
            MessageType.CLIENT_SIGNAL.value: rooms_.on_client_signal,
            MessageType.ORB_HEARTBEAT.value: self._orbs.on_heartbeat,
            MessageType.ORB_SHUTDOWN.value: control.on_orb_shutdown,
            MessageType.AI_TRANSCRIPT.value: on_ai_transcript,
            MessageType.AI_SUMMARY.value: on_ai_summary,
            MessageType.END_SESSION.value: control.on_end_session,
            MessageType.AI_MODE.value: control.on_ai_mode,
            MessageType.AI_ASK.value: control.on_ai_ask,
        }
        # Keyed by the plain ``str`` values, as ``allowed`` and ``_unjoined_ok`` are: every
        # message looks its received ``type`` up in them, and dicts and sets whose keys are all
        # exact ``str`` take CPython's fast path (StrEnum keys fall back to the generic one).
        assert self._handlers.keys() == MESSAGE_RULES.keys()
        assert all(type(key) is str for key in self._handlers)

    def _fail(self, exc: Exception) -> None:
        """Enter the error state. ``deadline_changed`` is raised so that an I/O layer that
        looks at the deadline after each input (as the Trio server does) hears of it at once:
        :meth:`next_deadline` raises :class:`CoreFailedError`."""
        self.failure = exc
        self.deadline_changed = True

    def _failed(self) -> CoreFailedError:
        error = CoreFailedError(f"the signaling core failed earlier: {self.failure!r}")
        error.__cause__ = self.failure
        return error

    # ------------------------------------------------------------------ the entry point

    def handle(self, event: Event) -> list[Command]:
        """Feed one event; returns the commands to carry out, in order.

        The one entry point for every kind of :data:`Event`. Anything that is not an event
        raises :class:`TypeError` and changes nothing; after a failure (the error state),
        every event raises :class:`CoreFailedError`. A :class:`TextReceived` is read here
        and kept by nothing, so an I/O loop may reuse one (the Trio server does, per message).
        """
        if event.__class__ is not TextReceived:
            method = _EVENT_METHODS.get(event.__class__)
            if method is None:
                raise TypeError(f"not a signaling_core event: {event!r}")
            if self.failure is not None:
                raise self._failed()
            return method(self, event)
        # A text, the relay's hot path, read here without a further call. Never raises on
        # any ``text``.
        if self.failure is not None:
            raise self._failed()
        conn_id = event.conn_id
        conn = self._conns.get(conn_id)
        if conn is None:
            return []
        text, now = event.text, event.now
        conn.last_seen = now
        out: list[Command] = []
        try:
            if len(text) > self._max_chars and len(
                text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            ) > self._max_bytes:
                self._drop(conn, CloseCode.MESSAGE_TOO_BIG, "message too big",
                           Departure.PROTOCOL_VIOLATION, now, out)
                return out
            rate = self._rate
            if rate:
                tokens = conn.tokens + (now - conn.last_refill) * rate
                conn.last_refill = now
                burst = self._burst
                if tokens > burst:
                    tokens = burst
                if tokens < 1.0:
                    conn.tokens = tokens
                    conn.strikes += 1
                    if conn.strikes > self._strikes:
                        self._drop(conn, CloseCode.POLICY_VIOLATION, "message flood",
                                   Departure.PROTOCOL_VIOLATION, now, out)
                    else:
                        out.append(messages.error_send(
                            conn_id, ErrorCode.RATE_LIMITED, "too many messages; slow down"))
                    return out
                conn.tokens = tokens - 1.0
                conn.strikes = 0
            try:
                msg = _loads(text)
            except _JSONDecodeError:
                out.append(messages.error_send(conn_id, ErrorCode.INVALID_JSON, "not valid JSON"))
                return out
            if type(msg) is not dict:
                out.append(messages.error_send(
                    conn_id, ErrorCode.INVALID_MESSAGE, "a message must be a JSON object"))
                return out
            mtype = msg.get(_TYPE)
            if type(mtype) is not str:
                out.append(messages.error_send(
                    conn_id, ErrorCode.INVALID_MESSAGE, "a message needs a string 'type'"))
                return out
            handler = self._handlers.get(mtype)
            try:
                if handler is None:
                    raise ProtocolError(ErrorCode.UNKNOWN_TYPE,
                                        f"unknown message type {mtype[:64]!r}", mtype[:64])
                participant = conn.participant
                if participant is None:
                    if mtype not in self._unjoined_ok:
                        check_phase_and_sender(mtype, Phase.AWAITING_JOIN, None)
                elif mtype not in participant.allowed:
                    check_phase_and_sender(mtype, Phase.JOINED, participant.participant_type,
                                           participant.user_role)
                handler(conn, msg, now, out)
            except ProtocolError as exc:
                out.append(messages.error_send(conn_id, exc.code, exc.message, exc.ref))
        except Exception as exc:  # a bug of the core: it stops, and says what it decided
            self._fail(exc)
        return out

    # ------------------------------------------------------------------ the other events

    def _on_opened(self, event: ConnectionOpened) -> list[Command]:
        """A connection for ``/ws-simple/{room_id}`` opened.

        An invalid room id gets a close (1008); the server should already have refused it at
        the handshake. Reusing the id of a connection still open is a bug of the caller
        (``ValueError``, nothing changed). ``trusted`` connections (the server's own
        in-process orb) skip ``authorize_join``.
        """
        conn_id, now = event.conn_id, event.now
        if conn_id in self._conns:
            raise ValueError(f"connection {conn_id!r} is already open")
        try:
            if not is_valid_room_id(event.room_id):
                return [Close(conn_id, CloseCode.POLICY_VIOLATION, "invalid room id")]
            conn = self._conns[conn_id] = Connection(
                conn_id, event.room_id, now, now + self.config.join_timeout,
                self.config.rate_limit_burst, event.trusted)
            self._deadline_set(self._conn_deadlines.opened(conn, now))
        except Exception as exc:
            self._fail(exc)
        return []

    def _on_active(self, event: ConnectionActive) -> list[Command]:
        conn = self._conns.get(event.conn_id)
        if conn is not None:
            conn.last_seen = event.now
        return []

    def _on_closed(self, event: ConnectionClosed) -> list[Command]:
        """A no-op for a connection the core already closed. A human lost this way (``cause``
        in ``RECONNECTABLE``) is away for the reconnect grace rather than gone; a clean close
        (``Departure.CLOSED``) is a departure."""
        out: list[Command] = []
        try:
            conn = self._conns.pop(event.conn_id, None)
            if conn is not None and conn.participant is not None:
                self._seats.lose(conn.participant, event.cause, event.now, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def _on_time(self, event: TimeAdvanced) -> list[Command]:
        """Expired join/idle deadlines, reconnect graces and orb limits become commands."""
        out: list[Command] = []
        now = event.now
        try:
            for conn, reason in self._conn_deadlines.expired(now):
                if self._conns.get(conn.conn_id) is conn:
                    self._drop(conn, CloseCode.DEADLINE, reason, Departure.TIMED_OUT, now, out)
            self._seats.expire(now, out)
            self._orbs.check(now, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def _on_orb_ended(self, event: OrbEnded) -> list[Command]:
        """The I/O side reports that the orb it spawned for ``room_id`` is gone.

        An orb that had joined departs when its connection closes; this only frees the slot of
        an orb that never joined (failed to start, crashed early). With ``spawn_id`` (from the
        ``SpawnOrb``), a report about an earlier orb of the same session is ignored. With
        ``unavailable`` (no orb could be placed), the room's coaches get ``orb-unavailable``.
        """
        out: list[Command] = []
        try:
            self._orbs.report_ended(event.room_id, event.session_id, event.now,
                                    event.spawn_id, event.unavailable, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def _on_stopping(self, event: ServerStopping) -> list[Command]:
        """Close everything with 1001 and stop every orb; with ``restart`` (a deploy) the
        close is 1012 ``service restart`` and clients reconnect at once; their calls (peer to
        peer) go on meanwhile."""
        out: list[Command] = []
        now = event.now
        try:
            for room in list(self._rooms.by_id.values()):
                if room.orb is not None:
                    self._orbs.input(room, room.orb, OrbInput.SERVER_STOPPING, now, out)
                for participant in list(room.participants.values()):
                    out.append(ParticipantLeft(room.session_id, room.room_id,
                                               participant.user_id, now,
                                               Departure.SERVER_STOPPED))
                out.append(SessionEnded(room.session_id, room.room_id, now))
            code, reason = ((CloseCode.SERVICE_RESTART, "service restart") if event.restart
                            else (CloseCode.GOING_AWAY, "server shutting down"))
            for conn_id in self._conns:
                out.append(Close(conn_id, code, reason))
            self._conns.clear()
            self._rooms.by_id.clear()
            self._conn_deadlines.clear()
            self._seats.clear()
            self._orbs.clear()
        except Exception as exc:
            self._fail(exc)
        return out

    # ------------------------------------------------------------------ time told

    def next_deadline(self) -> float | None:
        """The earliest time at which a :class:`TimeAdvanced` may have something to do (None:
        nothing will come due until another input).

        How the core tells the time it needs: an I/O layer sleeps until exactly this, and,
        after any input, when :attr:`deadline_changed` is true (an input set a deadline
        earlier than the one last told), asks again. It need not poll. Constant time but
        for stale heap entries dropped on the way.
        """
        if self.failure is not None:
            raise self._failed()
        best: float | None = None
        for due in (self._orbs.next_deadline(), self._conn_deadlines.next_deadline(),
                    self._seats.next_deadline()):
            if due is not None and (best is None or due < best):
                best = due
        self._told = math.inf if best is None else best
        self.deadline_changed = False
        return best

    # ------------------------------------------------------------------ read side

    def snapshot(self) -> CoreSnapshot:
        """A read-only picture of rooms, participants and orbs for admin endpoints."""
        return snapshot_of(self._rooms.by_id.values(), len(self._conns), self._orbs.count)

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    @property
    def room_count(self) -> int:
        return len(self._rooms.by_id)

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
        room = self._rooms.by_id.get(room_id)
        return None if room is None or room.orb is None else room.orb.state

    # ------------------------------------------------------------------ the components' sides

    def _on_ping(self, conn: Connection, msg: dict[str, Any], now: float,
                 out: list[Command]) -> None:
        out.append(Send(conn.conn_id, wire.PONG, MessageType.PONG))

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], replaced: bool = False) -> None:
        """Close a connection from the core's side; it is gone from now on, and its seat
        departs (or, lost, goes away for the grace)."""
        del self._conns[conn.conn_id]
        out.append(Close(conn.conn_id, code, reason))
        if conn.participant is not None:
            if replaced:
                self._rooms.depart(conn.participant, ending, now, out, replaced)
            else:
                self._seats.lose(conn.participant, ending, now, out)

    def _forget_connection(self, conn_id: ConnectionId) -> None:
        del self._conns[conn_id]

    def _rejoin_deadline(self, conn: Connection, now: float) -> None:
        """A connection that left its room may join again: it gets a fresh join deadline."""
        due = self._conn_deadlines.rejoin(conn, now)
        if due is not None:
            self._deadline_set(due)

    def _deadline_set(self, when: float) -> None:
        """A deadline was set: if it comes before the one last told, say so."""
        if when < self._told:
            self.deadline_changed = True

    def _delete_room_if_empty(self, room: Room, now: float, out: list[Command]) -> None:
        self._rooms.delete_if_empty(room, now, out)


#: What :meth:`SignalingCore.handle` calls for each event type but :class:`TextReceived`
#: (exact types, no subclasses).
_EVENT_METHODS: Mapping[type, Callable[[SignalingCore, Any], list[Command]]] = {
    ConnectionOpened: SignalingCore._on_opened,
    ConnectionActive: SignalingCore._on_active,
    ConnectionClosed: SignalingCore._on_closed,
    TimeAdvanced: SignalingCore._on_time,
    OrbEnded: SignalingCore._on_orb_ended,
    ServerStopping: SignalingCore._on_stopping,
}

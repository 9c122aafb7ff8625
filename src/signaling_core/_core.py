"""The signaling state machine: events in, commands out.

:class:`SignalingCore` owns every room, participant and connection of one server. It never
performs I/O, reads a clock or logs: each call changes the state and returns the commands the
I/O layer must carry out, in order, before it feeds the next event.

Invariants kept here (and checked by the Hypothesis state machine in the tests):

* a participant is in exactly one room and bound to exactly one live connection;
* every departure yields exactly one ``user-left`` to each remaining participant; a seat that
  is away (its connection lost, ``reconnect_grace``) has not departed: it yields ``user-away``,
  then ``user-back`` if it resumes, or its one ``user-left`` when the grace ends;
* a message reaches only participants of the sender's room, with ``fromId`` set to the sender;
* a room exists while it has participants or an orb on its way, and not a moment longer.

The room side (relaying, departures) lives in :mod:`._rooms`, the orbs' bookkeeping in the
component :class:`._orbs.Orbs` (owned, not inherited) and their lifecycle table in
:mod:`._orb_lifecycle`, the ``join`` (admission,
resume, replacement, seating) in :mod:`._joins`; this module holds the public inputs and the
handling of every other client message.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from . import _messages as messages
from . import wire
from ._commands import (
    Close,
    Command,
    ParticipantLeft,
    Send,
    SessionEnded,
)
from ._config import CoreConfig
from ._errors import CloseCode, ErrorCode, ProtocolError
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
from ._model import Connection, Participant
from ._orb_lifecycle import OrbInput
from ._rooms import RoomBook, new_session_id
from ._rules import (
    MESSAGE_RULES,
    SIGNAL_PAYLOAD_FIELD,
    UNJOINED_OK,
    JoinRequest,
    Phase,
    check_phase_and_sender,
    is_valid_room_id,
)
from ._transcripts import on_ai_summary, on_ai_transcript
from .wire import Field, MessageType

Handler = Callable[[Connection, dict[str, Any], float, list[Command]], None]


def _from_participant(
        fn: Callable[[Participant, dict[str, Any], float, list[Command]], None]) -> Handler:
    """A handler of a joined participant's message (the rules guarantee it has joined)."""
    def handler(conn: Connection, msg: dict[str, Any], now: float, out: list[Command]) -> None:
        assert conn.participant is not None
        fn(conn.participant, msg, now, out)
    return handler

_TYPE, _TO_ID, _FROM_ID = Field.TYPE, Field.TO_ID, Field.FROM_ID
_loads = orjson.loads
_dumps = orjson.dumps
_JSONDecodeError = orjson.JSONDecodeError
_JSONEncodeError = orjson.JSONEncodeError


class CoreFailedError(RuntimeError):
    """The core failed inside an earlier input (a bug: see ``__cause__`` and
    :attr:`SignalingCore.failure`); its state may be inconsistent, so it takes no more input.

    As in h11, a failure is not swallowed: the input that failed returned the commands decided
    before the failure (carry them out), and every later input raises this.
    """


class SignalingCore(RoomBook):
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
        super().__init__(config, session_ids=session_ids, authorize_join=authorize_join,
                         resume_secret=resume_secret)
        cfg = self.config
        # Read on every message; the config is frozen, so they are copied once.
        self._max_bytes = cfg.max_message_bytes
        self._max_chars = cfg.max_message_bytes // 4
        self._rate = cfg.rate_limit_per_second
        self._burst = cfg.rate_limit_burst
        self._strikes = cfg.rate_limit_strikes
        # What a connection that has not joined may send as is (``_rules.UNJOINED_OK``).
        self._unjoined_ok = UNJOINED_OK
        self._handlers: dict[str, Handler] = {
            MessageType.PING.value: self._on_ping,
            MessageType.JOIN.value: self._joins.on_join,
            MessageType.LEAVE.value: self._on_leave,
            MessageType.OFFER.value: self._on_signal,
            MessageType.ANSWER.value: self._on_signal,
            MessageType.ICE_CANDIDATE.value: self._on_signal,
            MessageType.AI_STATUS.value: self._on_ai_status,
            MessageType.AI_CONTROL.value: self._on_ai_control,
            MessageType.CLIENT_SIGNAL.value: self._on_client_signal,
            MessageType.ORB_HEARTBEAT.value: self._orbs.on_heartbeat,
            MessageType.ORB_SHUTDOWN.value: self._on_orb_shutdown,
            MessageType.AI_TRANSCRIPT.value: _from_participant(on_ai_transcript),
            MessageType.AI_SUMMARY.value: _from_participant(on_ai_summary),
            MessageType.END_SESSION.value: self._on_end_session,
            MessageType.AI_MODE.value: self._on_ai_mode,
            MessageType.AI_ASK.value: self._on_ai_ask,
        }
        # Keyed by the plain ``str`` values, as ``allowed`` and ``_unjoined_ok`` are: every
        # message looks its received ``type`` up in them, and dicts and sets whose keys are all
        # exact ``str`` take CPython's fast path (StrEnum keys fall back to the generic one).
        assert self._handlers.keys() == MESSAGE_RULES.keys()
        assert all(type(key) is str for key in self._handlers)
        #: The exception that broke the core (None while it works): the error state.
        self.failure: Exception | None = None

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

    # ------------------------------------------------------------------ public inputs

    def handle(self, event: Event) -> list[Command]:
        """Feed one event; returns the commands to carry out, in order.

        The one entry point for every kind of :data:`Event`; the methods it calls
        (:meth:`receive`, :meth:`open`, ...) may also be called directly. Anything that is not
        an event raises :class:`TypeError` and changes nothing.
        """
        try:
            method = _EVENT_METHODS[type(event)]
        except (KeyError, TypeError):
            raise TypeError(f"not a signaling_core event: {event!r}") from None
        return method(self, event)

    def open(
        self, conn_id: ConnectionId, room_id: str, now: float, *, trusted: bool = False
    ) -> list[Command]:
        """A connection for ``/ws-simple/{room_id}`` opened.

        An invalid room id gets a close (1008); the server should already have refused it at
        the handshake. Reusing the id of a connection still open is a bug of the caller.
        ``trusted`` connections (the server's own in-process orb) skip ``authorize_join``.
        """
        if self.failure is not None:
            raise self._failed()
        if conn_id in self._conns:
            raise ValueError(f"connection {conn_id!r} is already open")
        try:
            return self._open(conn_id, room_id, now, trusted)
        except Exception as exc:
            self._fail(exc)
            return []

    def _open(self, conn_id: ConnectionId, room_id: str, now: float,
              trusted: bool) -> list[Command]:
        if not is_valid_room_id(room_id):
            return [Close(conn_id, CloseCode.POLICY_VIOLATION, "invalid room id")]
        deadline = now + self.config.join_timeout
        conn = self._conns[conn_id] = Connection(
            conn_id, room_id, now, deadline, self.config.rate_limit_burst, trusted
        )
        # The idle limit applies before the join too, and may be the earlier of the two.
        conn.heap_deadline = min(deadline, now + self.config.idle_timeout)
        heapq.heappush(self._deadlines, (conn.heap_deadline, conn_id))
        self._deadline_set(conn.heap_deadline)
        return []

    def receive(self, conn_id: ConnectionId, text: str | bytes, now: float) -> list[Command]:
        """One text message arrived on ``conn_id``. Never raises on any ``text``."""
        if self.failure is not None:
            raise self._failed()
        conn = self._conns.get(conn_id)
        if conn is None:
            return []
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

    def activity(self, conn_id: ConnectionId, now: float) -> None:
        """The peer showed life without a message (a WebSocket pong, for instance)."""
        if self.failure is not None:
            raise self._failed()
        conn = self._conns.get(conn_id)
        if conn is not None:
            conn.last_seen = now

    def _activity_event(self, conn_id: ConnectionId, now: float) -> list[Command]:
        self.activity(conn_id, now)
        return []

    def closed(
        self, conn_id: ConnectionId, now: float, cause: Departure = Departure.CLOSED
    ) -> list[Command]:
        """The connection is gone. A no-op for a connection the core already closed.

        A human lost this way (``cause`` in ``RECONNECTABLE``) is away for the reconnect grace
        rather than gone; a clean close (``Departure.CLOSED``) is a departure.
        """
        if self.failure is not None:
            raise self._failed()
        out: list[Command] = []
        try:
            conn = self._conns.pop(conn_id, None)
            if conn is not None and conn.participant is not None:
                self._lose(conn.participant, cause, now, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def tick(self, now: float) -> list[Command]:
        """Time moved on: expired join/idle deadlines, reconnect graces and orb limits become
        commands."""
        if self.failure is not None:
            raise self._failed()
        out: list[Command] = []
        try:
            self._tick(now, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def _tick(self, now: float, out: list[Command]) -> None:
        heap = self._deadlines
        idle = self.config.idle_timeout
        while heap and heap[0][0] <= now:
            entry_deadline, conn_id = heapq.heappop(heap)
            conn = self._conns.get(conn_id)
            if conn is None or conn.heap_deadline != entry_deadline:
                continue
            true_deadline = conn.last_seen + idle
            if conn.participant is None:
                true_deadline = min(true_deadline, conn.join_deadline)
            if true_deadline <= now:
                if conn.participant is None and conn.join_deadline <= now:
                    reason = "join deadline passed"
                else:
                    reason = "idle deadline passed"
                self._drop(conn, CloseCode.DEADLINE, reason, Departure.TIMED_OUT, now, out)
            else:
                conn.heap_deadline = true_deadline
                heapq.heappush(heap, (true_deadline, conn_id))
        if self._away:
            self._expire_away(now, out)
        self._orbs.check(now, out)

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`tick` may have something to do (None: nothing
        will come due until another input).

        How the core tells the time it needs: an I/O layer sleeps until exactly this, and,
        after any input, when :attr:`deadline_changed` is true (an input set a deadline
        earlier than the one last told), asks again. It need not poll. Constant time but
        for stale heap entries dropped on the way.
        """
        if self.failure is not None:
            raise self._failed()
        conns, away = self._deadlines, self._away
        conns_map = self._conns
        while conns and (conns_map.get(conns[0][1]) is None
                         or conns_map[conns[0][1]].heap_deadline != conns[0][0]):
            heapq.heappop(conns)
        while away and (not away[0][2].away or away[0][2].away_until != away[0][0]):
            heapq.heappop(away)
        best = self._orbs.next_deadline()
        if conns and (best is None or conns[0][0] < best):
            best = conns[0][0]
        if away and (best is None or away[0][0] < best):
            best = away[0][0]
        self._told = math.inf if best is None else best
        self.deadline_changed = False
        return best

    def orb_ended(
        self, room_id: str, session_id: str, now: float, spawn_id: int | None = None,
        *, unavailable: bool = False,
    ) -> list[Command]:
        """The I/O side reports that the orb it spawned for ``room_id`` is gone.

        An orb that had joined departs when its connection closes; this only frees the slot of
        an orb that never joined (failed to start, crashed early). With ``spawn_id`` (from the
        ``SpawnOrb``), a report about an earlier orb of the same session is ignored. With
        ``unavailable`` (no orb could be placed), the room's coaches get ``orb-unavailable``.
        """
        if self.failure is not None:
            raise self._failed()
        out: list[Command] = []
        try:
            self._orbs.report_ended(room_id, session_id, now, spawn_id, unavailable, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def stop(self, now: float, restart: bool = False) -> list[Command]:
        """The server is shutting down: close everything with 1001 and stop every orb.

        ``restart``: the server comes back (a deploy), so the close is 1012 ``service
        restart`` and clients reconnect at once; their calls (peer to peer) go on meanwhile.
        """
        if self.failure is not None:
            raise self._failed()
        out: list[Command] = []
        try:
            self._stop(now, restart, out)
        except Exception as exc:
            self._fail(exc)
        return out

    def _stop(self, now: float, restart: bool, out: list[Command]) -> None:
        for room in list(self._rooms.values()):
            if room.orb is not None:
                self._orbs.input(room, room.orb, OrbInput.SERVER_STOPPING, now, out)
            for participant in list(room.participants.values()):
                out.append(ParticipantLeft(
                    room.session_id, room.room_id, participant.user_id, now,
                    Departure.SERVER_STOPPED,
                ))
            out.append(SessionEnded(room.session_id, room.room_id, now))
        code, reason = ((CloseCode.SERVICE_RESTART, "service restart") if restart
                        else (CloseCode.GOING_AWAY, "server shutting down"))
        for conn_id in self._conns:
            out.append(Close(conn_id, code, reason))
        self._conns.clear()
        self._rooms.clear()
        self._deadlines.clear()
        self._away.clear()
        self._orbs.clear()

    # ------------------------------------------------------------------ message handlers

    def _on_ping(self, conn: Connection, msg: dict[str, Any], now: float,
                 out: list[Command]) -> None:
        out.append(Send(conn.conn_id, wire.PONG, MessageType.PONG))

    def _on_leave(self, conn: Connection, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
        assert conn.participant is not None
        self._depart(conn.participant, Departure.LEAVE, now, out)
        self._rejoin_deadline(conn, now)

    def _on_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                   out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        mtype: str = msg[_TYPE]
        if SIGNAL_PAYLOAD_FIELD[mtype] not in msg:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE,
                                f"{mtype} needs a '{SIGNAL_PAYLOAD_FIELD[mtype]}' field", mtype)
        to_id = msg.get(_TO_ID)
        if type(to_id) is str:
            # The hot path (a valid targeted relay) in one piece; anything unusual, errors
            # included, goes through the general ``_relay``.
            target = sender.room.participants.get(to_id)
            if target is not None and target is not sender and not target.away and not (
                    sender.is_ai and target.is_ai):
                msg[_FROM_ID] = sender.user_id
                try:
                    data = _dumps(msg)
                except _JSONEncodeError:
                    data = self._encode_relay(msg, mtype)  # raises the protocol's error
                out.append(Send(target.conn.conn_id, data, mtype))
                return
        self._relay(sender, msg, mtype, out, skip_ai_pairs=True)


#: What :meth:`SignalingCore.handle` calls for each event type (exact types, no subclasses).
_EVENT_METHODS: Mapping[type, Callable[[SignalingCore, Any], list[Command]]] = {
    TextReceived: lambda core, e: core.receive(e.conn_id, e.text, e.now),
    ConnectionOpened: lambda core, e: core.open(e.conn_id, e.room_id, e.now, trusted=e.trusted),
    ConnectionActive: lambda core, e: core._activity_event(e.conn_id, e.now),
    ConnectionClosed: lambda core, e: core.closed(e.conn_id, e.now, e.cause),
    TimeAdvanced: lambda core, e: core.tick(e.now),
    OrbEnded: lambda core, e: core.orb_ended(e.room_id, e.session_id, e.now, e.spawn_id,
                                             unavailable=e.unavailable),
    ServerStopping: lambda core, e: core.stop(e.now, e.restart),
}

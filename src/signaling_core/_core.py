"""The signaling state machine: events in, commands out.

:class:`SignalingCore` owns every room, participant and connection of one server. It never
performs I/O, reads a clock or logs: each call changes the state and returns the commands the
I/O layer must carry out, in order, before it feeds the next event.

Invariants kept here (and checked by the Hypothesis state machine in the tests):

* a participant is in exactly one room and bound to exactly one live connection;
* every departure yields exactly one ``user-left`` to each remaining participant;
* a message reaches only participants of the sender's room, with ``fromId`` set to the sender;
* a room exists while it has participants or an orb on its way, and not a moment longer.
"""

from __future__ import annotations

import heapq
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from . import _messages as messages
from ._commands import (
    Close,
    Command,
    OrbStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    Send,
    SessionEnded,
    SessionStarted,
    SpawnOrb,
    StopOrb,
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
    TextReceived,
    TimeAdvanced,
)
from ._model import Connection, Orb, Participant, Room
from ._rules import (
    AI,
    AI_STATUSES,
    COACH,
    HUMAN,
    MESSAGE_RULES,
    ORB_SHUTDOWN_REASONS,
    ORB_USER_PREFIX,
    SIGNAL_PAYLOAD_FIELD,
    JoinRequest,
    Phase,
    check_phase_and_sender,
    is_valid_room_id,
    orb_user_id,
    parse_join,
    require_action,
    should_create_offer,
)
from ._snapshot import CoreSnapshot, snapshot_of

Handler = Callable[[Connection, dict[str, Any], float, list[Command]], None]

_ORB_SHUTDOWN_ENDINGS = {
    "session_complete": Departure.ORB_SESSION_COMPLETE,
    "timeout": Departure.ORB_TIMEOUT,
    "error": Departure.ORB_ERROR,
}


def _new_session_id() -> str:
    return secrets.token_hex(8)


def _permitted(phase: Phase, participant_type: str | None) -> frozenset[str]:
    """The message types ``check_phase_and_sender`` lets through for this sender."""
    allowed = set()
    for mtype in MESSAGE_RULES:
        try:
            check_phase_and_sender(mtype, phase, participant_type)
        except ProtocolError:
            continue
        allowed.add(mtype)
    return frozenset(allowed)


def _offers(a: Participant, b: Participant) -> bool:
    return should_create_offer(
        a.user_id, a.user_role, a.is_ai, b.user_id, b.user_role, b.is_ai
    )


class SignalingCore:
    """The whole protocol of docs/protocol.md for one server, without any I/O.

    ``session_ids`` makes session ids (and so orb userIds) deterministic in tests; by default
    they are random.
    """

    def __init__(
        self,
        config: CoreConfig | None = None,
        *,
        session_ids: Callable[[], str] = _new_session_id,
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
        cfg = self.config
        # Read on every message; the config is frozen, so they are copied once.
        self._max_bytes = cfg.max_message_bytes
        self._rate = cfg.rate_limit_per_second
        self._burst = cfg.rate_limit_burst
        self._strikes = cfg.rate_limit_strikes
        # Message types each kind of sender may send as is; any other type goes through
        # ``check_phase_and_sender`` for its exact error. Built from that same function.
        self._unjoined_ok = _permitted(Phase.AWAITING_JOIN, None)
        self._joined_ok = {ptype: _permitted(Phase.JOINED, ptype) for ptype in (HUMAN, AI)}
        self._handlers: dict[str, Handler] = {
            "ping": self._on_ping,
            "join": self._on_join,
            "leave": self._on_leave,
            "offer": self._on_signal,
            "answer": self._on_signal,
            "ice-candidate": self._on_signal,
            "ai_status": self._on_ai_status,
            "ai_control": self._on_ai_control,
            "client_signal": self._on_client_signal,
            "orb_heartbeat": self._on_orb_heartbeat,
            "ai-orb-shutdown": self._on_orb_shutdown,
        }
        assert self._handlers.keys() == MESSAGE_RULES.keys()

    # ------------------------------------------------------------------ public inputs

    def handle(self, event: Event) -> list[Command]:
        """Feed one event; returns the commands to carry out, in order."""
        if isinstance(event, TextReceived):
            return self.receive(event.conn_id, event.text, event.now)
        if isinstance(event, ConnectionOpened):
            return self.open(event.conn_id, event.room_id, event.now)
        if isinstance(event, ConnectionActive):
            self.activity(event.conn_id, event.now)
            return []
        if isinstance(event, ConnectionClosed):
            return self.closed(event.conn_id, event.now, event.cause)
        if isinstance(event, TimeAdvanced):
            return self.tick(event.now)
        if isinstance(event, OrbEnded):
            return self.orb_ended(event.room_id, event.session_id, event.now, event.spawn_id)
        return self.stop(event.now)

    def open(
        self, conn_id: ConnectionId, room_id: str, now: float, *, trusted: bool = False
    ) -> list[Command]:
        """A connection for ``/ws-simple/{room_id}`` opened.

        An invalid room id gets a close (1008); the server should already have refused it at
        the handshake. Reusing the id of a connection still open is a bug of the caller.
        ``trusted`` connections (the server's own in-process orb) skip ``authorize_join``.
        """
        if conn_id in self._conns:
            raise ValueError(f"connection {conn_id!r} is already open")
        if not is_valid_room_id(room_id):
            return [Close(conn_id, CloseCode.POLICY_VIOLATION, "invalid room id")]
        deadline = now + self.config.join_timeout
        conn = self._conns[conn_id] = Connection(
            conn_id, room_id, now, deadline, self.config.rate_limit_burst, trusted
        )
        # The idle limit applies before the join too, and may be the earlier of the two.
        conn.heap_deadline = min(deadline, now + self.config.idle_timeout)
        heapq.heappush(self._deadlines, (conn.heap_deadline, conn_id))
        return []

    def receive(self, conn_id: ConnectionId, text: str | bytes, now: float) -> list[Command]:
        """One text message arrived on ``conn_id``. Never raises on any ``text``."""
        conn = self._conns.get(conn_id)
        if conn is None:
            return []
        conn.last_seen = now
        out: list[Command] = []
        limit = self._max_bytes
        if len(text) > limit // 4 and len(
            text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        ) > limit:
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
                    out.append(Send(conn_id, messages.error(
                        ErrorCode.RATE_LIMITED, "too many messages; slow down")))
                return out
            conn.tokens = tokens - 1.0
            conn.strikes = 0
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            out.append(Send(conn_id, messages.error(ErrorCode.INVALID_JSON, "not valid JSON")))
            return out
        if type(msg) is not dict:
            out.append(Send(conn_id, messages.error(
                ErrorCode.INVALID_MESSAGE, "a message must be a JSON object")))
            return out
        mtype = msg.get("type")
        if type(mtype) is not str:
            out.append(Send(conn_id, messages.error(
                ErrorCode.INVALID_MESSAGE, "a message needs a string 'type'")))
            return out
        handler = self._handlers.get(mtype)
        try:
            if handler is None:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_TYPE, f"unknown message type {mtype[:64]!r}", mtype[:64]
                )
            participant = conn.participant
            if participant is None:
                if mtype not in self._unjoined_ok:
                    check_phase_and_sender(mtype, Phase.AWAITING_JOIN, None)
            elif mtype not in self._joined_ok.get(participant.participant_type, ()):
                check_phase_and_sender(mtype, Phase.JOINED, participant.participant_type)
            handler(conn, msg, now, out)
        except ProtocolError as exc:
            out.append(Send(conn_id, messages.error(exc.code, exc.message, exc.ref)))
        return out

    def activity(self, conn_id: ConnectionId, now: float) -> None:
        """The peer showed life without a message (a WebSocket pong, for instance)."""
        conn = self._conns.get(conn_id)
        if conn is not None:
            conn.last_seen = now

    def closed(
        self, conn_id: ConnectionId, now: float, cause: Departure = Departure.CLOSED
    ) -> list[Command]:
        """The connection is gone. A no-op for a connection the core already closed."""
        conn = self._conns.pop(conn_id, None)
        out: list[Command] = []
        if conn is not None and conn.participant is not None:
            self._depart(conn.participant, cause, now, out)
        return out

    def tick(self, now: float) -> list[Command]:
        """Time moved on: expired join/idle deadlines and orb limits become commands."""
        out: list[Command] = []
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
        self._check_orbs(now, out)
        return out

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`tick` may have something to do."""
        times = [self._deadlines[0][0]] if self._deadlines else []
        cfg = self.config
        for room in self._rooms.values():
            orb = room.orb
            if orb is None:
                continue
            if orb.stop_requested_at is not None:
                # A stopping orb has one limit left; its others may lie in the past.
                times.append(orb.stop_requested_at + cfg.orb_stop_timeout)
                continue
            times.append(orb.spawned_at + cfg.orb_max_lifetime)
            if not orb.joined:
                times.append(orb.spawned_at + cfg.orb_join_timeout)
            if orb.humans_absent_since is not None:
                times.append(orb.humans_absent_since + cfg.orb_idle_grace)
        return min(times) if times else None

    def orb_ended(
        self, room_id: str, session_id: str, now: float, spawn_id: int | None = None
    ) -> list[Command]:
        """The I/O side reports that the orb it spawned for ``room_id`` is gone.

        An orb that had joined departs when its connection closes; this only frees the slot of
        an orb that never joined (failed to start, crashed early). With ``spawn_id`` (from the
        ``SpawnOrb``), a report about an earlier orb of the same session is ignored.
        """
        out: list[Command] = []
        room = self._rooms.get(room_id)
        if room is None or room.orb is None or room.orb.session_id != session_id:
            return out
        if spawn_id is not None and room.orb.spawn_id != spawn_id:
            return out
        orb = room.orb
        participant = room.participants.get(orb.user_id)
        if participant is None:
            self._forget_orb(room, now, out)
        return out

    def stop(self, now: float) -> list[Command]:
        """The server is shutting down: close everything with 1001 and stop every orb."""
        out: list[Command] = []
        for room in list(self._rooms.values()):
            if room.orb is not None:
                out.append(StopOrb(room.room_id, room.orb.session_id, "server-shutdown"))
            for participant in list(room.participants.values()):
                out.append(ParticipantLeft(
                    room.session_id, room.room_id, participant.user_id, now,
                    Departure.SERVER_STOPPED,
                ))
            out.append(SessionEnded(room.session_id, room.room_id, now))
        for conn_id in self._conns:
            out.append(Close(conn_id, CloseCode.GOING_AWAY, "server shutting down"))
        self._conns.clear()
        self._rooms.clear()
        self._deadlines.clear()
        self._orb_count = 0
        return out

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

    # ------------------------------------------------------------------ message handlers

    def _on_ping(self, conn: Connection, msg: dict[str, Any], now: float,
                 out: list[Command]) -> None:
        out.append(Send(conn.conn_id, messages.PONG))

    def _on_join(self, conn: Connection, msg: dict[str, Any], now: float,
                 out: list[Command]) -> None:
        request = parse_join(msg, conn.room_id)
        if (self._authorize_join is not None and not conn.trusted
                and not self._authorize_join(conn.room_id, request)):
            # Refused before any room lookup, so nothing about the room is revealed.
            out.append(Send(conn.conn_id, messages.error(
                ErrorCode.UNAUTHORIZED, "missing or invalid join token", "join")))
            self._drop(conn, CloseCode.UNAUTHORIZED, "unauthorized",
                       Departure.PROTOCOL_VIOLATION, now, out)
            return
        if request.user_id.startswith(ORB_USER_PREFIX) and request.participant_type != AI:
            raise ProtocolError(ErrorCode.FORBIDDEN,
                                "userIds starting with 'ai-orb-' are for ai participants", "join")
        room = self._rooms.get(conn.room_id)
        existing = room.participants.get(request.user_id) if room is not None else None
        if existing is not None:
            if not self.config.replace_on_rejoin:
                raise ProtocolError(
                    ErrorCode.DUPLICATE_USER, "this userId is already in the room", "join"
                )
            # §6: the newer connection wins; the old one is closed and departs first.
            # The room (and its session) outlives the swap even if it held only this user.
            self._drop(existing.conn, CloseCode.REPLACED, "replaced", Departure.REPLACED,
                       now, out, keep_room=True)
        elif room is not None and len(room.participants) >= self.config.max_participants:
            raise ProtocolError(ErrorCode.ROOM_FULL, "the room is full", "join")
        if room is None:
            if len(self._rooms) >= self.config.max_rooms:
                raise ProtocolError(ErrorCode.ROOM_FULL,
                                    "the server is full: no new room can be opened now", "join")
            room = Room(conn.room_id, self._new_session_id(), now)
            self._rooms[conn.room_id] = room
            out.append(SessionStarted(room.session_id, room.room_id, now))

        joiner = Participant(conn, request.user_id, request.user_name, request.user_role,
                             request.participant_type, now)
        others = list(room.participants.values())
        peers = []
        for other in others:
            entry: dict[str, object] = dict(other.public)
            entry["shouldCreateOffer"] = _offers(joiner, other)
            peers.append(entry)
        conn.participant = joiner
        room.participants[joiner.user_id] = joiner
        out.append(Send(conn.conn_id, messages.peer_discovery(room.room_id, peers)))
        encoded: dict[bool, bytes] = {}
        for other in others:
            offer = _offers(other, joiner)
            data = encoded.get(offer)
            if data is None:
                data = encoded[offer] = messages.user_joined(joiner.public, offer)
            out.append(Send(other.conn.conn_id, data))
        out.append(ParticipantJoined(room.session_id, room.room_id, joiner.record(), now))

        orb = room.orb
        if joiner.is_ai:
            if orb is not None and orb.user_id == joiner.user_id:
                orb.joined = True
        else:
            room.humans += 1
            if orb is not None:
                orb.humans_absent_since = None
            elif self.config.orbs_enabled and joiner.user_role == COACH:
                self._spawn_orb(room, joiner, now, out)

    def _on_leave(self, conn: Connection, msg: dict[str, Any], now: float,
                  out: list[Command]) -> None:
        assert conn.participant is not None
        self._depart(conn.participant, Departure.LEAVE, now, out)
        # The connection may join again; it gets a fresh join deadline.
        conn.join_deadline = now + self.config.join_timeout
        if conn.join_deadline < conn.heap_deadline:
            conn.heap_deadline = conn.join_deadline
            heapq.heappush(self._deadlines, (conn.join_deadline, conn.conn_id))

    def _on_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                   out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        mtype: str = msg["type"]
        if SIGNAL_PAYLOAD_FIELD[mtype] not in msg:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE,
                                f"{mtype} needs a '{SIGNAL_PAYLOAD_FIELD[mtype]}' field", mtype)
        to_id = msg.get("toId")
        if type(to_id) is str:
            # The hot path (a valid targeted relay) in one piece; anything unusual, errors
            # included, goes through the general ``_relay``.
            target = self._rooms[conn.room_id].participants.get(to_id)
            if target is not None and target is not sender and not (
                    sender.is_ai and target.is_ai):
                msg["fromId"] = sender.user_id
                try:
                    data = orjson.dumps(msg)
                except orjson.JSONEncodeError:
                    data = self._encode_relay(msg, mtype)  # raises the protocol's error
                out.append(Send(target.conn.conn_id, data))
                return
        self._relay(sender, msg, mtype, out, skip_ai_pairs=True)

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
        room = self._rooms[conn.room_id]
        out.append(OrbStatusChanged(room.session_id, room.room_id, sender.user_id, status, now))

    def _on_ai_control(self, conn: Connection, msg: dict[str, Any], now: float,
                       out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, "ai_control")
        msg.pop("toId", None)
        msg["fromId"] = sender.user_id
        data: bytes | None = None
        for other in self._rooms[conn.room_id].participants.values():
            if other.is_ai:
                if data is None:
                    data = self._encode_relay(msg, "ai_control")
                out.append(Send(other.conn.conn_id, data))

    def _on_client_signal(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        require_action(msg, "client_signal")
        self._relay(sender, msg, "client_signal", out)

    def _on_orb_heartbeat(self, conn: Connection, msg: dict[str, Any], now: float,
                          out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        orb = self._rooms[conn.room_id].orb
        if orb is not None and orb.user_id == sender.user_id:
            orb.last_heartbeat = now
            metrics = msg.get("metrics")
            if type(metrics) is dict:
                # Kept flat and small: admin endpoints serialise it, so no depth, no bulk.
                orb.metrics = {
                    str(key)[:64]: value for key, value in list(metrics.items())[:32]
                    if type(value) in (int, float, bool)
                    or (type(value) is str and len(value) <= 128)
                }

    def _on_orb_shutdown(self, conn: Connection, msg: dict[str, Any], now: float,
                         out: list[Command]) -> None:
        sender = conn.participant
        assert sender is not None
        reason = msg.get("reason")
        if type(reason) is not str or reason not in ORB_SHUTDOWN_REASONS:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE,
                "reason must be one of " + ", ".join(sorted(ORB_SHUTDOWN_REASONS)),
                "ai-orb-shutdown",
            )
        self._depart(sender, _ORB_SHUTDOWN_ENDINGS[reason], now, out)
        conn.join_deadline = now + self.config.join_timeout
        if conn.join_deadline < conn.heap_deadline:
            conn.heap_deadline = conn.join_deadline
            heapq.heappush(self._deadlines, (conn.join_deadline, conn.conn_id))

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
        room = self._rooms[sender.conn.room_id]
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
            out.append(Send(target.conn.conn_id, self._encode_relay(msg, mtype)))
            return
        data: bytes | None = None
        for other in room.participants.values():
            if other is sender or (skip_ai_pairs and sender.is_ai and other.is_ai):
                continue
            if data is None:
                data = self._encode_relay(msg, mtype)
            out.append(Send(other.conn.conn_id, data))

    # ------------------------------------------------------------------ departures

    def _drop(self, conn: Connection, code: int, reason: str, ending: Departure,
              now: float, out: list[Command], keep_room: bool = False) -> None:
        """Close a connection from the core's side; it is gone from now on."""
        del self._conns[conn.conn_id]
        out.append(Close(conn.conn_id, code, reason))
        if conn.participant is not None:
            self._depart(conn.participant, ending, now, out, keep_room)

    def _depart(self, participant: Participant, ending: Departure, now: float,
                out: list[Command], keep_room: bool = False) -> None:
        """Remove a participant; the only place a ``user-left`` is produced."""
        conn = participant.conn
        conn.participant = None
        room = self._rooms[conn.room_id]
        del room.participants[participant.user_id]
        data: bytes | None = None
        for other in room.participants.values():
            if data is None:
                data = messages.user_left(participant.public)
            out.append(Send(other.conn.conn_id, data))
        out.append(ParticipantLeft(room.session_id, room.room_id, participant.user_id, now,
                                   ending))
        orb = room.orb
        if participant.is_ai:
            # A replaced orb is the same orb on a new connection: it keeps its slot.
            if (orb is not None and orb.user_id == participant.user_id
                    and ending is not Departure.REPLACED):
                room.orb = None
                self._orb_count -= 1
        else:
            room.humans -= 1
            if room.humans == 0 and orb is not None:
                orb.humans_absent_since = now
        if not keep_room:
            self._maybe_delete_room(room, now, out)

    def _maybe_delete_room(self, room: Room, now: float, out: list[Command]) -> None:
        if not room.participants and room.orb is None:
            del self._rooms[room.room_id]
            out.append(SessionEnded(room.session_id, room.room_id, now))

    # ------------------------------------------------------------------ orb lifecycle

    def _spawn_orb(self, room: Room, coach: Participant, now: float,
                   out: list[Command]) -> None:
        if self._orb_count >= self.config.max_orbs:
            out.append(Send(coach.conn.conn_id, messages.error(
                ErrorCode.ORB_UNAVAILABLE, "no AI orb can be started for this room now")))
            return
        user_id = orb_user_id(room.session_id)
        self._spawns += 1
        room.orb = Orb(room.session_id, user_id, now, self._spawns)
        self._orb_count += 1
        out.append(SpawnOrb(room.room_id, room.session_id, user_id, self._spawns))

    def _forget_orb(self, room: Room, now: float, out: list[Command]) -> None:
        room.orb = None
        self._orb_count -= 1
        self._maybe_delete_room(room, now, out)

    def _request_stop(self, room: Room, orb: Orb, reason: str, now: float,
                      out: list[Command]) -> None:
        orb.stop_requested_at = now
        orb.stop_reason = reason
        out.append(StopOrb(room.room_id, orb.session_id, reason))

    def _check_orbs(self, now: float, out: list[Command]) -> None:
        cfg = self.config
        for room in list(self._rooms.values()):
            orb = room.orb
            if orb is None:
                continue
            if orb.stop_requested_at is not None:
                if now >= orb.stop_requested_at + cfg.orb_stop_timeout:
                    self._force_orb_out(room, orb, now, out)
                continue
            if not orb.joined and now >= orb.spawned_at + cfg.orb_join_timeout:
                out.append(StopOrb(room.room_id, orb.session_id, "error"))
                self._forget_orb(room, now, out)
            elif now >= orb.spawned_at + cfg.orb_max_lifetime:
                self._request_stop(room, orb, "timeout", now, out)
            elif (orb.humans_absent_since is not None
                  and now >= orb.humans_absent_since + cfg.orb_idle_grace):
                self._request_stop(room, orb, "session_complete", now, out)

    def _force_orb_out(self, room: Room, orb: Orb, now: float, out: list[Command]) -> None:
        """An orb asked to stop did not leave in time: close it as the protocol would."""
        participant = room.participants.get(orb.user_id)
        if participant is None:
            self._forget_orb(room, now, out)
            return
        ending = _ORB_SHUTDOWN_ENDINGS.get(orb.stop_reason or "", Departure.ORB_ERROR)
        self._drop(participant.conn, CloseCode.NORMAL, "orb stopped", ending, now, out)

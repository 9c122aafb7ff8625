"""Hypothesis drives random histories through the core and checks the protocol's invariants.

A model written from docs/protocol.md (membership, deadlines, orb slots) predicts, for every step,
which messages, closes, orb commands and session records the core must emit; the checker
compares the prediction with the core's commands exactly, and then rebuilds each
participant's view of its room from the messages it received alone. The view is what a real
browser knows, so the invariants checked on it are the ones users would notice: who offers to
whom (§5), who is in the room (§4), exactly one ``user-left`` per departure, nothing crossing
rooms, ``fromId`` always the true sender, per-pair order (§8), and no state left behind once
every connection has closed.

Connections may also be lost (dropped, idle, slow): with a reconnect grace a human's seat is then
*away* rather than gone, and the model predicts exactly the ``user-away``, the ``user-back`` of a
resume (a ``join`` with the seat's ``resumeToken``: refused with any other token, or without one
while the seat is away), the resumed ``peer-discovery`` (which peers are unchanged, which joined,
which left) and the one ``user-left`` when the grace ends; a message to an away seat is refused
with ``peer-away`` and never delivered later, so order per pair holds across a resume.

The model of the I/O layer answers ``SpawnOrb`` by opening a connection that joins as the orb
or by reporting ``orb_ended``, obeys or ignores ``StopOrb``, and acknowledges each ``Close``
with ``closed()`` (which must then be a no-op).
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter, defaultdict
from typing import Any

import attrs
import orjson
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from signaling_core import (
    ORB_MODES,
    Close,
    Command,
    ConnectionActive,
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    Departure,
    OrbEnded,
    OrbModeChanged,
    OrbStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    Send,
    ServerStopping,
    SessionEnded,
    SessionStarted,
    SignalingCore,
    SpawnOrb,
    StopOrb,
    TextReceived,
    TimeAdvanced,
)

ROOMS = ("r1", "r2", "r3")
USER_IDS = ("alice", "bob", "carol", "dave", "eve")
ROLES = ("coach", "client", "observer", "ai")
NAMES = ("", "Coach Carol", "<b>x</b>", "Zoë 🎉")
SIGNALS = ("offer", "answer", "ice-candidate")
RELAY_KINDS = (*SIGNALS, "client_signal", "ai_status", "ai_control")
PAYLOAD_FIELD = {"offer": "offer", "answer": "answer", "ice-candidate": "candidate"}
SHUTDOWN_ENDINGS = {
    "session_complete": Departure.ORB_SESSION_COMPLETE,
    "timeout": Departure.ORB_TIMEOUT,
    "error": Departure.ORB_ERROR,
}
#: (message, error code) for joins that must be refused on a connection that has not joined.
BAD_JOINS: tuple[tuple[dict[str, Any], str], ...] = (
    ({"type": "join", "userName": "x", "userRole": "coach"}, "invalid-message"),
    ({"type": "join", "userId": "alice", "userRole": "bad role!"}, "invalid-message"),
    ({"type": "join", "userId": "alice", "userRole": "ai", "participantType": "human"},
     "invalid-message"),
    ({"type": "join", "userId": "alice", "userRole": "coach", "participantType": "robot"},
     "invalid-message"),
    ({"type": "join", "userId": "a\x01b", "userRole": "coach"}, "invalid-message"),
    ({"type": "join", "userId": "x" * 129, "userRole": "coach"}, "invalid-message"),
    ({"type": "join", "userId": 7, "userRole": "client"}, "invalid-message"),
    ({"type": "join", "roomId": "elsewhere", "userId": "alice", "userRole": "coach"},
     "room-mismatch"),
)
#: Texts that are not a usable message at all, and the error each must get.
GARBAGE: tuple[tuple[str | bytes, str], ...] = (
    ("{not json", "invalid-json"),
    (b"\xff\xfe", "invalid-json"),
    ("[1, 2]", "invalid-message"),
    ('{"type": 3}', "invalid-message"),
    ('{"no": "type"}', "invalid-message"),
    ('{"type": "teleport"}', "unknown-type"),
)


# --------------------------------------------------------------------------- the model


@attrs.define(eq=False)
class MMember:
    conn_id: int
    user_id: str
    user_name: str
    role: str
    ptype: str
    #: The room's membership counter when this seat was taken.
    epoch: int = 0
    #: The resumeToken its peer-discovery carried (filled in by the checker).
    token: str | None = None
    away: bool = False
    away_until: float = 0.0
    away_cause: Departure = Departure.DROPPED
    away_epoch: int = 0
    #: The others (userId -> public fields) when it went away.
    peers_seen: dict[str, dict[str, str]] = attrs.Factory(dict)
    #: When this seat last opened an addressed turn (``ai_ask``): kept across a resume.
    last_ask: float | None = None

    @property
    def is_ai(self) -> bool:
        return self.ptype == "ai"

    def public(self) -> dict[str, str]:
        return {"userId": self.user_id, "userName": self.user_name,
                "userRole": self.role, "participantType": self.ptype}


@attrs.define(eq=False)
class MConn:
    """A connection as the model (and the peer at its end) sees it."""

    conn_id: int
    room_id: str
    last_seen: float
    join_deadline: float
    member: MMember | None = None
    #: The peer's picture of its room from the messages it got: userId -> (public, offers).
    view: dict[str, tuple[dict[str, str], bool]] | None = None
    #: The peers it was told are away (user-away, or ``away`` in its peer-discovery).
    away_view: set[str] = attrs.Factory(set)


@attrs.define(eq=False)
class MOrb:
    session_id: str
    user_id: str
    spawned_at: float
    joined: bool = False
    humans_absent_since: float | None = None
    stop_requested_at: float | None = None
    stop_reason: str | None = None


@attrs.define(eq=False)
class MRoom:
    room_id: str
    session_id: str
    members: dict[str, MMember] = attrs.Factory(dict)
    orb: MOrb | None = None
    epoch: int = 0
    #: The coach whose ``end_session`` ended the session, once one has.
    ended_by: str | None = None
    #: Whom the orb talks to (``ai_mode``): the server's default until a coach sets it.
    orb_mode: str = "addressed"


@attrs.define
class Expect:
    """What one call into the core must produce."""

    closes: dict[int, int] = attrs.Factory(dict)
    errors: list[tuple[int, str]] = attrs.Factory(list)
    pongs: list[int] = attrs.Factory(list)
    relays: dict[int, list[dict[str, Any]]] = attrs.Factory(lambda: defaultdict(list))
    relay_sender: int | None = None
    discoveries: dict[int, list[str]] = attrs.Factory(dict)
    #: Per discovery: [(userId, away, status or None)] and the ``left`` userIds (None: fresh).
    discovery_details: dict[int, tuple[list[tuple[str, bool, str | None]], list[str] | None]] = (
        attrs.Factory(dict))
    away_notices: dict[int, list[str]] = attrs.Factory(lambda: defaultdict(list))
    back_notices: dict[int, list[str]] = attrs.Factory(lambda: defaultdict(list))
    joined_notices: dict[int, list[str]] = attrs.Factory(lambda: defaultdict(list))
    left_notices: Counter[tuple[int, str]] = attrs.Factory(Counter)
    departed: set[tuple[str, str]] = attrs.Factory(set)
    spawns: list[tuple[str, str, str]] = attrs.Factory(list)
    stops: list[tuple[str, str, str]] = attrs.Factory(list)
    started: list[tuple[str, str]] = attrs.Factory(list)
    ended: list[tuple[str, str, str | None]] = attrs.Factory(list)
    #: Receivers of ``session-ended``, with the ending coach's userId.
    session_ended: list[tuple[int, str]] = attrs.Factory(list)
    p_joined: list[tuple[str, str, str]] = attrs.Factory(list)
    p_left: list[tuple[str, str, str, str]] = attrs.Factory(list)
    statuses: list[tuple[str, str, str, str]] = attrs.Factory(list)
    #: ``ai-mode`` receivers with the mode and the coach's userId; the ledger's changes.
    modes: list[tuple[int, str, str]] = attrs.Factory(list)
    mode_changes: list[tuple[str, str, str, str]] = attrs.Factory(list)
    #: ``ai_ask`` as each orb's connection must get it.
    asks: dict[int, list[dict[str, Any]]] = attrs.Factory(lambda: defaultdict(list))


class Model:
    """docs/protocol.md as plain bookkeeping; each method records what the core must emit."""

    def __init__(self, cfg: CoreConfig) -> None:
        self.cfg = cfg
        self.now = 0.0
        self.conns: dict[int, MConn] = {}
        #: Every connection ever opened, closed ones included, for look-ups during a step.
        self.every_conn: dict[int, MConn] = {}
        self.rooms: dict[str, MRoom] = {}
        self.orb_count = 0
        self.session_ids = (f"s{n}" for n in itertools.count(1))

    # ---- deadlines

    def conn_deadline(self, conn: MConn) -> float:
        deadline = conn.last_seen + self.cfg.idle_timeout
        if conn.member is None:
            deadline = min(deadline, conn.join_deadline)
        return deadline

    def orb_deadline(self, orb: MOrb) -> float:
        cfg = self.cfg
        if orb.stop_requested_at is not None:
            return orb.stop_requested_at + cfg.orb_stop_timeout
        times = [orb.spawned_at + cfg.orb_max_lifetime]
        if not orb.joined:
            times.append(orb.spawned_at + cfg.orb_join_timeout)
        if orb.humans_absent_since is not None:
            times.append(orb.humans_absent_since + cfg.orb_idle_grace)
        return min(times)

    def next_deadline(self) -> float | None:
        times = [self.conn_deadline(c) for c in self.conns.values()]
        times += [m.away_until for r in self.rooms.values() for m in r.members.values() if m.away]
        times += [self.orb_deadline(r.orb) for r in self.rooms.values() if r.orb is not None]
        return min(times) if times else None

    # ---- transitions

    def seen(self, conn_id: int) -> None:
        conn = self.conns.get(conn_id)
        if conn is not None:
            conn.last_seen = self.now

    def open(self, conn_id: int, room_id: str, exp: Expect) -> None:
        if room_id not in ROOMS:
            exp.closes[conn_id] = 1008
            return
        conn = MConn(conn_id, room_id, self.now, self.now + self.cfg.join_timeout)
        self.conns[conn_id] = self.every_conn[conn_id] = conn

    def join(self, conn: MConn, user_id: str, name: str, role: str, ptype: str,
             exp: Expect, token: str | None = None) -> None:
        if conn.member is not None:
            exp.errors.append((conn.conn_id, "already-joined"))
            return
        if user_id.startswith("ai-orb-") and ptype != "ai":
            exp.errors.append((conn.conn_id, "forbidden"))  # orb ids are for ai participants
            return
        room = self.rooms.get(conn.room_id)
        existing = room.members.get(user_id) if room is not None else None
        if existing is not None and room is not None:
            if token is not None:
                if token != existing.token:
                    exp.errors.append((conn.conn_id, "resume-refused"))
                else:
                    self.resume(conn, room, existing, exp)
                return
            if existing.away:
                exp.errors.append((conn.conn_id, "resume-refused"))
                return
        if existing is None and room is not None and len(room.members) >= self.cfg.max_participants:
            exp.errors.append((conn.conn_id, "room-full"))
            return
        if existing is not None:
            self.drop(self.conns[existing.conn_id], 4001, Departure.REPLACED, exp, keep_room=True)
        if room is None:
            room = self.rooms[conn.room_id] = MRoom(conn.room_id, next(self.session_ids),
                                                    orb_mode=self.cfg.orb_mode)
            exp.started.append((room.session_id, room.room_id))
        room.epoch += 1
        member = MMember(conn.conn_id, user_id, name, role, ptype, room.epoch)
        exp.discoveries[conn.conn_id] = list(room.members)
        exp.discovery_details[conn.conn_id] = (
            [(o.user_id, o.away, None) for o in room.members.values()], None)
        for other in room.members.values():
            if not other.away:
                exp.joined_notices[other.conn_id].append(user_id)
        room.members[user_id] = member
        conn.member = member
        exp.p_joined.append((room.session_id, room.room_id, user_id))
        orb = room.orb
        if member.is_ai:
            if orb is not None and orb.user_id == user_id:
                orb.joined = True
        elif orb is not None:
            orb.humans_absent_since = None
        elif self.cfg.orbs_enabled and role == "coach":
            if self.orb_count >= self.cfg.max_orbs:
                exp.errors.append((conn.conn_id, "orb-unavailable"))
            else:
                orb_id = f"ai-orb-{room.session_id}"
                # An ai holding the orb's userId is adopted as the room's orb, never doubled.
                room.orb = MOrb(room.session_id, orb_id, self.now,
                                joined=orb_id in room.members)
                self.orb_count += 1
                if not room.orb.joined:
                    exp.spawns.append((room.room_id, room.session_id, orb_id))

    def resume(self, conn: MConn, room: MRoom, seat: MMember, exp: Expect) -> None:
        """A join with the seat's token: the seat moves to ``conn``, nobody leaves or joins."""
        if seat.away:
            since, seen = seat.away_epoch, seat.peers_seen
            seat.away = False
        else:  # taken from its old connection, which is closed with 4001
            old = self.conns.pop(seat.conn_id)
            old.member = None
            old.view = None
            exp.closes[old.conn_id] = 4001
            since, seen = room.epoch, {}
        seat.peers_seen = {}
        seat.conn_id = conn.conn_id
        conn.member = seat
        others = [o for o in room.members.values() if o is not seat]
        exp.discoveries[conn.conn_id] = [o.user_id for o in others]
        exp.discovery_details[conn.conn_id] = (
            [(o.user_id, o.away, "joined" if o.epoch > since else "unchanged") for o in others],
            [uid for uid in seen if uid not in room.members])
        for other in others:
            if not other.away:
                exp.back_notices[other.conn_id].append(seat.user_id)

    def lose(self, member: MMember, cause: Departure, exp: Expect) -> None:
        """A lost connection: away for the grace (a human, not by decision), else departed."""
        grace = self.cfg.reconnect_grace
        if not (grace > 0 and cause in (Departure.DROPPED, Departure.TIMED_OUT,
                                        Departure.SLOW_CONSUMER) and not member.is_ai):
            self.depart(member, cause, exp)
            return
        conn = self.every_conn[member.conn_id]
        conn.member = None
        conn.view = None
        room = self.rooms[conn.room_id]
        member.away = True
        member.away_until = self.now + grace
        member.away_cause = cause
        member.away_epoch = room.epoch
        member.peers_seen = {uid: o.public() for uid, o in room.members.items() if o is not member}
        for other in room.members.values():
            if other is not member and not other.away:
                exp.away_notices[other.conn_id].append(member.user_id)

    def depart(self, member: MMember, ending: Departure, exp: Expect,
               keep_room: bool = False) -> None:
        conn = self.every_conn[member.conn_id]
        if conn.member is member:
            conn.member = None
            conn.view = None
        member.away = False
        room = self.rooms[conn.room_id]
        del room.members[member.user_id]
        for other in room.members.values():
            if other.away:
                continue
            exp.left_notices[(other.conn_id, member.user_id)] += 1
        exp.departed.add((room.room_id, member.user_id))
        exp.p_left.append((room.session_id, room.room_id, member.user_id, ending.value))
        orb = room.orb
        if member.is_ai:
            if (orb is not None and orb.user_id == member.user_id
                    and ending is not Departure.REPLACED):
                room.orb = None
                self.orb_count -= 1
        elif orb is not None and not any(not m.is_ai for m in room.members.values()):
            orb.humans_absent_since = self.now
        if not keep_room:
            self.maybe_delete(room, exp)

    def maybe_delete(self, room: MRoom, exp: Expect) -> None:
        if not room.members and room.orb is None:
            del self.rooms[room.room_id]
            exp.ended.append((room.session_id, room.room_id,
                              None if room.ended_by is None else "ended-by-coach"))

    def drop(self, conn: MConn, code: int, ending: Departure, exp: Expect,
             keep_room: bool = False) -> None:
        """The core closes ``conn`` itself."""
        del self.conns[conn.conn_id]
        exp.closes[conn.conn_id] = code
        if conn.member is not None:
            if keep_room:
                self.depart(conn.member, ending, exp, keep_room)
            else:
                self.lose(conn.member, ending, exp)

    def closed(self, conn_id: int, cause: Departure, exp: Expect) -> None:
        """The I/O side reports the connection gone."""
        conn = self.conns.pop(conn_id, None)
        if conn is not None and conn.member is not None:
            self.lose(conn.member, cause, exp)

    def fresh_join_deadline(self, conn: MConn) -> None:
        conn.join_deadline = self.now + self.cfg.join_timeout

    def forget_orb(self, room: MRoom, exp: Expect) -> None:
        room.orb = None
        self.orb_count -= 1
        self.maybe_delete(room, exp)

    def tick(self, exp: Expect) -> None:
        now = self.now
        for conn in sorted(self.conns.values(), key=lambda c: (self.conn_deadline(c), c.conn_id)):
            if conn.conn_id in self.conns and self.conn_deadline(conn) <= now:
                self.drop(conn, 4008, Departure.TIMED_OUT, exp)
        for room in list(self.rooms.values()):
            for member in list(room.members.values()):
                if member.away and member.away_until <= now:
                    self.depart(member, member.away_cause, exp)
        cfg = self.cfg
        for room in list(self.rooms.values()):
            orb = room.orb
            if orb is None:
                continue
            if orb.stop_requested_at is not None:
                if now >= orb.stop_requested_at + cfg.orb_stop_timeout:
                    member = room.members.get(orb.user_id)
                    if member is None:
                        self.forget_orb(room, exp)
                    else:
                        ending = SHUTDOWN_ENDINGS.get(orb.stop_reason or "", Departure.ORB_ERROR)
                        self.drop(self.conns[member.conn_id], 1000, ending, exp)
                continue
            if not orb.joined and now >= orb.spawned_at + cfg.orb_join_timeout:
                exp.stops.append((room.room_id, orb.session_id, "error"))
                self.forget_orb(room, exp)
            elif now >= orb.spawned_at + cfg.orb_max_lifetime:
                self.request_stop(room, orb, "timeout", exp)
            elif (orb.humans_absent_since is not None
                  and now >= orb.humans_absent_since + cfg.orb_idle_grace):
                self.request_stop(room, orb, "session_complete", exp)

    def end_session(self, conn: MConn, exp: Expect) -> None:
        """``end_session``: only a human coach; every present human hears ``session-ended``,
        the others are closed (4010) and depart, away ones at once; the orb is asked to stop."""
        sender = conn.member
        if sender is None:
            exp.errors.append((conn.conn_id, "not-joined"))
            return
        if sender.is_ai or sender.role != "coach":
            exp.errors.append((conn.conn_id, "forbidden"))
            return
        room = self.rooms[conn.room_id]
        room.ended_by = sender.user_id
        others = [m for m in room.members.values() if m is not sender and not m.is_ai]
        for member in (sender, *others):
            if not member.away:
                exp.session_ended.append((member.conn_id, sender.user_id))
        for member in others:
            if member.away:
                self.depart(member, Departure.SESSION_ENDED, exp)
            else:
                self.drop(self.conns[member.conn_id], 4010, Departure.SESSION_ENDED, exp)
        orb = room.orb
        if orb is not None and orb.stop_requested_at is None:
            self.request_stop(room, orb, "session_complete", exp)

    def ai_mode(self, conn: MConn, mode: str, exp: Expect) -> None:
        """``ai_mode``: only a human coach, with a known mode; every present participant,
        the coach and the orb included, hears ``ai-mode``; the room keeps the mode."""
        sender = conn.member
        if sender is None:
            exp.errors.append((conn.conn_id, "not-joined"))
            return
        if sender.is_ai or sender.role != "coach":
            exp.errors.append((conn.conn_id, "forbidden"))
            return
        if mode not in ORB_MODES:
            exp.errors.append((conn.conn_id, "invalid-message"))
            return
        room = self.rooms[conn.room_id]
        room.orb_mode = mode
        for member in room.members.values():
            if not member.away:
                exp.modes.append((member.conn_id, mode, sender.user_id))
        exp.mode_changes.append((room.session_id, room.room_id, mode, sender.user_id))

    def ai_ask(self, conn: MConn, exp: Expect) -> None:
        """``ai_ask``: a human opens an addressed turn; relayed to the room's orbs only,
        refused in ``listen``, without an orb, and within ``ask_interval`` of the seat's last."""
        sender = conn.member
        if sender is None:
            exp.errors.append((conn.conn_id, "not-joined"))
            return
        if sender.is_ai:
            exp.errors.append((conn.conn_id, "forbidden"))
            return
        room = self.rooms[conn.room_id]
        orbs = [m for m in room.members.values() if m.is_ai and not m.away]
        if room.orb_mode == "listen":
            exp.errors.append((conn.conn_id, "orb-listening"))
        elif not orbs:
            exp.errors.append((conn.conn_id, "orb-unavailable"))
        elif sender.last_ask is not None and self.now - sender.last_ask < self.cfg.ask_interval:
            exp.errors.append((conn.conn_id, "rate-limited"))
        else:
            sender.last_ask = self.now
            for orb in orbs:
                exp.asks[orb.conn_id].append({"type": "ai_ask", "fromId": sender.user_id,
                                              "userRole": sender.role})

    def request_stop(self, room: MRoom, orb: MOrb, reason: str, exp: Expect) -> None:
        orb.stop_requested_at = self.now
        orb.stop_reason = reason
        exp.stops.append((room.room_id, orb.session_id, reason))

    def orb_ended(self, room_id: str, session_id: str, exp: Expect) -> None:
        room = self.rooms.get(room_id)
        if room is None or room.orb is None or room.orb.session_id != session_id:
            return
        if room.orb.user_id not in room.members:
            self.forget_orb(room, exp)

    def relay(self, conn: MConn, msg: dict[str, Any], exp: Expect) -> None:
        """Predict a relayed message (``msg`` is what the client sends)."""
        kind = msg["type"]
        sender = conn.member
        if sender is None:
            exp.errors.append((conn.conn_id, "not-joined"))
            return
        humans_only = kind in ("offer", "ai_control")
        if (humans_only and sender.is_ai) or (kind == "ai_status" and not sender.is_ai):
            exp.errors.append((conn.conn_id, "forbidden"))
            return
        room = self.rooms[conn.room_id]
        out = dict(msg)
        out["fromId"] = sender.user_id
        if kind in ("ai_status", "ai_control"):
            out.pop("toId", None)
        if kind == "ai_status":
            out["mode"] = room.orb_mode  # the room's word on the mode, not the orb's
        skip_ai_pairs = kind in SIGNALS
        if kind == "ai_control":
            targets = [m for m in room.members.values() if m.is_ai]
        elif "toId" in out:
            target = room.members.get(out["toId"])
            if target is None or target is sender:
                exp.errors.append((conn.conn_id, "unknown-target"))
                return
            if skip_ai_pairs and sender.is_ai and target.is_ai:
                exp.errors.append((conn.conn_id, "forbidden"))
                return
            if target.away:
                exp.errors.append((conn.conn_id, "peer-away"))
                return
            targets = [target]
        else:
            targets = [m for m in room.members.values() if m is not sender and not m.away
                       and not (skip_ai_pairs and sender.is_ai and m.is_ai)]
        exp.relay_sender = conn.conn_id
        for target in targets:
            exp.relays[target.conn_id].append(out)
        if kind == "ai_status":
            exp.statuses.append((room.session_id, room.room_id, sender.user_id, msg["status"]))


# --------------------------------------------------------------------------- the checks


def offers_per_protocol(a: MMember, b: MMember) -> bool:
    """§5 read straight from the page: does ``a`` create the offer to ``b``?"""
    if a.is_ai:
        return False
    if b.is_ai:
        return True
    if (a.role, b.role) == ("coach", "client"):
        return True
    if (a.role, b.role) == ("client", "coach"):
        return False
    return a.user_id < b.user_id


class CoreMachine(RuleBasedStateMachine):
    """Random histories across three rooms, with the model as the oracle."""

    def __init__(self) -> None:
        super().__init__()
        self.core: SignalingCore | None = None
        self.model: Model | None = None
        self.conn_ids = itertools.count(1)
        self.io_live: set[int] = set()
        self.seq = itertools.count(1)
        self.last_seq: dict[tuple[int, int], int] = {}
        self.last_seat_seq: dict[tuple[str, str, Any], int] = {}
        #: SpawnOrb commands the I/O model has not answered yet: (room, session, orb userId).
        self.pending_spawns: list[tuple[str, str, str]] = []
        self.conn_room: dict[int, str] = {}

    # ---- plumbing

    @property
    def m(self) -> Model:
        assert self.model is not None
        return self.model

    @property
    def c(self) -> SignalingCore:
        assert self.core is not None
        return self.core

    def live_conns(self) -> list[MConn]:
        return [self.m.conns[i] for i in sorted(self.m.conns)]

    def pick(self, index: int, joined: bool | None = None) -> MConn | None:
        conns = [c for c in self.live_conns()
                 if joined is None or (c.member is not None) == joined]
        return conns[index % len(conns)] if conns else None

    def run(self, exp: Expect, commands: list[Command]) -> None:
        """Compare the core's commands with the model's prediction, and update the views."""
        m = self.m
        live = set(self.io_live)
        errors: list[tuple[int, str]] = []
        pongs: list[int] = []
        relays: dict[int, list[dict[str, Any]]] = defaultdict(list)
        discoveries: dict[int, list[str]] = {}
        details: dict[int, tuple[list[tuple[str, bool, str | None]], list[str] | None]] = {}
        away_notices: dict[int, list[str]] = defaultdict(list)
        back_notices: dict[int, list[str]] = defaultdict(list)
        joined_notices: dict[int, list[str]] = defaultdict(list)
        left_notices: Counter[tuple[int, str]] = Counter()
        closes: dict[int, int] = {}
        spawns, stops, started, ended, p_joined, p_left, statuses = [], [], [], [], [], [], []
        session_ended: list[tuple[int, str]] = []
        modes: list[tuple[int, str, str]] = []
        mode_changes: list[tuple[str, str, str, str]] = []
        asks: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for cmd in commands:
            if isinstance(cmd, Send):
                to = cmd.conn_id
                assert to in live, f"send to a connection that is not open: {cmd}"
                assert isinstance(cmd.data, bytes)
                msg = orjson.loads(cmd.data)
                assert type(msg) is dict and type(msg.get("type")) is str
                assert cmd.kind == msg["type"], (cmd.kind, msg)
                assert cmd.error == (msg["code"] if msg["type"] == "error" else None), msg
                mconn = m.conns.get(to)
                kind = msg["type"]
                if kind == "error":
                    assert type(msg["message"]) is str
                    errors.append((to, msg["code"]))
                elif kind == "pong":
                    pongs.append(to)
                elif kind == "peer-discovery":
                    assert to not in discoveries, "two peer-discovery messages for one join"
                    assert mconn is not None and mconn.member is not None
                    assert msg["roomId"] == mconn.room_id
                    assert msg["orbMode"] == m.rooms[mconn.room_id].orb_mode, msg
                    discoveries[to] = [p["userId"] for p in msg["peers"]]
                    details[to] = ([(p["userId"], p.get("away", False), p.get("status"))
                                    for p in msg["peers"]],
                                   [left["userId"] for left in msg["left"]]
                                   if msg.get("resumed") else None)
                    assert type(msg["resumeToken"]) is str
                    mconn.member.token = msg["resumeToken"]
                    mconn.away_view = {p["userId"] for p in msg["peers"] if p.get("away")}
                    mconn.view = {}
                    for peer in msg["peers"]:
                        public = {k: v for k, v in peer.items()
                                  if k not in ("shouldCreateOffer", "away", "status")}
                        assert type(peer["shouldCreateOffer"]) is bool
                        mconn.view[peer["userId"]] = (public, peer["shouldCreateOffer"])
                elif kind == "user-joined":
                    joined_notices[to].append(msg["userId"])
                    assert mconn is not None and mconn.view is not None, "user-joined to non-member"
                    assert msg["userId"] not in mconn.view, "user-joined for a present peer"
                    assert type(msg["shouldCreateOffer"]) is bool
                    public = {k: v for k, v in msg.items()
                              if k not in ("type", "shouldCreateOffer")}
                    mconn.view[msg["userId"]] = (public, msg["shouldCreateOffer"])
                elif kind == "user-left":
                    left_notices[(to, msg["userId"])] += 1
                    view = mconn.view if mconn is not None else None
                    if view is not None:
                        assert msg["userId"] in view, "user-left for a peer not present"
                        del view[msg["userId"]]
                        assert mconn is not None
                        mconn.away_view.discard(msg["userId"])
                elif kind == "ai-mode":
                    modes.append((to, msg["mode"], msg["by"]))
                elif kind == "ai_ask":
                    asks[to].append(msg)
                elif kind == "session-ended":
                    assert msg["reason"] == "ended-by-coach", msg
                    session_ended.append((to, msg["by"]))
                elif kind in ("user-away", "user-back"):
                    (away_notices if kind == "user-away" else back_notices)[to].append(
                        msg["userId"])
                    if mconn is not None and mconn.view is not None:
                        assert msg["userId"] in mconn.view, f"{kind} for a peer not present"
                        assert mconn.view[msg["userId"]][0] == {
                            k: v for k, v in msg.items() if k != "type"}
                        if kind == "user-away":
                            assert msg["userId"] not in mconn.away_view, "user-away twice"
                            mconn.away_view.add(msg["userId"])
                        else:
                            mconn.away_view.discard(msg["userId"])
                else:
                    assert kind in RELAY_KINDS, f"unexpected message {msg}"
                    relays[to].append(msg)
                    sender = exp.relay_sender
                    assert sender is not None
                    key = (sender, to)
                    assert msg["seq"] > self.last_seq.get(key, 0), "relay order broken"
                    self.last_seq[key] = msg["seq"]
                    # The same pair of seats across a resume (new connections, same seats).
                    seat_key = (msg["room"], msg["fromId"], mconn.member.user_id
                                if mconn is not None and mconn.member is not None else to)
                    assert msg["seq"] > self.last_seat_seq.get(seat_key, 0), "order broken"
                    self.last_seat_seq[seat_key] = msg["seq"]
                    assert mconn is None or msg["room"] == mconn.room_id, "crossed rooms"
            elif isinstance(cmd, Close):
                assert cmd.conn_id in live, f"close of a connection not open: {cmd}"
                live.discard(cmd.conn_id)
                closes[cmd.conn_id] = cmd.code
            elif isinstance(cmd, SpawnOrb):
                spawns.append((cmd.room_id, cmd.session_id, cmd.user_id))
            elif isinstance(cmd, StopOrb):
                stops.append((cmd.room_id, cmd.session_id, cmd.reason))
            elif isinstance(cmd, SessionStarted):
                started.append((cmd.session_id, cmd.room_id))
            elif isinstance(cmd, SessionEnded):
                ended.append((cmd.session_id, cmd.room_id, cmd.how))
            elif isinstance(cmd, ParticipantJoined):
                p_joined.append((cmd.session_id, cmd.room_id, cmd.participant.user_id))
            elif isinstance(cmd, ParticipantLeft):
                p_left.append((cmd.session_id, cmd.room_id, cmd.user_id, cmd.ending.value))
            elif isinstance(cmd, OrbStatusChanged):
                statuses.append((cmd.session_id, cmd.room_id, cmd.user_id, cmd.status))
            elif isinstance(cmd, OrbModeChanged):
                mode_changes.append((cmd.session_id, cmd.room_id, cmd.mode, cmd.by))
            else:
                raise AssertionError(f"unknown command {cmd!r}")

        assert closes == exp.closes
        assert errors == exp.errors
        assert pongs == exp.pongs
        assert dict(relays) == {k: v for k, v in exp.relays.items() if v}
        assert discoveries == exp.discoveries
        assert details == exp.discovery_details
        for got, want in ((away_notices, exp.away_notices), (back_notices, exp.back_notices)):
            for to in set(got) | set(want):
                if to in m.conns:
                    assert got.get(to, []) == want.get(to, []), (to, got, want)
        assert dict(joined_notices) == {k: v for k, v in exp.joined_notices.items() if v}
        for (to, user_id), count in left_notices.items():
            if to in m.conns:
                continue  # checked below from the expectation's side
            # A receiver closed in this same step may or may not hear of the others first,
            # but at most once, and only of someone who left its own room in this step.
            assert count == 1, ("user-left twice", to, user_id)
            assert (self.conn_room[to], user_id) in exp.departed, ("stray user-left", to)
        for (to, user_id), count in exp.left_notices.items():
            if to in m.conns:
                assert left_notices[(to, user_id)] == count, ("user-left", to, user_id)
        for (to, user_id) in left_notices:
            assert (to, user_id) in exp.left_notices or to not in m.conns, ("stray user-left",
                                                                          to, user_id)
        assert sorted(spawns) == sorted(exp.spawns)
        assert sorted(stops) == sorted(exp.stops)
        assert sorted(started) == sorted(exp.started)
        assert sorted(ended) == sorted(exp.ended)
        assert p_joined == exp.p_joined
        assert sorted(p_left) == sorted(exp.p_left)
        assert statuses == exp.statuses
        assert session_ended == exp.session_ended
        assert sorted(modes) == sorted(exp.modes)
        assert mode_changes == exp.mode_changes
        assert dict(asks) == {k: v for k, v in exp.asks.items() if v}

        # The I/O layer carries out the closes and then reports them: a no-op by contract.
        for conn_id in closes:
            self.io_live.discard(conn_id)
            assert self.c.handle(ConnectionClosed(conn_id, m.now)) == [], \
                "closed after the core's Close"
        for room_id, session_id, user_id in spawns:
            self.pending_spawns.append((room_id, session_id, user_id))
        for room_id, session_id, _ in stops:
            self.pending_spawns = [p for p in self.pending_spawns
                                   if (p[0], p[1]) != (room_id, session_id)]

    def send(self, conn: MConn, msg: dict[str, Any] | str | bytes, exp: Expect) -> None:
        text = msg if isinstance(msg, str | bytes) else orjson.dumps(msg)
        self.run(exp, self.c.handle(TextReceived(conn.conn_id, text, self.m.now)))

    # ---- rules

    @initialize(
        max_participants=st.integers(2, 4),
        max_orbs=st.integers(0, 2),
        join_timeout=st.sampled_from([2.0, 5.0]),
        idle_timeout=st.sampled_from([3.0, 8.0]),
        orb_join_timeout=st.sampled_from([3.0, 10.0]),
        orb_idle_grace=st.sampled_from([2.0, 6.0]),
        orb_max_lifetime=st.sampled_from([12.0, 60.0]),
        orb_stop_timeout=st.sampled_from([1.0, 4.0]),
        reconnect_grace=st.sampled_from([0.0, 2.0, 2.0, 5.0]),
        orb_mode=st.sampled_from(ORB_MODES),
        ask_interval=st.sampled_from([1.0, 3.0]),
    )
    def setup(self, **limits: Any) -> None:
        cfg = CoreConfig(orbs_enabled=True, max_message_bytes=1024, **limits)
        session_ids = (f"s{n}" for n in itertools.count(1))
        self.core = SignalingCore(cfg, session_ids=lambda: next(session_ids))
        self.model = Model(cfg)

    def open_conn(self, room: str) -> MConn | None:
        conn_id = next(self.conn_ids)
        exp = Expect()
        self.m.open(conn_id, room, exp)
        self.io_live.add(conn_id)  # the I/O layer holds it until it carries out a close
        self.conn_room[conn_id] = room
        self.run(exp, self.c.handle(ConnectionOpened(conn_id, room, self.m.now)))
        return self.m.conns.get(conn_id)

    def join_as(self, conn: MConn, user_id: str, role: str, ptype: str | None, name: str,
                with_room: bool, token: str | None = None) -> None:
        if role == "ai" and ptype == "human":
            ptype = None
        msg: dict[str, Any] = {"type": "join", "userId": user_id, "userName": name,
                               "userRole": role}
        if with_room:
            msg["roomId"] = conn.room_id
        if ptype is not None:
            msg["participantType"] = ptype
        if token is not None:
            msg["resumeToken"] = token
        effective = ptype or ("ai" if role == "ai" else "human")
        self.m.seen(conn.conn_id)
        exp = Expect()
        self.m.join(conn, user_id, name, role, effective, exp, token)
        self.send(conn, msg, exp)

    def user_id_for(self, room_id: str, who: int) -> str:
        """One of a few shared ids (so joins collide), or the room's orb id."""
        room = self.m.rooms.get(room_id)
        if who >= len(USER_IDS) and room is not None:
            return f"ai-orb-{room.session_id}"
        return USER_IDS[who % len(USER_IDS)]

    @precondition(lambda self: self.model is not None)
    @rule(room=st.sampled_from(("r1", "r1", "r2", "r3")), who=st.integers(0, 6),
          role=st.sampled_from(ROLES), ptype=st.sampled_from([None, None, "human", "ai"]),
          name=st.sampled_from(NAMES), with_room=st.booleans())
    def arrive(self, room: str, who: int, role: str, ptype: str | None, name: str,
               with_room: bool) -> None:
        """A new connection opens and joins (possibly replacing a present userId)."""
        conn = self.open_conn(room)
        assert conn is not None
        self.join_as(conn, self.user_id_for(room, who), role, ptype, name, with_room)

    @precondition(lambda self: self.model is not None and any(
        r.members for r in self.model.rooms.values()))
    @rule(index=st.integers(0, 50), same_role=st.booleans(), role=st.sampled_from(ROLES))
    def reconnect(self, index: int, same_role: bool, role: str) -> None:
        """A present participant comes back on a new connection: §6 replacement."""
        members = [m for r in self.m.rooms.values() for m in r.members.values()]
        old = members[index % len(members)]
        conn = self.open_conn(self.m.every_conn[old.conn_id].room_id)
        assert conn is not None
        if same_role:
            self.join_as(conn, old.user_id, old.role, old.ptype, old.user_name, True)
        else:
            self.join_as(conn, old.user_id, role, None, "Again", False)

    @precondition(lambda self: self.model is not None and any(
        r.members for r in self.model.rooms.values()))
    @rule(index=st.integers(0, 50), away_first=st.booleans(), proof=st.integers(0, 4))
    def resume(self, index: int, away_first: bool, proof: int) -> None:
        """A seat is claimed on a new connection: with its own resumeToken (``proof`` 0 or 1),
        none (2), another seat's token (3, another user or room) or a forged one (4)."""
        members = [m for r in self.m.rooms.values() for m in r.members.values()]
        away = [m for m in members if m.away]
        seat = (away if away_first and away else members)[index % len(away if away_first
                                                                      and away else members)]
        others = [m.token for m in members if m is not seat and m.token is not None]
        token = (seat.token, seat.token, None, others[index % len(others)] if others
                 else "v1.0.forged", "v1.1.AAAAAAAAAAAAAAAAAAAA")[proof]
        event("resume " + ("away" if seat.away else "present") + " seat, "
              + ("its own token" if token == seat.token else "another proof"))
        conn = self.open_conn(self.m.every_conn[seat.conn_id].room_id)
        assert conn is not None
        self.join_as(conn, seat.user_id, seat.role, seat.ptype, seat.user_name, True, token)

    @precondition(lambda self: self.model is not None and any(
        c.member is None for c in self.model.conns.values()))
    @rule(index=st.integers(0, 50), who=st.integers(0, 5), role=st.sampled_from(ROLES),
          ptype=st.sampled_from([None, "human", "ai"]), name=st.sampled_from(NAMES))
    def rejoin(self, index: int, who: int, role: str, ptype: str | None, name: str) -> None:
        """A connection that has not joined (or has left) joins."""
        conn = self.pick(index, joined=False)
        assert conn is not None
        self.join_as(conn, self.user_id_for(conn.room_id, who), role, ptype, name, False)

    def relay_message(self, conn: MConn, kind: str, aim: int, forge: bool) -> dict[str, Any]:
        room = self.m.rooms.get(conn.room_id)
        msg: dict[str, Any] = {"type": kind, "seq": next(self.seq), "room": conn.room_id}
        if kind in PAYLOAD_FIELD:
            msg[PAYLOAD_FIELD[kind]] = (
                {"candidate": "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
                if kind == "ice-candidate" else {"type": kind, "sdp": "v=0\r\n"})
        elif kind == "ai_status":
            msg["status"] = "listening"
            msg["sessionId"] = room.session_id if room else "none"
        else:
            msg["action"] = "pause" if kind == "ai_control" else "raise-hand"
        if aim == -3:
            msg["toId"] = "nobody-here"
        elif aim == -2 and conn.member is not None:
            msg["toId"] = conn.member.user_id
        elif aim >= 0 and room is not None:
            others = [u for u in room.members
                      if conn.member is None or u != conn.member.user_id]
            if others:
                msg["toId"] = others[aim % len(others)]
        if forge:
            msg["fromId"] = "forged"
        return msg

    def do_relay(self, conn: MConn, kind: str, aim: int, forge: bool) -> None:
        msg = self.relay_message(conn, kind, aim, forge)
        self.m.seen(conn.conn_id)
        exp = Expect()
        self.m.relay(conn, msg, exp)
        self.send(conn, msg, exp)

    @precondition(lambda self: self.model is not None and any(
        c.member is not None for c in self.model.conns.values()))
    @rule(index=st.integers(0, 50), kind=st.sampled_from(RELAY_KINDS),
          aim=st.integers(0, 7), forge=st.booleans())
    def relay_targeted(self, index: int, kind: str, aim: int, forge: bool) -> None:
        conn = self.pick(index, joined=True)
        assert conn is not None
        self.do_relay(conn, kind, aim, forge)

    @precondition(lambda self: self.model is not None and any(
        c.member is not None for c in self.model.conns.values()))
    @rule(index=st.integers(0, 50), kind=st.sampled_from(RELAY_KINDS), forge=st.booleans())
    def relay_broadcast(self, index: int, kind: str, forge: bool) -> None:
        conn = self.pick(index, joined=True)
        assert conn is not None
        self.do_relay(conn, kind, -1, forge)

    @precondition(lambda self: self.model is not None and any(
        c.member is not None for c in self.model.conns.values()))
    @rule(index=st.integers(0, 50))
    def leave(self, index: int) -> None:
        conn = self.pick(index, joined=True)
        assert conn is not None and conn.member is not None
        self.m.seen(conn.conn_id)
        exp = Expect()
        self.m.depart(conn.member, Departure.LEAVE, exp)
        self.m.fresh_join_deadline(conn)
        self.send(conn, {"type": "leave"}, exp)

    @precondition(lambda self: self.model is not None and any(
        c.member is not None for c in self.model.conns.values()))
    @rule(index=st.integers(0, 50))
    def end_session(self, index: int) -> None:
        """Anyone joined tries; only a human coach may (the others get forbidden)."""
        conn = self.pick(index, joined=True)
        assert conn is not None
        self.m.seen(conn.conn_id)
        exp = Expect()
        self.m.end_session(conn, exp)
        self.send(conn, {"type": "end_session"}, exp)

    @precondition(lambda self: self.model is not None and self.model.conns)
    @rule(index=st.integers(0, 50), mode=st.sampled_from((*ORB_MODES, *ORB_MODES, "loud")))
    def set_orb_mode(self, index: int, mode: str) -> None:
        """Anyone tries ``ai_mode``; only a human coach may, and only to a known mode."""
        conn = self.pick(index)
        assert conn is not None
        self.m.seen(conn.conn_id)
        exp = Expect()
        self.m.ai_mode(conn, mode, exp)
        self.send(conn, {"type": "ai_mode", "mode": mode}, exp)

    @precondition(lambda self: self.model is not None and self.model.conns)
    @rule(index=st.integers(0, 50), presses=st.integers(1, 2))
    def ask_the_orb(self, index: int, presses: int) -> None:
        """Anyone presses "Ask the orb" (twice: the second within the rate limit); the orb
        hears it unless the rules refuse it."""
        conn = self.pick(index)
        assert conn is not None
        for _ in range(presses):
            self.m.seen(conn.conn_id)
            exp = Expect()
            self.m.ai_ask(conn, exp)
            if exp.asks:
                event("ai_ask relayed")
            self.send(conn, {"type": "ai_ask"}, exp)

    @precondition(lambda self: self.model is not None and self.model.conns)
    @rule(index=st.integers(0, 50),
          cause=st.sampled_from([Departure.CLOSED, Departure.DROPPED, Departure.SLOW_CONSUMER]))
    def close(self, index: int, cause: Departure) -> None:
        conn = self.pick(index)
        assert conn is not None
        exp = Expect()
        self.m.closed(conn.conn_id, cause, exp)
        self.io_live.discard(conn.conn_id)
        self.run(exp, self.c.handle(ConnectionClosed(conn.conn_id, self.m.now, cause)))

    @precondition(lambda self: self.model is not None and self.model.conns)
    @rule(index=st.integers(0, 50), variant=st.integers(0, 9), detail=st.integers(0, 50))
    def misbehave(self, index: int, variant: int, detail: int) -> None:
        """The rarer inputs, folded into one rule so they do not crowd out the room traffic."""
        conn = self.pick(index)
        assert conn is not None
        exp = Expect()
        if variant == 0:
            self.open_conn(("bad room/", "", "x" * 129)[detail % 3])
            return
        if variant == 1:
            msg, code = BAD_JOINS[detail % len(BAD_JOINS)]
            self.m.seen(conn.conn_id)
            exp.errors.append((conn.conn_id, "already-joined" if conn.member else code))
            self.send(conn, msg, exp)
        elif variant == 2:
            text, code = GARBAGE[detail % len(GARBAGE)]
            self.m.seen(conn.conn_id)
            exp.errors.append((conn.conn_id, code))
            self.send(conn, text, exp)
        elif variant == 3:
            self.m.drop(conn, 1009, Departure.PROTOCOL_VIOLATION, exp)
            self.send(conn, '{"type":"ping","pad":"' + "é" * 600 + '"}', exp)
        elif variant == 4:  # any relay from any connection, joined or not, at any target
            self.do_relay(conn, RELAY_KINDS[detail % len(RELAY_KINDS)], detail % 5 - 3,
                          bool(detail % 2))
        elif variant == 5:
            self.m.seen(conn.conn_id)
            self.shutdown(conn, (*SHUTDOWN_ENDINGS, "bored")[detail % 4])
        elif variant == 6:
            self.m.seen(conn.conn_id)
            if conn.member is None:
                exp.errors.append((conn.conn_id, "not-joined"))
            elif not conn.member.is_ai:
                exp.errors.append((conn.conn_id, "forbidden"))
            self.send(conn, {"type": "orb_heartbeat", "metrics": {"fps": 15}}, exp)
        elif variant == 7 and conn.member is None:
            self.m.seen(conn.conn_id)
            exp.errors.append((conn.conn_id, "not-joined"))
            self.send(conn, {"type": "leave"}, exp)
        else:
            self.m.seen(conn.conn_id)
            exp.pongs.append(conn.conn_id)
            self.send(conn, {"type": "ping"}, exp)

    def shutdown(self, conn: MConn, reason: str) -> None:
        exp = Expect()
        if conn.member is None:
            exp.errors.append((conn.conn_id, "not-joined"))
        elif not conn.member.is_ai:
            exp.errors.append((conn.conn_id, "forbidden"))
        elif reason not in SHUTDOWN_ENDINGS:
            exp.errors.append((conn.conn_id, "invalid-message"))
        else:
            self.m.depart(conn.member, SHUTDOWN_ENDINGS[reason], exp)
            self.m.fresh_join_deadline(conn)
        self.send(conn, {"type": "ai-orb-shutdown", "sessionId": "x", "reason": reason}, exp)

    @precondition(lambda self: self.model is not None)
    @rule(delta=st.sampled_from([0.5, 1.0, 2.0, 3.0, 7.0]), keepalive=st.integers(0, 3))
    def tick(self, delta: float, keepalive: int) -> None:
        """Time passes; usually every peer answered the server's WebSocket pings meanwhile."""
        m = self.m
        m.now += delta
        if keepalive:
            for conn in self.live_conns():
                if conn.conn_id % 4 != keepalive:  # some peers stay silent
                    m.seen(conn.conn_id)
                    self.c.handle(ConnectionActive(conn.conn_id, m.now))
        exp = Expect()
        m.tick(exp)
        self.run(exp, self.c.handle(TimeAdvanced(m.now)))

    @precondition(lambda self: bool(self.pending_spawns))
    @rule(index=st.integers(0, 10), arrives=st.integers(0, 3))
    def answer_spawn(self, index: int, arrives: int) -> None:
        """The I/O side's orb either joins the room or fails to start."""
        room_id, session_id, user_id = self.pending_spawns.pop(index % len(self.pending_spawns))
        if not arrives:
            exp = Expect()
            self.m.orb_ended(room_id, session_id, exp)
            self.run(exp, self.c.handle(OrbEnded(room_id, session_id, self.m.now)))
            return
        conn = self.open_conn(room_id)
        assert conn is not None
        self.join_as(conn, user_id, "ai", "ai", "AI Assistant", True)

    @precondition(lambda self: self.model is not None and any(
        r.orb is not None and r.orb.stop_requested_at is not None
        and r.orb.user_id in r.members for r in self.model.rooms.values()))
    @rule(index=st.integers(0, 10))
    def orb_obeys_stop(self, index: int) -> None:
        rooms = [r for r in self.m.rooms.values() if r.orb is not None
                 and r.orb.stop_requested_at is not None and r.orb.user_id in r.members]
        room = rooms[index % len(rooms)]
        assert room.orb is not None and room.orb.stop_reason is not None
        conn = self.m.conns[room.members[room.orb.user_id].conn_id]
        self.shutdown(conn, room.orb.stop_reason)
        if conn.conn_id in self.m.conns:
            exp = Expect()
            self.m.closed(conn.conn_id, Departure.CLOSED, exp)
            self.io_live.discard(conn.conn_id)
            self.run(exp, self.c.handle(ConnectionClosed(conn.conn_id, self.m.now)))

    @precondition(lambda self: self.model is not None)
    @rule(go=st.integers(0, 9), server_stop=st.booleans(), restart=st.booleans())
    def everyone_goes(self, go: int, server_stop: bool, restart: bool) -> None:
        """Rarely: every connection closes (or the server stops, or restarts: 1012); nothing
        may remain."""
        if go == 0:
            self.drain(server_stop, restart)

    def drain(self, server_stop: bool, restart: bool = False) -> None:
        m = self.m
        if server_stop:
            exp = Expect()
            for room in list(m.rooms.values()):
                if room.orb is not None:
                    exp.stops.append((room.room_id, room.orb.session_id, "server-shutdown"))
                for member in room.members.values():
                    exp.p_left.append((room.session_id, room.room_id, member.user_id,
                                       Departure.SERVER_STOPPED.value))
                exp.ended.append((room.session_id, room.room_id, None))
            for conn_id in m.conns:
                exp.closes[conn_id] = 1012 if restart else 1001
            m.conns.clear()
            m.rooms.clear()
            m.orb_count = 0
            self.run(exp, self.c.handle(ServerStopping(m.now, restart)))
        for conn in self.live_conns():
            exp = Expect()
            m.closed(conn.conn_id, Departure.CLOSED, exp)
            self.io_live.discard(conn.conn_id)
            self.run(exp, self.c.handle(ConnectionClosed(conn.conn_id, m.now)))
        if any(mem.away for r in m.rooms.values() for mem in r.members.values()):
            # The seats of lost connections are kept for the grace, then depart.
            m.now += m.cfg.reconnect_grace
            exp = Expect()
            m.tick(exp)
            self.run(exp, self.c.handle(TimeAdvanced(m.now)))
            assert not any(mem.away for r in m.rooms.values() for mem in r.members.values())
        for room_id, session_id, _ in list(self.pending_spawns):
            exp = Expect()
            m.orb_ended(room_id, session_id, exp)
            self.run(exp, self.c.handle(OrbEnded(room_id, session_id, m.now)))
        self.pending_spawns.clear()
        for room in list(m.rooms.values()):
            if room.orb is not None:  # an orb slot held by a departed or replaced orb
                exp = Expect()
                session_id = room.orb.session_id
                m.orb_ended(room.room_id, session_id, exp)
                self.run(exp, self.c.handle(OrbEnded(room.room_id, session_id, m.now)))
        snap = self.c.snapshot()
        assert snap.rooms == () and snap.connections == 0 and snap.orbs == 0
        assert self.c.connection_count == 0
        assert self.c.room_count == 0
        assert self.c.orb_count == 0
        # Deadlines of closed connections may still wake the I/O layer once (a harmless
        # spurious tick), but such a tick must do nothing and leave nothing scheduled.
        m.now += 10_000.0
        assert self.c.handle(TimeAdvanced(m.now)) == []
        assert self.c.next_deadline() is None
        assert not m.rooms and not m.conns and m.orb_count == 0 and not self.io_live

    # ---- invariants after every step

    @invariant()
    def state_matches_model(self) -> None:
        if self.core is None:
            return
        m = self.m
        snap = self.c.snapshot()
        assert snap.connections == len(m.conns) == self.c.connection_count
        assert set(m.conns) == self.io_live
        assert snap.orbs == m.orb_count == self.c.orb_count
        assert sum(1 for r in snap.rooms if r.orb is not None) == m.orb_count
        assert [r.room_id for r in snap.rooms] == list(m.rooms)
        assert self.c.room_count == len(m.rooms)
        for rsnap in snap.rooms:
            room = m.rooms[rsnap.room_id]
            assert rsnap.participants or rsnap.orb is not None, "an empty room survived"
            assert rsnap.session_id == room.session_id
            assert [p.user_id for p in rsnap.participants] == list(room.members)
            for p in rsnap.participants:
                member = room.members[p.user_id]
                assert (p.user_name, p.user_role, p.participant_type) == (
                    member.user_name, member.role, member.ptype)
            if room.orb is None:
                assert rsnap.orb is None
            else:
                assert rsnap.orb is not None and rsnap.orb.user_id == room.orb.user_id

    @invariant()
    def views_match_rooms(self) -> None:
        """Each peer's own picture: exactly the others, in join order, one offerer per pair."""
        if self.core is None:
            return
        for room in self.m.rooms.values():
            members = list(room.members.values())
            for me in members:
                if me.away:
                    continue  # no connection, no view; checked again once it is back
                view = self.m.conns[me.conn_id].view
                assert view is not None
                assert self.m.conns[me.conn_id].away_view == {
                    u for u, o in room.members.items() if o.away}
                assert list(view) == [u for u in room.members if u != me.user_id]
                for other in members:
                    if other is not me:
                        assert view[other.user_id][0] == other.public()
            for a, b in itertools.combinations([x for x in members if not x.away], 2):
                view_a = self.m.conns[a.conn_id].view
                view_b = self.m.conns[b.conn_id].view
                assert view_a is not None and view_b is not None
                a_offers = view_a[b.user_id][1]
                b_offers = view_b[a.user_id][1]
                if a.is_ai and b.is_ai:
                    assert not a_offers and not b_offers, "ai-ai pair with an offerer"
                else:
                    assert a_offers != b_offers, "not exactly one offerer"
                    assert a_offers == offers_per_protocol(a, b)
                    if a.is_ai or b.is_ai:
                        assert not (a_offers if a.is_ai else b_offers), "the ai offers"
        for conn in self.m.conns.values():
            if conn.member is None:
                assert conn.view is None

    @invariant()
    def core_wakes_in_time(self) -> None:
        """An I/O layer sleeping until ``next_deadline()`` never misses a deadline."""
        if self.core is None:
            return
        expected = self.m.next_deadline()
        actual = self.c.next_deadline()
        if expected is not None:
            assert actual is not None and actual <= expected + 1e-9, (actual, expected)

    def teardown(self) -> None:
        # Hypothesis calls this from a ``finally``: when a step has already failed, draining
        # would only bury that failure under a second one.
        if self.core is not None and sys.exc_info()[0] is None:
            self.drain(server_stop=False)


CoreMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoreStateMachine = CoreMachine.TestCase

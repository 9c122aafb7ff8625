"""A room of fake peers around one :class:`SignalingCore`, for the core's unit tests.

The harness plays the I/O layer: it opens connections, feeds text with an injected clock and
carries out the commands the core returns, so a test reads like the protocol ("the client
joins, the coach receives user-joined"). It checks what a real server could not check for us:
that every ``Send`` goes to a connection still open, that each payload is one JSON object,
and that each peer's view of its room (built only from the messages it received) matches the
core's own state.

API in short (see each docstring)::

    h = Harness(CoreConfig(...))          # clock starts at 0.0; h.now is the current time
    coach = h.join("coach-1", "coach")    # opens a connection and joins; asserts it worked
    peer = h.connect("room-1")            # opens a connection, no join yet
    h.send(peer, {"type": "ping"})        # dict, str or bytes; returns the commands
    peer.take()                           # decoded messages received since the last take()
    h.close(peer, Departure.DROPPED)      # the I/O side saw the connection go
    h.advance(10.0)                       # moves the clock and ticks the core
    h.assert_consistent()                 # the invariants, after any step
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from signaling_core import (
    Close,
    Command,
    ConnectionActive,
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    CoreSnapshot,
    Departure,
    OrbEnded,
    Send,
    ServerStopping,
    SignalingCore,
    SpawnOrb,
    StopOrb,
    TextReceived,
    TimeAdvanced,
)

Message = dict[str, Any]

DEFAULT_ROOM = "room-1"


def join_message(
    user_id: str,
    role: str = "coach",
    *,
    name: str | None = None,
    ptype: str | None = None,
    room: str | None = None,
    **extra: Any,
) -> Message:
    """A well-formed ``join``; ``name`` defaults to a readable one, ``ptype`` is left out
    unless given (the server then derives it from the role)."""
    msg: Message = {"type": "join", "userId": user_id,
                    "userName": name if name is not None else f"Name of {user_id}",
                    "userRole": role}
    if ptype is not None:
        msg["participantType"] = ptype
    if room is not None:
        msg["roomId"] = room
    msg.update(extra)
    return msg


def _counter() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"s{n}"


class Peer:
    """One fake WebSocket client: what it received, and whether the core closed it."""

    def __init__(self, conn_id: int, room_id: str) -> None:
        self.conn_id = conn_id
        self.room_id = room_id
        #: Every message received, in order, never cleared.
        self.received: list[Message] = []
        #: Messages received since the last :meth:`take`.
        self.inbox: list[Message] = []
        #: ``(code, reason)`` once the core closed this connection.
        self.close_frame: tuple[int, str] | None = None
        #: Set by the harness when the I/O side reported the close itself.
        self.gone = False
        #: The userId this peer last joined with (None when not joined).
        self.user_id: str | None = None
        #: The room as this peer sees it: other userId -> shouldCreateOffer (from its side).
        self.view: dict[str, bool] = {}
        #: How many times each userId was announced as left to this peer.
        self.left_count: dict[str, int] = {}
        #: The peers announced as away (``user-away``) and not back yet.
        self.away: set[str] = set()
        #: The last ``resumeToken`` this peer got.
        self.resume_token: str | None = None

    @property
    def open(self) -> bool:
        return self.close_frame is None and not self.gone

    def take(self) -> list[Message]:
        """The messages received since the last call (and forget them)."""
        out, self.inbox = self.inbox, []
        return out

    def take_one(self) -> Message:
        """Exactly one message must have arrived since the last take; return it."""
        msgs = self.take()
        assert len(msgs) == 1, f"expected one message, got {msgs!r}"
        return msgs[0]

    def types(self) -> list[str]:
        """The types of the pending messages (without consuming them)."""
        return [m["type"] for m in self.inbox]

    def errors(self) -> list[str]:
        """The ``code`` of each pending ``error`` message (without consuming them)."""
        return [m["code"] for m in self.inbox if m["type"] == "error"]

    def __repr__(self) -> str:
        return f"Peer({self.conn_id}, {self.room_id!r}, user={self.user_id!r})"

    # -- bookkeeping of the peer's own view, from the messages alone
    def _observe(self, msg: Message) -> None:
        mtype = msg.get("type")
        if mtype == "peer-discovery":
            self.view = {p["userId"]: p["shouldCreateOffer"] for p in msg["peers"]}
            self.away = {p["userId"] for p in msg["peers"] if p.get("away")}
            self.resume_token = msg.get("resumeToken")
        elif mtype == "user-away":
            assert msg["userId"] in self.view and msg["userId"] not in self.away, msg
            self.away.add(msg["userId"])
        elif mtype == "user-back":
            assert msg["userId"] in self.view, msg
            self.away.discard(msg["userId"])
        elif mtype == "user-joined":
            assert msg["userId"] not in self.view, f"{self}: user-joined twice for {msg}"
            self.view[msg["userId"]] = msg["shouldCreateOffer"]
        elif mtype == "user-left":
            uid = msg["userId"]
            assert uid in self.view, f"{self}: user-left for unknown {uid!r}"
            del self.view[uid]
            self.away.discard(uid)
            self.left_count[uid] = self.left_count.get(uid, 0) + 1


class Harness:
    """N fake peers around one core, with a clock the test moves by hand."""

    def __init__(
        self,
        config: CoreConfig | None = None,
        *,
        session_ids: Callable[[], str] | None = None,
        start: float = 0.0,
    ) -> None:
        ids = _counter()
        self.core = SignalingCore(
            config or CoreConfig(), session_ids=session_ids or (lambda: next(ids))
        )
        self.now = start
        self.peers: dict[int, Peer] = {}
        #: Every command the core returned, in order.
        self.commands: list[Command] = []
        #: The commands of the last call only.
        self.last: list[Command] = []
        self.spawned: list[SpawnOrb] = []
        self.stopped: list[StopOrb] = []
        self._next_conn = 1

    # ------------------------------------------------------------------ inputs
    def connect(self, room_id: str = DEFAULT_ROOM) -> Peer:
        """Open a new connection for ``/ws-simple/{room_id}``."""
        peer = Peer(self._next_conn, room_id)
        self._next_conn += 1
        self.peers[peer.conn_id] = peer
        self._apply(self.core.handle(ConnectionOpened(peer.conn_id, room_id, self.now)))
        return peer

    def send(self, peer: Peer, message: Mapping[str, Any] | str | bytes) -> list[Command]:
        """Deliver one text message from ``peer``; a dict is encoded as JSON first (non-ASCII
        kept as is, as a browser's ``JSON.stringify`` does)."""
        text = (message if isinstance(message, str | bytes)
                else json.dumps(message, ensure_ascii=False))
        return self._apply(self.core.handle(TextReceived(peer.conn_id, text, self.now)))

    def join(
        self,
        user_id: str,
        role: str = "coach",
        *,
        room: str = DEFAULT_ROOM,
        peer: Peer | None = None,
        name: str | None = None,
        ptype: str | None = None,
        **extra: Any,
    ) -> Peer:
        """Join ``user_id`` (on a new connection unless ``peer`` is given); asserts that the
        joiner got its ``peer-discovery``. The discovery stays in the peer's inbox."""
        if peer is None:
            peer = self.connect(room)
        self.send(peer, join_message(user_id, role, name=name, ptype=ptype, **extra))
        assert peer.types()[:1] == ["peer-discovery"], f"join of {user_id} failed: {peer.inbox}"
        return peer

    def join_orb(self, spawn: SpawnOrb | None = None) -> Peer:
        """Let the orb of ``spawn`` (default: the last one) join as the seed note says."""
        spawn = spawn or self.spawned[-1]
        return self.join(spawn.user_id, "ai", room=spawn.room_id, name="AI Assistant",
                         ptype="ai")

    def close(self, peer: Peer, cause: Departure = Departure.CLOSED) -> list[Command]:
        """The I/O side saw ``peer``'s connection end (``cause`` says how)."""
        peer.gone = True
        return self._apply(self.core.handle(ConnectionClosed(peer.conn_id, self.now, cause)))

    def activity(self, peer: Peer) -> None:
        """``peer`` showed life without a message (a WebSocket pong)."""
        self.core.handle(ConnectionActive(peer.conn_id, self.now))

    def tick(self) -> list[Command]:
        """Let the core act on the deadlines due at the current time."""
        return self._apply(self.core.handle(TimeAdvanced(self.now)))

    def advance(self, seconds: float) -> list[Command]:
        """Move the clock forward and tick."""
        self.now += seconds
        return self.tick()

    def advance_to(self, when: float) -> list[Command]:
        """Set the clock to ``when`` (not backwards) and tick."""
        assert when >= self.now
        self.now = when
        return self.tick()

    def orb_ended(self, spawn: SpawnOrb) -> list[Command]:
        """The I/O side reports that the orb of ``spawn`` is gone."""
        return self._apply(self.core.handle(OrbEnded(spawn.room_id, spawn.session_id, self.now,
                                               spawn.spawn_id)))

    def stop(self) -> list[Command]:
        """The server shuts down."""
        return self._apply(self.core.handle(ServerStopping(self.now)))

    # ------------------------------------------------------------------ outputs
    def snapshot(self) -> CoreSnapshot:
        return self.core.snapshot()

    def user_ids(self, room_id: str = DEFAULT_ROOM) -> list[str]:
        """The room's participants in join order ([] when the room does not exist)."""
        for room in self.snapshot().rooms:
            if room.room_id == room_id:
                return [p.user_id for p in room.participants]
        return []

    def closes(self) -> list[Close]:
        """The ``Close`` commands of the last call."""
        return [c for c in self.last if isinstance(c, Close)]

    def _apply(self, commands: list[Command]) -> list[Command]:
        self.last = list(commands)
        self.commands.extend(commands)
        for command in commands:
            if isinstance(command, Send):
                peer = self.peers.get(command.conn_id)
                assert peer is not None, f"send to unknown connection {command.conn_id}"
                assert peer.open, f"send to closed {peer}: {command.data!r}"
                assert type(command.data) is bytes
                msg = json.loads(command.data.decode("utf-8"))
                assert type(msg) is dict and type(msg.get("type")) is str, msg
                # The metrics read these instead of parsing the bytes again.
                assert command.kind == msg["type"], (command.kind, msg)
                assert command.error == (msg["code"] if msg["type"] == "error" else None), msg
                peer.received.append(msg)
                peer.inbox.append(msg)
                peer._observe(msg)
            elif isinstance(command, Close):
                peer = self.peers.get(command.conn_id)
                if peer is not None:
                    assert peer.open, f"second close of {peer}"
                    peer.close_frame = (command.code, command.reason)
            elif isinstance(command, SpawnOrb):
                self.spawned.append(command)
            elif isinstance(command, StopOrb):
                self.stopped.append(command)
        self._sync_identities()
        return commands

    def _sync_identities(self) -> None:
        for peer in self.peers.values():
            where = self.core.room_of(peer.conn_id) if peer.open else None
            user_id = where[1] if where is not None else None
            if user_id is None:
                peer.view = {}
            peer.user_id = user_id

    # ------------------------------------------------------------------ invariants
    def assert_consistent(self) -> None:
        """The invariants of the core, as seen from the outside. Call after any step.

        * the core's connections are exactly the harness's open peers;
        * every participant that is not away is bound to one open peer of that room, and vice
          versa; an away one to none;
        * every room has participants or an orb on its way; orb count and states agree;
        * each joined peer's view (from peer-discovery/user-joined/user-left alone) is exactly
          the other participants, and the two offer flags of each pair are opposite
          (both False for two ai participants).
        """
        snap = self.snapshot()
        cfg = self.core.config
        open_peers = [p for p in self.peers.values() if p.open]
        assert snap.connections == len(open_peers), (snap.connections, open_peers)
        joined = {(p.room_id, p.user_id): p for p in open_peers if p.user_id is not None}
        in_rooms: dict[tuple[str, str], Any] = {}
        orbs = 0
        for room in snap.rooms:
            assert room.participants or room.orb is not None, f"empty room {room}"
            assert len(room.participants) <= cfg.max_participants
            for part in room.participants:
                in_rooms[(room.room_id, part.user_id)] = part
            if room.orb is not None:
                orbs += 1
                present = room.orb.user_id in {p.user_id for p in room.participants}
                if room.orb.state == "joined":
                    assert present, room
                elif room.orb.state == "starting":
                    assert not present, room
        present = {key for key, part in in_rooms.items() if not part.away}
        assert present == set(joined), (present, set(joined))
        assert snap.orbs == orbs <= cfg.max_orbs
        assert len({r.room_id for r in snap.rooms}) == len(snap.rooms)
        for (room_id, user_id), peer in joined.items():
            others = {uid for (rid, uid) in in_rooms if rid == room_id and uid != user_id}
            assert set(peer.view) == others, (peer, peer.view, others)
            away = {uid for (rid, uid), part in in_rooms.items() if rid == room_id and part.away}
            assert peer.away == away, (peer, peer.away, away)
            me_ai = in_rooms[(room_id, user_id)].participant_type == "ai"
            for other_id, i_offer in peer.view.items():
                other = joined.get((room_id, other_id))
                if other is None:
                    continue  # away: its own view is checked when it is back
                they_offer = other.view[user_id]
                other_ai = in_rooms[(room_id, other_id)].participant_type == "ai"
                if me_ai and other_ai:
                    assert not i_offer and not they_offer
                else:
                    assert i_offer != they_offer, (peer, other)

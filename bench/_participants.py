"""Simulated room members for the load generator, and the checks of what the server told them.

A room of the benchmark is a tri-party call: a coach, a client and an AI participant. Each member
owns one :class:`~_wsclient.WSClient`; what it receives goes to a handler the running scenario
installs, so the hot path of a scenario is one plain function call per message. The checks
here hold any server to docs/protocol.md for a join storm (peer lists in join order, one
``user-joined`` per later joiner, ``shouldCreateOffer`` by §5); they never trust the server's
own claims.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from time import perf_counter_ns as now_ns
from typing import Any

import orjson
from _wsclient import WSClient, connect

from signaling_core import join_message
from signaling_core.wire import Field

__all__ = [
    "Member", "close_all", "join_errors", "make_rooms", "noop_handler", "now_ns", "offers",
    "open_all", "percentile", "record_join_messages",
]

ROLES = (("coach", "human"), ("client", "human"), ("ai", "ai"))


def noop_handler(member: Member, payload: bytes) -> None:
    """Handler while a scenario does not care: anything received is counted, not parsed."""
    member.unexpected += 1


class Member:
    """One participant of a benchmark room; the listener of its connection."""

    __slots__ = (
        "client",
        "closed_code",
        "errors",
        "handler",
        "inflight",
        "join_sent_ns",
        "joined",
        "last_seq",
        "peer_discovery_ns",
        "peers",
        "prefixes",
        "ptype",
        "received_from",
        "role",
        "room_id",
        "sent_to",
        "targets",
        "turn",
        "unexpected",
        "user_id",
        "user_joined",
    )

    def __init__(self, room_id: str, user_id: str, role: str, ptype: str) -> None:
        self.room_id = room_id
        self.user_id = user_id
        self.role = role
        self.ptype = ptype
        self.client: WSClient | None = None
        self.handler: Callable[[Member, bytes], None] = record_join_messages
        self.joined: asyncio.Future[None] | None = None
        self.closed_code: int | None = None
        self.join_sent_ns = 0
        self.peer_discovery_ns = 0
        self.peers: list[tuple[str, bool]] | None = None
        self.user_joined: list[tuple[str, bool]] = []
        self.unexpected = 0
        self.errors = 0
        # relay state, set up by the relay scenarios
        self.targets: list[Member] = []
        self.prefixes: list[bytes] = []
        self.sent_to: list[int] = []
        self.turn = 0
        self.inflight = 0
        self.last_seq: dict[str, int] = {}
        self.received_from: dict[str, int] = {}

    def on_text(self, payload: bytes) -> None:
        self.handler(self, payload)

    def on_closed(self, code: int | None) -> None:
        self.closed_code = code if code is not None else 1006
        if self.joined is not None and not self.joined.done():
            self.joined.set_exception(ConnectionError(f"{self.user_id} closed ({code})"))

    def join_message(self) -> bytes:
        return orjson.dumps(join_message(self.room_id, self.user_id, self.role,
                                         user_name=f"Bench {self.role}",
                                         participant_type=self.ptype))

    def send_join(self) -> None:
        assert self.client is not None
        self.joined = asyncio.get_running_loop().create_future()
        self.join_sent_ns = now_ns()
        self.client.send_text(self.join_message())


def record_join_messages(member: Member, payload: bytes) -> None:
    """Handler during joins: keep peer-discovery and user-joined for the checks."""
    msg: dict[str, Any] = orjson.loads(payload)
    kind = msg.get(Field.TYPE)
    if kind == "peer-discovery" and member.peers is None:
        member.peer_discovery_ns = now_ns()
        member.peers = [(p[Field.USER_ID],
                         bool(p.get(Field.SHOULD_CREATE_OFFER))) for p in msg[Field.PEERS]]
        if member.joined is not None and not member.joined.done():
            member.joined.set_result(None)
    elif kind == "user-joined":
        member.user_joined.append((msg[Field.USER_ID], bool(msg.get(Field.SHOULD_CREATE_OFFER))))
    elif kind == "error":
        member.errors += 1
    else:
        member.unexpected += 1


def make_rooms(prefix: str, rooms: int, size: int = 3) -> list[list[Member]]:
    """``rooms`` rooms of ``size`` members (coach, client, ai, then extra clients)."""
    out = []
    for r in range(rooms):
        room_id = f"{prefix}-{r}"
        members = []
        for i in range(size):
            role, ptype = ROLES[i] if i < len(ROLES) else ("client", "human")
            members.append(Member(room_id, f"{room_id}-u{i}", role, ptype))
        out.append(members)
    return out


async def open_all(host: str, port: int, members: Sequence[Member], concurrency: int,
                   join: bool = False, timeout: float = 30.0) -> None:
    """Connect every member (and join it, waiting for its peer-discovery, when asked)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(member: Member) -> None:
        async with gate:
            member.client = await connect(host, port, f"/ws-simple/{member.room_id}", member)
            if join:
                member.send_join()
                assert member.joined is not None
                await asyncio.wait_for(member.joined, timeout)

    await asyncio.wait_for(asyncio.gather(*(one(m) for m in members)), timeout)


async def close_all(members: Sequence[Member], timeout: float = 10.0) -> None:
    """Close every connection and wait until the server has closed its side."""
    waits = []
    for m in members:
        if m.client is not None and not m.client.closed:
            m.client.close()
            waits.append(m.client.lost)
    if waits:
        await asyncio.wait(waits, timeout=timeout)


def offers(a: Member, b: Member) -> bool:
    """docs/protocol.md, "Offer direction", written independently of the code under test."""
    if a.ptype == "ai":
        return False
    if b.ptype == "ai":
        return True
    if (a.role, b.role) == ("coach", "client"):
        return True
    if (a.role, b.role) == ("client", "coach"):
        return False
    return a.user_id < b.user_id


def join_errors(room: Sequence[Member]) -> list[str]:
    """What is wrong with the join messages of a room whose members all joined at once.

    The server chose some join order; the peer lists reveal it (the k-th joiner sees the first
    k-1, in order). Then each member must have had exactly one ``user-joined`` per later joiner,
    and every ``shouldCreateOffer`` must follow §5.
    """
    problems: list[str] = []
    by_id = {m.user_id: m for m in room}
    if any(m.peers is None for m in room):
        return [f"{m.user_id}: no peer-discovery" for m in room if m.peers is None]
    order = sorted(room, key=lambda m: len(m.peers or []))
    for k, m in enumerate(order):
        peers = m.peers or []
        if [pid for pid, _ in peers] != [o.user_id for o in order[:k]]:
            problems.append(f"{m.user_id}: peers {peers} not the earlier joiners in order")
            continue
        for pid, sco in peers:
            if sco != offers(m, by_id[pid]):
                problems.append(f"{m.user_id}: peer-discovery shouldCreateOffer wrong for {pid}")
        later = {o.user_id for o in order[k + 1:]}
        got = [uid for uid, _ in m.user_joined]
        if sorted(got) != sorted(later):
            problems.append(f"{m.user_id}: user-joined {got}, expected {sorted(later)}")
        for uid, sco in m.user_joined:
            if uid in by_id and sco != offers(m, by_id[uid]):
                problems.append(f"{m.user_id}: user-joined shouldCreateOffer wrong for {uid}")
    return problems


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]

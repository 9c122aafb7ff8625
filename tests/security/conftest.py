"""The abuse suite's fixtures: a real server with every defence on, and honest bystanders.

Every abuse case runs next to two coach-client pairs, one in the attacked room and one in
another room, each on its own source address (127.0.0.2, 127.0.0.3; the attacker uses
127.0.0.1). They exchange numbered messages the whole time; when the case ends, each side must
have received every number its partner sent, once and in order, and neither may have been
closed or answered with an error. That is what "nothing else was harmed" means here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import trio
from server.serving import running_server

from signaling_core import CoreConfig
from signaling_core.join_tokens import mint_token
from trio_server import ServerConfig, SignalingServer
from trio_server.conformance.raw import Closed, RawClient

if TYPE_CHECKING:
    from playwright.sync_api import Browser

#: Bound on any single wait; the machine is shared, so it is generous.
WAIT = 10.0
SECRET = "abuse-suite-join-secret-0123456789abcdef"
ADMIN = "abuse-suite-admin-token-fedcba9876543210"
ABUSED_ROOM = "abused-room"
QUIET_ROOM = "quiet-room"
ATTACKER = "127.0.0.1"
SAME_ROOM_SOURCE = "127.0.0.2"
OTHER_ROOM_SOURCE = "127.0.0.3"


def secure_config(**overrides: Any) -> ServerConfig:
    """Join tokens, an admin token, and caps that apply on loopback too."""
    core = overrides.pop("core", CoreConfig())
    settings: dict[str, Any] = {
        "port": 0, "join_secret": SECRET, "admin_token": ADMIN, "cap_loopback": True,
        "handshake_timeout": 1.0, "close_timeout": 1.0,
    }
    settings.update(overrides)
    return ServerConfig(core=core, **settings)


def running(config: ServerConfig | None = None,
            **kwargs: Any) -> AbstractAsyncContextManager[SignalingServer]:
    """A server with every defence on (``secure_config``) unless ``config`` is given."""
    return running_server(config or secure_config(**kwargs), wait=WAIT)


def token_for(room: str, user: str, role: str, *, secret: str = SECRET,
              ptype: str | None = None, ttl: float = 600, now: float | None = None) -> str:
    return mint_token(secret, room_id=room, user_id=user, user_role=role,
                      participant_type=ptype, ttl=ttl,
                      now=time.time() if now is None else now)


async def join(port: int, room: str, user: str, role: str, *, secret: str | None = SECRET,
               source: str = ATTACKER, **extra: Any) -> RawClient:
    """Connect and join (with a valid token when ``secret`` is set); returns after discovery."""
    with trio.fail_after(WAIT):
        ws = await RawClient.open(port, f"/ws-simple/{room}", source=source)
        message: dict[str, Any] = {"type": "join", "userId": user, "userName": user,
                                   "userRole": role, **extra}
        if secret is not None and "token" not in extra:
            message["token"] = token_for(room, user, role, secret=secret,
                                         ptype=extra.get("participantType"))
        await ws.send_json(message)
        answer = await ws.recv_json()
    assert answer["type"] == "peer-discovery", answer
    return ws


@attrs.define
class Member:
    """One honest participant: what it sent to its partner and what it got from it."""

    ws: RawClient
    user_id: str
    partner_id: str
    sent: int = 0
    got: list[int] = attrs.field(factory=list)
    errors: list[dict[str, Any]] = attrs.field(factory=list)
    closed: int | str | None = None
    #: Everything else it received (user-joined/left, an attacker's relays), in order.
    others: list[dict[str, Any]] = attrs.field(factory=list)

    def heard_from(self, user_id: str) -> list[dict[str, Any]]:
        """Messages that name ``user_id`` as sender or subject."""
        return [m for m in self.others
                if m.get("fromId") == user_id or m.get("userId") == user_id]


class Bystanders:
    """Two honest pairs exchanging numbered messages; see the module docstring."""

    def __init__(self, port: int, *, secret: str | None, broadcast: bool, pad: int,
                 interval: float) -> None:
        self.port = port
        self.secret = secret
        self.broadcast = broadcast
        self.pad = "b" * pad
        self.interval = interval
        self.members: list[Member] = []
        self._sending = True
        self._senders = 0

    async def join_pairs(self) -> None:
        for room, source in ((ABUSED_ROOM, SAME_ROOM_SOURCE), (QUIET_ROOM, OTHER_ROOM_SOURCE)):
            coach_id, client_id = f"{room}-coach", f"{room}-client"
            coach = await join(self.port, room, coach_id, "coach", secret=self.secret,
                               source=source)
            client = await join(self.port, room, client_id, "client", secret=self.secret,
                                source=source)
            self.members += [Member(coach, coach_id, client_id),
                             Member(client, client_id, coach_id)]

    async def _send_loop(self, member: Member) -> None:
        try:
            await self._send_until_stopped(member)
        finally:
            self._senders -= 1

    async def _send_until_stopped(self, member: Member) -> None:
        while self._sending and member.closed is None:
            message: dict[str, Any] = {"type": "client_signal", "action": "bystander",
                                       "seq": member.sent, "pad": self.pad}
            if not self.broadcast:
                message["toId"] = member.partner_id
            try:
                await member.ws.send_json(message)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                member.closed = repr(exc)
                return
            member.sent += 1
            await trio.sleep(self.interval)

    async def _read_loop(self, member: Member) -> None:
        while True:
            try:
                message = await member.ws.recv_json()
            except Closed as closed:
                member.closed = closed.code if closed.code is not None else "eof"
                return
            kind = message.get("type")
            if kind == "error":
                member.errors.append(message)
            elif (kind == "client_signal" and message.get("action") == "bystander"
                  and message.get("fromId") == member.partner_id):
                member.got.append(message["seq"])
            else:
                member.others.append(message)

    def start(self, nursery: trio.Nursery) -> None:
        for member in self.members:
            nursery.start_soon(self._read_loop, member)
            self._senders += 1
            nursery.start_soon(self._send_loop, member)

    def member(self, user_id: str) -> Member:
        return next(m for m in self.members if m.user_id == user_id)

    def heard_from(self, user_id: str) -> list[dict[str, Any]]:
        """What any bystander received from or about ``user_id``."""
        return [m for member in self.members for m in member.heard_from(user_id)]

    def _partner(self, member: Member) -> Member:
        return next(m for m in self.members
                    if m.user_id == member.partner_id and m.partner_id == member.user_id)

    async def finish(self, min_during: int) -> None:
        """Let traffic run on (so it visibly outlives the abuse), stop, and drain."""
        goal = {m.user_id: max(min_during, m.sent + 3) for m in self.members}
        with trio.move_on_after(WAIT):
            while any(m.sent < goal[m.user_id] and m.closed is None for m in self.members):
                await trio.sleep(0.01)
        self._sending = False
        with trio.move_on_after(WAIT):
            while self._senders:  # a send in progress still counts
                await trio.sleep(0.01)
            while any(len(self._partner(m).got) < m.sent and m.closed is None
                      and self._partner(m).closed is None for m in self.members):
                await trio.sleep(0.01)

    def assert_unharmed(self, min_during: int) -> None:
        for member in self.members:
            partner = self._partner(member)
            where = f"{member.user_id} -> {partner.user_id}"
            assert member.closed is None, f"{member.user_id} was closed: {member.closed}"
            assert member.errors == [], f"{member.user_id} got errors: {member.errors}"
            assert member.sent >= min_during, f"{where}: only {member.sent} sent"
            assert partner.got == list(range(member.sent)), (
                f"{where}: lost or reordered: sent {member.sent}, got {len(partner.got)} "
                f"(first differences: {_first_difference(partner.got, member.sent)})")


def _first_difference(got: list[int], sent: int) -> str:
    for index, seq in enumerate(got):
        if seq != index:
            return f"position {index} holds {seq}"
    return f"the last {sent - len(got)} are missing"


@asynccontextmanager
async def bystanders(server: SignalingServer, *, secret: str | None = SECRET,
                     broadcast: bool = False, pad: int = 0, interval: float = 0.02,
                     min_during: int = 10) -> AsyncIterator[Bystanders]:
    """Two honest pairs around the body of the ``async with``; checked unharmed on exit.

    ``min_during``: each member has sent at least this many messages by the end, so their
    exchange demonstrably continued through (and after) the abuse.
    """
    assert server.port is not None
    crowd = Bystanders(server.port, secret=secret, broadcast=broadcast, pad=pad,
                       interval=interval)
    await crowd.join_pairs()
    try:
        async with trio.open_nursery() as nursery:
            crowd.start(nursery)
            yield crowd
            await crowd.finish(min_during)
            nursery.cancel_scope.cancel()
        crowd.assert_unharmed(min_during)
    finally:
        for member in crowd.members:
            await member.ws.aclose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium for this module's pages (the browser suite's flags)."""
    from browser import browser_harness as harness
    from playwright.sync_api import sync_playwright

    if not Path(harness.CHROMIUM).exists():
        pytest.fail(f"{harness.CHROMIUM} is missing")
    with sync_playwright() as playwright:
        browser = harness.launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()

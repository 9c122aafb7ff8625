"""§7 liveness deadlines. Slow: each waits for a server deadline, so they run only with
``--slow``, using the limits given by ``--join-timeout`` / ``--idle-timeout``."""

from __future__ import annotations

from typing import Any

import trio

from signaling_core import CloseCode
from signaling_core.wire import Field, MessageType

from ..client import Peer, Who
from ..context import CaseContext
from ..raw import GONE, OP_TEXT, RawClient
from ..registry import FULL, case, check
from ..rules import CLOSE_CODES, LIVENESS

#: A deadline may fire this much early or late (plus a quarter of the limit, for servers that
#: check deadlines on a coarse timer).
SLACK_SECONDS = 2.0


def _window(limit: float) -> tuple[float, float]:
    return limit * 0.5, limit * 1.25 + SLACK_SECONDS


async def _ping_forever(sock: RawClient, interval: float) -> None:
    """Application pings: they must not count as joining."""
    try:
        while True:
            await sock.send_frame(OP_TEXT, b'{"type":"ping"}')
            await trio.sleep(interval)
    except GONE:
        pass


async def _keep_alive(peer: Peer, interval: float, seen: list[dict[str, Any]],
                      stop: trio.Event) -> None:
    """A well-behaved participant: pings on a schedule and keeps reading."""
    while not stop.is_set():
        seen.extend(await peer.sync())
        with trio.move_on_after(interval):
            await stop.wait()


@case("deadline.join", "a connection that does not join within the join limit is closed "
                       "with 4008, even while it pings", slow=True,
      rules=(LIVENESS, CLOSE_CODES), profile=FULL)
async def join_deadline(ctx: CaseContext) -> None:
    limit = ctx.options.join_timeout
    sock = await ctx.raw_ws(ctx.room(), "unjoined(raw)")
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_ping_forever, sock, limit / 4)
        ctx.note("unjoined connection waiting for the join deadline")
        code = await sock.expect_close()
        nursery.cancel_scope.cancel()
    elapsed = trio.current_time() - start
    low, high = _window(limit)
    check(code == CloseCode.DEADLINE, f"closed with {code}, expected {CloseCode.DEADLINE}")
    check(low <= elapsed <= high,
          f"closed after {elapsed:.1f}s, expected about {limit:g}s ({low:g}-{high:g})")


@case("deadline.idle", "a joined connection silent past the idle limit (not even answering "
                       "pings) is closed with 4008 and departs (after the reconnect grace); "
                       "a pinging one stays",
      slow=True, grace=True, rules=(LIVENESS, CLOSE_CODES), profile=FULL)
async def idle_deadline(ctx: CaseContext) -> None:
    limit = ctx.options.idle_timeout
    alive_who, silent_who = Who("coach-1", "coach"), Who("client-1", "client")
    (alive,) = await ctx.room_with(alive_who)
    sock = await ctx.raw_ws(alive.room_id, "silent(raw)")
    await sock.send_json(silent_who.join_message(alive.room_id))
    check((await sock.recv_json()).get(Field.TYPE) == MessageType.PEER_DISCOVERY, "raw join failed")
    await alive.expect(MessageType.USER_JOINED)
    start = trio.current_time()
    seen: list[dict[str, Any]] = []
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_keep_alive, alive, min(limit / 4, 10.0), seen, stop)
        ctx.note("silent connection waiting for the idle deadline")
        code = await sock.expect_close()
        elapsed = trio.current_time() - start
        stop.set()
    # docs/protocol.md, "Away and resume": an idle close is a loss, not a decision to go, so the
    # seat may stay away (user-away) for the grace before its one user-left.
    with trio.fail_after(ctx.options.reconnect_grace + SLACK_SECONDS):
        while not any(m.get(Field.TYPE) == MessageType.USER_LEFT for m in seen):
            seen.extend(await alive.sync())
            await trio.sleep(min(limit / 4, 1.0))
    low, high = _window(limit)
    check(code == CloseCode.DEADLINE,
          f"silent connection closed with {code}, expected {CloseCode.DEADLINE}")
    check(low <= elapsed <= high,
          f"closed after {elapsed:.1f}s, expected about {limit:g}s ({low:g}-{high:g})")
    about = [(m.get(Field.TYPE), m.get(Field.USER_ID)) for m in seen]
    check(about in ([(MessageType.USER_LEFT, silent_who.user_id)],
                    [(MessageType.USER_AWAY, silent_who.user_id), (MessageType.USER_LEFT,
                                                                   silent_who.user_id)]),
          f"the pinging participant saw {seen}, expected one user-left for client-1",
          expected="user-left for client-1 (after a user-away, if seats are kept)",
          got=str(about))

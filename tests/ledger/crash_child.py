"""A process that writes through the ledger until it is killed (the kill -9 test's victim).

``python crash_child.py DB``: records one finished session, then a live three-party session
whose orb changes status forever; after every tenth status it waits until the ledger has
committed everything so far and prints ``committed N`` (N statuses), so the parent knows what
must survive the kill.
"""

from __future__ import annotations

import sys

import orjson
import trio

from signaling_core import ConnectionOpened, CoreConfig, SessionRecord, SignalingCore, TextReceived
from trio_server.ledger import open_ledger

WALL0 = 1_700_000_000.0


async def main(db: str) -> None:
    ledger = open_ledger(db, wall_offset=WALL0)
    assert ledger is not None
    ids = iter(["s1", "s2"])
    core = SignalingCore(CoreConfig(orbs_enabled=True), session_ids=lambda: next(ids))

    def feed(conn: int, message: dict[str, object], now: float) -> None:
        for command in core.handle(TextReceived(conn, orjson.dumps(message), now)):
            if isinstance(command, SessionRecord):
                ledger.record(command)

    def join(conn: int, room: str, user_id: str, role: str, now: float) -> None:
        core.handle(ConnectionOpened(conn, room, now))
        feed(conn, {"type": "join", "userId": user_id, "userRole": role}, now)

    async with trio.open_nursery() as nursery:
        await nursery.start(ledger.run)
        join(1, "room-done", "client-0", "client", 0.0)  # no orb: ends at the leave
        feed(1, {"type": "leave"}, 1.0)
        join(2, "room-live", "coach-1", "coach", 2.0)
        join(3, "room-live", "ai-orb-s2", "ai", 3.0)
        join(4, "room-live", "client-1", "client", 4.0)
        count = 0
        while True:
            count += 1
            status = "listening" if count % 2 else "thinking"
            feed(3, {"type": "ai_status", "status": status, "sessionId": "s2"},
                 5.0 + count * 0.01)
            if count % 10 == 0:
                await ledger.wait_committed()
                print(f"committed {count}", flush=True)
            await trio.sleep(0.001)


if __name__ == "__main__":
    trio.run(main, sys.argv[1])

"""Time told, not polled: the server's deadline task wakes only when the core has something due.

1,000 rooms in a core, each a coach whose orb never joins, under Trio's MockClock: every
connection's join deadline, every orb's join timeout, every idle deadline and the reconnect
grace of the seat it leaves comes and goes.
The deadline task may wake at most once per distinct deadline, plus once; a task that polled
(the old one woke at least every second) or scanned would wake far more often.
"""

from __future__ import annotations

import orjson
import trio
import trio.testing

from signaling_core import (
    Close,
    CloseCode,
    Command,
    ConnectionOpened,
    CoreConfig,
    SignalingCore,
    TextReceived,
    join_message,
)
from trio_server.timers import Timers

ROOMS = 1000
SPACING = 0.003


def test_deadline_task_wakes_once_per_distinct_deadline() -> None:
    config = CoreConfig(orbs_enabled=True, max_orbs=ROOMS, join_timeout=10.0,
                        idle_timeout=75.0, orb_join_timeout=30.0)
    core = SignalingCore(config)
    closes: list[Close] = []
    deadlines: set[float] = set()

    def run(commands: list[Command]) -> None:
        closes.extend(c for c in commands if isinstance(c, Close))

    timers = Timers(core, run)

    def feed(commands: list[Command]) -> None:
        if core.deadline_changed:
            timers.deadline_moved()
        run(commands)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(timers.run_deadlines)
            for i in range(ROOMS):
                now = trio.current_time()
                feed(core.handle(ConnectionOpened(i, f"room-{i}", now)))
                join = orjson.dumps(join_message(None, f"coach-{i}", "coach"))
                feed(core.handle(TextReceived(i, join.decode(), now)))
                idle = now + config.idle_timeout
                deadlines.update({now + config.join_timeout, now + config.orb_join_timeout,
                                  idle, idle + config.reconnect_grace})
                await trio.sleep(SPACING)
            await trio.sleep(config.idle_timeout + config.reconnect_grace + 10)
            assert core.connection_count == 0 and core.room_count == 0
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(closes) == ROOMS
    assert {c.code for c in closes} == {CloseCode.DEADLINE}
    assert timers.wakeups <= len(deadlines) + 1, (timers.wakeups, len(deadlines))
    # Each deadline is met: the orbs gave up at their join timeout, not a poll later.
    assert core.orb_count == 0


def test_a_deadline_moved_earlier_is_met_on_time() -> None:
    """A new connection's join deadline, earlier than anything told, wakes the task at once
    (no poll would have), and the close comes exactly at the deadline."""
    config = CoreConfig(join_timeout=5.0, idle_timeout=600.0)
    core = SignalingCore(config)
    closed_at: list[float] = []
    timers = Timers(core, lambda commands: closed_at.extend(
        trio.current_time() for c in commands if isinstance(c, Close)))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(timers.run_deadlines)
            await trio.sleep(100)  # nothing to wait for: the task sleeps, never polls
            assert timers.wakeups == 0
            core.handle(ConnectionOpened(1, "room", trio.current_time()))
            assert core.deadline_changed
            timers.deadline_moved()
            await trio.sleep(50)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert closed_at == [105.0]
    assert timers.wakeups == 1

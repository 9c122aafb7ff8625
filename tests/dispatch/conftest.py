"""Fixtures for the orb-dispatch tests: a fresh ``redis-server`` per test on a loopback port,
and a :class:`~testkit.fleet.Fleet` (server and workers as real processes) that is always torn
down. Nothing here uses a system Redis service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from testkit.fleet import Fleet, RedisProcess

T = TypeVar("T")


@pytest.fixture
def redis_proc() -> Iterator[RedisProcess]:
    proc = RedisProcess()
    proc.start()
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def fleet(redis_proc: RedisProcess) -> Iterator[Fleet]:
    fleet = Fleet(redis_proc)
    try:
        yield fleet
    finally:
        fleet.close()


#: For dispatch tests whose orbs never get media (coaches over a plain WebSocket, nobody
#: offers to an orb): the worker loads no Piper voice and no Whisper model before it joins
#: the pool, models those orbs could never use. Each cost ~8 s of a worker's ~11 s start
#: on 2 cores (measured), and these tests start 15 workers. Workers that carry media
#: (test_dispatch_media.py, tests/orb/test_orb_processes.py, bench/orb_dispatch.py outside
#: its smoke mode) keep the default voice and speech-to-text, so that start-up stays tested.
SPEECHLESS_WORKER = ("--stt-model", "off", "--voice", "espeak")


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run an asyncio scenario (humans, coaches) to completion, bounded."""
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())

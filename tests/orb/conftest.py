"""Fixtures for the orb tests: a real Trio server with the in-process orb host, and a way to
run synthetic humans (aiortc on their own asyncio loop, in a worker thread) against it.

Three event loops are in play, as in production: Trio (the server) on the test's thread, the
orb loop thread started by the host, and the humans' loop in a Trio worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import attrs
import pytest
import trio

from orb_bridge import InProcessOrbHost, OrbConfig
from orb_bridge.brain import BrainFactory, OfflineBrain
from orb_bridge.end_of_turn import SmartTurn
from orb_bridge.name_probe import NameProbe
from orb_bridge.speech_config import NO_SPEECH
from orb_bridge.stt import WhisperStt
from signaling_core import CoreConfig
from trio_server.config import ServerConfig
from trio_server.server import SignalingServer

T = TypeVar("T")


# The models below are loaded once for the whole run (each load is 0.4-2.5 s on 2 cores, and
# a module-scoped copy paid it again in every module); the tests only transcribe and judge
# with them, none changes their settings.


@pytest.fixture(scope="session")
def whisper() -> Iterator[WhisperStt]:
    """Speech-to-text as the orb runs it: its name given as a hotword, which only the final
    words' second listening uses (with it Whisper tiny.en drops most final full stops, so the
    early words that the decision reads are decoded plainly)."""
    engine = WhisperStt(hotwords=OrbConfig().name)
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def plain_whisper() -> Iterator[WhisperStt]:
    """Speech-to-text with no hotword (``WhisperStt()``'s defaults)."""
    engine = WhisperStt()
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def probing_whisper() -> Iterator[WhisperStt]:
    """Speech-to-text with the name "Orb" as hotword and its name probe, on two threads."""
    engine = WhisperStt(threads=2, hotwords="Orb", name_probe=NameProbe("Orb"))
    engine.load()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def model() -> SmartTurn:
    """Smart Turn v3.2, the end-of-turn model."""
    return SmartTurn()


@attrs.define
class OrbServer:
    server: SignalingServer
    host: InProcessOrbHost
    url: str
    token: trio.lowlevel.TrioToken

    # Called from the humans' asyncio loop: hop to Trio without blocking that loop.
    async def stats(self, room_id: str) -> dict[str, Any] | None:
        return await self._from_trio(self.host.orb_stats, room_id)

    async def media_report(self, room_id: str) -> dict[str, Any] | None:
        return await self._from_trio(self.host.orb_media_report, room_id)

    async def census(self) -> dict[str, int]:
        return await self._from_trio(self.host.census)

    async def _from_trio(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return await asyncio.to_thread(trio.from_thread.run, fn, *args,
                                       trio_token=self.token)


@contextlib.asynccontextmanager
async def orb_server(
    *,
    core: CoreConfig | None = None,
    orb: OrbConfig | None = None,
    brain_factory: BrainFactory = OfflineBrain,
) -> AsyncIterator[OrbServer]:
    """``orb`` defaults to no speech-to-text: the synthetic humans' voice bursts have no
    words, and most tests are about turns, not words (tests/orb/test_transcripts.py is).
    ``core`` defaults to the ``active`` mode: wordless turns can never name the orb, and
    these tests are about answering the client's turns (tests/orb/test_addressed_live.py
    is about the default ``addressed``)."""
    core = core or CoreConfig(orbs_enabled=True, orb_mode="active")
    host = InProcessOrbHost(orb or OrbConfig(speech=NO_SPEECH), brain_factory=brain_factory)
    server = SignalingServer(ServerConfig(port=0, core=core), orb_host=host)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.serve)
        try:
            yield OrbServer(server, host, f"ws://127.0.0.1:{port}",
                            trio.lowlevel.current_trio_token())
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(30):
                await server.shutdown()
            nursery.cancel_scope.cancel()


def on_asyncio(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an ``async def`` test on a fresh asyncio loop (the suite runs in trio mode)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async def bounded() -> None:
            await asyncio.wait_for(fn(*args, **kwargs), 30)

        asyncio.run(bounded())

    return wrapper


async def in_asyncio(scenario: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run the humans' scenario on a fresh asyncio loop in a worker thread, bounded.

    A ``timeout`` over the suite's 120 s needs a ``pytest.mark.timeout`` above it on the
    test: otherwise pytest-timeout kills a slow run first, with thread stacks instead of
    the scenario's own error (which wait was late) and the server's log."""
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)

    def runner() -> T:
        return asyncio.run(bounded())  # type: ignore[arg-type]

    return await trio.to_thread.run_sync(runner)

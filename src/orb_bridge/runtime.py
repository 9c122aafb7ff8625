"""The asyncio side of the in-process host: every orb of the process, on the orb loop.

Each method is a coroutine that the Trio side runs through the portal
(:meth:`~orb_bridge.loop_thread.AsyncioLoopThread.call`); arguments and results are plain data
(room and session ids, message texts, dicts of numbers). An orb is addressed by the key the
host gave it at start, unique per spawn: a room's next orb may carry the same session id while
the previous one is still winding down. Nothing here touches Trio.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import attrs

from ._config import OrbConfig
from .brain import BrainFactory
from .peers import open_peer_connections
from .session import OrbOutcome, OrbSession
from .signaling_link import QueueLink

logger = logging.getLogger(__name__)


@attrs.define
class _Orb:
    session: OrbSession
    link: QueueLink
    task: asyncio.Task[OrbOutcome]


class OrbRuntime:
    """Registry of the running orbs; only ever used on the orb loop's thread."""

    def __init__(self, config: OrbConfig, brain_factory: BrainFactory) -> None:
        self._cfg = config
        self._brain_factory = brain_factory
        self._orbs: dict[str, _Orb] = {}

    async def start(self, key: str, room_id: str, session_id: str,
                    ice_servers: list[dict[str, Any]] | None = None) -> None:
        if key in self._orbs:
            raise ValueError(f"orb {key} is already running")
        link = QueueLink(self._cfg.queue_size)
        session = OrbSession(link, room_id=room_id, session_id=session_id, config=self._cfg,
                             brain=self._brain_factory(), ice_servers=ice_servers or ())
        task = asyncio.get_running_loop().create_task(session.run(), name=f"orb-{session_id}")
        self._orbs[key] = _Orb(session, link, task)

    async def deliver(self, key: str, text: str) -> None:
        orb = self._orbs.get(key)
        if orb is not None:
            await orb.link.deliver(text)

    async def next_outgoing(self, key: str) -> str | None:
        orb = self._orbs.get(key)
        return None if orb is None else await orb.link.next_outgoing()

    async def far_closed(self, key: str) -> None:
        orb = self._orbs.get(key)
        if orb is not None:
            orb.link.far_closed()

    async def stop(self, key: str, reason: str) -> None:
        orb = self._orbs.get(key)
        if orb is not None:
            orb.session.request_stop(reason)

    async def finish(self, key: str, timeout: float) -> dict[str, Any]:
        """Wait (bounded) for the orb to end, cancelling it if it does not; forget it."""
        orb = self._orbs.get(key)
        if orb is None:
            return {"reason": "unknown", "joined": False, "announced": False}
        try:
            if not orb.task.done():
                done, _ = await asyncio.wait([orb.task], timeout=timeout)
                if not done:
                    orb.task.cancel()
                    await asyncio.wait([orb.task], timeout=timeout)
            outcome = orb.task.result() if orb.task.done() and not orb.task.cancelled() \
                else None
        finally:
            if orb.task.done():
                self._orbs.pop(key, None)
        if outcome is None:
            return {"reason": "closed", "joined": orb.session.joined, "announced": False}
        return attrs.asdict(outcome)

    async def stats(self, key: str) -> dict[str, Any] | None:
        orb = self._orbs.get(key)
        return None if orb is None else orb.session.stats()

    async def media_report(self, key: str) -> dict[str, Any] | None:
        orb = self._orbs.get(key)
        return None if orb is None else await orb.session.media_report()

    async def census(self) -> dict[str, int]:
        """What is alive on the loop: orbs, tasks (this one excluded), open peer connections."""
        gc.collect()
        me = asyncio.current_task()
        tasks = sum(1 for t in asyncio.all_tasks() if t is not me)
        return {"orbs": len(self._orbs), "tasks": tasks, "peerConnections": open_peer_connections()}

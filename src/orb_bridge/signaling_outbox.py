"""What the orb sends to the server, in order, without ever waiting on the sender.

The orb's stages post messages from the media loop (a status change, a transcript, an answer
to an offer); the link may be slow or gone. So posting only appends a JSON line to a bounded
queue and one writer task sends them one by one: a stuck link fills the queue and the orb
ends (``RuntimeError``) instead of growing without end, and a closed link ends the writer.
At the end :meth:`SignalingOutbox.flush` sends what is left before the goodbye.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from .signaling_link import LinkClosed, SignalingLink


class SignalingOutbox:
    """One orb's outgoing messages, in order, over ``link`` (at most ``limit`` waiting)."""

    def __init__(self, link: SignalingLink, limit: int) -> None:
        self._link = link
        self._limit = limit
        self._lines: deque[str] = deque()
        self._ready = asyncio.Event()

    def post(self, message: dict[str, Any]) -> None:
        """Queue ``message``; raises ``RuntimeError`` when the link has not kept up."""
        if len(self._lines) >= self._limit:
            raise RuntimeError("signaling link is stuck: outgoing queue full")
        self._lines.append(dump(message))
        self._ready.set()

    async def run(self, closed: Callable[[], None]) -> None:
        """The writer: send each line as it comes; call ``closed`` when the link is gone."""
        while True:
            while not self._lines:
                self._ready.clear()
                await self._ready.wait()
            try:
                await self._link.send(self._lines[0])
            except LinkClosed:
                closed()
                return
            self._lines.popleft()

    async def flush(self) -> None:
        """Send what is still queued (the writer has stopped); raises ``LinkClosed``."""
        while self._lines:
            await self._link.send(self._lines.popleft())


def dump(message: dict[str, Any]) -> str:
    """A message as the JSON text the link sends."""
    return orjson.dumps(message).decode()

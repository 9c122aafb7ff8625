"""The orb's signaling link: text messages in and out, whatever carries them.

An orb session only needs to send and receive the protocol's JSON texts; it does not care
whether they travel over a WebSocket (the standalone worker) or straight into the Trio server's
core (the in-process host). :class:`QueueLink` is the in-process half that lives on the orb
loop: two bounded queues that the Trio side drains and fills through the portal, so neither
side ever blocks the other's thread and nothing grows without bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol


class LinkClosed(Exception):
    """The signaling link is gone; nothing more can be sent or received."""


class SignalingLink(Protocol):
    async def send(self, text: str) -> None:
        """Send one message; raises :class:`LinkClosed` once the link is gone."""

    async def recv(self) -> str:
        """The next message; raises :class:`LinkClosed` once the link is gone."""

    async def aclose(self) -> None:
        """Close our side; idempotent."""


class _Channel:
    """A bounded FIFO between two coroutines on one loop, closable from either end."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[str] = deque()
        self._maxsize = maxsize
        self._changed = asyncio.Event()
        self.closed = False

    async def put(self, item: str) -> bool:
        """Wait for room, then enqueue; ``False`` if the channel closed first."""
        while not self.closed and len(self._items) >= self._maxsize:
            await self._wait()
        if self.closed:
            return False
        self._items.append(item)
        self._changed.set()
        return True

    async def get(self) -> str | None:
        """The next item, or ``None`` once the channel is closed and empty."""
        while not self._items:
            if self.closed:
                return None
            await self._wait()
        item = self._items.popleft()
        self._changed.set()
        return item

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()


class QueueLink:
    """A bounded, in-memory link whose far side is driven from another thread via the portal.

    Far side API (coroutines run on this loop by the portal): :meth:`deliver` (waits while the
    inbound queue is full: back-pressure towards the server, which disconnects a slow consumer
    as it would any other), :meth:`next_outgoing` (``None`` once the orb has closed the link and
    everything it sent has been taken) and :meth:`far_closed`. Both ends only ever wait on
    events of this loop, and closing either end wakes every waiter.
    """

    def __init__(self, maxsize: int) -> None:
        self._inbound = _Channel(maxsize)
        self._outbound = _Channel(maxsize)

    # ---------------------------------------------------------------- orb side
    async def send(self, text: str) -> None:
        if self._inbound.closed or not await self._outbound.put(text):
            raise LinkClosed

    async def recv(self) -> str:
        item = await self._inbound.get()
        if item is None:
            raise LinkClosed
        return item

    async def aclose(self) -> None:
        self._outbound.close()
        self._inbound.close()

    # ---------------------------------------------------------------- far side
    async def deliver(self, text: str) -> None:
        await self._inbound.put(text)

    async def next_outgoing(self) -> str | None:
        return await self._outbound.get()

    def far_closed(self) -> None:
        """The server closed this connection: the orb's reader and writer see LinkClosed."""
        self._inbound.close()
        self._outbound.close()

"""A bystander's numbered messages: one participant sends ticks to another through a server,
and the test checks every tick arrived, once, in order, without a long wait.

One home for the drain rule: ``sent`` is final only once the sender has left its loop (a
send still in progress when sending is switched off counts after it completes), so
``drain`` waits for that before it compares.
"""

from __future__ import annotations

import json

import trio
from trio_websocket import WebSocketConnection


class Ticks:
    """``sender`` sends ``{"action": "tick", "seq": n}`` to ``to_id`` every ``interval``;
    ``receiver`` records the sequence numbers and the longest wait between two."""

    def __init__(self, sender: WebSocketConnection, receiver: WebSocketConnection,
                 to_id: str, interval: float = 0.02) -> None:
        self.sender, self.receiver, self.to_id = sender, receiver, to_id
        self.interval = interval
        self.sent = 0
        self.got: list[int] = []
        self.worst_gap = 0.0
        self._sending = True
        self._stopped = trio.Event()

    def start(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._send_loop)
        nursery.start_soon(self._read_loop)

    async def _send_loop(self) -> None:
        try:
            while self._sending:
                await self.sender.send_message(json.dumps(
                    {"type": "client_signal", "action": "tick", "toId": self.to_id,
                     "seq": self.sent}))
                self.sent += 1
                await trio.sleep(self.interval)
        finally:
            self._stopped.set()

    async def _read_loop(self) -> None:
        last = trio.current_time()
        while True:
            message = json.loads(await self.receiver.get_message())
            if message.get("action") == "tick":
                now = trio.current_time()
                self.worst_gap = max(self.worst_gap, now - last)
                last = now
                self.got.append(message["seq"])

    async def drain(self, timeout: float) -> None:
        """Stops sending, then waits (at most ``timeout``) until every tick sent is read."""
        self._sending = False
        with trio.fail_after(timeout):
            await self._stopped.wait()
            while len(self.got) < self.sent:
                await trio.sleep(0.02)

    @property
    def intact(self) -> bool:
        """Every tick sent arrived, once and in order."""
        return self.got == list(range(self.sent))

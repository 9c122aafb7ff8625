"""What the server expects of a session ledger (implemented by :class:`trio_server.ledger.Ledger`).

The server hands over each ``SessionStarted``/``ParticipantJoined``/... command exactly as the
core returned it; the sink must neither block the Trio thread nor raise.
"""

from __future__ import annotations

from typing import Any, Protocol

import trio

from signaling_core import SessionRecord


class LedgerSink(Protocol):
    def record(self, record: SessionRecord) -> None:
        """Take one record; non-blocking, never raises."""
        ...

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Started in the server's nursery; flushes and returns when cancelled."""
        ...

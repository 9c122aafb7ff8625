"""How a synthetic human (:mod:`testkit.synthetic`) gets back after losing its signaling
connection: the browser client's retry rule (src/trio_server/static/signaling-socket.js) and
the record of each loss that the tests read.
"""

from __future__ import annotations

import random

import attrs

#: Close codes after which reconnecting would be wrong (replaced, unauthorized), as the
#: browser's signaling-socket.js has them.
TERMINAL_CLOSE_CODES = frozenset({4001, 4003})
#: Retries at the shortest delay (100-300 ms) before the backoff doubles, as the browser does.
FAST_RETRIES = 10
MAX_BACKOFF = 5.0


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt`` (0 first): ten times 100-300 ms, then doubling from
    0.4 s to at most 5 s, with jitter (so a room's humans do not all come back at once)."""
    if attempt < FAST_RETRIES:
        return random.uniform(0.1, 0.3)
    backoff: float = min(MAX_BACKOFF, 0.2 * 2.0 ** (attempt - FAST_RETRIES + 1))
    return backoff * random.uniform(0.75, 1.25)


@attrs.define
class Loss:
    """One lost signaling connection and how the human got back (``time.monotonic()``)."""

    lost_at: float
    code: int | None
    attempts: int = 0
    connected_at: float | None = None
    #: When the rejoin's ``peer-discovery`` arrived; ``None`` while still away.
    rejoined_at: float | None = None
    #: Whether the server still held the seat (``resumed: true``), else a fresh join.
    resumed: bool | None = None

"""Monotonic core time to wall-clock time.

The core stamps every record with ``trio.current_time()``: monotonic, immune to clock jumps,
but meaningless outside the process. The ledger stores Unix time, so it measures the offset
between the two once, when it starts, and adds it to every ``at``. A fixed offset keeps the
durations exact (a wall-clock jump during a call does not stretch it); the price is that a
process running for weeks drifts from the wall clock by whatever NTP slews in that time.
"""

from __future__ import annotations

import time

import trio


class WallClock:
    """``clock(at)`` is the Unix time of the core's monotonic ``at``."""

    __slots__ = ("offset",)

    def __init__(self, offset: float) -> None:
        self.offset = offset

    @classmethod
    def from_trio(cls) -> WallClock:
        """Measure the offset now; must run in the Trio thread."""
        return cls(time.time() - trio.current_time())

    def __call__(self, at: float) -> float:
        return at + self.offset

    def now(self) -> float:
        """The current Unix time on this clock (Trio thread only)."""
        return trio.current_time() + self.offset

"""CPU use of this process, as a fraction of one core, between two readings."""

from __future__ import annotations

import time


class CpuMeter:
    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def read(self) -> float:
        """Cores used since the previous reading (0.5 = half of one core)."""
        cpu, wall = time.process_time(), time.monotonic()
        used = (cpu - self._cpu) / max(wall - self._wall, 1e-6)
        self._cpu, self._wall = cpu, wall
        return round(used, 3)

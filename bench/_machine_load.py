"""How busy the machine was during a bench round, apart from the bench itself.

A side-by-side round is only fair when the servers it compares got the same share of the
cores. On a shared machine other jobs come and go, so each round records the 1-minute load
average (at its start and end, as ``uptime`` shows it) and what the rest of the machine used:
the busy CPU time of ``/proc/stat`` over the round, less the CPU of the bench's own processes
(the servers and load generators it started, all waited for by the round's end), in cores.
The load average counts the round's own server and load generator too (two busy processes on
two cores), so it cannot by itself say whether someone else was in the way; ``others_cores``
can.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

#: Clock ticks per second of ``/proc/stat`` (USER_HZ).
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_seconds() -> float | None:
    """Busy CPU seconds of all cores since boot (everything but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already inside user/nice: count the first 8 fields only.
    return (sum(fields[:8]) - idle) / _TICKS


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class LoadSample:
    load_start: float
    load_end: float
    #: Cores' worth of CPU used by everything but this bench during the round (None if
    #: ``/proc/stat`` cannot be read).
    others_cores: float | None
    seconds: float

    def as_dict(self) -> dict[str, float | None]:
        return {"load_start": round(self.load_start, 2), "load_end": round(self.load_end, 2),
                "others_cores": None if self.others_cores is None
                else round(self.others_cores, 2),
                "seconds": round(self.seconds, 1)}


class LoadMeter:
    """``start()`` before a round, ``stop()`` after it (once its children were waited for)."""

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._busy0 = _busy_seconds()
        self._own0 = _own_cpu_seconds()
        self._load0 = os.getloadavg()[0]

    def stop(self) -> LoadSample:
        seconds = time.monotonic() - self._t0
        busy1 = _busy_seconds()
        own = _own_cpu_seconds() - self._own0
        others = None
        if busy1 is not None and self._busy0 is not None and seconds > 0:
            others = max(0.0, (busy1 - self._busy0 - own) / seconds)
        return LoadSample(self._load0, os.getloadavg()[0], others, seconds)

"""A clock for latency bounds that must hold on a busy machine: wall time minus the time the
calling thread spent waiting for a CPU.

A test that bounds how long the code under test takes (say, a message crossing a server while
another client floods it) measures the code's own delays: work it does first, windows it
waits out. On a 2-core CI machine shared with other jobs the thread also waits on the
scheduler's run queue, for as long as the other jobs hold the cores; that wait is the
machine's, not the code's, and it is what made such bounds flake under load. Linux counts it
per thread (``/proc/thread-self/schedstat``: time run, time waited on a run queue, slices), so
:func:`unstarved_time` subtracts it: the time the thread would have seen with a core to itself.
A delay the code causes (busy work, a sleep, a blocking wait) still counts in full.

Where the kernel does not give the figure, the clock is plain wall time (bounds as strict as
before). Only the calling thread's wait is taken out, so measure from the thread that runs the
code under test (an event loop's thread).
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_queue_wait", "unstarved_time"]

_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def run_queue_wait() -> float:
    """Seconds the calling thread has spent runnable but waiting for a CPU (0.0 when the
    kernel does not say)."""
    try:
        fields = _SCHEDSTAT.read_text().split()
    except OSError:
        return 0.0
    return int(fields[1]) / 1e9 if len(fields) >= 2 else 0.0


def unstarved_time() -> float:
    """Monotonic seconds minus :func:`run_queue_wait`: differences of it are latencies with
    the machine's contention taken out."""
    return time.monotonic() - run_queue_wait()

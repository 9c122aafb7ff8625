"""Reads a server's CPU time and resident memory from /proc, so servers are compared on cost.

Throughput alone would mostly measure the load generator (on two cores it saturates first); the
CPU the server process itself burned per message or per join is what tells two servers apart.
Reads only; never signals or otherwise touches the observed process.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of every thread of `pid`, in seconds, with ns resolution.

    The scheduler's ``sum_exec_runtime`` (``/proc/PID/task/TID/schedstat``) is exact; the tick
    counters of ``/proc/PID/stat`` only move every 10 ms, too coarse for a 300-join storm. The
    tick counters are the fallback when schedstat is missing.
    """
    total_ns = 0
    found = False
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total_ns += int((task / "schedstat").read_text().split()[0])
            found = True
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # a thread that just exited, or no schedstat on this kernel
    if found and total_ns > 0:
        return total_ns / 1e9
    return stat_cpu_seconds(pid)


def stat_cpu_seconds(pid: int) -> float:
    """utime + stime from ``/proc/PID/stat``, in seconds (10 ms resolution)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may contain spaces; fields after the closing ')' are fixed.
    fields = text[text.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """Resident set size (``VmRSS`` of ``/proc/PID/status``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")

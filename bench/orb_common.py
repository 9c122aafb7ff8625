"""Shared by the orb benchmarks: a ``trio-server --orbs`` subprocess and its CPU time.

The orb server runs as its own process so that its CPU can be read from /proc without counting
the synthetic humans, which run in the benchmark's process (loopback only).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procstat import cpu_seconds

BIN = Path(sys.executable).parent


@contextmanager
def orb_server(*args: str, log: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """Start ``trio-server --orbs --port 0 ARGS``; yields (ws URL, pid); SIGINT at the end.
    ``log``: a list that receives the server's log lines as they come."""
    proc = subprocess.Popen(
        [str(BIN / "trio-server"), "--port", "0", "--orbs", "--log-level", "info", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = _read_port(proc, log)
        yield f"ws://127.0.0.1:{port}", proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _read_port(proc: subprocess.Popen[str], log: list[str] | None = None) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on https?://[^:]+:(\d+)", line)
        if match:
            # Keep draining the pipe so the server never blocks writing its log.
            threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
            return int(match.group(1))
    raise RuntimeError("trio-server did not report its port")


def _drain(stream: IO[str], log: list[str] | None = None) -> None:
    for line in stream:
        if log is not None:
            log.append(line)


def server_cpu(pid: int) -> float:
    return cpu_seconds(pid)


def runqueue_wait(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (schedstat field 2).

    On a shared machine this tells "the server was starved by other processes" apart from "the
    server could not keep up": a starved server uses *less* CPU while its frame rate drops.
    """
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total_ns += int((task / "schedstat").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total_ns / 1e9


def named_threads_cpu(pid: int, name: str) -> float:
    """CPU seconds of the process's threads called ``name`` in /proc (the voice's pool names
    its threads ``voice``: orb_bridge.voice_pool), from the scheduler's exact runtime."""
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                total_ns += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total_ns / 1e9


def threads_cpu_by_name(pid: int) -> dict[str, float]:
    """CPU seconds of the process's threads, summed by their name in /proc (``comm``). The
    orb names its stages' threads (``stt``: speech-to-text with CTranslate2's own threads;
    ``eot``: Smart Turn; ``voice``: the neural voice; ``orb-loop``: the media loop, with the
    decoder and encoder threads aiortc starts from it); the rest keep the process's name."""
    totals: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            seconds = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        totals[name] = totals.get(name, 0.0) + seconds
    return totals

"""The load generator's check of its own arrivals (bench/_arrivals.py), on sends made here."""

from __future__ import annotations

import random

import _arrivals as arrivals
import pytest

RATE = 8000.0
CONNECTIONS = 60
SECONDS = 4.0


def poisson_sends(seed: int) -> list[list[int]]:
    """Each connection's send times (ns) from its own Poisson process."""
    out = []
    for c in range(CONNECTIONS):
        rng = random.Random(seed * 1000 + c)
        t, times = 0.0, []
        while t < SECONDS:
            t += rng.expovariate(RATE / CONNECTIONS)
            times.append(int(t * 1e9))
        out.append(times)
    return out


def tick_sends(tick_ms: float = 1.0) -> list[list[int]]:
    """The same rate in ticks: every tick's sends leave together, from different connections."""
    out: list[list[int]] = [[] for _ in range(CONNECTIONS)]
    per_tick = int(RATE * tick_ms / 1000)
    k = 0
    for tick in range(int(SECONDS * 1000 / tick_ms)):
        for j in range(per_tick):
            out[k % CONNECTIONS].append(int(tick * tick_ms * 1e6) + j * 1000)
            k += 1
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_poisson_sends_pass(seed: int) -> None:
    checked = arrivals.check(poisson_sends(seed), [10_000] * 100, RATE, judge=True)
    assert checked.void is None, checked
    assert checked.cv_median is not None and abs(checked.cv_median - 1) < 0.1
    assert abs(checked.near_share - checked.near_expected) < 0.03


def test_ticks_are_void_as_poisson() -> None:
    checked = arrivals.check(tick_sends(), [10_000] * 100, RATE, judge=True)
    assert checked.void is not None and "CV" in checked.void
    assert checked.near_share > 0.99


def test_clumped_poisson_is_void() -> None:
    """Poisson schedules sent late in 1 ms clumps (a busy loop) fail the 'together' share."""
    clumped = [[t - t % 1_000_000 for t in times] for times in poisson_sends(4)]
    checked = arrivals.check(clumped, [10_000] * 100, RATE, judge=True)
    assert checked.void is not None and "clumped" in checked.void


def test_late_sends_are_void() -> None:
    checked = arrivals.check(poisson_sends(5), [5_000_000] * 100, RATE, judge=True)
    assert checked.void is not None and "lag" in checked.void


def test_not_judged_reports_only() -> None:
    checked = arrivals.check(tick_sends(), [], RATE, judge=False)
    assert checked.void is None
    assert checked.report()["send_lag_p99_ms"] is None

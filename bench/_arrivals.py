"""Arrival models for the paced relay, and the load generator's check of its own sends.

Real signaling traffic does not come in ticks: each participant's browser sends on its own
schedule. The ``poisson`` model gives every connection its own Poisson process (exponential
gaps, its own random stream), none synchronised with another's; ``tick`` is the old model,
where every tick's messages leave different connections together. A load generator that
shares two cores with the server clumps sends back into ticks when its event loop is late, so
a Poisson run checks what it really sent (:func:`check`) and is void when that was not
Poisson-like: the per-connection coefficient of variation of inter-send gaps (1 for Poisson,
near 0 for a fixed pace), the share of sends within ``NEAR_NS`` of another connection's send
against the share Poisson arrivals give, and the send lag's p99.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections.abc import Sequence

import attrs

#: Two sends closer than this count as "together" (100 µs).
NEAR_NS = 100_000
#: Bounds of a valid Poisson run: median per-connection CV of gaps, excess of the "together"
#: share over the expected one, and the p99 of how late sends left (ns).
CV_RANGE = (0.85, 1.15)
NEAR_EXCESS = 0.05
LAG_P99_MAX_NS = 2_000_000
#: Fewer gaps than this per connection make its CV too noisy to judge.
MIN_GAPS = 30
MODELS = ("poisson", "tick")


def coefficient_of_variation(times: Sequence[int]) -> float | None:
    """Standard deviation over mean of the gaps between consecutive sends."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if len(gaps) < 2:
        return None
    mean = statistics.fmean(gaps)
    return statistics.pstdev(gaps) / mean if mean > 0 else None


def near_share(times_by_connection: Sequence[Sequence[int]], window_ns: int = NEAR_NS) -> float:
    """The share of sends that have another connection's send within ``window_ns``."""
    merged = sorted((t, c) for c, times in enumerate(times_by_connection) for t in times)
    if not merged:
        return 0.0
    stamps = [t for t, _ in merged]
    near = 0
    for index, (t, connection) in enumerate(merged):
        lo = bisect.bisect_left(stamps, t - window_ns)
        hi = bisect.bisect_right(stamps, t + window_ns)
        if any(merged[j][1] != connection for j in range(lo, hi) if j != index):
            near += 1
    return near / len(merged)


def expected_near_share(total_rate: float, connections: int, window_ns: int = NEAR_NS) -> float:
    """For independent Poisson senders: P(another connection sends within ±window)."""
    others = total_rate * (1 - 1 / connections) if connections else 0.0
    return 1 - math.exp(-2 * window_ns / 1e9 * others)


@attrs.frozen
class ArrivalCheck:
    cv_median: float | None
    near_share: float
    near_expected: float
    lag_p99_ns: int | None
    void: str | None  # why the run is void, or None

    def report(self) -> dict[str, object]:
        return {"arrivals_cv_median": _round(self.cv_median),
                "arrivals_near_share": round(self.near_share, 4),
                "arrivals_near_expected": round(self.near_expected, 4),
                "send_lag_p99_ms": None if self.lag_p99_ns is None
                else round(self.lag_p99_ns / 1e6, 3),
                "arrivals_void": self.void}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def check(times_by_connection: Sequence[Sequence[int]], lags_ns: Sequence[int],
          total_rate: float, judge: bool) -> ArrivalCheck:
    """What was really sent, and (when ``judge``) whether it passes for Poisson arrivals."""
    cvs = [cv for times in times_by_connection if len(times) > MIN_GAPS
           if (cv := coefficient_of_variation(times)) is not None]
    cv_median = statistics.median(cvs) if cvs else None
    share = near_share(times_by_connection)
    expected = expected_near_share(total_rate, len(times_by_connection))
    ordered = sorted(lags_ns)
    lag_p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else None
    void = None
    if judge:
        if cv_median is None:
            void = "too few sends per connection to judge the gaps"
        elif not CV_RANGE[0] <= cv_median <= CV_RANGE[1]:
            void = f"per-connection CV of gaps {cv_median:.2f} outside {CV_RANGE}"
        elif share > expected + NEAR_EXCESS:
            void = (f"{share:.1%} of sends within {NEAR_NS // 1000} µs of another connection's, "
                    f"Poisson gives {expected:.1%}: the sends clumped")
        elif lag_p99 is not None and lag_p99 > LAG_P99_MAX_NS:
            void = f"send lag p99 {lag_p99 / 1e6:.2f} ms > {LAG_P99_MAX_NS / 1e6:g} ms"
    return ArrivalCheck(cv_median, share, expected, lag_p99, void)

"""A token bucket per client address, for HTTP endpoints that hand out something of value.

``/api/turn-credentials`` gives relay bandwidth on the operator's TURN server; even for a
participant with a valid join token, one page asks once per start, so a steady stream from one
address is abuse. Addresses are keyed as the connection caps key them (IPv6 per /64, see
:func:`.admission.address_key`), and loopback is exempt unless ``cap_loopback`` (a reverse
proxy on this host would otherwise put every client in one bucket).

The table is bounded: buckets that have refilled completely carry no information and are
dropped whenever the table grows past ``max_addresses``; if it is still full after that, the
newcomer is refused (a flood of fresh addresses then costs memory no longer, only answers).
"""

from __future__ import annotations

import math

from .admission import address_key


class PerAddressLimit:
    """``per_minute`` requests a minute per address, in bursts of at most ``burst``."""

    def __init__(self, per_minute: float, burst: int, *, cap_loopback: bool = False,
                 max_addresses: int = 65_536) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._cap_loopback = cap_loopback
        self._max = max_addresses
        #: key -> (tokens left, time of that count)
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, host: str, now: float) -> int:
        """0 when a request from ``host`` may go ahead (and count it), else whole seconds
        until it may. ``now`` is a monotonic time in seconds."""
        key, loopback = address_key(host)
        if loopback and not self._cap_loopback:
            return 0
        tokens, at = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))
        if key not in self._buckets and len(self._buckets) >= self._max:
            self._prune(now)
            if len(self._buckets) >= self._max:
                return max(1, math.ceil(1.0 / self._rate))
        self._buckets[key] = (tokens - 1.0, now)
        return 0

    def _prune(self, now: float) -> None:
        full = [key for key, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self._rate >= self._burst]
        for key in full:
            del self._buckets[key]

"""Connection caps at accept time: overall, and per client address.

Every accepted TCP connection (plain HTTP, a pending handshake or a WebSocket) holds a file
descriptor and a task, so the caps count connections from ``accept`` to close, whatever they
turn out to be. IPv6 clients are counted per /64, the block one subscriber usually gets, so a
single host cannot slip past the cap by rotating through its own addresses.
"""

from __future__ import annotations

import ipaddress

SERVER_FULL = "server is at its connection limit; try again later"
ADDRESS_FULL = "too many connections from your address; close some and try again"


def address_key(host: str) -> tuple[str, bool]:
    """(the key a client address is counted under, whether it is loopback)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host, False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped), mapped.is_loopback
        if ip.is_loopback:
            return str(ip), True
        return str(ipaddress.IPv6Network((ip, 64), strict=False)), False
    return str(ip), ip.is_loopback


class Admission:
    """Counts open connections; says whether one more may come in, and why not."""

    def __init__(self, max_connections: int, per_address: int, cap_loopback: bool) -> None:
        self._max = max_connections
        self._per_address = per_address
        self._cap_loopback = cap_loopback
        self._by_key: dict[str, int] = {}
        self.open = 0

    def admit(self, host: str) -> tuple[str | None, str]:
        """(None, key) when admitted (call :meth:`release` with ``key`` later), else
        (the reason for the refusal, key)."""
        key, loopback = address_key(host)
        if self.open >= self._max:
            return SERVER_FULL, key
        count = self._by_key.get(key, 0)
        if (self._per_address and count >= self._per_address
                and (self._cap_loopback or not loopback)):
            return ADDRESS_FULL, key
        self._by_key[key] = count + 1
        self.open += 1
        return None, key

    def release(self, key: str) -> None:
        count = self._by_key.get(key, 0) - 1
        if count > 0:
            self._by_key[key] = count
        else:
            self._by_key.pop(key, None)
        self.open -= 1

    def count(self, host: str) -> int:
        return self._by_key.get(address_key(host)[0], 0)

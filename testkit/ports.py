"""Loopback ports for the processes the tests start, chosen *below* the ephemeral range.

A test that kills a service and starts it again on the same port (a node, Redis, PostgreSQL,
coturn, HAProxy) leaves that port unbound meanwhile. A port from the ephemeral range can then be
given to any outgoing connection on the machine (a database client, a browser), and the restart
fails with "Address already in use": CI saw it with coturn and with a server node. Ports below
the range are only ever bound on purpose.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_FIRST = 10_000
#: Handed out by this process already: two services asked for ports before either is started
#: must not be given the same one.
_given: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port free for TCP and UDP now, outside the ephemeral range, not given before
    by this process."""
    low = max(_ephemeral_low(), _FIRST + 1)
    for _ in range(500):
        port = random.randrange(_FIRST, low)
        if port in _given:
            continue
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {_FIRST}..{low}")

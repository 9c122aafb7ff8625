"""A network namespace joined to this host by a veth pair: a client on a non-loopback address.

The exposure tests need requests that really come from somewhere else than loopback, without
touching any address of the machine's own interfaces. ``namespace()`` creates
``t17-<random>`` with a veth pair in a free ``10.253.X.0/30`` (host side ``.1``, namespace
side ``.2``) and removes both afterwards, whatever happened. ``fetch()`` runs the standard
library's HTTP client inside the namespace (``ip netns exec``), so the server sees the
namespace's address as the client. Needs root and ``ip`` (iproute2), as CI has.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
import trio

#: Bound on one client run inside the namespace (a fresh interpreter start included).
CLIENT_WAIT = 30.0

_CLIENT = r'''
import http.client, json, sys
host, port, requests = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
answers = []
for path, headers in requests:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    answers.append([response.status, dict(response.getheaders()),
                    response.read().decode("utf-8", "replace")])
    conn.close()
print(json.dumps(answers))
'''


@attrs.frozen
class Namespace:
    name: str
    host_ip: str  # the host's end of the veth pair: what the namespace connects to
    ns_ip: str  # the namespace's own address: what the server sees as the client


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True,
                          timeout=20)


def _free_subnet() -> ipaddress.IPv4Network:
    used = _ip("-4", "-o", "addr", "show").stdout
    for _ in range(64):
        net = ipaddress.IPv4Network(f"10.253.{secrets.randbelow(256)}.0/30")
        if f" 10.253.{net.network_address.packed[2]}." not in used:
            return net
    raise RuntimeError("no free 10.253.X.0/30 for the test's veth pair")


@contextmanager
def namespace() -> Iterator[Namespace]:
    """A fresh namespace and veth pair for the block; both removed in a finally."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the exposure tests create a network namespace: run them as root with "
                    "iproute2 installed (scripts/test.sh does, in CI)")
    tag = secrets.token_hex(3)
    name, host_if, ns_if = f"t17-{tag}", f"t17h{tag}", f"t17n{tag}"
    net = _free_subnet()
    host_ip, ns_ip = str(net.network_address + 1), str(net.network_address + 2)
    try:
        _ip("netns", "add", name)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", name)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        _ip("netns", "exec", name, "ip", "link", "set", ns_if, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield Namespace(name, host_ip, ns_ip)
    finally:
        _ip("link", "del", host_if, check=False)  # takes its peer with it
        _ip("netns", "del", name, check=False)


async def fetch(ns: Namespace, port: int,
                requests: list[tuple[str, dict[str, str]]]) -> list[tuple[int, dict[str, str],
                                                                            str]]:
    """GET each ``(path, headers)`` from inside ``ns`` to ``ns.host_ip:port``, in order:
    ``(status, headers, body)`` for each."""
    with trio.fail_after(CLIENT_WAIT):
        result = await trio.run_process(
            ["ip", "netns", "exec", ns.name, sys.executable, "-c", _CLIENT, ns.host_ip,
             str(port), json.dumps(requests)],
            capture_stdout=True, capture_stderr=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"the client in {ns.name} failed: {result.stderr.decode()}")
    answers: list[Any] = json.loads(result.stdout)
    return [(int(status), dict(headers), str(body)) for status, headers, body in answers]

"""Debian's coturn (``turnserver``) on 127.0.0.1 for a test: TURN REST API, throwaway secret.

coturn's ``use-auth-secret`` is the last line of the TURN defence (it recomputes every
credential's HMAC and checks its expiry), so the tests hold the server's credentials to the
real thing rather than to a copy of the rule.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Bound on coturn's start.
START_WAIT = 20.0


def _answers_stun(port: int) -> bool:
    """Whether coturn answers a STUN Binding request on ``port`` (its listener is up).

    Its "created" log line can come before its UDP listener serves; a browser whose first
    Allocate meets a closed port gives up on the relay, so the tests wait for a real answer.
    """
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            answer = sock.recv(2048)
        except OSError:
            return False
    return len(answer) >= 20 and answer[8:20] == request[8:20]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_coturn(directory: Path, secret: str) -> Iterator[int]:
    """``turnserver`` on 127.0.0.1 (relays on 127.0.0.1 too) for the block; yields its port."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("turnserver is missing: apt-get install coturn (scripts/test.sh does)")
    port = _free_udp_port()
    log = directory / "turnserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={secret}",
             "--realm=t17.test", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout",
             "--simple-log", "--verbose", f"--userdb={directory / 'turndb'}",
             f"--pidfile={directory / 'turnserver.pid'}", "--min-port=49152",
             "--max-port=65535", "--allow-loopback-peers"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_WAIT
        while b"turn server id=0 created" not in log.read_bytes() or not _answers_stun(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"turnserver did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

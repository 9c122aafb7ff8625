"""Debian's coturn (``turnserver``) on 127.0.0.1 for a test: TURN REST API, throwaway secret.

coturn's ``use-auth-secret`` is the last line of the TURN defence (it recomputes every
credential's HMAC and checks its expiry), so the tests hold the server's credentials to the
real thing rather than to a copy of the rule. :class:`Coturn` can also be killed and started
again on the same port, which breaks every relayed media path for real (the relay's
allocations die with it): that is how the resume tests make a peer connection fail.
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

from testkit.ports import free_port

#: Bound on coturn's start.
START_WAIT = 20.0


def answers_stun(port: int) -> bool:
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


class Coturn:
    """One ``turnserver`` on 127.0.0.1 (relays on 127.0.0.1 too) that a test can kill and start
    again on the same port; :meth:`start` waits until it answers STUN."""

    def __init__(self, directory: Path, secret: str) -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            pytest.fail("turnserver is missing: apt-get install coturn (scripts/test.sh does)")
        self.binary = binary
        self.directory = directory
        self.secret = secret
        self.port = free_port()
        self.log = directory / "turnserver.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        """Starts coturn (again) on :attr:`port`; its log is appended to :attr:`log`."""
        assert self.process is None, "coturn is already running"
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                 f"--listening-port={self.port}", "--use-auth-secret",
                 f"--static-auth-secret={self.secret}", "--realm=t17.test", "--no-tls",
                 "--no-dtls", "--no-cli", "--log-file=stdout", "--simple-log", "--verbose",
                 f"--userdb={self.directory / 'turndb'}",
                 f"--pidfile={self.directory / 'turnserver.pid'}", "--min-port=49152",
                 "--max-port=65535", "--allow-loopback-peers"],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_WAIT
        while (b"turn server id=0 created" not in self.log.read_bytes()[mark:]
               or not answers_stun(self.port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"turnserver did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        return self.port

    def kill(self) -> None:
        """``kill -9``: every allocation, and with it every relayed path, is gone at once."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def running_coturn(directory: Path, secret: str) -> Iterator[int]:
    """``turnserver`` on 127.0.0.1 for the block; yields its port."""
    turn = Coturn(directory, secret)
    try:
        yield turn.start()
    finally:
        turn.stop()

"""What the resume tests and ``bench/resume.py`` share: a server restartable on its port, a TCP
proxy whose connections can be cut like a network path, and a video-stall meter in the page.

The stall meter polls ``getStats`` (through ``triParty.inboundStats()``) every 50 ms and keeps,
per peer, the longest time between two increases of ``framesDecoded``; a rebuilt connection
(whose counter starts again from zero) counts as stalled until it decodes past nothing.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading
import time
from typing import Any

from browser_harness import ServerProcess
from playwright.sync_api import Page

STALL_METER_JS = """() => {
  if (window.__stall) return;
  const peers = {};
  window.__stall = peers;
  window.__stallTimer = setInterval(async () => {
    const stats = await window.triParty.inboundStats();
    const now = performance.now();
    for (const [uid, s] of Object.entries(stats)) {
      const frames = s.video.framesDecoded;
      const r = peers[uid] ??= {frames, at: now, worst: 0};
      if (frames > r.frames) {
        r.worst = Math.max(r.worst, now - r.at);
        r.at = now;
      }
      r.frames = frames;
    }
  }, 50);
}"""

STALL_READ_JS = """() => {
  const now = performance.now();
  const out = {};
  for (const [uid, r] of Object.entries(window.__stall || {})) {
    out[uid] = Math.max(r.worst, now - r.at) / 1000;
  }
  return out;
}"""

STALL_RESET_JS = """() => { clearInterval(window.__stallTimer); delete window.__stall; }"""


def start_stall_meter(page: Page) -> None:
    page.evaluate(STALL_RESET_JS)
    page.evaluate(STALL_METER_JS)


def longest_stall(page: Page) -> dict[str, float]:
    """Per peer, the longest video stall (seconds) since :func:`start_stall_meter`."""
    return dict(page.evaluate(STALL_READ_JS))


def links(page: Page) -> dict[str, Any]:
    """Per peer: connectionId (this page's RTCPeerConnection number), linkId, state."""
    return dict(page.evaluate("() => window.triParty.links()"))


def discoveries(page: Page) -> int:
    return int(page.evaluate("() => window.triParty.discoveries"))


def rejoined(page: Page, before: int) -> bool:
    """The page got a peer-discovery after ``before`` and is joined."""
    return bool(page.evaluate(
        f"() => window.triParty.joined && window.triParty.discoveries > {before}"))


def port_of(server: ServerProcess) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def restart(server: ServerProcess, how: str, *extra: str) -> ServerProcess:
    """Stop ``server`` (``kill -9`` or SIGTERM) and start a new one on the same port."""
    port = port_of(server)
    if how == "kill-9":
        server.proc.send_signal(signal.SIGKILL)
    else:
        server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:
        try:
            return ServerProcess("--port", str(port), *extra)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class CuttableProxy:
    """A TCP proxy in front of the server: ``cut()`` kills every connection through it (an RST
    to both ends, as a broken network path would leave them) and keeps accepting new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        """Copies both ways until either side ends (bounded waits: select with a timeout)."""
        sockets = [a, b]
        try:
            while not self._closed:
                ready, _, _ = select.select(sockets, [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except OSError:
            return
        finally:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def cut(self) -> int:
        """Resets every open connection; returns how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00"
                                    b"\x00\x00\x00\x00")
                    sock.close()
        return len(pairs)

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()

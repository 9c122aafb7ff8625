"""How long a client's page takes to be in the full call: from its navigation start to media
flowing in every direction of the three-party mesh (target: median of 5 runs <= 1.5 s).

The server (with the in-process orb host, exactly what ``trio-server --orbs`` runs) is started
inside this process, on a Trio thread, so the orb's own receive counters can be read while the
call builds. Each run opens a fresh room: the coach's page joins first and waits until it
exchanges media with the orb; then the client's page is opened. Timestamps, all on the shared
wall clock:

* in both pages, a recorder injected before any page script stamps the first moment each peer
  connection is connected with video frames decoded and audio packets received;
* a watcher thread asks the orb every 10 ms how many audio packets it has received from each
  human, and stamps the first moment that is non-zero for the client (the orb takes no video:
  its answer is ``sendonly``, docs/orb.md).

A run's figure is the latest of coach<-client, client<-coach, client<-orb (decoded in the
pages) and orb<-client audio (received by the orb), minus the client page's
navigation start. The
moment the orb's RTCP receiver reports acknowledge the client's audio (what the end-to-end test
checks) is shown too; aiortc sends those every 0.5-1.5 s, so it trails the real arrival.
Bounded: a fixed number of runs, each with a deadline.

    python bench/browser_mesh.py                # 5 runs (+1 warm-up), with the orb
    python bench/browser_mesh.py --no-orbs      # coach and client only
    python bench/browser_mesh.py --smoke        # 1 run, no warm-up, target not judged (CI)
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import _repo  # noqa: F401  (testkit, tests/browser on sys.path: bench/_repo.py)
import trio
from browser_harness import launch_chromium, wait_until
from playwright.sync_api import Browser, Page, sync_playwright

from orb_bridge import InProcessOrbHost
from signaling_core import CoreConfig
from trio_server.config import ServerConfig
from trio_server.server import SignalingServer

RUN_TIMEOUT = 30.0
ORB_POLL = 0.01

#: Injected before the page's own scripts; polls each peer connection's stats every 20 ms until
#: that connection has both flowing inbound media and an acknowledgement of its outbound audio.
RECORDER_JS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const marks = { origin: performance.timeOrigin, flowing: {}, acked: {} };
  window.meshMarks = marks;
  addEventListener('DOMContentLoaded', () => { marks.domReady = now(); });
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => { const s = await gum(c); marks.media ??= now(); return s; };
  }
  const started = now();
  const poll = async () => {
    const tp = window.triParty;
    if (tp) {
      if (tp.joined && marks.joined === undefined) marks.joined = now();
      for (const [id, entry] of tp.peers) {
        if (!entry.link || (marks.flowing[id] && marks.acked[id])) continue;
        const report = await entry.link.pc.getStats();
        let frames = 0, audioIn = 0, audioAck = false;
        report.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
          if (s.type === 'inbound-rtp' && s.kind === 'audio') audioIn += s.packetsReceived ?? 0;
          if (s.type === 'remote-inbound-rtp' && s.kind === 'audio') audioAck = true;
        });
        const t = now();
        const connected = entry.link.pc.connectionState === 'connected';
        if (connected && frames > 0 && audioIn > 0) marks.flowing[id] ??= t;
        if (connected && audioAck) marks.acked[id] ??= t;
      }
    }
    if (now() - started < 60000) setTimeout(poll, 20);
  };
  setTimeout(poll, 20);
})();
"""


class InProcessServer:
    """The signaling server and its orb host on a Trio thread of this process."""

    def __init__(self, orbs: bool) -> None:
        self.host = InProcessOrbHost() if orbs else None
        config = ServerConfig(port=0, core=CoreConfig(orbs_enabled=orbs))
        self.server = SignalingServer(config, orb_host=self.host)
        self.base_url = ""
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self.server.serve)
            self.base_url = f"http://127.0.0.1:{port}"
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set()
            await self._stop.wait()
            with trio.move_on_after(15):
                await self.server.shutdown()
            nursery.cancel_scope.cancel()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self._token is not None and self._stop is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)

    def room_url(self, room_id: str, role: str, name: str) -> str:
        return f"{self.base_url}/room/{room_id}?{urlencode({'role': role, 'name': name})}"

    def orb_media(self, room_id: str) -> dict[str, Any]:
        """Per human: {audio: {packetsReceived, ...}, video: {...}} as the orb sees it."""
        if self.host is None or self._token is None:
            return {}
        report = trio.from_thread.run(self.host.orb_media_report, room_id,
                                      trio_token=self._token)
        return report or {}


@contextmanager
def in_process_server(orbs: bool) -> Iterator[InProcessServer]:
    server = InProcessServer(orbs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class OrbWatcher:
    """Stamps when the orb first has audio packets from each human."""

    def __init__(self, server: InProcessServer, room_id: str) -> None:
        self.server = server
        self.room_id = room_id
        self.first: dict[str, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT * 2
        while not self._done.is_set() and time.monotonic() < deadline:
            for user_id, kinds in self.server.orb_media(self.room_id).items():
                now = time.time() * 1000
                if kinds.get("audio", {}).get("packetsReceived", 0) > 0:
                    self.first.setdefault(f"{user_id}/audio", now)
                    self.first.setdefault(user_id, now)
            self._done.wait(ORB_POLL)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)


def _page(browser: Browser, url: str) -> Page:
    context = browser.new_context(permissions=["camera", "microphone"])
    context.add_init_script(RECORDER_JS)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    return page


def _marks(page: Page) -> dict[str, Any]:
    marks = page.evaluate("() => window.meshMarks ?? null")
    return marks if isinstance(marks, dict) else {}


def _peer_ids(page: Page) -> list[str]:
    return list(page.evaluate("() => window.triParty ? [...window.triParty.peers.keys()] : []"))


def one_run(browser: Browser, server: InProcessServer, orbs: bool) -> dict[str, float]:
    room = f"bench-{uuid.uuid4().hex[:8]}"
    watcher = OrbWatcher(server, room)
    coach = _page(browser, server.room_url(room, "coach", "Coach"))
    try:
        wait_until(
            lambda: (_marks(coach), _peer_ids(coach)),
            lambda mp: len(mp[1]) == (1 if orbs else 0) and mp[0].get("joined") is not None
            and all(p in mp[0]["flowing"] for p in mp[1]),
            timeout=RUN_TIMEOUT, what="the coach's page to be in the call", interval=0.05,
        )
        orb_ids = _peer_ids(coach)
        client = _page(browser, server.room_url(room, "client", "Client"))
        try:
            client_id = wait_until(lambda: client.evaluate(
                "() => window.triParty?.self.userId ?? null"), bool,
                timeout=RUN_TIMEOUT, what="the client page's script", interval=0.02)
            client_marks, coach_marks = wait_until(
                lambda: (_marks(client), _marks(coach)),
                lambda cm: bool(cm[0]) and len(cm[0]["flowing"]) == len(orb_ids) + 1
                and client_id in cm[1]["flowing"]
                and all(o in cm[0]["acked"] for o in orb_ids)
                and (not orbs or client_id in watcher.first),
                timeout=RUN_TIMEOUT, what="the full mesh", interval=0.05,
            )
        finally:
            client.context.close()
    finally:
        coach.context.close()
        watcher.stop()

    t0 = client_marks["origin"]
    result = {
        "dom_ready": client_marks.get("domReady", t0) - t0,
        "camera_open": client_marks.get("media", t0) - t0,
        "joined": client_marks.get("joined", t0) - t0,
        "coach<-client": coach_marks["flowing"][client_id] - t0,
    }
    for peer_id, t in client_marks["flowing"].items():
        result["client<-orb" if peer_id in orb_ids else "client<-coach"] = t - t0
    if orbs:
        result["orb<-client audio"] = watcher.first[f"{client_id}/audio"] - t0
        result["orb_rtcp_ack"] = max(client_marks["acked"][o] for o in orb_ids) - t0
    directions = [v for k, v in result.items() if "<-" in k]
    result["full_mesh"] = max(directions)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-orbs", action="store_true", help="coach and client only")
    parser.add_argument("--json", type=Path, help="also write the runs to this file")
    parser.add_argument("--smoke", action="store_true",
                        help="1 run and no warm-up, whatever else is given: checks that the "
                             "bench runs (CI), not the figures; the target is not judged")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    orbs = not args.no_orbs
    runs: list[dict[str, float]] = []
    with in_process_server(orbs) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            if not args.smoke:
                warmup = one_run(browser, server, orbs)
                print(f"warm-up (not counted): full mesh {warmup['full_mesh']:.0f} ms")
            for index in range(args.runs):
                result = one_run(browser, server, orbs)
                runs.append(result)
                print(f"run {index + 1}: " + "  ".join(f"{k} {v:.0f}" for k, v in result.items()))
                time.sleep(0.5)
        finally:
            browser.close()
    print(f"\nmedian of {len(runs)} runs, ms after the client page's navigation start:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:18s} {statistics.median(values):7.0f}   "
              f"(min {min(values):.0f}, max {max(values):.0f})")
    median_full = statistics.median(r["full_mesh"] for r in runs)
    verdict = "meets" if median_full <= 1500 else "misses"
    print(f"\nfull mesh, median: {median_full:.0f} ms ({verdict} the 1500 ms target)")
    if args.json:
        args.json.write_text(json.dumps({"orbs": orbs, "runs": runs}, indent=2))
    if args.smoke:
        print("(--smoke: one run without a warm-up, the target is not judged)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

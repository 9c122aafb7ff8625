"""How long a client's page takes to be in the full call: from its navigation start to media
flowing in every direction of the three-party mesh (target: median of 5 runs <= 1.5 s).

Each run opens a fresh room: the coach's page joins first and waits until it exchanges media
with the orb; then the client's page is opened, and a recorder injected into both pages (before
any page script runs) stamps, on the shared wall clock, the first moment each peer connection is
connected with video decoded and audio received, and the first moment the peer's RTCP receiver
reports acknowledge our audio. The run's figure is the latest of:

    coach <- client, client <- coach, client <- orb       (decoded on the pages)
    orb <- client                                         (the orb's receiver reports)

The orb's receiver reports are sent every 0.5-1.5 s (aiortc's RTCP interval), so the last line
is an upper bound of when the orb got the client's audio; the page-side mesh time is reported
separately. Bounded: a fixed number of runs, each with a deadline.

    python bench/browser_mesh.py                # 5 runs, with the orb
    python bench/browser_mesh.py --no-orbs      # coach and client only
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_harness import (  # noqa: E402
    launch_chromium,
    running_server,
    wait_until,
)
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

RUN_TIMEOUT = 30.0

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


def one_run(browser: Browser, room_url: Any, orbs: bool) -> dict[str, float]:
    room = f"bench-{uuid.uuid4().hex[:8]}"
    coach = _page(browser, room_url(room, "coach", "Coach"))
    try:
        coach_peers = 1 if orbs else 0
        wait_until(
            lambda: (_marks(coach), _peer_ids(coach)),
            lambda mp: len(mp[1]) == coach_peers and all(p in mp[0]["flowing"] for p in mp[1])
            and mp[0].get("joined") is not None,
            timeout=RUN_TIMEOUT, what="the coach's page to be in the call", interval=0.05,
        )
        orb_ids = _peer_ids(coach)
        client = _page(browser, room_url(room, "client", "Client"))
        try:
            client_peers = 2 if orbs else 1

            def both() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
                return _marks(client), _marks(coach), _peer_ids(client)

            def complete(state: tuple[dict[str, Any], dict[str, Any], list[str]]) -> bool:
                client_marks, coach_marks, client_peer_ids = state
                if len(client_peer_ids) != client_peers or not client_marks:
                    return False
                client_id = next(
                    (p for p in coach_marks.get("flowing", {}) if p not in orb_ids), None
                )
                return (
                    all(p in client_marks["flowing"] for p in client_peer_ids)
                    and client_id is not None
                    and all(o in client_marks["acked"] for o in orb_ids)
                )

            client_marks, coach_marks, _ = wait_until(
                both, complete, timeout=RUN_TIMEOUT, what="the full mesh", interval=0.05
            )
        finally:
            client.context.close()
    finally:
        coach.context.close()

    t0 = client_marks["origin"]
    into_client = max(client_marks["flowing"].values())
    into_coach = max(t for p, t in coach_marks["flowing"].items() if p not in orb_ids)
    pages_ms = max(into_client, into_coach) - t0
    orb_ms = max((client_marks["acked"][o] for o in orb_ids), default=t0) - t0
    return {
        "dom_ready_ms": client_marks.get("domReady", t0) - t0,
        "media_ms": client_marks.get("media", t0) - t0,
        "joined_ms": client_marks.get("joined", t0) - t0,
        "pages_mesh_ms": pages_ms,
        "orb_acked_ms": orb_ms,
        "full_mesh_ms": max(pages_ms, orb_ms),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-orbs", action="store_true", help="coach and client only")
    parser.add_argument("--json", type=Path, help="also write the runs to this file")
    args = parser.parse_args()
    orbs = not args.no_orbs
    runs: list[dict[str, float]] = []
    with running_server(*(["--orbs"] if orbs else [])) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            warmup = one_run(browser, server.room_url, orbs)
            print(f"warm-up (not counted): full mesh {warmup['full_mesh_ms']:.0f} ms")
            for index in range(args.runs):
                result = one_run(browser, server.room_url, orbs)
                runs.append(result)
                print(f"run {index + 1}: " + "  ".join(f"{k} {v:.0f}" for k, v in result.items()))
                time.sleep(0.5)
        finally:
            browser.close()
    print("\nmedian over", len(runs), "runs (ms from the client page's navigation start):")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:15s} {statistics.median(values):7.0f}   "
              f"(min {min(values):.0f}, max {max(values):.0f})")
    median_full = statistics.median(r["full_mesh_ms"] for r in runs)
    verdict = "meets" if median_full <= 1500 else "misses"
    print(f"\nfull mesh, median: {median_full:.0f} ms — {verdict} the 1500 ms target")
    if args.json:
        args.json.write_text(json.dumps({"orbs": orbs, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

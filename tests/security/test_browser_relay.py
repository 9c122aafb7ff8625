"""``?relay=1``: the call page reaches its peer through the TURN relay only, or not at all.

Relay-only is what an operator turns on when the peers must not see each other's addresses or a
direct path must not be tried, so the tests hold it to both halves: with good credentials from
the server a coach and a client (no orb) connect through a real coturn, media flows, and the
pair Chromium chose has a ``relay`` local candidate; with credentials coturn refuses (the server
signs with the wrong secret) the pages do not fall back to a direct path: they stay unconnected.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

# tests/ is on sys.path (tests/security is a package): the browser suite's own harness.
from browser import browser_harness as harness
from playwright.sync_api import Browser, Page

from testkit.coturn import running_coturn

TURN_SECRET = "relay-suite-turn-secret-0123456789abcdef"
#: How long relay-only pages with refused credentials are watched for a connection: well past
#: the time the good case takes on this machine (a few seconds), short of the test's timeout.
REFUSED_WATCH = 15.0

#: The page's RTCConfiguration, once its ICE servers are loaded.
RTC_CONFIG_JS = "async () => await window.triParty.rtcConfig"

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(90)]

#: The chosen candidate pair of this page's RTCPeerConnection to ``peerId``, and every local
#: candidate type it gathered (relay-only must gather nothing else).
SELECTED_PAIR_JS = """async (peerId) => {
  const link = window.triParty.peers.get(peerId)?.link;
  if (!link) return null;
  const report = await link.pc.getStats();
  let pair = null;
  const localTypes = [];
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = report.get(s.selectedCandidatePairId) ?? pair;
    }
    if (s.type === 'local-candidate') localTypes.push(s.candidateType);
  });
  if (pair === null) {
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) pair = s;
    });
  }
  if (pair === null) return { pair: null, localTypes };
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  return {
    pair: {
      state: pair.state,
      local: local?.candidateType ?? null,
      remote: remote?.candidateType ?? null,
    },
    localTypes,
  };
}"""


def _open_pair(chromium: Browser, server: harness.ServerProcess, room: str) -> dict[str, Page]:
    return {role: harness.open_page(chromium, server.room_url(
        room, role, role.title(), userId=f"{role}-r", relay="1")) for role in ("coach", "client")}


def _close(server: harness.ServerProcess, pages: dict[str, Page]) -> None:
    for page in pages.values():
        page.context.close()
    server.stop()
    # The harness leaves its log pipe to the garbage collector; close it once read to the end.
    server._reader.join(10)
    if server.proc.stdout is not None:
        server.proc.stdout.close()


def test_relay_only_pages_connect_through_coturn(chromium: Browser, tmp_path: Path) -> None:
    room = f"relay-{uuid.uuid4().hex[:8]}"
    with running_coturn(tmp_path, TURN_SECRET) as turn_port:
        server = harness.ServerProcess("--turn-secret", TURN_SECRET,
                                       "--turn-url", f"turn:127.0.0.1:{turn_port}")
        pages = _open_pair(chromium, server, room)
        try:
            for role, page in pages.items():
                config: dict[str, Any] = page.evaluate(RTC_CONFIG_JS)
                assert config["iceTransportPolicy"] == "relay", config
                harness.wait_until(lambda page=page: harness.inbound_stats(page),
                                   lambda stats: harness.mesh_complete(stats, 1),
                                   timeout=45, what=f"the {role}'s media from its peer")
            for role, page in pages.items():
                peer = "client-r" if role == "coach" else "coach-r"
                chosen = harness.wait_until(
                    lambda page=page, peer=peer: page.evaluate(SELECTED_PAIR_JS, peer),
                    lambda got: (got is not None and got["pair"] is not None
                                 and got["pair"]["state"] == "succeeded"),
                    timeout=15, what=f"the {role}'s selected candidate pair")
                # Both pages relay only, so the far end of the pair is a relay address too.
                assert chosen["pair"] == {"state": "succeeded", "local": "relay",
                                          "remote": "relay"}, chosen
                assert set(chosen["localTypes"]) == {"relay"}, chosen
            log = (tmp_path / "turnserver.log").read_text(errors="replace")
            for role in ("coach", "client"):
                assert f":{room}:{role}-r>: incoming packet ALLOCATE processed, success" in log
        except AssertionError as failure:
            harness.fail_with_logs(failure, server.log_text(), pages)
        finally:
            _close(server, pages)


def test_relay_only_pages_refused_by_coturn_do_not_connect(
        chromium: Browser, tmp_path: Path) -> None:
    room = f"relay-refused-{uuid.uuid4().hex[:8]}"
    with running_coturn(tmp_path, TURN_SECRET) as turn_port:
        # The server signs credentials with a secret coturn does not share.
        server = harness.ServerProcess("--turn-secret", "not-the-coturn-secret-0123456789abcdef",
                                       "--turn-url", f"turn:127.0.0.1:{turn_port}")
        pages = _open_pair(chromium, server, room)
        turn_log = tmp_path / "turnserver.log"
        try:
            # A 401 for an empty user is coturn's ordinary first challenge; the refusal is the
            # 401 to a request that carried the page's (wrongly signed) credential.
            for role in ("coach", "client"):
                refused = f":{room}:{role}-r>: incoming packet message processed, error 401"
                harness.wait_until(lambda: turn_log.read_text(errors="replace"),
                                   lambda text, refused=refused: refused in text,
                                   timeout=30, what=f"coturn refusing the {role}'s credential")
            # Both pages have seen each other (the signaling works) yet no link connects.
            for role, page in pages.items():
                harness.wait_until(lambda page=page: harness.inbound_stats(page),
                                   lambda stats: len(stats) == 1,
                                   timeout=20, what=f"the {role}'s link to its peer")
            deadline = time.monotonic() + REFUSED_WATCH
            while time.monotonic() < deadline:
                for role, page in pages.items():
                    states = [s["state"] for s in harness.inbound_stats(page).values()]
                    assert "connected" not in states, f"the {role} connected: {states}"
                time.sleep(0.5)
            assert "ALLOCATE processed, success" not in turn_log.read_text(errors="replace")
        except AssertionError as failure:
            harness.fail_with_logs(failure, server.log_text(), pages)
        finally:
            _close(server, pages)


def test_a_relay_only_orb_reaches_the_pages_through_coturn(
        chromium: Browser, tmp_path: Path) -> None:
    """``--orb-ice-relay-only on``: the orb (aiortc, ``iceTransportPolicy`` relay) offers only
    relay candidates, so the pages (not relay-only themselves) reach it through coturn."""
    room = f"relay-orb-{uuid.uuid4().hex[:8]}"
    with running_coturn(tmp_path, TURN_SECRET) as turn_port:
        server = harness.ServerProcess("--orbs", "--orb-ice-relay-only", "on",
                                       *harness.SPEECHLESS_ORB,
                                       "--turn-secret", TURN_SECRET,
                                       "--turn-url", f"turn:127.0.0.1:{turn_port}")
        pages = {role: harness.open_page(chromium, server.room_url(
            room, role, role.title(), userId=f"{role}-o")) for role in ("coach", "client")}
        try:
            for role, page in pages.items():
                harness.wait_until(lambda page=page: harness.inbound_stats(page),
                                   lambda stats: harness.mesh_complete(stats, 2),
                                   timeout=45, what=f"the {role}'s mesh with the orb")
            for role, page in pages.items():
                [orb] = [i for i in harness.tile_ids(page) if i.startswith("ai-orb-")]
                chosen = harness.wait_until(
                    lambda page=page, orb=orb: page.evaluate(SELECTED_PAIR_JS, orb),
                    # Chromium can report the selected pair as "in-progress" for a moment
                    # while a check on it is outstanding, media already flowing: wait for it to
                    # read "succeeded" rather than take the first report.
                    lambda got: (got is not None and got["pair"] is not None
                                 and got["pair"]["state"] == "succeeded"),
                    timeout=15, what=f"the {role}'s selected pair with the orb")
                assert chosen["pair"]["state"] == "succeeded", chosen
                assert chosen["pair"]["remote"] == "relay", chosen
        except AssertionError as failure:
            harness.fail_with_logs(failure, server.log_text(), pages)
        finally:
            _close(server, pages)

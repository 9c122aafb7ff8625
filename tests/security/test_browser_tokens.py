"""With ``--join-secret``, the real call page joins with its ``?token=``, the orb still comes.

A coach and a client open the page in Chromium with tokens minted for them; the in-process orb
joins without one; all three peer connections carry media. A page without a token is refused
(4003) and does not reconnect.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest

# tests/ is on sys.path (tests/security is a package): the browser suite's own harness.
from browser import browser_harness as harness
from playwright.sync_api import Browser

from signaling_core.join_tokens import mint_token
from testkit.coturn import running_coturn

from .conftest import SECRET

TURN_SECRET = "browser-suite-turn-secret-0123456789abcd"

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(120)]


#: The page's RTCConfiguration, once its ICE servers are loaded.
RTC_CONFIG_JS = "async () => await window.triParty.rtcConfig"
#: A relay-only gathering with the page's own configuration: true once a relay candidate
#: comes (coturn allocated with the page's credentials), false if gathering ends without one.
RELAY_PROBE_JS = """async () => {
  const config = await window.triParty.rtcConfig;
  const pc = new RTCPeerConnection({ ...config, iceTransportPolicy: 'relay' });
  const relay = new Promise((resolve) => {
    pc.onicecandidate = (e) => {
      if (e.candidate === null) resolve(false);
      else if (e.candidate.type === 'relay') resolve(true);
    };
    setTimeout(() => resolve(false), 15000);
  });
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  const got = await relay;
  pc.close();
  return got;
}"""


def test_the_call_page_joins_with_its_token_and_the_orb_still_comes(
        chromium: Browser, tmp_path: Path) -> None:
    room = f"tokens-{uuid.uuid4().hex[:8]}"
    with running_coturn(tmp_path, TURN_SECRET) as turn_port, harness.running_server(
            "--orbs", *harness.SPEECHLESS_ORB, "--join-secret", SECRET,
            "--turn-secret", TURN_SECRET,
            "--turn-url", f"turn:127.0.0.1:{turn_port}") as server:
        pages = {}
        for role, user in (("coach", "coach-7"), ("client", "client-7")):
            token = mint_token(SECRET, room_id=room, user_id=user, user_role=role, now=time.time())
            pages[role] = harness.open_page(chromium, server.room_url(
                room, role, role.title(), userId=user, token=token))
        intruder = harness.open_page(chromium, server.room_url(room, "client", "Intruder",
                                                               userId="client-8"))
        try:
            for role, page in pages.items():
                harness.wait_until(lambda page=page: harness.inbound_stats(page),
                                   lambda stats: harness.mesh_complete(stats, 2),
                                   timeout=60, what=f"the {role}'s mesh with the orb")
            # Each page fetched TURN credentials with its token, for its own room and user,
            # and the real coturn accepts them (its log names the credential's user for every
            # allocation it accepted). The call's own connections may finish gathering on
            # loopback without ever asking the relay (Chromium sometimes allocates for none
            # of a page's connections), so each page also gathers once relay-only with its
            # configuration: that must allocate.
            turn_log = tmp_path / "turnserver.log"
            for role, page in pages.items():
                servers = page.evaluate(RTC_CONFIG_JS)["iceServers"]
                [turn] = [entry for entry in servers if "username" in entry]
                assert turn["username"].endswith(f":{room}:{role}-7"), turn
                assert page.evaluate(RELAY_PROBE_JS) is True, f"no relay for the {role}"
                accepted = f":{room}:{role}-7>: incoming packet ALLOCATE processed, success"
                harness.wait_until(lambda: turn_log.read_text(errors="replace"),
                                   lambda text, accepted=accepted: accepted in text,
                                   timeout=30, what=f"coturn accepting the {role}'s allocation")
            # The in-process orb got credentials for its own identity, and coturn took them.
            orb_accepted = re.compile(rf":{re.escape(room)}:ai-orb-[0-9a-f]+>: "
                                      "incoming packet ALLOCATE processed, success")
            harness.wait_until(lambda: turn_log.read_text(errors="replace"),
                               lambda text: orb_accepted.search(text) is not None,
                               timeout=30, what="coturn accepting the orb's allocation")
            ids = set(harness.tile_ids(pages["coach"]))
            assert {"coach-7", "client-7"} <= ids
            assert any(i.startswith("ai-orb-") for i in ids)
            harness.wait_until(
                lambda: intruder.get_attribute("#link-status", "data-state"),
                lambda state: state == "ended", timeout=15, what="the intruder's page to end")
            assert "client-8" not in harness.tile_ids(pages["coach"])
            # Without a token, the page got no TURN credentials (401), only the fallback.
            assert intruder.evaluate(RTC_CONFIG_JS) == {"iceServers": []}
            # The token left the address bar (and the history), yet a reload still joins.
            client_page = pages["client"]
            assert "token=" not in client_page.url
            client_page.reload()
            harness.wait_until(lambda: harness.inbound_stats(client_page),
                               lambda stats: harness.mesh_complete(stats, 2),
                               timeout=60, what="the reloaded client's mesh")
            assert SECRET not in server.log_text(last=10_000)
        finally:
            for page in (*pages.values(), intruder):
                page.context.close()
    # The harness leaves its log pipe to the garbage collector; close it once read to the end.
    server._reader.join(10)
    if server.proc.stdout is not None:
        server.proc.stdout.close()

"""A media path that really breaks (docs/protocol.md, "Links: keep, repair, rebuild").

Two real Chromium pages, coach and client, relay-only (``?relay=1``) through a real coturn, in a
call on a real ``trio-server``; the signaling path stays up the whole time. Killing coturn
(``kill -9``) takes every allocation with it, so the one path the peer connection has is gone:
Chromium sees its ICE consent checks go unanswered and the connection turns ``disconnected``.

* Repair: coturn comes back on the same port; the offerer's watch ICE-restarts the link (new
  ICE credentials, new relay allocations) on the same RTCPeerConnection and linkId, at both
  pages, and video is decoded again.
* Rebuild: coturn stays down past the repair's deadline, so the ICE restart cannot connect;
  the offerer rebuilds the link (a new RTCPeerConnection and linkId at both pages, one link per
  peer, never two), and the new one connects once coturn is back.
* Garbage at the relay's port, and the relay frozen (SIGSTOP) for a moment: no call is harmed,
  no connection replaced.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    ServerProcess,
    fail_with_logs,
    inbound_stats,
    mesh_complete,
    open_page,
    user_id,
    wait_until,
)
from playwright.sync_api import Browser, Page
from resume_harness import links, longest_stall, start_stall_meter

from testkit.coturn import Coturn, answers_stun

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(150)]

TURN_SECRET = "link-repair-turn-secret-0123456789abcdef"
#: Chromium notices unanswered consent checks within a few seconds; generous for a busy host.
BREAK_WAIT = 20.0
#: tri-party.js: a link not connected this long after its ICE restart is rebuilt (8 s), plus
#: the watch's period and a busy host's slack.
REBUILD_WAIT = 20.0
#: Back to connected with video decoding, once coturn serves again.
RECOVER_WAIT = 30.0
NOT_CONNECTED = ("disconnected", "failed", "connecting", "new")

UFRAG_JS = ("(peer) => (window.triParty.peers.get(peer).link.pc.remoteDescription.sdp"
            ".match(/a=ice-ufrag:(.*)/) || [])[1]")
FRAMES_JS = """async (peer) => {
  const stats = await window.triParty.inboundStats();
  return stats[peer] ? stats[peer].video.framesDecoded : 0;
}"""


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Coturn]:
    relay = Coturn(tmp_path, TURN_SECRET)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


@pytest.fixture
def relayed_call(browser: Browser, turn: Coturn) -> Iterator[tuple[ServerProcess, Page, Page]]:
    """A coach and a client that can reach each other only through ``turn``."""
    server = ServerProcess("--turn-secret", TURN_SECRET,
                           "--turn-url", f"turn:127.0.0.1:{turn.port}")
    room = f"repair-{uuid.uuid4().hex[:8]}"
    pages = [open_page(browser, server.room_url(room, role, role.title(), relay="1"))
             for role in ("coach", "client")]
    try:
        for page in pages:
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=45, what="the relayed call")
        yield server, pages[0], pages[1]
    finally:
        for page in pages:
            page.context.close()
        server.stop()


def _offerer(coach: Page, client: Page) -> tuple[Page, Page]:
    """(offerer, answerer) of the pair, as the server decided it."""
    coach_links = links(coach)
    offers = coach.evaluate(
        "(peer) => window.triParty.peers.get(peer).link.shouldOffer", user_id(client))
    assert coach_links, "the coach holds no link"
    return (coach, client) if offers else (client, coach)


def _link(page: Page, peer: Page) -> dict[str, Any]:
    return dict(links(page)[user_id(peer)])


def _decoding(page: Page, peer: Page, seconds: float) -> bool:
    """Video frames from ``peer`` are decoded at ``page`` over ``seconds``."""
    before = int(page.evaluate(FRAMES_JS, user_id(peer)))
    time.sleep(seconds)
    return int(page.evaluate(FRAMES_JS, user_id(peer))) > before


def _break(turn: Coturn, offerer: Page, answerer: Page) -> None:
    """Kills the relay and waits until the offerer's link is no longer connected."""
    turn.kill()
    wait_until(lambda: _link(offerer, answerer)["state"], lambda s: s in NOT_CONNECTED,
               timeout=BREAK_WAIT, what="the offerer's link to break")


def test_a_broken_media_path_is_repaired_by_an_ice_restart(
        relayed_call: tuple[ServerProcess, Page, Page], turn: Coturn) -> None:
    server, coach, client = relayed_call
    offerer, answerer = _offerer(coach, client)
    pages = {"offerer": offerer, "answerer": answerer}
    try:
        before = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        remote_ufrag = offerer.evaluate(UFRAG_JS, user_id(answerer))
        _break(turn, offerer, answerer)
        assert not _decoding(answerer, offerer, 1.0), "video went on with the relay dead"
        turn.start()
        wait_until(lambda: _link(offerer, answerer), lambda link: link["state"] == "connected",
                   timeout=RECOVER_WAIT, what="the link to connect again")
        after = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        for side in pages:  # the same RTCPeerConnection and link at both ends
            assert after[side]["connectionId"] == before[side]["connectionId"], (side, after)
            assert after[side]["linkId"] == before[side]["linkId"], (side, after)
        # It was an ICE restart: the answerer's ICE credentials are new.
        assert offerer.evaluate(UFRAG_JS, user_id(answerer)) != remote_ufrag
        assert wait_until(lambda: _decoding(answerer, offerer, 1.0), bool, timeout=15,
                          what="video at the answerer again")
        assert wait_until(lambda: _decoding(offerer, answerer, 1.0), bool, timeout=15,
                          what="video at the offerer again")
    except AssertionError as failure:
        fail_with_logs(failure, server.log_text(), pages)


def test_a_repair_that_cannot_connect_is_rebuilt(
        relayed_call: tuple[ServerProcess, Page, Page], turn: Coturn) -> None:
    server, coach, client = relayed_call
    offerer, answerer = _offerer(coach, client)
    pages = {"offerer": offerer, "answerer": answerer}
    try:
        before = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        _break(turn, offerer, answerer)
        # The repair is tried first, while the relay is still down ...
        wait_until(lambda: _link(offerer, answerer), lambda link: link["restarts"] >= 1,
                   timeout=BREAK_WAIT, what="the offerer's ICE restart")
        assert _link(offerer, answerer)["connectionId"] == before["offerer"]["connectionId"]
        # ... and cannot connect, so the offerer rebuilds the link.
        rebuilt = wait_until(
            lambda: _link(offerer, answerer),
            lambda link: link["connectionId"] != before["offerer"]["connectionId"],
            timeout=REBUILD_WAIT, what="the offerer to rebuild the link")
        assert rebuilt["linkId"] != before["offerer"]["linkId"]
        turn.start()
        for page, peer in ((offerer, answerer), (answerer, offerer)):
            wait_until(lambda page=page, peer=peer: _link(page, peer),
                       lambda link: link["state"] == "connected", timeout=RECOVER_WAIT,
                       what="the rebuilt link to connect")
        after = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        # One new link, the same at both ends: no duplicate, no glare.
        assert after["answerer"]["connectionId"] != before["answerer"]["connectionId"]
        assert after["offerer"]["linkId"] == after["answerer"]["linkId"] == rebuilt["linkId"]
        for page in pages.values():
            assert len(links(page)) == 1, links(page)
        assert wait_until(lambda: _decoding(answerer, offerer, 1.0), bool, timeout=15,
                          what="video at the answerer on the new link")
        assert wait_until(lambda: _decoding(offerer, answerer, 1.0), bool, timeout=15,
                          what="video at the offerer on the new link")
    except AssertionError as failure:
        fail_with_logs(failure, server.log_text(), pages)


def _turn_alive(turn: Coturn) -> bool:
    return answers_stun(turn.port)


def test_garbage_at_the_relay_harms_no_call(
        relayed_call: tuple[ServerProcess, Page, Page], turn: Coturn) -> None:
    """Junk at coturn's port while it relays a call: random datagrams, truncated and forged
    STUN/TURN messages (bad lengths, unknown methods, an Allocate with a wrong credential)
    and junk over TCP. coturn drops them; the call goes on without a stall and coturn
    still answers."""
    server, coach, client = relayed_call
    pages = {"coach": coach, "client": client}
    try:
        before = {name: links(page) for name, page in pages.items()}
        start_stall_meter(coach)
        start_stall_meter(client)
        rng = random.Random(7)
        magic = 0x2112A442
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for i in range(3000):
                kind = i % 4
                if kind == 0:
                    junk = os.urandom(rng.randrange(1, 1400))
                elif kind == 1:  # a STUN header whose length lies
                    junk = struct.pack("!HHI12s", 0x0001, 4000, magic, os.urandom(12))
                elif kind == 2:  # an unknown method, attributes of random bytes
                    body = os.urandom(rng.randrange(0, 64) * 4)
                    junk = struct.pack("!HHI12s", 0x0FFF, len(body), magic,
                                       os.urandom(12)) + body
                else:  # an Allocate with a USERNAME and a MESSAGE-INTEGRITY that is wrong
                    user = b"9999999999:room:user"
                    attrs = (struct.pack("!HH", 0x0006, len(user)) + user
                             + b"\0" * (-len(user) % 4)
                             + struct.pack("!HH", 0x0008, 20) + os.urandom(20))
                    junk = struct.pack("!HHI12s", 0x0003, len(attrs), magic,
                                       os.urandom(12)) + attrs
                udp.sendto(junk, ("127.0.0.1", turn.port))
                if i % 200 == 0:
                    time.sleep(0.02)
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", turn.port), timeout=5) as tcp:
                tcp.sendall(os.urandom(rng.randrange(1, 4000)))
        time.sleep(2.0)
        assert _turn_alive(turn), "coturn stopped answering"
        for name, page in pages.items():
            after = links(page)
            assert {u: link["connectionId"] for u, link in after.items()} == {
                u: link["connectionId"] for u, link in before[name].items()}, (name, after)
            stalls = longest_stall(page)
            assert len(stalls) == 1 and max(stalls.values()) <= 1.0, (name, stalls)
    except AssertionError as failure:
        fail_with_logs(failure, server.log_text(), pages)


def test_a_relay_that_freezes_for_a_moment_costs_no_connection(
        relayed_call: tuple[ServerProcess, Page, Page], turn: Coturn) -> None:
    """coturn stopped (SIGSTOP) for 2 s, then continued: its allocations live on, so the
    call resumes on the same RTCPeerConnection at both pages (kept, or repaired in place if
    the watch had already judged it broken), and video is decoded again."""
    server, coach, client = relayed_call
    offerer, answerer = _offerer(coach, client)
    pages = {"offerer": offerer, "answerer": answerer}
    try:
        before = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        assert turn.process is not None
        turn.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(2.0)
            assert not _decoding(answerer, offerer, 0.5), "video went on with the relay frozen"
        finally:
            turn.process.send_signal(signal.SIGCONT)
        for page, peer in ((offerer, answerer), (answerer, offerer)):
            assert wait_until(lambda page=page, peer=peer: _decoding(page, peer, 0.5), bool,
                              timeout=RECOVER_WAIT, what="video again after the freeze")
        after = {"offerer": _link(offerer, answerer), "answerer": _link(answerer, offerer)}
        for side in pages:
            assert after[side]["connectionId"] == before[side]["connectionId"], (side, after)
            assert after[side]["state"] == "connected", (side, after)
    except AssertionError as failure:
        fail_with_logs(failure, server.log_text(), pages)

"""Calls outlive their signaling (issue 13): two real Chromium pages in a call on a real
``trio-server`` process; the server is killed (``kill -9``) or stopped for a deploy (SIGTERM)
and started again on the same port, or the pages' signaling path is cut by the network (a TCP
proxy in front of the server resets every connection) while the server stays up.

Each time, the RTCPeerConnection that carried the call before still carries it after (the same
object: the page's connection id is unchanged), decoded video never stalls for more than a
second at either page (framesDecoded polled through getStats every 50 ms), both pages rejoin
within 6 s, and a third page that joins afterwards meshes with both.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

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
from resume_harness import (
    CuttableProxy,
    discoveries,
    links,
    longest_stall,
    rejoined,
    restart,
    start_stall_meter,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

MAX_STALL_S = 1.0
MAX_REJOIN_S = 6.0


@pytest.fixture
def server() -> Iterator[list[ServerProcess]]:
    """A server of this test alone (it gets killed); the list holds its successors too."""
    servers = [ServerProcess()]
    try:
        yield servers
    finally:
        for each in servers:
            each.stop()


def _call(browser: Browser, base_url: str, room: str) -> tuple[Page, Page]:
    coach = open_page(browser, f"{base_url}/room/{room}?role=coach&name=Coach")
    client = open_page(browser, f"{base_url}/room/{room}?role=client&name=Client")
    for page in (coach, client):
        wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                   timeout=30, what="the call")
    return coach, client


@pytest.mark.parametrize("disruption", ["kill-9", "sigterm", "network"])
def test_the_call_outlives_its_signaling(
        browser: Browser, server: list[ServerProcess], disruption: str) -> None:
    room = f"resume-{uuid.uuid4().hex[:8]}"
    proxy = CuttableProxy(int(server[0].base_url.rsplit(":", 1)[1])) \
        if disruption == "network" else None
    base_url = proxy.base_url if proxy is not None else server[0].base_url
    pages: dict[str, Page] = {}
    try:
        coach, client = _call(browser, base_url, room)
        pages = {"coach": coach, "client": client}
        before = {name: links(page) for name, page in pages.items()}
        counts = {name: discoveries(page) for name, page in pages.items()}
        for page in pages.values():
            start_stall_meter(page)
        time.sleep(0.5)

        started = time.monotonic()
        if proxy is not None:
            assert proxy.cut() >= 2  # both pages' signaling sockets (and nothing else)
        else:
            server.append(restart(server[-1], disruption))
        for name, page in pages.items():
            wait_until(lambda page=page, name=name: rejoined(page, counts[name]), bool,
                       timeout=MAX_REJOIN_S - (time.monotonic() - started), interval=0.02,
                       what=f"the {name} page to rejoin")
        rejoin_s = time.monotonic() - started
        time.sleep(2.0)  # media must keep flowing after the rejoin too

        for name, page in pages.items():
            after = links(page)
            assert {uid: link["connectionId"] for uid, link in after.items()} == {
                uid: link["connectionId"] for uid, link in before[name].items()
            }, f"{name}: a peer connection was replaced: {before[name]} -> {after}"
            assert all(link["state"] == "connected" for link in after.values()), after
            stalls = longest_stall(page)
            assert len(stalls) == 1 and max(stalls.values()) <= MAX_STALL_S, (
                f"{name}: video stalled {stalls} s ({disruption}; rejoined in {rejoin_s:.2f} s)")

        third = open_page(browser, f"{base_url}/room/{room}?role=client&name=Third")
        pages["third"] = third
        for name, page in pages.items():
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 2),
                       timeout=30, what=f"the {name} page to mesh with the third")
        assert user_id(third) not in (user_id(coach), user_id(client))
    except AssertionError as failure:
        fail_with_logs(failure, server[-1].log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()
        if proxy is not None:
            proxy.close()


def test_an_ice_restart_repairs_the_same_peer_connection(
        browser: Browser, server: list[ServerProcess]) -> None:
    """The offerer's repair: an ICE restart on the same RTCPeerConnection and linkId (new ICE
    credentials), never a new connection; media goes on. Driven here on a healthy path, so
    the video must not even stall; test_link_repair.py breaks the path for real (coturn)."""
    room = f"ice-{uuid.uuid4().hex[:8]}"
    pages: dict[str, Page] = {}
    try:
        coach, client = _call(browser, server[0].base_url, room)
        pages = {"coach": coach, "client": client}
        client_id = user_id(client)
        before = links(coach)[client_id]
        client_before = links(client)[user_id(coach)]
        ufrag = ("() => (window.triParty.peers.get(%r).link.pc.remoteDescription.sdp"
                 ".match(/a=ice-ufrag:(.*)/) || [])[1]")
        remote_ufrag = coach.evaluate(ufrag % client_id)
        start_stall_meter(coach)
        coach.evaluate(f"() => window.triParty.peers.get({client_id!r}).link.restartIce()")
        wait_until(lambda: coach.evaluate(ufrag % client_id), lambda u: u != remote_ufrag,
                   timeout=10, what="the client's answer to the ICE restart")
        time.sleep(1.5)
        after = links(coach)[client_id]
        assert after["connectionId"] == before["connectionId"]
        assert after["linkId"] == before["linkId"] and after["state"] == "connected"
        assert links(client)[user_id(coach)]["connectionId"] == client_before["connectionId"]
        assert max(longest_stall(coach).values()) <= MAX_STALL_S
    except AssertionError as failure:
        fail_with_logs(failure, server[-1].log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()


@pytest.mark.parametrize("server_too", [False, True], ids=["reload", "reload-after-restart"])
def test_a_reloaded_page_rejoins_as_itself_and_meshes_again(
        browser: Browser, server: list[ServerProcess], server_too: bool) -> None:
    """The client reloads its tab mid-call (after a server restart too, while the coach's page
    is still in its reunion): the tab comes back as the same participant (its id is kept in
    sessionStorage), the coach's page ends up with exactly one link to it, new and connected,
    and video flows both ways; nobody is left with a stale or duplicate connection."""
    room = f"reload-{uuid.uuid4().hex[:8]}"
    pages: dict[str, Page] = {}
    try:
        coach, client = _call(browser, server[0].base_url, room)
        pages = {"coach": coach, "client": client}
        client_id, coach_id = user_id(client), user_id(coach)
        before = links(coach)[client_id]
        if server_too:
            server.append(restart(server[-1], "kill-9"))
        client.reload()
        for page in (coach, client):
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what="the call after the reload")
        assert user_id(client) == client_id
        after = links(coach)
        assert list(after) == [client_id], after
        assert after[client_id]["connectionId"] != before["connectionId"]
        assert after[client_id]["state"] == "connected"
        assert list(links(client)) == [coach_id]
        assert links(client)[coach_id]["linkId"] == after[client_id]["linkId"]
        start_stall_meter(coach)
        start_stall_meter(client)
        time.sleep(2.0)
        for name, page in pages.items():
            stalls = longest_stall(page)
            assert len(stalls) == 1 and max(stalls.values()) <= MAX_STALL_S, (name, stalls)
        assert server[-1].get_json("/api/rooms")  # the server holds the room, once
        rooms = [r for r in server[-1].get_json("/api/rooms")["rooms"] if r["roomId"] == room]
        assert len(rooms) == 1 and len(rooms[0]["participants"]) == 2, rooms
    except AssertionError as failure:
        fail_with_logs(failure, server[-1].log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()


#: Keeps every frame the page's WebSockets send (``window.__sent``), from before its scripts run.
RECORD_SENT_JS = """(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    (window.__sent ??= []).push(String(data));
    return send.call(this, data);
  };
})();"""


def _sent_link_states(page: Page) -> list[dict[str, object]]:
    return list(page.evaluate(
        "() => (window.__sent || []).map((d) => JSON.parse(d))"
        ".filter((m) => m.type === 'client_signal' && m.action === 'link-state')"))


def test_a_late_link_state_never_tears_down_the_link_it_predates(
        browser: Browser, server: list[ServerProcess]) -> None:
    """Rule 5 against a stale report (the order behind the reload-after-restart flake): the
    client's ``link-state`` naming no link, sent when it joined, reaches the coach again after
    the client answered the coach's link. The connected link is kept (same RTCPeerConnection);
    a report the same page sends after its answer, naming no link, still rebuilds it."""
    room = f"late-{uuid.uuid4().hex[:8]}"
    pages: dict[str, Page] = {}
    try:
        coach = open_page(browser, f"{server[0].base_url}/room/{room}?role=coach&name=Coach")
        pages["coach"] = coach
        context = browser.new_context(permissions=["camera", "microphone"])
        context.add_init_script(RECORD_SENT_JS)
        client = context.new_page()
        pages["client"] = client
        client.goto(f"{server[0].base_url}/room/{room}?role=client&name=Client")
        for page in (coach, client):
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what="the call")
        client_id, coach_id = user_id(client), user_id(coach)
        before = links(coach)[client_id]
        first = _sent_link_states(client)[0]
        assert first["linkId"] is None, first  # sent before the coach's offer arrived

        client.evaluate("(m) => window.triParty.socket.send(m)", first)  # the late duplicate
        time.sleep(1.0)
        kept = links(coach)[client_id]
        assert kept["connectionId"] == before["connectionId"], (before, kept)
        assert kept["state"] == "connected" and list(links(client)) == [coach_id]

        client.evaluate("""(toId) => window.triParty.socket.send({type: 'client_signal',
            action: 'link-state', toId, linkId: null, epoch: window.triParty.epoch,
            seq: ++window.triParty.reportSeq})""", coach_id)  # it really lost the link
        wait_until(lambda: links(coach)[client_id]["connectionId"],
                   lambda c: c != before["connectionId"], timeout=5,
                   what="the coach to rebuild on a report newer than the answer")
    except AssertionError as failure:
        fail_with_logs(failure, server[-1].log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()

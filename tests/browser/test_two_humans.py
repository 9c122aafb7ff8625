"""A coach and a client in real Chromium pages, on a server without orbs.

The smallest real call: one peer connection each way, media decoded on both sides, the client's
raise-hand on the coach's page, names shown as text, and the coach's page tidied up when the
client's page goes away.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from browser_harness import (
    COUNT_PEER_ADDED_JS,
    ServerProcess,
    console_text,
    fail_with_logs,
    inbound_stats,
    make_certificate,
    mesh_complete,
    open_page,
    running_server,
    screenshot,
    tile_ids,
    user_id,
    wait_until,
)
from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

#: A display name that would be markup if anything rendered it as HTML.
TRICKY_NAME = '<img src=x onerror="window.pwned=1">Chris & "co"'


def test_coach_and_client_connect_and_interact(
    browser: Browser, plain_server: ServerProcess
) -> None:
    room = f"pair-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, plain_server.room_url(room, "coach", "Coach Carol"))
    client = open_page(
        browser, plain_server.room_url(room, "client", TRICKY_NAME), width=360, height=740
    )
    try:
        for page, who in ((coach, "coach"), (client, "client")):
            wait_until(
                lambda page=page: inbound_stats(page),
                lambda stats: mesh_complete(stats, 1),
                timeout=30, what=f"the {who}'s peer connection to carry media",
            )
        client_id = user_id(client)
        name_on_coach = coach.text_content(f'.tile[data-user-id="{client_id}"] .name')
        assert name_on_coach == TRICKY_NAME
        assert coach.query_selector("#tiles img") is None
        assert coach.evaluate("() => window.pwned") is None

        # Usable at 360 px: nothing overflows sideways, every control is on screen.
        assert client.evaluate("() => document.documentElement.scrollWidth") <= 360
        assert client.is_visible("#raise-hand") and not client.is_visible("#orb-pause")
        assert coach.is_visible("#orb-pause") and not coach.is_visible("#raise-hand")

        # The speaking indicator follows the fake microphone's beeps.
        wait_until(
            lambda: coach.get_attribute(f'.tile[data-user-id="{client_id}"]', "data-speaking"),
            lambda speaking: speaking == "true",
            timeout=10, what="the client's tile to show speaking", interval=0.05,
        )
        mic_enabled = "() => window.triParty.localStream.getAudioTracks()[0].enabled"
        coach.click("#toggle-mic")
        assert coach.evaluate(mic_enabled) is False
        assert coach.text_content('.tile[data-kind="self"] .mute-mark') == "mic off"
        coach.click("#toggle-mic")
        assert coach.evaluate(mic_enabled) is True

        # An `error` from the server reaches the user.
        client.evaluate("() => window.triParty.socket.send({type: 'no-such-type'})")
        client.wait_for_selector(".notice.error", timeout=5_000)
        assert "no-such-type" in (client.text_content("#notices") or "")

        client.click("#raise-hand")
        coach.wait_for_selector(
            f'.tile[data-user-id="{client_id}"] .hand', state="visible", timeout=10_000
        )
        assert "raised a hand" in (coach.text_content("#notices") or "")
        screenshot(coach, "pair-coach")
        screenshot(client, "pair-client")

        client.context.close()
        wait_until(
            lambda: tile_ids(coach), lambda ids: client_id not in ids,
            timeout=15, what="the coach's page to drop the client's tile",
        )
    except AssertionError as failure:
        fail_with_logs(failure, plain_server.log_text(), {"coach": coach, "client": client})
    finally:
        coach.context.close()


@pytest.mark.parametrize("disruption", ["reload", "socket-loss", "second-tab"])
def test_the_pair_heals(browser: Browser, plain_server: ServerProcess, disruption: str) -> None:
    """The client's page is reloaded or opened in a second tab (both sides rebuild their link),
    or its signaling socket is lost (it resumes its seat and both sides keep their link); media
    flows again, with one tile per participant."""
    room = f"heal-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, plain_server.room_url(room, "coach", "Coach Carol"))
    client = open_page(browser, plain_server.room_url(room, "client", "Client Chris"))
    pages = [coach, client]
    try:
        for page in pages:
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what="the first connection")
        client_id = user_id(client)
        coach.evaluate(COUNT_PEER_ADDED_JS)
        kept = coach.evaluate("() => window.triParty.links()")[client_id]["connectionId"]
        count = client.evaluate("() => window.triParty.discoveries")
        if disruption == "reload":
            client.reload()
        elif disruption == "socket-loss":
            client.evaluate("() => window.triParty.socket.simulateLoss()")
        else:
            old = client
            client = open_page(browser, plain_server.room_url(
                room, "client", "Client Chris", userId=client_id))
            pages.append(client)
            old.wait_for_selector('#link-status[data-state="ended"]', timeout=10_000)
            assert "another tab" in (old.text_content("#link-status") or "")
        assert user_id(client) == client_id
        if disruption == "socket-loss":
            wait_until(lambda: client.evaluate("() => window.triParty.discoveries"),
                       lambda n: n > count, timeout=15, what="the client to resume its seat")
            links = coach.evaluate("() => window.triParty.links()")
            assert coach.evaluate("() => window.peerAdded") == {}
            assert links[client_id]["connectionId"] == kept, "the link was not kept"
        else:
            wait_until(lambda: coach.evaluate("() => window.peerAdded"),
                       lambda added: added.get(client_id, 0) >= 1,
                       timeout=15, what="the coach to rebuild its link to the client")
        for page in (coach, client):
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what=f"media after {disruption}")
        assert sorted(tile_ids(coach)) == sorted([user_id(coach), client_id])
        assert sorted(tile_ids(client)) == sorted([user_id(coach), client_id])
        screenshot(coach, f"heal-{disruption}-coach")
        screenshot(client, f"heal-{disruption}-client")
    except AssertionError as failure:
        fail_with_logs(failure, plain_server.log_text(), {"coach": coach, "client": client})
    finally:
        for page in pages:
            page.context.close()


def test_lobby_leads_into_the_call(browser: Browser, plain_server: ServerProcess) -> None:
    page = open_page(browser, plain_server.base_url + "/", width=360, height=700)
    try:
        room = f"lobby-{uuid.uuid4().hex[:8]}"
        page.fill("#room", "not a room id!")
        page.fill("#name", "Coach Carol")
        page.check('input[name="role"][value="coach"]')
        page.click("#join")
        assert page.url.rstrip("/") == plain_server.base_url  # refused: invalid room id
        page.fill("#room", room)
        page.click("#join")
        page.wait_for_url(f"**/room/{room}?role=coach&name=Coach+Carol", timeout=10_000)
        page.wait_for_selector('#link-status[data-state="joined"]', timeout=15_000)
        assert page.text_content("#room-id") == room
        assert page.text_content('.tile[data-kind="self"] .name') == "Coach Carol"
        page.click("#leave")
        page.wait_for_url(f"**/?room={room}", timeout=10_000)
        assert page.input_value("#room") == room
        assert page.input_value("#name") == "Coach Carol"
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- console\n{console_text(page)}") from failure
    finally:
        page.context.close()


def test_pair_over_https_uses_wss(browser: Browser, tmp_path: Path) -> None:
    """Served over TLS, the page opens its WebSocket with wss: on its own origin."""
    certfile, keyfile = make_certificate(tmp_path)
    with running_server("--certfile", str(certfile), "--keyfile", str(keyfile)) as server:
        assert server.base_url.startswith("https://")
        room = f"tls-{uuid.uuid4().hex[:8]}"
        coach = open_page(browser, server.room_url(room, "coach", "Coach"), trust_any_cert=True)
        client = open_page(browser, server.room_url(room, "client", "Client"), trust_any_cert=True)
        try:
            for page in (coach, client):
                wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                           timeout=30, what="media over a wss-signaled connection")
                ws_url = page.evaluate("() => window.triParty.socket.url")
                assert ws_url == f"wss://{server.base_url.removeprefix('https://')}/ws-simple/{room}"
        except AssertionError as failure:
            fail_with_logs(failure, server.log_text(), {"coach": coach, "client": client})
        finally:
            coach.context.close()
            client.context.close()


def test_pair_resumes_after_a_server_restart(browser: Browser) -> None:
    """The server goes away under a call and comes back on the same port: both pages
    reconnect, rejoin, and keep their connection (a reunion: test_resume.py has the details)."""
    first = ServerProcess()
    port = first.base_url.rsplit(":", 1)[1]
    room = f"restart-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, first.room_url(room, "coach", "Coach"))
    client = open_page(browser, first.room_url(room, "client", "Client"))
    second: ServerProcess | None = None
    try:
        for page in (coach, client):
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what="the first connection")
        first.stop()
        for page in (coach, client):
            page.wait_for_selector('#link-status[data-state="reconnecting"]', timeout=10_000)
            page.evaluate(COUNT_PEER_ADDED_JS)
        second = ServerProcess("--port", port)
        for page in (coach, client):
            page.wait_for_selector('#link-status[data-state="joined"]', timeout=20_000)
            assert page.evaluate("() => window.peerAdded") == {}, "a link was rebuilt"
            wait_until(lambda page=page: inbound_stats(page), lambda s: mesh_complete(s, 1),
                       timeout=30, what="media after the restart")
    except AssertionError as failure:
        log = second.log_text() if second is not None else first.log_text()
        fail_with_logs(failure, log, {"coach": coach, "client": client})
    finally:
        coach.context.close()
        client.context.close()
        first.stop()
        if second is not None:
            second.stop()

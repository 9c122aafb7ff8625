"""The product's call: a coach and a client in real Chromium pages, and the AI orb spawned by
``trio-server --orbs``, all three connected pairwise with media flowing every way."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from browser_harness import (
    COUNT_PEER_ADDED_JS,
    ServerProcess,
    fail_with_logs,
    inbound_stats,
    mesh_complete,
    open_page,
    orb_status,
    screenshot,
    tile_ids,
    user_id,
    wait_until,
)
from playwright.sync_api import Browser, Page

from signaling_core import AI_STATUSES

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MESH_TIMEOUT = 45.0

def _orb_id(page: Page) -> str:
    ids = page.eval_on_selector_all(
        '#tiles .tile[data-kind="ai"]', "els => els.map(e => e.dataset.userId)"
    )
    assert len(ids) == 1, f"expected one orb tile, found {ids}"
    return str(ids[0])


def _wait_full_mesh(page: Page, who: str) -> dict[str, Any]:
    return wait_until(
        lambda: inbound_stats(page), lambda stats: mesh_complete(stats, 2),
        timeout=MESH_TIMEOUT, what=f"the {who}'s two peer connections to carry media",
    )


def _wait_orb_hears(page: Page, orb_id: str, who: str) -> None:
    """The orb receives this page's audio: its RTCP receiver reports name our audio stream
    (aiortc reports only streams whose RTP packets reached its receiver)."""
    wait_until(
        lambda: page.evaluate("() => window.triParty.outboundStats()").get(orb_id, {}),
        lambda out: bool(out) and out["audio"]["packets"] > 0 and out["audio"]["acknowledged"],
        timeout=20, what=f"the orb to acknowledge the {who}'s audio",
    )


def test_coach_client_and_orb(browser: Browser, speechless_orb_server: ServerProcess) -> None:
    room = f"trio-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, speechless_orb_server.room_url(room, "coach", "Coach Carol"))
    client = open_page(browser, speechless_orb_server.room_url(room, "client", "Client Chris"),
                       width=360, height=780)
    pages = {"coach": coach, "client": client}
    try:
        _wait_full_mesh(coach, "coach")
        _wait_full_mesh(client, "client")
        orb_id = _orb_id(coach)
        assert _orb_id(client) == orb_id
        coach_id, client_id = user_id(coach), user_id(client)
        _wait_orb_hears(coach, orb_id, "coach")
        _wait_orb_hears(client, orb_id, "client")

        for name, page in pages.items():
            wait_until(lambda page=page: orb_status(page), lambda s: s in AI_STATUSES,
                       timeout=15, what=f"the orb's status badge on the {name}'s page")
        screenshot(coach, "trio-coach")
        screenshot(client, "trio-client")

        coach.click("#orb-pause")
        for name, page in pages.items():
            wait_until(lambda page=page: orb_status(page), lambda s: s == "paused",
                       timeout=10, what=f"the badge on the {name}'s page to show paused")
        assert coach.text_content("#orb-pause") == "Resume orb"
        screenshot(coach, "trio-coach-paused")
        coach.click("#orb-pause")
        wait_until(lambda: orb_status(coach), lambda s: s in AI_STATUSES and s != "paused",
                   timeout=10, what="the orb to resume")

        client.click("#raise-hand")
        coach.wait_for_selector(
            f'.tile[data-user-id="{client_id}"] .hand', state="visible", timeout=10_000
        )
        screenshot(coach, "trio-coach-hand")

        client.context.close()
        wait_until(lambda: tile_ids(coach), lambda ids: sorted(ids) == sorted([coach_id, orb_id]),
                   timeout=15, what="the coach's page to drop the client's tile")
        assert set(inbound_stats(coach)) == {orb_id}
    except AssertionError as failure:
        fail_with_logs(failure, speechless_orb_server.log_text(), pages)
    finally:
        coach.context.close()


@pytest.mark.parametrize(
    ("who", "disruption"), [("client", "reload"), ("client", "socket-loss"), ("coach", "reload")]
)
def test_the_mesh_heals(
    browser: Browser, speechless_orb_server: ServerProcess, who: str, disruption: str
) -> None:
    """One human's page is reloaded (the server replaces its connection) or loses its socket
    (it reconnects and resumes its seat); after a reload the other human and the orb rebuild
    their links to it, after a lost socket everyone keeps them."""
    room = f"heal-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, speechless_orb_server.room_url(room, "coach", "Coach Carol"))
    client = open_page(browser, speechless_orb_server.room_url(room, "client", "Client Chris"))
    pages = {"coach": coach, "client": client}
    moved, other = pages[who], pages["client" if who == "coach" else "coach"]
    try:
        _wait_full_mesh(coach, "coach")
        _wait_full_mesh(client, "client")
        orb_id = _orb_id(coach)
        moved_id = user_id(moved)
        other.evaluate(COUNT_PEER_ADDED_JS)

        count = moved.evaluate("() => window.triParty.discoveries")
        if disruption == "reload":
            moved.reload()
        else:
            moved.evaluate("() => window.triParty.socket.simulateLoss()")
        assert user_id(moved) == moved_id
        if disruption == "reload":
            wait_until(lambda: other.evaluate("() => window.peerAdded"),
                       lambda added: added.get(moved_id, 0) >= 1,
                       timeout=15, what=f"the other page to rebuild its link to the {who}")
        else:  # a resume: every link is kept
            wait_until(lambda: moved.evaluate("() => window.triParty.discoveries"),
                       lambda n: n > count, timeout=15, what=f"the {who} to resume its seat")
            assert other.evaluate("() => window.peerAdded") == {}
        _wait_full_mesh(moved, f"{who} after {disruption}")
        _wait_full_mesh(other, "other human")
        _wait_orb_hears(moved, orb_id, f"{who} after {disruption}")
        assert _orb_id(moved) == orb_id  # the same orb, not a second one
        everyone = sorted([user_id(coach), user_id(client), orb_id])
        assert sorted(tile_ids(coach)) == everyone
        assert sorted(tile_ids(client)) == everyone
        wait_until(lambda: orb_status(moved), lambda s: s in AI_STATUSES,
                   timeout=15, what="the orb's status on the rejoined page")
        screenshot(coach, f"heal-{who}-{disruption}-coach")
        screenshot(client, f"heal-{who}-{disruption}-client")
    except AssertionError as failure:
        fail_with_logs(failure, speechless_orb_server.log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()

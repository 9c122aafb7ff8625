"""A coach and a client in real Chromium pages, on a server without orbs.

The smallest real call: one peer connection each way, media decoded on both sides, the client's
raise-hand on the coach's page, names shown as text, and the coach's page tidied up when the
client's page goes away.
"""

from __future__ import annotations

import uuid

import pytest
from browser_harness import (
    ServerProcess,
    console_text,
    inbound_stats,
    mesh_complete,
    open_page,
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
        raise AssertionError(
            f"{failure}\n--- server log\n{plain_server.log_text()}\n--- coach console\n"
            f"{console_text(coach)}\n--- client console\n{console_text(client)}"
        ) from failure
    finally:
        coach.context.close()

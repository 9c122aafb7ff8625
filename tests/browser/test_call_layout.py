"""The call page uses its window (issue 27): at 1280x800 the 16:9 tiles cover at least 60 %
of the area left of the side panel, with three, two or one tiles, and nothing scrolls; at
360x740 nothing overflows sideways and the tiles stay 16:9. Three Chromium pages of one room
(no orb: the tiles are the humans')."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from browser_harness import ServerProcess, fail_with_logs, open_page, wait_until
from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

MEASURE = """() => {
  const box = (el) => el.getBoundingClientRect();
  const tiles = document.getElementById('tiles');
  const side = document.querySelector('.side');
  const t = box(tiles), s = box(side);
  const left = Math.min(t.right, s.left) - t.left;
  const boxes = [...tiles.querySelectorAll('.tile')].map(box);
  return {
    region: left * t.height,
    covered: boxes.reduce((sum, b) => sum + b.width * b.height, 0),
    ratios: boxes.map((b) => b.width / b.height),
    inside: boxes.every((b) => b.left >= t.left - 1 && b.right <= t.right + 1
                        && b.top >= t.top - 1 && b.bottom <= t.bottom + 1),
    sideLeft: s.left, tilesRight: t.right,
    scrollH: document.documentElement.scrollHeight, innerH: innerHeight,
    scrollW: document.documentElement.scrollWidth, innerW: innerWidth,
  };
}"""


def measure(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(MEASURE)
    return result


def tiles(page: Page) -> int:
    return page.locator("#tiles .tile").count()


def test_tiles_fill_the_space_left_of_the_panel(browser: Browser,
                                                 plain_server: ServerProcess) -> None:
    room = f"layout-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, plain_server.room_url(room, "coach", "Coach Carol"),
                      width=1280, height=800)
    pages = {"coach": coach}
    try:
        for n, name in ((2, "Client Dana"), (3, "Client Eli")):
            pages[name] = open_page(browser, plain_server.room_url(room, "client", name),
                                    width=360, height=740)
            wait_until(lambda n=n: tiles(coach), lambda c, n=n: c == n, timeout=20,
                       what=f"{n} tiles")
        for count in (3, 2, 1):
            if count < 3:
                victim = pages.pop(next(k for k in pages if k != "coach"))
                victim.context.close()
                wait_until(lambda: tiles(coach), lambda c, count=count: c == count,
                           timeout=20, what=f"{count} tiles")
            m = wait_until(lambda: measure(coach),
                           lambda m: m["covered"] >= 0.6 * m["region"], timeout=5,
                           what=f"{count} tiles covering 60 % of the stage")
            assert m["inside"], m
            assert all(abs(r - 16 / 9) < 0.02 for r in m["ratios"]), m
            assert m["tilesRight"] <= m["sideLeft"] + 1, m
            assert m["scrollH"] <= m["innerH"] and m["scrollW"] <= m["innerW"], m
        # Narrow: a phone in portrait.
        coach.set_viewport_size({"width": 360, "height": 740})
        # The page lays its tiles out again after the resize (a frame or two later): wait for
        # that layout, not the first measurement after the call.
        m = wait_until(lambda: measure(coach),
                       lambda m: m["covered"] > 0 and m["inside"] and m["scrollW"] <= 360,
                       timeout=5, what="tiles laid out at 360 px")
        assert m["scrollW"] <= 360 and m["inside"], m
        assert all(abs(r - 16 / 9) < 0.02 for r in m["ratios"]), m
    except AssertionError as failure:
        fail_with_logs(failure, plain_server.log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()

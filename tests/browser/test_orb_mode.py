"""The orb's mode and "Ask the orb" on the call pages (issue 24), in real Chromium.

The coach switches the mode with the select on its page and the client's page shows it; the
"Ask the orb" button is on both pages except in ``listen``; pressing it on either page gets
that participant's next turn answered. Chromium's microphone plays a rendered request that
never names the orb (``--use-file-for-fake-audio-capture``, looped with pauses): in
``addressed`` only the button makes the orb answer it. While one page asks, the other mutes
its microphone (the page's own button), as the looped request would otherwise barge in.
"""

from __future__ import annotations

import re
import time
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_harness import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    ServerProcess,
    fail_with_logs,
    open_page,
    orb_status,
    orb_statuses_seen,
    running_server,
    user_id,
    wait_until,
    watch_orb_status,
)
from playwright.sync_api import Browser, Page, sync_playwright

from testkit import voices

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REQUEST = "What would you suggest we focus on next?"


@pytest.fixture(scope="module")
def speaking_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose fake microphone says :data:`REQUEST`, then 8 s of quiet, in a loop.

    The asker's own next request must not start before the orb answers the asked one: it
    would barge in on the answer. With 4 s of quiet, a CI run whose words came 4.3 s after
    the request (speech-to-text busy with both pages' loops) lost the answer so."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
    wav = tmp_path_factory.mktemp("voice") / "request.wav"
    pcm = np.concatenate([voices.espeak(REQUEST, 48_000), voices.silence(8.0, 48_000)])
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(pcm.astype(np.int16).tobytes())
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, timeout=30_000,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def addressed_server() -> Iterator[ServerProcess]:
    """``trio-server --orbs`` in the default mode (addressed)."""
    with running_server("--orbs") as server:
        yield server


def mode_label(page: Page) -> str:
    return str(page.text_content("#orb-mode-label") or "")


def ask_visible(page: Page) -> bool:
    return page.is_visible("#ask-orb")


def decisions(server: ServerProcess, who: str) -> list[str]:
    return re.findall(rf"addressing {re.escape(who)} \((\w+)\): ([^\n]*)", server.log_text(2000))


def test_the_coach_switches_the_mode_and_the_ask_button_gets_answers(
        speaking_browser: Browser, addressed_server: ServerProcess) -> None:
    room = f"mode-{uuid.uuid4().hex[:8]}"
    coach = open_page(speaking_browser, addressed_server.room_url(room, "coach", "Coach Carol"))
    client = open_page(speaking_browser, addressed_server.room_url(room, "client", "Chris"))
    pages = {"coach": coach, "client": client}
    try:
        for page in (coach, client):
            wait_until(lambda p=page: orb_status(p), lambda s: s is not None, timeout=40,
                       what="the orb's tile with a status")
            wait_until(lambda p=page: mode_label(p), lambda t: "addressed" in t, timeout=10,
                       what="the default mode shown")
            assert ask_visible(page)
        assert coach.is_visible("#orb-mode") and not client.is_visible("#orb-mode")
        coach_id, client_id = user_id(coach), user_id(client)

        # The humans' unnamed turns go unanswered in addressed mode. The first judged turn
        # waits for the models the server loads in the background (at load 10: Piper 18 s,
        # the first decision 29 s after the join), so the bound is generous.
        wait_until(lambda: decisions(addressed_server, client_id), bool, timeout=60,
                   what="a turn of the client judged")
        assert all(d == ("addressed", "not answered, not addressed")
                   for d in decisions(addressed_server, client_id))

        # The coach switches to listen: both pages show it; nobody may ask.
        coach.select_option("#orb-mode", "listen")
        for page in (client, coach):
            wait_until(lambda p=page: mode_label(p), lambda t: "listens only" in t,
                       timeout=10, what="listen shown")
            wait_until(lambda p=page: ask_visible(p), lambda v: not v, timeout=5,
                       what="the ask button hidden in listen")
        assert client.get_attribute("body", "data-orb-mode") == "listen"

        # Back to addressed; the coach asks, then the client asks: each is answered.
        coach.select_option("#orb-mode", "addressed")
        for page in (client, coach):
            wait_until(lambda p=page: ask_visible(p), bool, timeout=10,
                       what="the ask button back")
        # One speaker at a time (the other mutes), so that the other's looped request does
        # not barge in on the answer before it is heard.
        for page, who, other_page in ((coach, coach_id, client), (client, client_id, coach)):
            if other_page.get_attribute("#toggle-mic", "aria-pressed") != "true":
                other_page.click("#toggle-mic")
            if page.get_attribute("#toggle-mic", "aria-pressed") == "true":
                page.click("#toggle-mic")
            wait_until(lambda: orb_status(coach), lambda s: s == "listening", timeout=40,
                       what="the orb listening before the ask")
            before = len(decisions(addressed_server, who))
            # The asker's looped request goes on after the asked turn and may barge in on the
            # answer within half a second: every status shown is recorded, not polled.
            for other in (coach, client):
                watch_orb_status(other)
            page.click("#ask-orb")
            wait_until(lambda w=who, n=before: decisions(addressed_server, w)[n:],
                       lambda d: any("asked by button" in text for _, text in d),
                       timeout=40, what=f"{who}'s asked turn answered")
            for other in (coach, client):
                wait_until(lambda o=other: orb_statuses_seen(o), lambda s: "speaking" in s,
                           timeout=30, what="the orb's answer on both pages")
        time.sleep(0.1)
    except AssertionError as failure:
        fail_with_logs(failure, addressed_server.log_text(), pages)
    finally:
        for page in pages.values():
            page.context.close()

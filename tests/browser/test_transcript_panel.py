"""The call page's live transcript: the coach's page shows what the client said, as the orb
(``trio-server --orbs``, real faster-whisper) transcribed it, with the "transcribing"
indicator on; the panel and tiles use the window and still work at 360 px.

The client here is a synthetic human (aiortc, testkit.synthetic) whose microphone plays an
espeak-ng sentence: Chromium's fake microphone only beeps.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from browser_harness import ServerProcess, fail_with_logs, open_page, wait_until
from playwright.sync_api import Browser

from testkit.speech import espeak_pcm48k, word_error_rate
from testkit.synthetic import SyntheticHuman

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SENTENCE = "I want to find more time for my family and stop working late every evening."


@contextmanager
def speaking_client(ws_url: str, room: str) -> Iterator[SyntheticHuman]:
    """A synthetic client in ``room`` on its own asyncio loop (a thread), until the block
    ends; ``human.play`` may be called from the test's thread (it only sets fields)."""
    ready = threading.Event()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    failure: list[BaseException] = []
    human = SyntheticHuman(ws_url, room, "client-1", "client", mesh_with_humans=False,
                           camera=None)

    async def run() -> None:
        stop = asyncio.Event()
        running.append((asyncio.get_running_loop(), stop))
        try:
            await human.start()
            ready.set()
            await asyncio.wait_for(stop.wait(), 150)
        finally:
            await human.close()

    def thread() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            ready.set()

    worker = threading.Thread(target=thread, daemon=True)
    worker.start()
    assert ready.wait(30) and not failure, failure
    try:
        yield human
    finally:
        loop, stop = running[0]
        loop.call_soon_threadsafe(stop.set)
        worker.join(30)


def test_the_coachs_page_shows_the_clients_words(browser: Browser,
                                                 orb_server: ServerProcess) -> None:
    room = f"words-{uuid.uuid4().hex[:8]}"
    coach = open_page(browser, orb_server.room_url(room, "coach", "Coach Carol"),
                      width=1280, height=800)
    try:
        wait_until(lambda: coach.eval_on_selector_all('#tiles .tile[data-kind="ai"]',
                                                      "els => els.length"),
                   lambda n: n == 1, timeout=30, what="the orb's tile")
        panel = coach.locator("#transcript")
        assert panel.get_attribute("data-expanded") == "true"  # the coach's view: open
        wait_until(lambda: coach.is_visible("#transcript .transcribing"), bool, timeout=20,
                   what="the transcribing indicator")
        ws_url = orb_server.base_url.replace("http", "ws", 1)
        with speaking_client(ws_url, room) as client:
            orb = wait_until(client.orb_id, lambda o: o is not None, timeout=20, what="orb")
            wait_until(lambda: client.media.get(orb), lambda m: m is not None
                       and m.audio_frames > 10, timeout=30, what="the client's orb audio")
            # Slower than the default 160 wpm: on a loaded machine late audio frames cost the
            # last words at full speed, and this test is about the page, not the model.
            client.play(espeak_pcm48k(SENTENCE, words_per_minute=130))
            text = wait_until(
                lambda: coach.eval_on_selector_all(
                    '#transcript .transcript-line[data-role="client"] .text',
                    "els => els.map(e => e.textContent)"),
                bool, timeout=40, what="the client's words in the coach's transcript")
            assert word_error_rate(SENTENCE, text[0]) <= 0.2, text
            who = coach.eval_on_selector_all(
                '#transcript .transcript-line[data-role="client"] .who',
                "els => els.map(e => e.textContent)")
            assert who == ["client-1"]  # the speaker's name as the page knows it
            # The orb's reply follows, as its own line.
            wait_until(lambda: coach.locator(
                '#transcript .transcript-line[data-role="ai"]').count(), bool, timeout=30,
                what="the orb's reply in the transcript")
        # The window is used: the panel sits beside the tiles on a wide screen...
        tiles = coach.locator("#tiles").bounding_box()
        box = panel.bounding_box()
        assert tiles is not None and box is not None
        assert box["x"] >= tiles["x"] + tiles["width"] - 1 and tiles["width"] > 700
        # ...and under them at 360 px, without sideways scrolling.
        coach.set_viewport_size({"width": 360, "height": 780})
        narrow = panel.bounding_box()
        assert narrow is not None and narrow["width"] <= 360
        assert coach.evaluate("() => document.documentElement.scrollWidth") <= 360
        assert coach.locator('#transcript .transcript-line[data-role="client"]').is_visible()
        # The client's view: collapsed behind a button that opens it.
        coach.locator(".transcript-toggle").click()
        assert panel.get_attribute("data-expanded") == "false"
        assert not coach.locator('#transcript .transcript-line').first.is_visible()
    except AssertionError as failure:
        fail_with_logs(failure, orb_server.log_text(), {"coach": coach})
    finally:
        coach.context.close()


def test_the_clients_page_starts_collapsed(browser: Browser,
                                           orb_server: ServerProcess) -> None:
    page = open_page(browser, orb_server.room_url(f"c-{uuid.uuid4().hex[:8]}", "client",
                                                  "Client Chris"), width=360, height=780)
    try:
        wait_until(lambda: page.locator("#transcript .transcript-toggle").count(), bool,
                   timeout=20, what="the transcript panel")
        assert page.locator("#transcript").get_attribute("data-expanded") == "false"
        page.locator(".transcript-toggle").click()
        assert page.locator("#transcript").get_attribute("data-expanded") == "true"
        assert page.locator(".transcript-empty").is_visible()
    finally:
        page.context.close()

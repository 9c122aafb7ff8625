"""The bench's paused requests rendered as a person says them (testkit.paused_speech): the
whole request said in one go and cut between the two parts, with no click at the cut."""

from __future__ import annotations

import numpy as np
import pytest

from orb_bridge.stt import stt_available
from testkit import paused_speech, voices

pytestmark = pytest.mark.skipif(not stt_available(), reason="needs the brain extra")

FIRST, REST = "The thing that bothers me most is", "how little sleep I get."


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize("voice", ["espeak:en-gb-x-rp:175", "piper-steady"])
def test_the_cut_lands_between_the_words_at_a_quiet_point(voice: str) -> None:
    said = paused_speech.render(voice, FIRST, REST)
    heard = paused_speech.check(said, FIRST, REST)
    # Both halves transcribed: the first part's last word ends the first half, the rest's
    # first word starts the second.
    assert heard.checked, (heard.first_words, heard.rest_words)
    whole = voices.speak(voice, f"{FIRST} {REST}")
    cut = round(said.cut_at * paused_speech.RATE)
    # No click: the cut is at a low-energy point of the whole rendering (the 10 ms there
    # well under the speech's level), and the halves end and start faded to near zero.
    assert _rms(whole[cut - 80:cut + 80]) < 0.25 * _rms(whole)
    assert abs(int(said.first[-1])) < 2000 and abs(int(said.rest[0])) < 2000
    # Spoken through, not a sentence of its own: without a finished sentence's final
    # lengthening the fragment is shorter than said alone (0.94 and 0.81 of it here).
    assert len(said.first) < 0.97 * len(voices.speak(voice, FIRST))
    pcm, pause_at = said.with_pause(0.7)
    assert len(pcm) == len(said.first) + round(0.7 * 16_000) + len(said.rest)
    assert not pcm[round(pause_at * 16_000):round((pause_at + 0.7) * 16_000)].any()


def test_separate_is_the_old_rendering() -> None:
    said = paused_speech.render("espeak", FIRST, REST, "separate")
    assert np.array_equal(said.first, voices.speak("espeak", FIRST))
    assert np.array_equal(said.rest, voices.speak("espeak", REST))

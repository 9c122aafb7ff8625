"""Finding a word set off by a pause at a turn's start or end (orb_bridge.set_off_words):
where a vocative name stands, listened to alone by the name probe."""

from __future__ import annotations

from typing import Any

import numpy as np

from orb_bridge.set_off_words import (
    closing_word,
    crop,
    middle_words,
    opening_word,
    speech_spans,
)
from testkit import voices

RATE = 16_000


def tone(seconds: float, level: float = 0.3) -> np.ndarray[Any, np.dtype[np.float32]]:
    return (np.sin(np.arange(round(seconds * RATE)) / 7) * level).astype(np.float32)


def quiet(seconds: float) -> np.ndarray[Any, np.dtype[np.float32]]:
    noise = np.random.default_rng(3).standard_normal(round(seconds * RATE)) * 0.001
    return noise.astype(np.float32)


def test_a_short_word_before_a_pause_opens_the_turn() -> None:
    audio = np.concatenate([quiet(0.2), tone(0.3), quiet(0.2), tone(2.0), quiet(0.3)])
    word = opening_word(audio)
    assert word is not None
    assert abs(word.start / RATE - 0.2) <= 0.011 and abs(word.seconds - 0.3) <= 0.011
    assert closing_word(audio) is None  # the last stretch is a clause, not a word
    assert len(crop(audio, word)) == word.end - word.start + 2 * 800


def test_a_short_word_after_a_pause_closes_the_turn() -> None:
    audio = np.concatenate([tone(1.5), quiet(0.15), tone(0.35, 0.1)])  # softer, still a word
    word = closing_word(audio)
    assert word is not None and abs(word.seconds - 0.35) <= 0.011
    assert opening_word(audio) is None


def test_a_short_word_between_pauses_is_set_off_in_mid_sentence() -> None:
    """"Tell me, Orb, what did I miss?": a short stretch with speech on both sides; the
    turn's first and last stretches and long clauses are not middle words."""
    audio = np.concatenate([tone(0.6), quiet(0.15), tone(0.3), quiet(0.15), tone(1.5),
                            quiet(0.2), tone(1.2), quiet(0.15), tone(0.4)])
    words = middle_words(audio)
    assert len(words) == 1 and abs(words[0].seconds - 0.3) <= 0.011
    assert abs(words[0].start / RATE - 0.75) <= 0.011
    assert middle_words(np.concatenate([tone(0.3), quiet(0.2), tone(0.3)])) == []


def test_a_stop_closure_or_a_single_stretch_sets_nothing_off() -> None:
    """A consonant's closure (50 ms) is inside a word; one stretch has no other side."""
    joined = np.concatenate([tone(0.3), quiet(0.05), tone(1.0)])
    assert len(speech_spans(joined)) == 1
    assert opening_word(joined) is None and closing_word(joined) is None
    assert opening_word(tone(0.4)) is None
    assert speech_spans(np.zeros(100, np.float32)) == []


def test_rendered_vocatives_are_set_off_and_a_plain_or_is_not() -> None:
    """espeak-ng pauses at the comma after "Orb," and before a closing ", Orb?"; "Or is
    that too optimistic?" runs on."""
    def floats(text: str, variant: str = "en-us") -> np.ndarray[Any, np.dtype[np.float32]]:
        pcm = voices.espeak(text, RATE, 165, variant)
        return (pcm.astype(np.float32) / 32768).astype(np.float32)

    first = opening_word(floats("Orb, could you sum up what we talked about?"))
    assert first is not None and 0.15 <= first.seconds <= 0.6
    last = closing_word(floats("Is there anything we missed, Orb?", "en-us+m3"))
    assert last is not None and 0.15 <= last.seconds <= 0.6
    assert opening_word(floats("Or is that too optimistic?")) is None

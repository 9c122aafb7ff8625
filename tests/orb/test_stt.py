"""Speech-to-text for real: faster-whisper with the packaged model on espeak-ng sentences.

The model is loaded once for the whole test session (``whisper`` fixture)."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.speech_config import SpeechConfig
from orb_bridge.stt import SttBusy, WhisperStt, shared_engine
from testkit.speech import espeak_heard, word_error_rate

SENTENCE = "I want to find more time for my family and stop working late every evening."


@pytest.fixture(scope="session")
def whisper() -> WhisperStt:
    engine = shared_engine(SpeechConfig())
    assert isinstance(engine, WhisperStt)
    engine.load()
    return engine


def test_word_error_rate_counts_words() -> None:
    assert word_error_rate("a b c d", "a b c d") == 0.0
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert word_error_rate("a b", "") == 1.0


def test_an_espeak_sentence_is_transcribed(whisper: WhisperStt) -> None:
    text = whisper.transcribe_blocking(espeak_heard(SENTENCE))
    assert word_error_rate(SENTENCE, text) <= 0.2, text
    assert whisper.stats.real_time_factor < 1.0


@pytest.mark.parametrize("kind", ["silence", "hiss", "hum", "click", "short hiss", "beep"])
def test_noise_has_no_words(whisper: WhisperStt, kind: str) -> None:
    rng = np.random.default_rng(7)
    n = 16_000 * 2
    audio = {
        "silence": np.zeros(n),
        "hiss": rng.normal(0, 300, n),
        "hum": 2000 * np.sin(2 * np.pi * 50 * np.arange(n) / 16_000),
        "click": np.zeros(3000),
        # Under a second: decoded again with the murmurs' prompt if they had words.
        "short hiss": rng.normal(0, 300, 8000),
        "beep": 3000 * np.sin(2 * np.pi * 1000 * np.arange(4000) / 16_000),
    }[kind]
    heard = Audio(np.clip(audio, -32768, 32767).astype(np.int16), HEARING_RATE)
    assert whisper.transcribe_blocking(heard) == ""


def test_the_pool_is_bounded(whisper: WhisperStt) -> None:
    engine = WhisperStt(workers=1, max_pending=1)
    engine._model = whisper._load()  # share the loaded model
    pcm = espeak_heard("The quick brown fox jumps over the lazy dog.")

    async def three_at_once() -> list[object]:
        return await asyncio.gather(*(engine.transcribe(pcm) for _ in range(3)),
                                    return_exceptions=True)

    try:
        results = asyncio.run(three_at_once())
    finally:
        engine.close()
    assert sum(isinstance(r, SttBusy) for r in results) == 1
    texts = [r for r in results if isinstance(r, str)]
    assert len(texts) == 2 and all(word_error_rate("the quick brown fox jumps over the lazy dog",
                                                   t) <= 0.5 for t in texts), results
    assert engine.stats.refused == 1


BACKCHANNEL_SOUNDS = ["Mm-hmm.", "Mhm.", "Uh-huh.", "Yeah.", "Hmm."]
SHORT_CUES = ["Wait.", "Hold on.", "Stop.", "One moment.", "Just a moment.", "No, no."]
#: Fixed renderings (Piper without its random draw), so the counts below are the same each run.
SHORT_VOICES = ("piper-steady", "espeak", "espeak:en-us+f3:150")


def _heard(voice: str, text: str) -> Audio:
    from testkit import voices

    pcm = voices.speak(voice, text, HEARING_RATE)
    pad = np.zeros(HEARING_RATE // 10, np.int16)
    return Audio(np.concatenate([pad, pcm, pad]), HEARING_RATE)


def test_a_listener_s_murmur_is_written_as_one(whisper: WhisperStt) -> None:
    """A short "mm-hmm" is written as a murmur, not as words: tiny.en alone writes Piper's
    "Mm-hmm." as "MMLAM." or "in the moment." (the floor read "moment" as a cue and stopped a
    reply for a backchannel), espeak's as "And then...", "Hmm." as "M" or "them". Short
    cues keep their words."""
    from orb_bridge.floor import BACKCHANNELS, is_backchannel

    def murmured(words: str) -> bool:
        found = re.findall(r"[a-z]+(?:-[a-z]+)*", words.lower())
        return bool(found) and all(word in BACKCHANNELS for word in found)

    murmurs = {(voice, text): whisper.transcribe_blocking(_heard(voice, text), probe=False)
               for voice in SHORT_VOICES for text in BACKCHANNEL_SOUNDS}
    cues = {(voice, text): whisper.transcribe_blocking(_heard(voice, text), probe=False)
            for voice in SHORT_VOICES for text in SHORT_CUES}
    print(murmurs, cues)
    written = [key for key, words in murmurs.items() if murmured(words)]
    assert len(written) >= len(murmurs) - 1, murmurs
    assert all(is_backchannel(words) for words in murmurs.values()), murmurs
    missed = [key for key, words in cues.items() if is_backchannel(words)]
    assert missed == [], cues

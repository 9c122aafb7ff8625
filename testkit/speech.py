"""Test support for speech: espeak-ng sentences as the orb hears them, and the word error rate."""

from __future__ import annotations

import re
import subprocess

import numpy as np

from orb_bridge import tts
from orb_bridge.audio import HEARING_RATE, WEBRTC_RATE, Audio


def espeak_heard(text: str, words_per_minute: int = 160) -> Audio:
    """``text`` spoken by espeak-ng, at 16 kHz (what the orb's ears produce)."""
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", "-s", str(words_per_minute),
                          text], check=True, capture_output=True, timeout=20).stdout
    return tts.parse_wav(wav).at(HEARING_RATE)


def espeak_pcm48k(text: str, words_per_minute: int = 160) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us", "-s", str(words_per_minute),
                          text], check=True, capture_output=True, timeout=20).stdout
    return tts.parse_wav(wav).at(WEBRTC_RATE).int16()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words, divided by the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(1, len(ref))

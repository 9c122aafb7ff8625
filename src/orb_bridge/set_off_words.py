"""Where a turn has a word set off by pauses at its start, its end or in mid-sentence: a
vocative's place.

A name said to someone is set off: "Orb, can you…" and "…anything we missed, Orb?" put a
pause between the name and the rest. Whisper tiny.en, reading the whole turn, lets the rest's
words decide what the short stretch was ("Or could you…", or nothing at all); heard alone,
the same stretch is a one-word question, and the model's own opinion of it is clear
(orb_bridge.name_probe). This module only finds such stretches, from the sound's level: pure
and cheap (one pass over 10 ms frames), so it runs before any model is asked.

A stretch counts when it is short (at most :data:`MAX_WORD_SECONDS`), there is more speech on
its other side, and the quiet between is at least :data:`MIN_PAUSE_SECONDS` long. Levels are
relative to the turn's loudest frame, so a quiet talker and a loud one are cut alike.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

_RATE = 16_000
_FRAME = _RATE // 100
#: A frame this far under the turn's loudest is quiet: above a room's noise for speech at
#: ordinary levels, below the weak end of a word (espeak-ng's and Piper's final consonants).
QUIET_BELOW_DB = -35.0
#: The shortest quiet that sets a word off: a comma's pause (espeak-ng 0.13-0.2 s, Piper
#: 0.2-0.3 s); a stop consonant's closure inside a word is 0.03-0.06 s.
MIN_PAUSE_SECONDS = 0.08
#: The longest stretch taken for one set-off word (a name of one or two syllables, said
#: slowly), not a clause.
MAX_WORD_SECONDS = 0.8
#: Sound kept either side of a stretch, so its soft onset and release are in the crop.
MARGIN_SECONDS = 0.05

Samples = np.ndarray[Any, np.dtype[np.float32]]


@attrs.frozen
class Span:
    """A stretch of ``audio`` in samples, ``start`` to ``end``."""

    start: int
    end: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / _RATE


def speech_spans(audio: Samples) -> list[Span]:
    """The stretches of speech, split where the quiet lasts :data:`MIN_PAUSE_SECONDS`."""
    frames = len(audio) // _FRAME
    if frames == 0:
        return []
    power = (audio[: frames * _FRAME].astype(np.float64).reshape(frames, _FRAME) ** 2).mean(1)
    level = 10 * np.log10(power + 1e-12)
    voiced = level > level.max() + QUIET_BELOW_DB
    spans: list[list[int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if spans and start - spans[-1][1] < round(MIN_PAUSE_SECONDS * 100):
            spans[-1][1] = int(end)
        else:
            spans.append([int(start), int(end)])
    return [Span(a * _FRAME, b * _FRAME) for a, b in spans]


def opening_word(audio: Samples) -> Span | None:
    """The turn's first stretch when it is one short word set off by a pause, else None."""
    spans = speech_spans(audio)
    if len(spans) < 2 or spans[0].seconds > MAX_WORD_SECONDS:
        return None
    return spans[0]


def closing_word(audio: Samples) -> Span | None:
    """The turn's last stretch when it is one short word set off by a pause, else None."""
    spans = speech_spans(audio)
    if len(spans) < 2 or spans[-1].seconds > MAX_WORD_SECONDS:
        return None
    return spans[-1]


def middle_words(audio: Samples) -> list[Span]:
    """The short stretches with a pause on both sides, neither the turn's first nor its
    last: a name in mid-sentence ("Tell me, Orb, what did I miss?")."""
    spans = speech_spans(audio)
    return [span for span in spans[1:-1] if span.seconds <= MAX_WORD_SECONDS]


def crop(audio: Samples, span: Span) -> Samples:
    """``span`` of ``audio`` with :data:`MARGIN_SECONDS` either side (within the audio)."""
    margin = round(MARGIN_SECONDS * _RATE)
    return audio[max(0, span.start - margin): span.end + margin]

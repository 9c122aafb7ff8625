"""A request with a pause in mid-clause, rendered as a person says it: spoken through.

The first way ``bench/party.py`` rendered a paused request (``separate``) synthesised the
words before the pause as a sentence of their own, so espeak-ng and Piper gave them a
finished sentence's falling pitch and final lengthening: no listener, and no prosody model,
could tell such a fragment from a finished request. A person who stops mid-request mostly
does not sound finished. ``spoken-through`` synthesises the whole request ("first rest") in
one go with the voice, finds the boundary between the two parts, and opens the pause there:
the fragment keeps the pitch and timing of a sentence that goes on.

The boundary: faster-whisper's word timestamps on the whole rendering (the packaged tiny.en
model), the words matched to the text's, then the quietest 10 ms inside a small window
around the gap the timestamps give (their error is tens of milliseconds); both halves are
transcribed again to check the cut (the last word of the first part heard at the end of the
first half, the first word of the rest at the start of the second), trying the next
quietest points if it missed. A 5 ms fade either side of the cut keeps it free of clicks.
Test tooling only.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from orb_bridge.stt import packaged_model_path
from testkit import voices
from testkit.voices import Pcm

RATE = 16_000
FRAME = 160  # 10 ms
HOP = 40  # 2.5 ms
FADE = 80  # 5 ms
RENDERINGS = ("separate", "spoken-through")


@attrs.frozen
class PausedSpeech:
    """The two halves of a paused request (each trimmed of quiet) and where the cut fell."""

    first: Pcm
    rest: Pcm
    #: Seconds into the whole rendering where it was cut (0 for ``separate``).
    cut_at: float = 0.0
    #: Both halves' words checked against the text's (always True for ``separate``).
    checked: bool = True
    first_words: str = ""
    rest_words: str = ""

    def with_pause(self, pause: float) -> tuple[Pcm, float]:
        """The request with ``pause`` seconds of silence at the cut; and the pause's start."""
        joined = np.concatenate([self.first, voices.silence(pause), self.rest])
        return joined, len(self.first) / RATE


def render(voice: str, first: str, rest: str, how: str = "spoken-through",
           checked: bool = False) -> PausedSpeech:
    """``first`` then ``rest`` in ``voice`` (testkit.voices.speak), rendered ``how``.
    ``checked``: transcribe the halves of each quiet point tried (:func:`check`) and keep the
    first whose words check (a second or more of Whisper per point on this machine, so the
    bench does not: under tiny.en a third of espeak-ng's correct cuts fail the check on a
    misheard word)."""
    if how == "separate":
        return PausedSpeech(voices.speak(voice, first), voices.speak(voice, rest))
    if how != "spoken-through":
        raise ValueError(f"unknown rendering {how!r}")
    return _spoken_through(voice, first, rest, checked)


@functools.lru_cache(maxsize=512)
def _spoken_through(voice: str, first: str, rest: str, checked: bool) -> PausedSpeech:
    whole = voices.speak(voice, f"{first} {rest}")
    alone = voices.speak(voice, first)
    boundary = fragment_end(alone, whole)
    lo = max(FRAME, boundary - round(BEFORE * RATE))
    hi = min(len(whole) - FRAME, boundary + round(AFTER * RATE))
    tried = []
    for cut in _quiet_points(whole, lo, hi)[:CANDIDATES if checked else 1]:
        a, b = _halves(whole, cut)
        speech = PausedSpeech(a, b, cut / RATE, checked=False)
        if not checked:
            return speech
        speech = check(speech, first, rest)
        if speech.checked:
            return speech
        tried.append(speech)
    return tried[0]


def cached(voice: str, first: str, rest: str, how: str, directory: Path | None,
           checked: bool = True) -> PausedSpeech:
    """:func:`render`, kept in ``directory`` (one ``.npz`` a request and voice), so a bench
    measures on renderings made beforehand, outside its timed run, and every run of it on
    the same ones (Piper draws a new rendering each time)."""
    if directory is None or how == "separate":
        return render(voice, first, rest, how, checked)
    key = hashlib.sha256(f"{voice}|{first}|{rest}|{how}".encode()).hexdigest()[:20]
    path = directory / f"{key}.npz"
    if path.exists():
        with np.load(path) as saved:
            return PausedSpeech(saved["first"], saved["rest"], float(saved["cut_at"]),
                                bool(saved["checked"]))
    speech = render(voice, first, rest, how, checked)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"{key}.{id(speech)}.partial.npz"
    np.savez(partial, first=speech.first, rest=speech.rest, cut_at=speech.cut_at,
             checked=speech.checked)
    partial.replace(path)  # whole or absent, for a run reading the same directory
    return speech


def check(speech: PausedSpeech, first: str, rest: str) -> PausedSpeech:
    """``speech`` with both halves transcribed (faster-whisper, the packaged tiny.en) and
    ``checked`` set: the first part's last word heard at the end of the first half, the
    rest's first word at the start of the second."""
    heard_a, heard_b = _words(speech.first), _words(speech.rest)
    ok = _ends_with(heard_a, _tokens(first)[-1]) and _starts_with(heard_b, _tokens(rest)[0])
    return attrs.evolve(speech, checked=ok, first_words=" ".join(heard_a),
                        rest_words=" ".join(heard_b))


def fragment_end(alone: Pcm, whole: Pcm) -> int:
    """The sample of ``whole`` where the words of ``alone`` (the fragment said on its own)
    end: an open-ended dynamic time warp of their log spectra, both anchored at their
    first voiced sample. The same voice says the same phonemes with nearly the same
    spectra in both, whatever the pitch and lengthening at the fragment's end."""
    x, y = _features(alone), _features(whole)
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2))
    n, m = cost.shape
    total = np.full((n, m), np.inf)
    total[0, 0] = cost[0, 0]
    for j in range(1, m):
        total[0, j] = total[0, j - 1] + cost[0, j]
    for i in range(1, n):
        row = total[i - 1]
        diagonal = np.concatenate([[np.inf], row[:-1]])
        best = np.minimum(row, diagonal) + cost[i]
        # the horizontal step (a frame of ``whole`` held on one of ``alone``) in a cumulative
        # pass: best[j] = min(best[j], best[j-1] + cost[i, j])
        for j in range(1, m):
            held = best[j - 1] + cost[i, j]
            if held < best[j]:
                best[j] = held
        total[i] = best
    # Ends compared by mean cost along the path (a longer path is not penalised for length).
    steps = n + np.arange(m)
    end = int(np.argmin(total[n - 1] / steps))
    return min(len(whole) - 1, (end + 1) * HOP_FEATURE)


HOP_FEATURE = 160  # 10 ms
BEFORE, AFTER = 0.06, 0.15  # seconds searched for the quietest point around the boundary
CANDIDATES = 3  # quiet points tried, quietest first, until the halves' words check


def _features(pcm: Pcm) -> np.ndarray:
    """Log band energies, 25 ms windows every 10 ms, 24 bands on a mel-like scale, each
    band's mean removed (the level of a rendering does not matter)."""
    x = pcm.astype(np.float64) / 32768.0
    size = 400
    frames = max(1, 1 + (len(x) - size) // HOP_FEATURE)
    window = np.hanning(size)
    spectra = np.abs(np.fft.rfft(np.stack([
        np.pad(x[k * HOP_FEATURE:k * HOP_FEATURE + size], (0, max(0, size - len(
            x[k * HOP_FEATURE:k * HOP_FEATURE + size])))) * window
        for k in range(frames)]), n=512)) ** 2
    edges = np.unique(np.round(np.geomspace(3, 256, 25)).astype(int))
    bands = np.stack([spectra[:, a:b].sum(axis=1) for a, b in itertools.pairwise(edges)],
                     axis=1)
    logs = np.log(bands + 1e-8)
    return logs - logs.mean(axis=0)  # type: ignore[no-any-return]


def _halves(whole: Pcm, cut: int) -> tuple[Pcm, Pcm]:
    ramp = np.linspace(1.0, 0.0, FADE)
    a = whole[:cut].astype(np.float64)
    b = whole[cut:].astype(np.float64)
    a[-FADE:] *= ramp
    b[:FADE] *= ramp[::-1]
    return voices.trim(a.astype(np.int16)), voices.trim(b.astype(np.int16))


def _quiet_points(pcm: Pcm, lo: int, hi: int) -> list[int]:
    """Centres of the quietest 10 ms stretches in ``pcm[lo:hi]``, quietest first, each at
    least 40 ms from a quieter one (local minima, not neighbours of one)."""
    x = pcm.astype(np.float64)
    starts = np.arange(max(0, lo - FRAME // 2), max(lo, hi - FRAME // 2), HOP)
    if len(starts) == 0:
        return [lo]
    energy = np.array([float(np.mean(x[s:s + FRAME] ** 2)) for s in starts])
    picked: list[int] = []
    for i in np.argsort(energy, kind="stable"):
        centre = int(starts[i]) + FRAME // 2
        if all(abs(centre - p) >= 640 for p in picked):
            picked.append(centre)
    return picked


def _tokens(text: str) -> list[str]:
    return [t for t in re.sub(r"[^a-z0-9' ]", " ", text.lower()).split() if t]


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(packaged_model_path(), device="cpu", compute_type="int8",
                        cpu_threads=2)


def _words(pcm: Pcm) -> list[str]:
    if len(pcm) < RATE // 10:
        return []
    segments, _ = _model().transcribe(pcm.astype(np.float32) / 32768.0, language="en",
                                      beam_size=1, condition_on_previous_text=False)
    return _tokens(" ".join(s.text for s in segments))


def _close(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(a=a, b=b).ratio() >= 0.6


def _ends_with(heard: list[str], word: str) -> bool:
    return bool(heard) and _close(heard[-1], word)


def _starts_with(heard: list[str], word: str) -> bool:
    return bool(heard) and _close(heard[0], word)

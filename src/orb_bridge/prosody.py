"""How a stretch of speech ends: pitch, lengthening and loudness over its last half second.

Smart Turn reads a whole turn, and gives fragments a synthetic voice says mid-sentence
("We worked all weekend | and the client ...") 0.8-0.98. A finished request ends with the
voice's final fall (pitch down to the bottom of the speaker's range) and a lengthened, fading
last syllable; a clause that goes on keeps its pitch up and its last syllable short. These
are a handful of numbers, measured here with a plain numpy autocorrelation pitch tracker
(no model, no download), relative to the speaker's own range within the turn.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 16_000
FRAME = 640  # 40 ms: two periods of a 60 Hz voice
HOP = 160  # 10 ms
LOWEST_HZ, HIGHEST_HZ = 60.0, 400.0
#: A frame is voiced when its autocorrelation peak reaches this (of its energy), and it is
#: within this many dB of the turn's loudest frames.
VOICED_PEAK = 0.45
VOICED_DB = 30.0
#: The feature names, in the order :func:`features` gives them.
NAMES = ("end_level", "end_slope", "last_run", "energy_slope", "end_voiced")

Floats = npt.NDArray[np.float64]


def _frames(samples: Floats) -> Floats:
    count = 1 + max(0, (len(samples) - FRAME) // HOP)
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    padded = np.concatenate([samples, np.zeros(FRAME)])
    return np.asarray(padded[index])


def track(samples: npt.NDArray[np.floating]) -> tuple[Floats, Floats]:
    """Per 10 ms frame: pitch in semitones above 55 Hz (NaN where unvoiced) and level in dB."""
    x = np.asarray(samples, np.float64)
    frames = _frames(x) * np.hanning(FRAME)[None, :]
    energy = (frames ** 2).sum(axis=1)
    level = 10 * np.log10(energy + 1e-12)
    spectrum = np.fft.rfft(frames, 1024, axis=1)  # no wrap: 640 + 267 < 1024
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FRAME]
    acf = acf / (acf[:, :1] + 1e-12)
    lo, hi = int(RATE / HIGHEST_HZ), int(RATE / LOWEST_HZ)
    # Unbias the window's taper so longer lags are not penalised.
    window_acf = np.correlate(np.hanning(FRAME), np.hanning(FRAME), "full")[FRAME - 1:]
    band = acf[:, lo:hi] / (window_acf[lo:hi] / window_acf[0])[None, :]
    peak = band.max(axis=1)
    # The first peak near the best, not the best: a period's multiples correlate almost as
    # well, and taking them halves the pitch (an octave error).
    lag = lo + np.argmax(band, axis=1)
    for i in np.nonzero(peak >= VOICED_PEAK)[0]:
        lag[i] = lo + _first_peak(band[i], float(peak[i]))
    voiced = (peak >= VOICED_PEAK) & (level >= level.max() - VOICED_DB)
    pitch = 12 * np.log2(RATE / lag / 55.0)
    return np.where(voiced, pitch, np.nan), level


#: A lag whose correlation is within this share of the best is taken if it comes first.
NEAR_BEST = 0.85


def _first_peak(row: Floats, top: float) -> int:
    """Index of the first local maximum of ``row`` reaching ``NEAR_BEST`` of ``top``."""
    above = np.nonzero(row >= NEAR_BEST * top)[0]
    if not len(above):
        return int(np.argmax(row))
    start = int(above[0])
    stop = start
    while stop + 1 < len(row) and row[stop + 1] >= row[stop]:
        stop += 1
    return stop


def features(samples: npt.NDArray[np.floating]) -> Floats:
    """:data:`NAMES` for the speech in ``samples`` (trailing quiet ignored)."""
    pitch, level = track(_without_trailing_quiet(np.asarray(samples, np.float64)))
    loud = np.nonzero(level >= level.max() - VOICED_DB)[0]
    end = int(loud[-1]) + 1 if len(loud) else len(level)
    pitch, level = pitch[:end], level[:end]
    voiced = ~np.isnan(pitch)
    if voiced.sum() < 5:
        return np.zeros(len(NAMES))
    low, mid, high = np.percentile(pitch[voiced], [10, 50, 90])
    span = max(high - low, 1.0)
    last = slice(max(0, end - 20), end)  # 0.2 s
    tail = pitch[last][voiced[last]]
    end_level = (float(np.median(tail)) - mid) / span if len(tail) else 0.0
    slope_part = slice(max(0, end - 40), end)  # 0.4 s
    t = np.arange(end)[slope_part][voiced[slope_part]] * HOP / RATE
    p = pitch[slope_part][voiced[slope_part]]
    end_slope = float(np.polyfit(t, p, 1)[0]) / span if len(t) >= 4 else 0.0
    runs = _runs(voiced)
    last_run = runs[-1] / max(float(np.median(runs)), 1.0) if runs else 0.0
    tail_level = level[max(0, end - 30):end]
    energy_slope = float(np.polyfit(np.arange(len(tail_level)) * HOP / RATE, tail_level, 1)[0]) \
        if len(tail_level) >= 4 else 0.0
    end_voiced = float(voiced[max(0, end - 30):end].mean())
    return np.array([end_level, end_slope, last_run, energy_slope / 100.0, end_voiced])


def _without_trailing_quiet(x: Floats) -> Floats:
    """``x`` up to its last 10 ms within :data:`VOICED_DB` of its loudest 10 ms, so the
    pause the decision is asked in (and any quiet after the speech) frames nothing."""
    blocks = len(x) // HOP
    if blocks == 0:
        return x
    power = 10 * np.log10((x[:blocks * HOP].reshape(blocks, HOP) ** 2).mean(axis=1) + 1e-12)
    loud = np.nonzero(power >= power.max() - VOICED_DB)[0]
    return x[:(int(loud[-1]) + 1) * HOP]


def _runs(voiced: npt.NDArray[np.bool_]) -> list[int]:
    """Lengths of the runs of voiced frames, in order."""
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return [int(b - a) for a, b in zip(starts, stops, strict=True)]


#: Only the turn's last seconds are read: the speaker's range is taken from them too.
READ_SECONDS = 4.0


def end_features(audio_samples: npt.NDArray[np.floating], rate: int = RATE) -> Floats:
    """:func:`features` of the last :data:`READ_SECONDS` of 16 kHz unit-scale samples."""
    if rate != RATE:
        raise ValueError("16 kHz samples expected")
    return features(np.asarray(audio_samples[-int(READ_SECONDS * RATE):], np.float64))

"""The orb's own voice in a human's microphone: recognised by its waveform, never by level.

Browsers cancel the echo of what their speakers play, but not always fully: a human's
microphone may carry the orb's voice back some 20 dB down (or worse, with no canceller at
all). The voice-activity detector would take that for the human speaking, and the floor
(orb_bridge.floor) would pause the orb for its own voice.

A level rule ("quieter than the orb: its echo") cannot tell a soft human from a loud echo,
and a level learnt from a microphone cannot tell whether what it heard *was* echo: the first
version gated a coach's first words while the orb talked (fresh-clone CI, issue 25). So the
gate here needs *evidence*: a sound is the orb's echo only when its waveform matches what the
orb sent a moment before. For each frame the voice-activity detector calls speech while the
orb has been talking (its sent silence does not count: :attr:`SentAudio.talked_until`),
:func:`echo_match` correlates the last ``echo_window`` seconds of the
microphone with the orb's sent audio over every delay up to ``echo_path`` (one FFT, at 8 kHz
to keep it cheap). A strong normalised correlation is the orb's voice coming back: the frame
is echo unless it is clearly louder (``echo_headroom_db``) than the orb's voice through that
match's gain can be, so a human talking on top of an echo is heard. A few strong matches at
one delay *measure* the microphone's echo path; for ``echo_memory`` after, a frame no louder
than the orb's voice through that path's gain is echo even when it matches weakly (under
load the network's timing smears an echo). No evidence, no gate: a microphone that never
carried the orb is never gated, and an echo of any level (even louder than the human) is
recognised.

:class:`SentAudio` keeps what the orb sent (the voice, orb_bridge.media_out, records each
frame); :class:`EchoGate` wraps one human's voice-activity model and sees every frame of
their microphone through :meth:`EchoGate.hear` (the turn detector skips quiet frames when it
asks the model).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .audio import Audio
    from .floor import FloorRules
    from .hearing import SpeechProbability

#: The rate the comparison runs at: speech's energy and an echo's match are all below 4 kHz.
MATCH_RATE = 8_000
Floats = npt.NDArray[np.float32]
logger = logging.getLogger(__name__)
#: The orb "talks" in a stretch of its sent audio louder than this (RMS, int16 units: -60 dBFS).
_TALKING_RMS = 32768 * 10 ** (-60 / 20)
#: A sent frame whose samples all stay within this cannot make a stretch "talking" in
#: :func:`echo_match` (a pre-emphasised sample is at most twice the largest): quiet.
_QUIET_PEAK = _TALKING_RMS / 2


def _decimate(samples: npt.NDArray[np.generic], factor: int) -> Floats:
    """Mono samples down by an integer ``factor`` (the mean of each group: a crude low-pass,
    the same on both sides of the comparison)."""
    flat = np.asarray(samples, np.float32).reshape(-1)
    usable = len(flat) - len(flat) % factor
    groups = flat[:usable].reshape(-1, factor)
    # ``mean(axis=1)``'s very sums (left to right, in float32) and division, without numpy's
    # slow reduction over short rows: a quarter of the cost, on every frame of every human.
    total = groups[:, 0].copy()
    for column in range(1, factor):
        total += groups[:, column]
    total /= factor
    return total


class SentAudio:
    """What the orb sent lately, at :data:`MATCH_RATE`, on its frame grid (a frame no track
    asked for, when the loop fell behind, is silence)."""

    def __init__(self, frame_seconds: float = 0.02, seconds: float = 2.0) -> None:
        self._frame = round(frame_seconds * MATCH_RATE)
        self._frames: deque[Floats] = deque(maxlen=max(1, round(seconds / frame_seconds)))
        self._last: int | None = None
        #: When the latest frame kept *ends* (its start as due, plus a frame).
        self.ends_at = 0.0
        #: When the latest frame louder than quiet (:data:`_QUIET_PEAK`) ends: the orb's
        #: voice can come back in a microphone only for so long after it.
        self.talked_until = float("-inf")
        self._frame_seconds = frame_seconds

    def sent(self, index: int, starts_at: float, audio: Audio) -> None:
        """Frame ``index`` of the grid (due at ``starts_at``)."""
        if self._last is not None and index <= self._last:
            return
        if self._last is not None:
            for _ in range(min(index - self._last - 1, self._frames.maxlen or 0)):
                self._frames.append(np.zeros(self._frame, np.float32))
        self._last = index
        frame = _decimate(audio.samples, audio.rate // MATCH_RATE)[: self._frame]
        if len(frame) < self._frame:
            frame = np.pad(frame, (0, self._frame - len(frame)))
        self._frames.append(frame)
        self.ends_at = starts_at + self._frame_seconds
        if len(frame) and float(np.max(np.abs(frame))) > _QUIET_PEAK:
            self.talked_until = self.ends_at

    def until(self, end: float, seconds: float) -> Floats:
        """The ``seconds`` of sent audio that end at ``end`` (silence where none was sent)."""
        want = round(seconds * MATCH_RATE)
        if not self._frames:
            return np.zeros(want, np.float32)
        audio = np.concatenate(list(self._frames))
        shift = round((end - self.ends_at) * MATCH_RATE)  # > 0: nothing sent since
        if shift > 0:
            audio = np.concatenate([audio, np.zeros(min(shift, want), np.float32)])
        elif shift < 0:
            audio = audio[: len(audio) + shift]
        audio = audio[-want:]
        if len(audio) < want:
            audio = np.concatenate([np.zeros(want - len(audio), np.float32), audio])
        return audio


@attrs.frozen
class EchoPath:
    """How the orb's voice came back in a microphone, as measured on one stretch of it."""

    #: Normalised correlation of the microphone with the orb's sent voice at ``delay``.
    correlation: float
    #: Seconds from the orb sending a sound to it arriving back (network both ways, the
    #: human's playout and capture).
    delay: float
    #: Least-squares gain of that path (amplitude; 0.1 is 20 dB down).
    gain: float
    #: Energy of the microphone's latest frame, and of the orb's loudest frame in the
    #: stretch searched (pre-emphasised, at :data:`MATCH_RATE`).
    frame_energy: float
    loudest: float

    @property
    def echo_energy(self) -> float:
        """The loudest the orb's voice can come back through this path, over a frame."""
        return self.gain * self.gain * self.loudest


def echo_match(mic: Floats, sent: Floats, frame: int) -> EchoPath | None:
    """The best match of ``mic`` (a stretch of the microphone at :data:`MATCH_RATE`, ending
    now) within ``sent`` (the orb's sent audio ending now, longer by the longest echo path):
    ``None`` when the orb said nothing there. Both are pre-emphasised (first difference) so
    that the pitch of two different voices does not pass for a match. The echo's energy
    over ``frame`` samples is the loudest the orb's voice through that path's gain could be
    (its loudest ``frame`` in ``sent``): an echo path that wanders under load (a jitter
    buffer growing, a frame dropped) still cannot make the echo louder than that."""
    n = len(mic)
    if n < 2 or len(sent) < n:
        return None
    m = np.diff(mic).astype(np.float64)
    r = np.diff(sent).astype(np.float64)
    n -= 1
    lags = len(r) - n + 1
    mic_norm = float(np.sqrt(np.dot(m, m)))
    if mic_norm <= 0.0:
        return None
    size = 1 << int(np.ceil(np.log2(len(r) + n)))
    spectrum = np.fft.rfft(r, size) * np.conj(np.fft.rfft(m, size))
    products = np.fft.irfft(spectrum, size)[:lags]
    energy = np.concatenate([[0.0], np.cumsum(r * r)])
    windows = energy[n:n + lags] - energy[:lags]
    loud = windows > (_TALKING_RMS ** 2) * n
    if not loud.any():
        return None  # the orb was silent over every delay
    correlations = np.where(loud, products / (mic_norm * np.sqrt(np.maximum(windows, 1e-9))),
                            0.0)
    best = int(np.argmax(np.abs(correlations)))
    gain = abs(float(products[best] / windows[best]))
    tail = min(frame, n)
    frames = energy[tail:] - energy[:-tail]  # energy of every frame-long stretch of r
    return EchoPath(
        correlation=float(abs(correlations[best])),
        delay=(lags - 1 - best) / MATCH_RATE,
        gain=gain,
        frame_energy=float(np.dot(m[-tail:], m[-tail:])),
        loudest=float(frames.max(initial=0.0)))


#: Strong matches at one delay (within 30 ms), within this many seconds, that measure a path.
_CONFIRMATIONS = 4
#: Slack on the echo's reach (frame rounding where the sent audio is laid against now).
_MARGIN = 0.1
_CONFIRM_WITHIN = 0.3


class EchoGate:
    """A human's voice-activity model that does not hear the orb's own voice (module
    docstring). The wrapped model still reads every frame, so its recurrent state stays
    continuous; only the probability of a frame shown to be the orb's echo becomes 0."""

    def __init__(self, inner: SpeechProbability, sent: SentAudio, rules: FloorRules, *,
                 threshold: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 rate: int = 16_000) -> None:
        """``threshold``: probabilities below it decide nothing (the detector's lower
        threshold), so they are not checked; ``rate``: the microphone's sample rate."""
        self._inner = inner
        self._sent = sent
        self._rules = rules
        self._threshold = threshold
        self._clock = clock
        self._factor = rate // MATCH_RATE
        keep = round(rules.echo_window * MATCH_RATE)
        self._mic: deque[Floats] = deque()
        self._mic_len = 0
        self._keep = keep
        self._heard_at = 0.0
        #: Frames taken for the orb's echo, and frames compared with the orb's voice.
        self.gated = 0
        self.checked = 0
        #: The latest echo path measured (``None``: none seen in this microphone).
        self.path: EchoPath | None = None
        self._path_at = 0.0
        self._strong: deque[tuple[float, float]] = deque(maxlen=_CONFIRMATIONS)
        #: The latest comparison's result (for the log of a frame let through).
        self._last_match: EchoPath | None = None

    def hear(self, audio: Audio) -> None:
        """Every frame of the microphone, quiet ones too (what :meth:`feed` compares)."""
        self._heard_at = self._clock()
        part = _decimate(audio.samples, self._factor)
        self._mic.append(part)
        self._mic_len += len(part)
        while self._mic and self._mic_len - len(self._mic[0]) >= self._keep:
            self._mic_len -= len(self._mic.popleft())

    def feed(self, audio: Audio) -> list[float]:
        probabilities = self._inner.feed(audio)
        if (not self._rules.echo_gate or not probabilities
                or max(probabilities) < self._threshold or self._mic_len < self._keep):
            return probabilities
        rules = self._rules
        now = self._heard_at
        if now - self._sent.talked_until > rules.echo_path + rules.echo_window + _MARGIN:
            # The orb has said nothing for longer than any echo lasts: every stretch of its
            # sent audio within reach is quiet, so :func:`echo_match` could only say "no
            # match". Its silence is sent too (every 20 ms), so this is most of a talking
            # room's speech frames, and the comparison is an FFT over 1.75 s.
            return probabilities
        path = self._evidence(now, len(audio) // self._factor)
        if path is None:
            logger.debug("heard as speech (p %.2f): no evidence of the orb's voice (last "
                         "match %s)", max(probabilities), self._last_match)
            return probabilities  # no evidence of the orb's voice: a human
        if path.frame_energy > path.echo_energy * 10 ** (rules.echo_headroom_db / 10):
            logger.debug("heard as speech (p %.2f): louder than the echo can be: %s",
                         max(probabilities), path)
            return probabilities  # louder than the echo can be: a human on top of it
        self.gated += 1
        return [0.0] * len(probabilities)

    def _evidence(self, now: float, frame: int) -> EchoPath | None:
        """The echo path of this microphone, if there is evidence of one: a strong match
        now, or one measured within ``echo_memory`` (an echo the
        network's timing under load smears matches weakly: its delay wanders, frames are
        dropped; but it is still no louder than the orb's voice through that path's gain).
        A path is measured by :data:`_CONFIRMATIONS` strong matches at one delay within
        :data:`_CONFIRM_WITHIN`: a real echo matches frame after frame, while two renderings
        of the same synthetic syllable (an espeak-ng human and an espeak-ng orb) may match
        once or twice."""
        rules = self._rules
        mic = np.concatenate(list(self._mic))[-self._keep:]
        sent = self._sent.until(now, rules.echo_window + rules.echo_path)
        self.checked += 1
        path = echo_match(mic, sent, frame)
        self._last_match = path
        if path is None:
            return None
        if path.correlation >= rules.echo_correlation:
            self._strong.append((now, path.delay))
            agreeing = [at for at, delay in self._strong
                        if now - at <= _CONFIRM_WITHIN and abs(delay - path.delay) <= 0.03]
            if len(agreeing) >= _CONFIRMATIONS:
                self.path, self._path_at = path, now
            return path
        known = self.path
        if known is None or now - self._path_at > rules.echo_memory:
            return None
        return attrs.evolve(path, gain=known.gain)

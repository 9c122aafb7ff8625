"""What the orb hears: per-speaker level, voice activity with hysteresis, and utterances.

:class:`TurnDetector` is pure (samples in, turn events out) so its thresholds can be tested
without a network. :class:`Ear` is the one task per human that pulls that human's decoded audio
from aiortc, which is also what keeps aiortc's unbounded receive queue empty: audio is consumed
as fast as it arrives, and nothing else is kept but the bounded utterance being collected.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable

import attrs
import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ._config import OrbConfig

logger = logging.getLogger(__name__)

#: Utterances are handed to the brain as 16 kHz mono signed 16-bit PCM (what STT engines eat).
UTTERANCE_RATE = 16_000
SILENCE_DBFS = -100.0

Samples = npt.NDArray[np.float32]


@attrs.frozen
class Utterance:
    """One finished turn of one speaker: what a brain receives."""

    speaker_id: str
    role: str
    #: 16 kHz mono s16le PCM, including a little pre-roll before the detected onset.
    pcm: bytes
    #: Seconds of audio above the "off" threshold (the hang-over silence not counted).
    voiced: float
    sample_rate: int = UTTERANCE_RATE
    #: Seconds of trailing quiet in ``pcm`` (the hang-over that ended the turn): speech
    #: ended that long before the utterance was handed on.
    silence_after: float = 0.0
    #: What was said, once speech-to-text has run (``None``: not transcribed).
    text: str | None = None

    @property
    def speech_pcm(self) -> bytes:
        """``pcm`` without the trailing quiet (what speech-to-text needs to read)."""
        cut = round(self.silence_after * self.sample_rate) * 2
        return self.pcm[: len(self.pcm) - cut] if 0 < cut < len(self.pcm) else self.pcm

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@attrs.frozen
class SpeechStarted:
    speaker_id: str


@attrs.frozen
class SpeechEnded:
    utterance: Utterance


@attrs.frozen
class SpeechPaused:
    """The speaker has been quiet for ``vad_pause_time``: the turn may be ending. ``pcm`` is
    what they said up to the quiet, so speech-to-text can start before the turn is over (the
    orb's reply then waits for the hang-over, not for the hang-over *and* the transcription).
    If they go on speaking, a later pause supersedes it."""

    speaker_id: str
    pcm: bytes


TurnEvent = SpeechStarted | SpeechEnded | SpeechPaused


def dbfs(samples: Samples) -> float:
    """RMS level of float samples in int16 units, in dB relative to full scale."""
    if samples.size == 0:
        return SILENCE_DBFS
    flat = samples.reshape(-1)
    power = float(np.dot(flat, flat)) / flat.size
    if power <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(power / (32768.0 * 32768.0)))


def to_mono_16k(frame: av.AudioFrame) -> Samples:
    """Mix a decoded aiortc frame (s16, usually 48 kHz stereo) down to 16 kHz mono floats.

    Runs for every 20 ms of every human, so the usual case (packed 48 kHz) is one integer
    reshape-and-sum: each output sample averages 3 input instants of every channel.
    """
    channels = len(frame.layout.channels)
    data = frame.to_ndarray()
    rate = frame.sample_rate
    if not frame.format.is_planar and rate == 3 * UTTERANCE_RATE:
        group = 3 * channels
        flat = data.reshape(-1)
        usable = len(flat) - len(flat) % group
        sums = flat[:usable].reshape(-1, group).sum(axis=1, dtype=np.int32)
        out: Samples = sums.astype(np.float32) * np.float32(1.0 / group)
        return out
    mono: Samples
    if frame.format.is_planar:
        mono = data.astype(np.float32).mean(axis=0, dtype=np.float32)
    else:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1, dtype=np.float32)
    if rate == UTTERANCE_RATE:
        return mono
    count = round(len(mono) * UTTERANCE_RATE / rate)
    positions = np.linspace(0, len(mono) - 1, count, dtype=np.float32)
    resampled: Samples = np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)
    return resampled


class TurnDetector:
    """Voice activity for one speaker, with an on/off threshold gap and a hang-over time.

    Start: the level stays at or above ``vad_on_dbfs`` for ``vad_on_time``. End: it stays below
    ``vad_off_dbfs`` for ``vad_hang_time``. Levels between the two thresholds keep the current
    state, so a word hovering near one threshold does not flap.
    """

    def __init__(self, speaker_id: str, role: str, config: OrbConfig) -> None:
        self.speaker_id = speaker_id
        self.role = role
        self._cfg = config
        self.speaking = False
        self.level_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self.utterances = 0
        self._above = 0.0
        self._below = 0.0
        self._voiced = 0.0
        self._preroll: deque[Samples] = deque()
        self._preroll_seconds = 0.0
        self._chunks: list[Samples] = []
        self._collected = 0.0
        self._paused = False

    def feed(self, samples: Samples) -> list[TurnEvent]:
        """Feed one chunk of 16 kHz mono samples; returns the turn events it completes."""
        seconds = len(samples) / UTTERANCE_RATE
        level = dbfs(samples)
        self.level_dbfs = level
        self.peak_dbfs = max(level, self.peak_dbfs - 60.0 * seconds)  # decays 60 dB/s
        if self.speaking:
            return self._while_speaking(samples, seconds, level)
        return self._while_quiet(samples, seconds, level)

    def _while_quiet(self, samples: Samples, seconds: float, level: float) -> list[TurnEvent]:
        self._preroll.append(samples)
        self._preroll_seconds += seconds
        self._above = self._above + seconds if level >= self._cfg.vad_on_dbfs else 0.0
        if self._above + 1e-9 >= self._cfg.vad_on_time:
            self.speaking = True
            self._chunks = list(self._preroll)
            self._collected = self._preroll_seconds
            self._voiced = self._above
            self._below = 0.0
            self._preroll.clear()
            self._preroll_seconds = 0.0
            return [SpeechStarted(self.speaker_id)]
        limit = self._cfg.vad_preroll + self._cfg.vad_on_time
        while self._preroll and self._preroll_seconds - len(self._preroll[0]) / UTTERANCE_RATE \
                >= limit:
            self._preroll_seconds -= len(self._preroll.popleft()) / UTTERANCE_RATE
        return []

    def _while_speaking(self, samples: Samples, seconds: float, level: float) -> list[TurnEvent]:
        self._chunks.append(samples)
        self._collected += seconds
        if level < self._cfg.vad_off_dbfs:
            self._below += seconds
        else:
            self._below = 0.0
            self._paused = False
            self._voiced += seconds
        pause = self._cfg.vad_pause_time
        if (not self._paused and pause is not None and self._below + 1e-9 >= pause
                and self._below + 1e-9 < self._cfg.vad_hang_time):
            self._paused = True
            return [SpeechPaused(self.speaker_id, self._speech_so_far())]
        if self._below + 1e-9 >= self._cfg.vad_hang_time:
            self.speaking = False
            self._above = 0.0
            return [SpeechEnded(self._take(silence_after=self._below))]
        if self._collected >= self._cfg.max_utterance:
            return [SpeechEnded(self._take())]
        return []

    def _speech_so_far(self) -> bytes:
        """The turn so far without its trailing quiet, as 16 kHz s16le."""
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        quiet = round(self._below * UTTERANCE_RATE)
        if 0 < quiet < len(pcm):
            pcm = pcm[: len(pcm) - quiet]
        return bytes(np.clip(pcm, -32768, 32767).astype("<i2").tobytes())

    def _take(self, silence_after: float = 0.0) -> Utterance:
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        voiced = self._voiced
        self._chunks = []
        self._collected = 0.0
        self._voiced = 0.0
        self._paused = False
        self.utterances += 1
        data = np.clip(pcm, -32768, 32767).astype("<i2").tobytes()
        return Utterance(self.speaker_id, self.role, data, voiced,
                         silence_after=silence_after)


class Ear:
    """Pulls one human's audio track until it ends, feeding the turn detector."""

    def __init__(
        self,
        track: MediaStreamTrack,
        detector: TurnDetector,
        on_event: Callable[[TurnEvent], None],
    ) -> None:
        self._track = track
        self.detector = detector
        self._on_event = on_event
        self.frames = 0

    async def run(self) -> None:
        while True:
            try:
                frame = await self._track.recv()
            except MediaStreamError:
                logger.debug("audio of %s ended", self.detector.speaker_id)
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            self.frames += 1
            for event in self.detector.feed(to_mono_16k(frame)):
                self._on_event(event)

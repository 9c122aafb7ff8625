"""What the orb hears: per speaker, speech (not sound), utterances, and where a turn ends.

:class:`TurnDetector` is pure (samples in, typed events out; time is the audio itself), so the
same object runs live on the orb loop and offline on rendered audio (``bench/party.py``).

* **Speech, not sound.** Each 32 ms frame gets a speech probability from a voice-activity
  detector (:class:`orb_bridge.vad.SileroStream`, Silero VAD; without the ``brain`` extra the
  old level rule, :class:`LevelVad`). A turn starts after ``vad_on_time`` of frames at or above
  ``vad_threshold``; while it goes on, frames at or above ``vad_off_threshold`` still count as
  speech (hysteresis). Beeps, music, keyboard and fan noise stay below and start nothing.
* **Ends of turns.** After ``vad_pause_time`` of non-speech the detector says
  :class:`SpeechPaused` (speech-to-text may start) and asks for a judgement (check 0); further
  checks follow at the silences of ``OrbConfig.decision_checks``. Whoever judges (Smart Turn
  and the early words, :mod:`orb_bridge.end_of_turn`) answers with
  :meth:`TurnDetector.judged`; a probability at or above that check's threshold ends the turn
  at once (at the words' check, ``eot_words_check``, a low one that only a turn whose words
  read complete may pass). With no verdict the turn ends after ``turn_timeout`` of
  non-speech, which is longer than any mid-request pause we accept (1.5 s).
* **Bounded.** A speaker who talks on for ``piece_seconds`` is cut at their next pause (at the
  latest at ``max_utterance``) into a piece (``Utterance.final`` false), transcribed alone.

:class:`Ear` is the one task per human that pulls that human's decoded audio from aiortc,
which is also what keeps aiortc's unbounded receive queue empty.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

import attrs
import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ._config import OrbConfig
from .audio import HEARING_RATE, Audio

logger = logging.getLogger(__name__)

SILENCE_DBFS = -100.0
#: The voice-activity frame: 512 samples at 16 kHz (Silero's frame).
VAD_FRAME = 512
VAD_FRAME_SECONDS = VAD_FRAME / HEARING_RATE
#: Frames this quiet are silence without asking the model (an hour of silence costs nothing).
_QUIET_DBFS = -70.0
#: Non-speech kept after the last speech frame in what speech-to-text reads: the VAD ends
#: speech on the last strong frame, and a word's soft tail ("go") cut off is misheard. Less
#: than the first pause event's silence, so an early transcription reads the same bytes.
STT_TAIL = 3 * VAD_FRAME_SECONDS

Samples = npt.NDArray[np.float32]


class SpeechProbability(Protocol):
    """A streaming voice-activity detector: one probability per 512-sample frame."""

    def feed(self, audio: Audio) -> list[float]:
        """Probabilities of the frames that ``audio`` (16 kHz) completes."""


@attrs.frozen
class Utterance:
    """One turn (or one piece of a long one) of one speaker: what a brain receives."""

    speaker_id: str
    role: str
    #: What they said (16 kHz int16), including a little pre-roll before the detected onset.
    audio: Audio
    #: Seconds of audio judged speech (the trailing silence not counted).
    voiced: float
    #: Seconds of trailing non-speech in ``audio``: speech ended that long before the
    #: utterance was handed on.
    silence_after: float = 0.0
    #: What was said, once speech-to-text has run (``None``: not transcribed).
    text: str | None = None
    #: False for a piece of a turn still going on (a long talker): transcribed, not answered.
    final: bool = True
    #: What ended it: ``model`` (the end-of-turn model), ``words`` (the words' check: words
    #: that read complete and a low probability, ``OrbConfig.eot_words_check``),
    #: ``timeout``, ``length`` (a piece).
    ended_by: str = "timeout"
    #: The end-of-turn probability that ended it (``None``: not the model).
    probability: float | None = None
    #: ``time.monotonic()`` of the end-of-turn decision and of the final transcript, stamped
    #: by the pipeline (orb_bridge.pipeline) for the per-turn figures.
    heard_at: float | None = None
    transcribed_at: float | None = None

    @property
    def speech(self) -> Audio:
        """``audio`` without the trailing quiet but :data:`STT_TAIL` (what speech-to-text
        reads)."""
        return _without_quiet(self.audio, self.silence_after)

    @property
    def duration(self) -> float:
        return self.audio.duration


@attrs.frozen
class SpeechStarted:
    speaker_id: str


@attrs.frozen
class SpeechPaused:
    """The speaker has been quiet for ``silence`` seconds: the turn may be over.

    ``audio`` is what they said up to the quiet plus the quiet itself (what the end-of-turn
    model reads; :attr:`speech` is what speech-to-text reads). ``pause`` numbers the pauses of
    the detector, ``check`` the judgement asked (an index into ``OrbConfig.decision_checks``; -1:
    the pause's start, when no check is due then, for speech-to-text only);
    ``early`` counts the pauses of this utterance so far (speech-to-text bounds its runs).
    """

    speaker_id: str
    audio: Audio
    pause: int = 0
    check: int = 0
    silence: float = 0.0
    early: int = 1
    #: The first event of this pause (speech-to-text starts on it, once per pause).
    first: bool = True

    @property
    def speech(self) -> Audio:
        return _without_quiet(self.audio, self.silence)


@attrs.frozen
class SpeechEnded:
    utterance: Utterance


TurnEvent = SpeechStarted | SpeechEnded | SpeechPaused


def _without_quiet(audio: Audio, silence: float) -> Audio:
    return audio.without_last(silence - STT_TAIL)


def dbfs(samples: Samples) -> float:
    """RMS level of float samples in int16 units, in dB relative to full scale."""
    if samples.size == 0:
        return SILENCE_DBFS
    flat = samples.reshape(-1)
    power = float(np.dot(flat, flat)) / flat.size
    if power <= 0.0 or not math.isfinite(power):
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(power / (32768.0 * 32768.0)))


#: Row sums as a matrix product, by group size (3 instants of 1 or 2 channels).
_ONES = {group: np.ones(group, np.float32) for group in (3, 6)}


def to_mono_16k(frame: av.AudioFrame) -> Audio:
    """Mix a decoded aiortc frame (s16, usually 48 kHz stereo) down to 16 kHz mono floats.

    Runs for every 20 ms of every human, so the usual case (packed 48 kHz) is one
    reshape-and-sum: each output sample averages 3 input instants of every channel.
    """
    channels = frame.layout.nb_channels
    rate = frame.sample_rate
    if frame.format.name == "s16" and rate == 3 * HEARING_RATE:
        # The plane's bytes as they are (``to_ndarray`` costs 4x more in PyAV's Python), and
        # the groups summed as one float32 product: each sum of 3-6 int16 is an integer below
        # 2**24, so exact in any order: the very values of an int32 sum, at a quarter the cost.
        group = 3 * channels
        flat = np.frombuffer(memoryview(frame.planes[0]), np.int16,
                             count=frame.samples * channels)
        usable = len(flat) - len(flat) % group
        ones = _ONES.get(group)
        sums = flat[:usable].reshape(-1, group).astype(np.float32) @ (
            ones if ones is not None else np.ones(group, np.float32))
        out: Samples = sums * np.float32(1.0 / group)
        return Audio(out, HEARING_RATE)
    data = frame.to_ndarray()  # aiortc's decoders give s16; anything else, the slow way
    mono: Samples
    if frame.format.is_planar:
        mono = data.astype(np.float32).mean(axis=0, dtype=np.float32)
    else:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1, dtype=np.float32)
    if rate == HEARING_RATE:
        return Audio(mono, HEARING_RATE)
    count = round(len(mono) * HEARING_RATE / rate)
    positions = np.linspace(0, len(mono) - 1, count, dtype=np.float32)
    resampled: Samples = np.interp(positions, np.arange(len(mono)), mono).astype(np.float32)
    return Audio(resampled, HEARING_RATE)


class LevelVad:
    """The old level rule as a "probability", for an orb without the ``brain`` extra:
    1 at or above ``vad_on_dbfs``, 0.4 between the thresholds (keeps a turn going), else 0."""

    def __init__(self, config: OrbConfig) -> None:
        self._on = config.vad_on_dbfs
        self._off = config.vad_off_dbfs
        self._pending = np.zeros(0, np.float32)

    def feed(self, audio: Audio) -> list[float]:
        data = np.concatenate([self._pending, audio.floats()])
        whole = len(data) - len(data) % VAD_FRAME
        self._pending = data[whole:]
        out: list[float] = []
        for start in range(0, whole, VAD_FRAME):
            level = dbfs(data[start:start + VAD_FRAME])
            out.append(1.0 if level >= self._on else 0.4 if level >= self._off else 0.0)
        return out


def new_vad(config: OrbConfig) -> SpeechProbability:
    """Silero VAD when the ``brain`` extra is installed (and ``config.neural_vad``), else the
    level rule."""
    from .vad import SileroStream, vad_available

    if config.neural_vad and vad_available():
        return SileroStream()
    return LevelVad(config)


class TurnDetector:
    """Voice activity and turn ends for one speaker (see the module docstring)."""

    def __init__(self, speaker_id: str, role: str, config: OrbConfig,
                 vad: SpeechProbability | None = None,
                 tap: Callable[[Audio], None] | None = None,
                 onset: Callable[[str], None] | None = None) -> None:
        """``tap``: shown every frame, quiet ones too, before the model is asked (the echo
        gate, orb_bridge.echo, compares the whole microphone with the orb's voice).
        ``onset``: called with the speaker's id at each frame the model calls speech while
        no turn goes on: maybe a turn starting (``SpeechStarted`` follows ``vad_on_time``
        later), maybe a click. The floor (orb_bridge.floor) holds the orb's voice on it,
        a frame or two sooner than on ``SpeechStarted``."""
        self.speaker_id = speaker_id
        self._tap = tap
        self._onset = onset
        self.role = role
        self._cfg = config
        self._checks = config.decision_checks
        self._vad = vad if vad is not None else new_vad(config)
        self.speaking = False
        self.level_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self.utterances = 0
        #: Frames the VAD was asked about (the rest were too quiet to ask).
        self.vad_frames = 0
        #: Seconds of this speaker's audio fed so far, quiet or not: the speaker's media
        #: clock (the floor measures bursts on it, not on when a busy loop got to them).
        self.heard = 0.0
        self._pending = np.zeros(0, np.float32)
        self._above = 0.0
        self._below = 0.0
        self._voiced = 0.0
        self._preroll: deque[Samples] = deque()
        self._preroll_seconds = 0.0
        self._chunks: list[Samples] = []
        self._collected = 0.0
        self._pause = 0  # serial of the current (or last) pause
        self._checks_asked = 0  # judgements asked within the current pause
        self._in_pause = False
        self._early = 0  # pauses within the current utterance
        self._announced_pause = 0  # the last pause announced without a check
        self._pause_best = 0.0  # the highest verdict of the current pause so far

    # ---------------------------------------------------------------- inputs
    def feed(self, audio: Audio) -> list[TurnEvent]:
        """Feed the speaker's audio (any length); returns the events it completes."""
        samples = audio.at(HEARING_RATE).floats()
        seconds = len(samples) / HEARING_RATE
        self.heard += seconds
        level = dbfs(samples)
        self.level_dbfs = level
        self.peak_dbfs = max(level, self.peak_dbfs - 60.0 * seconds)  # decays 60 dB/s
        data = np.concatenate([self._pending, samples.astype(np.float32).reshape(-1)])
        whole = len(data) - len(data) % VAD_FRAME
        self._pending = data[whole:]
        events: list[TurnEvent] = []
        for start in range(0, whole, VAD_FRAME):
            frame = data[start:start + VAD_FRAME]
            heard = Audio(frame, HEARING_RATE)
            if self._tap is not None:
                self._tap(heard)
            if dbfs(frame) < _QUIET_DBFS:
                probability = 0.0
            else:
                self.vad_frames += 1
                probability = self._vad.feed(heard)[-1]
            events.extend(self._frame(frame, probability))
        return events

    def judged(self, pause: int, check: int, probability: float | None) -> list[TurnEvent]:
        """The end-of-turn verdict on ``SpeechPaused(pause, check)``: P(the turn is over),
        or ``None`` when no judge could say. Ends the turn if that pause still goes on and
        the probability reaches the check's threshold."""
        if (probability is None or not self.speaking or not self._in_pause
                or pause != self._pause):
            return []
        if not 0 <= check < len(self._checks):
            return []
        _silence, threshold, needs_words = self._checks[check]
        # Smart Turn's output on one pause wavers with the length of the quiet it reads
        # (0.009, 0.033, 0.009 at 0.2, 0.6, 0.8 s for one finished espeak-ng sentence): the
        # words' check takes the pause's best verdict so far.
        self._pause_best = max(self._pause_best, probability)
        if needs_words:
            probability = self._pause_best
        if probability < threshold:
            return []
        return [self._end(ended_by="words" if needs_words else "model",
                          probability=probability)]

    @property
    def voicing(self) -> bool:
        """Speech right now: a turn goes on and it is not in a pause (the floor,
        orb_bridge.floor, holds the orb's voice while this is true)."""
        return self.speaking and self._below + 1e-9 < self._cfg.vad_pause_time

    # ---------------------------------------------------------------- the frame rule
    def _frame(self, frame: Samples, probability: float) -> list[TurnEvent]:
        if self.speaking:
            return self._while_speaking(frame, probability)
        return self._while_quiet(frame, probability)

    def _while_quiet(self, frame: Samples, probability: float) -> list[TurnEvent]:
        self._preroll.append(frame)
        self._preroll_seconds += VAD_FRAME_SECONDS
        speech = probability >= self._cfg.vad_threshold
        self._above = self._above + VAD_FRAME_SECONDS if speech else 0.0
        if speech and self._onset is not None:
            self._onset(self.speaker_id)
        if self._above + 1e-9 >= self._cfg.vad_on_time:
            self.speaking = True
            self._chunks = list(self._preroll)
            self._collected = self._preroll_seconds
            self._voiced = self._above
            self._below = 0.0
            self._in_pause = False
            self._early = 0
            self._preroll.clear()
            self._preroll_seconds = 0.0
            return [SpeechStarted(self.speaker_id)]
        limit = self._cfg.vad_preroll + self._cfg.vad_on_time
        while self._preroll and self._preroll_seconds - VAD_FRAME_SECONDS >= limit:
            self._preroll.popleft()
            self._preroll_seconds -= VAD_FRAME_SECONDS
        return []

    def _while_speaking(self, frame: Samples, probability: float) -> list[TurnEvent]:
        cfg = self._cfg
        self._chunks.append(frame)
        self._collected += VAD_FRAME_SECONDS
        if probability >= cfg.vad_off_threshold:
            self._below = 0.0
            self._in_pause = False
            self._voiced += VAD_FRAME_SECONDS
        else:
            self._below += VAD_FRAME_SECONDS
        if self._below + 1e-9 >= cfg.turn_timeout:
            return [self._end(ended_by="timeout")]
        events: list[TurnEvent] = []
        if self._below + 1e-9 >= cfg.vad_pause_time:
            if not self._in_pause:
                self._in_pause = True
                self._pause_best = 0.0
                self._pause += 1
                self._early += 1
                self._checks_asked = 0
            checks = self._checks
            first_due = bool(checks) and checks[0][0] <= cfg.vad_pause_time + 1e-9
            if self._checks_asked == 0 and not first_due and self._announced_pause != self._pause:
                self._announced_pause = self._pause
                events.append(SpeechPaused(self.speaker_id, self._audio_so_far(), self._pause,
                                           -1, self._below, self._early))
            while (self._checks_asked < len(checks)
                   and self._below + 1e-9 >= max(cfg.vad_pause_time,
                                                 checks[self._checks_asked][0])):
                events.append(SpeechPaused(
                    self.speaker_id, self._audio_so_far(), self._pause, self._checks_asked,
                    self._below, self._early,
                    first=self._checks_asked == 0 and self._announced_pause != self._pause))
                self._checks_asked += 1
            if self._collected >= cfg.piece_seconds:
                return [self._end(ended_by="length", final=False)]
        if self._collected >= cfg.max_utterance:
            return [self._end(ended_by="length", final=False)]
        return events

    def _audio_so_far(self) -> Audio:
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        return Audio(np.clip(pcm, -32768, 32767).astype(np.int16), HEARING_RATE)

    def _end(self, *, ended_by: str, final: bool = True,
             probability: float | None = None) -> SpeechEnded:
        audio = self._audio_so_far()
        silence = self._below
        voiced = self._voiced
        self._chunks = []
        self._collected = 0.0
        self._voiced = 0.0
        self._early = 0
        self._in_pause = False
        self.utterances += 1
        if final:
            self.speaking = False
            self._above = 0.0
            self._below = 0.0
        return SpeechEnded(Utterance(self.speaker_id, self.role, audio, voiced,
                                     silence_after=silence, final=final, ended_by=ended_by,
                                     probability=probability))


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
            try:
                samples = to_mono_16k(frame)
            except (ValueError, TypeError) as exc:  # a frame aiortc decoded oddly
                logger.debug("unusable audio frame from %s: %r", self.detector.speaker_id,
                             exc)
                continue
            for event in self.detector.feed(samples):
                self._on_event(event)

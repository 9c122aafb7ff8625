"""What the orb sends: one picture and one voice per orb, fanned out to every peer connection.

aiortc pulls media: each RTCRtpSender awaits ``track.recv()`` on its own. So each peer
connection gets its own thin track (:class:`OrbVideoTrack`, :class:`OrbAudioTrack`), and all
of an orb's tracks read from one shared source laid on a fixed time grid: frame *i* is due at
``origin + i * period``. The first track to ask for frame *i* makes it; the others get the very
same ``av`` frame object. Rendering, voice mixing and level metering thus cost once per orb, not
once per human, and every human sees the same timeline (the same pts for the same picture).

Everything here runs on the orb loop's thread; nothing is thread-safe or needs to be.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from collections import deque
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import WEBRTC_RATE, Audio, Int16Samples
from .echo import SentAudio
from .render import OrbRenderer

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
AUDIO_FRAME_SECONDS = 0.02
AUDIO_FRAME_SAMPLES = int(WEBRTC_RATE * AUDIO_FRAME_SECONDS)

Clock = Callable[[], float]


class MediaSource:
    """A shared source of orb media; a failure while producing it must end the orb.

    aiortc's sender swallows exceptions raised by ``track.recv()`` (it logs them and stops
    sending), which would leave a silently broken orb. So the orb's tracks hand their own
    failures to the source's ``on_failure`` (the session turns that into ``ai-orb-shutdown``
    ``error``) and end themselves with ``MediaStreamError``.
    """

    on_failure: Callable[[BaseException], None] | None = None

    def failed(self, exc: Exception) -> MediaStreamError:
        if self.on_failure is not None:
            self.on_failure(exc)
        else:
            logger.error("orb media failed", exc_info=exc)
        return MediaStreamError(str(exc))


class FrameGrid:
    """A shared timeline of equally spaced frames, starting when the grid is made."""

    def __init__(self, period: float, clock: Clock = time.monotonic) -> None:
        self.period = period
        self.clock = clock
        self.origin = clock()

    def index_at(self, now: float) -> int:
        return max(0, math.floor((now - self.origin) / self.period))

    def due(self, index: int) -> float:
        return self.origin + index * self.period

    def next_index(self, last: int) -> int:
        """The frame a consumer that last took ``last`` should take next.

        A consumer that fell behind skips to the present rather than bursting old frames.
        """
        return max(last + 1, self.index_at(self.clock()))

    async def wait_for(self, index: int) -> None:
        delay = self.due(index) - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)


class RateMeter:
    """Frames per second over the last few seconds (for ``orb_heartbeat`` metrics)."""

    def __init__(self, window: float = 5.0, clock: Clock = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._stamps: deque[float] = deque()

    def tick(self) -> None:
        now = self._clock()
        self._stamps.append(now)
        self._trim(now)

    def rate(self) -> float:
        now = self._clock()
        self._trim(now)
        if len(self._stamps) < 2:
            return 0.0
        return (len(self._stamps) - 1) / max(now - self._stamps[0], 1e-6)

    def _trim(self, now: float) -> None:
        while self._stamps and self._stamps[0] < now - self._window:
            self._stamps.popleft()


class Voice(MediaSource):
    """The orb's voice: at most one reply playing, placed on the 20 ms audio grid.

    ``play`` schedules PCM to start at the next audio frame; ``stop`` silences it at the next
    frame (this is what barge-in and pause call). ``hold`` pauses it at the next frame and
    keeps its place, to go on from there when released (the floor, orb_bridge.floor, holds
    it while a human speaks). The voice level feeds the orb's pulse; every frame sent is kept
    a couple of seconds (``sent``: what the echo gate, orb_bridge.echo, compares with).
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.grid = FrameGrid(AUDIO_FRAME_SECONDS, clock)
        self._pcm: Int16Samples | None = None
        self._levels: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._start = 0
        self._end = 0
        self._length = 0
        self._cached: tuple[int, av.AudioFrame] | None = None
        self._silence = np.zeros((1, AUDIO_FRAME_SAMPLES), dtype=np.int16)
        #: Whether the latest frame made (``frame``) is digital silence: nothing being said.
        self.silent = True
        #: ``clock()`` when the first frame of the latest reply was handed to the tracks
        #: (the per-turn figures' "first audio sent"); ``None`` until then.
        self.first_sent_at: float | None = None
        self.held = False
        self._resume_from = 0  # frames of the held reply already sent
        #: The latest frames handed out (about 2 s): the echo gate's reference.
        self.sent = SentAudio(AUDIO_FRAME_SECONDS)

    def play(self, said: Audio, follow: bool = False) -> float:
        """Start saying ``said`` (sent at 48 kHz: resampled if it is not); returns when it
        will end (grid clock).

        ``follow``: the next piece of a streamed reply. If the voice is still saying the
        previous piece (or holds it), ``said`` goes on right after its last sample (no gap, no
        overlap; a frame already sent is never changed: a piece that comes late starts at the
        next unsent frame). Otherwise it starts at the next frame, as without ``follow``.
        """
        pcm = said.at(WEBRTC_RATE).int16()
        now = self.grid.index_at(self.grid.clock())
        if follow and self._pcm is not None and (self.held or now < self._end):
            if self.held:  # nothing is sent while held: what was sent is ``_resume_from``
                sent_frames = self._resume_from
            else:
                sent = max(now, self._cached[0] if self._cached is not None else -1)
                sent_frames = sent - self._start + 1
            at = max(self._length, sent_frames * AUDIO_FRAME_SAMPLES)
            data = np.zeros(at + len(pcm), dtype=np.int16)
            data[: self._length] = self._pcm[: self._length]
            data[at:] = pcm
            return self._load(data, self._start, kept=self._length // AUDIO_FRAME_SAMPLES)
        self._resume_from = 0
        self.first_sent_at = None
        return self._load(np.asarray(pcm, dtype=np.int16), now + 1)

    def _load(self, data: Int16Samples, start: int, kept: int = 0) -> float:
        """Say ``data`` from grid index ``start``; its first ``kept`` frames are the ones
        already loaded (their levels are kept, not measured again)."""
        frames = max(1, math.ceil(len(data) / AUDIO_FRAME_SAMPLES))
        padded = np.zeros(frames * AUDIO_FRAME_SAMPLES, dtype=np.int16)
        padded[: len(data)] = data
        self._pcm, self._length = padded, len(data)
        chunks = padded[kept * AUDIO_FRAME_SAMPLES :].reshape(-1, AUDIO_FRAME_SAMPLES)
        chunks = chunks.astype(np.float32)
        rms = np.sqrt(np.mean(chunks * chunks, axis=1))
        levels = np.clip(rms / 6000.0, 0.0, 1.0).astype(np.float32)
        self._levels = np.concatenate([self._levels[:kept], levels]) if kept else levels
        self._start = start
        self._end = self._start + frames
        return self.grid.due(self._end)

    def stop(self) -> None:
        self._pcm = None
        self._end = 0

    def hold(self, on: bool) -> None:
        """Pause (``True``) the voice from the next frame, keeping its place; or play on
        (``False``) from the first frame not yet sent. A reply started while held waits."""
        if on == self.held:
            return
        self.held = on
        if self._pcm is None:
            return
        if on:
            sent = (self._cached[0] + 1) if self._cached is not None else self._start
            self._resume_from = min(max(0, sent - self._start), self._end - self._start)
        else:
            frames = self._end - self._start
            self._start = self._next_slot() - self._resume_from
            self._end = self._start + frames

    def time_left(self) -> float:
        """Seconds until the current reply has been sent (held: at least what is left of
        it, so a waiter looks again)."""
        if self._pcm is None:
            return 0.0
        if self.held:
            return max(self.grid.period, (self._end - self._start - self._resume_from)
                       * self.grid.period)
        return max(0.0, self.grid.due(self._end) - self.grid.clock())

    def _next_slot(self) -> int:
        """The first slot not yet handed out: the one due now if it is still to be made."""
        made = self._cached[0] if self._cached is not None else -1
        return max(made + 1, self.grid.index_at(self.grid.clock()))

    @property
    def end(self) -> int:
        """The grid index right after the last frame of what is being said."""
        return self._end

    @property
    def playing(self) -> bool:
        return self._pcm is not None and (
            self.held or self.grid.index_at(self.grid.clock()) < self._end)

    def level(self) -> float:
        """Loudness of what is being said right now, 0..1."""
        if self._pcm is None or self.held:
            return 0.0
        i = self.grid.index_at(self.grid.clock()) - self._start
        if 0 <= i < len(self._levels):
            return float(self._levels[i])
        return 0.0

    def frame(self, index: int) -> tuple[int, av.AudioFrame]:
        """The audio frame for grid slot ``index``, made once and shared by every track.

        A track asking for a slot older than the newest made gets the newest (and its index),
        so a late track catches up instead of repeating sound.
        """
        if self._cached is not None and self._cached[0] >= index:
            return self._cached
        samples = self._silence
        self.silent = True
        if self._pcm is not None and not self.held and self._start <= index < self._end:
            self.silent = False
            offset = (index - self._start) * AUDIO_FRAME_SAMPLES
            if self.first_sent_at is None:
                self.first_sent_at = self.grid.clock()
            samples = self._pcm[offset : offset + AUDIO_FRAME_SAMPLES].reshape(1, -1)
        elif self._pcm is not None and not self.held and index >= self._end:
            self._pcm = None
        self.sent.sent(index, self.grid.due(index), Audio(samples.reshape(-1), WEBRTC_RATE))
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = WEBRTC_RATE
        frame.pts = index * AUDIO_FRAME_SAMPLES
        frame.time_base = fractions.Fraction(1, WEBRTC_RATE)
        self._cached = (index, frame)
        return self._cached


class OrbPicture(MediaSource):
    """The orb's video: one rendered yuv420p frame per grid slot, shared by every track."""

    def __init__(
        self,
        renderer: OrbRenderer,
        fps: float,
        look: Callable[[], tuple[str, float]],
        clock: Clock = time.monotonic,
    ) -> None:
        self.grid = FrameGrid(1.0 / fps, clock)
        self.meter = RateMeter(clock=clock)
        self._renderer = renderer
        self._look = look
        self._ticks_per_frame = round(VIDEO_CLOCK / fps)
        self._cached: tuple[int, av.VideoFrame] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self._renderer.width, self._renderer.height

    def look(self) -> tuple[str, float]:
        """What the picture shows now: the status and the voice level."""
        return self._look()

    def skip(self, index: int) -> None:
        """Slot ``index`` is sent without being rendered (its packet was reused,
        orb_bridge.encoding): it still counts for the frame rate."""
        self.meter.tick()

    def frame(self, index: int) -> tuple[int, av.VideoFrame]:
        if self._cached is not None and self._cached[0] >= index:
            return self._cached
        status, level = self._look()
        pixels = self._renderer.render(status, level, index * self.grid.period)
        frame = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
        frame.pts = index * self._ticks_per_frame
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._cached = (index, frame)
        self.meter.tick()
        return self._cached


class OrbVideoTrack(MediaStreamTrack):
    """One peer connection's view of the orb picture, paced by the shared grid."""

    kind = "video"

    def __init__(self, picture: OrbPicture) -> None:
        super().__init__()
        self._picture = picture
        self._last = -1

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = self._picture.grid.next_index(self._last)
        await self._picture.grid.wait_for(index)
        try:
            self._last, frame = self._picture.frame(index)
        except Exception as exc:
            raise self._picture.failed(exc) from exc
        return frame


class OrbAudioTrack(MediaStreamTrack):
    """One peer connection's copy of the orb voice, 20 ms frames paced by the shared grid."""

    kind = "audio"

    def __init__(self, voice: Voice) -> None:
        super().__init__()
        self._voice = voice
        self._last = -1

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = self._voice.grid.next_index(self._last)
        await self._voice.grid.wait_for(index)
        try:
            self._last, frame = self._voice.frame(index)
        except Exception as exc:
            raise self._voice.failed(exc) from exc
        return frame

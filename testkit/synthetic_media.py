"""The media of synthetic humans (:mod:`testkit.synthetic`): a synthetic voice and camera to
send, and :class:`PeerMedia`, what one human receives from one peer, with a stall meter.

Split from :mod:`testkit.synthetic` so that module holds only the protocol side (joining,
resuming, links); :func:`split_candidates` is the one SDP chore it needs. Test tooling only.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import math
import time
from collections import deque
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from orb_bridge.hearing import dbfs

RATE = 48_000
FRAME = 960


class Mouth:
    """When a human speaks, shared by the voice tracks of all its peer connections."""

    def __init__(self, level_dbfs: float = -16.0) -> None:
        self._speak_until = 0.0
        self._level_dbfs = level_dbfs
        self._talk: npt.NDArray[np.int16] | None = None
        rng = np.random.default_rng(7)
        self.floor = (rng.standard_normal(FRAME * 50) * 3).astype(np.int16)  # about -80 dBFS
        self._clip: npt.NDArray[np.int16] | None = None
        self._clip_pos = 0
        self.clip_ended_at: float | None = None
        #: The orb's voice as this human's speakers play it back into the microphone
        #: (``echo_gain``: e.g. 0.1 for 20 dB down; ``None``: a perfect echo canceller).
        self.echo_gain: float | None = None
        self.speaker = Speaker()

    def hear_orb(self, samples: npt.NDArray[np.float32], pts: int, now: float) -> None:
        """A frame of the orb's voice as received (``pts``: its place on the orb's media
        clock, 48 kHz; ``now``: when it arrived): the speaker plays it (:class:`Speaker`)."""
        if self.echo_gain is not None:
            self.speaker.received(samples, pts, now)

    def with_echo(self, samples: npt.NDArray[np.int16], at: float) -> npt.NDArray[np.int16]:
        """The microphone's frame captured from ``at`` (its place on this human's media
        clock): ``samples`` plus what the speaker played meanwhile, ``echo_gain`` down."""
        if self.echo_gain is None:
            return samples
        echo = self.speaker.played(at, len(samples))
        if echo is None:
            return samples
        mixed = samples.astype(np.float32).reshape(-1) + echo * np.float32(self.echo_gain)
        return np.clip(mixed, -32768, 32767).astype(np.int16)

    def say(self, seconds: float) -> None:
        _ = self.syllable  # rendered now, not in the media loop
        self._speak_until = time.monotonic() + seconds

    @property
    def syllable(self) -> npt.NDArray[np.int16]:
        """What the mouth says while "speaking" for a while: real words on a loop (espeak-ng,
        rendered on first use), since the orb hears speech with a neural voice-activity
        detector that tones would not fool."""
        if self._talk is None:
            talk = _talk().astype(np.float64)
            rms = float(np.sqrt(np.mean(talk * talk))) or 1.0
            self._talk = np.clip(talk / rms * 32767 * 10 ** (self._level_dbfs / 20),
                                 -32768, 32767).astype(np.int16)
        return self._talk

    def play(self, pcm: npt.NDArray[np.int16]) -> None:
        """Say real audio once (48 kHz mono int16, e.g. an espeak-ng sentence)."""
        self._clip = pcm.astype(np.int16)
        self._clip_pos = 0
        self.clip_ended_at = None

    def clip_frame(self) -> npt.NDArray[np.int16] | None:
        """The next 20 ms of the clip being played, or None."""
        playing = self.clip_index()
        if playing is None:
            return None
        clip, index = playing
        frame = np.zeros(FRAME, dtype=np.int16)
        part = clip[index * FRAME : (index + 1) * FRAME]
        frame[: len(part)] = part
        return frame

    def clip_index(self) -> tuple[npt.NDArray[np.int16], int] | None:
        """The clip being played and the index of its next 20 ms frame (moving on to the
        one after), or None (testkit.pre_encoded sends that frame's packet)."""
        clip = self._clip
        if clip is None:
            return None
        index = self._clip_pos // FRAME
        self._clip_pos += FRAME
        if self._clip_pos >= len(clip):
            self._clip = None
            #: When the clip's last sample went out (``time.monotonic()``).
            self.clip_ended_at = time.monotonic()
        return clip, index

    def hush(self) -> None:
        self._speak_until = 0.0
        self._clip = None

    @property
    def speaking(self) -> bool:
        return time.monotonic() < self._speak_until


#: The orb's voice leaves this human's speaker this long after its first frame arrived (a
#: playout buffer; a browser's holds 40-120 ms, more on a jittery path) and is in the
#: microphone at once.
PLAYOUT = 0.1
#: What the playout buffer grows by, beyond the lateness, when a frame came too late; and
#: the most it grows to (beyond it, a late frame is lost: a starved loop's stall of a second
#: would otherwise leave the echo's path longer than any browser's).
CUSHION = 0.04
MAX_PLAYOUT = 0.5


class Speaker:
    """A human's speaker, played on the orb's media clock as a sound card plays a call: frame
    ``pts`` of the orb's voice sounds at a fixed delay (``PLAYOUT``) after the first frame's
    arrival, so its echo in the microphone is a steady delayed copy of the orb's voice, as a
    real speaker to microphone path is, however the frames arrived (in bursts, on a starved
    event loop). A frame that comes after the microphone already captured its time is an
    underrun: the speaker was silent meanwhile and plays on from that frame, its delay grown
    (by ``CUSHION`` more, up to ``MAX_PLAYOUT``), as a browser's adaptive jitter buffer
    does. (A frame queue popped once per microphone frame, the first version, was no such
    path: under load its delay wandered by hundreds of ms and frames were dropped from it, so
    the echo matched the orb's voice only weakly and the gate let it through as speech.)"""

    def __init__(self) -> None:
        self._frames: dict[int, npt.NDArray[np.float32]] = {}
        self._first_pts: int | None = None
        self._zero_at = 0.0  # when sample 0 of the orb's voice leaves the speaker
        self._first_at = 0.0
        self._captured_until = -math.inf  # the microphone has captured up to here
        #: Underruns: times the playout delay grew (each a step in the echo's delay).
        self.underruns = 0

    @property
    def delay(self) -> float:
        """Seconds from the first frame's arrival to its playing now (the playout delay)."""
        return self._zero_at - self._first_at

    def received(self, samples: npt.NDArray[np.float32], pts: int, now: float) -> None:
        if self._first_pts is None:
            self._first_pts = pts
            self._first_at = now
            self._zero_at = now + PLAYOUT
        start = (pts - self._first_pts) % (1 << 32)  # RTP timestamps wrap
        sounds_at = self._zero_at + start / RATE
        # A late frame of digital silence (what a sender in DTX sends, or a receiver's
        # jitter buffer releases late once DTX spaces its packets) sounds as the silence
        # already played: no underrun, as a browser's buffer does not stretch for comfort noise.
        if sounds_at < self._captured_until and start > max(self._frames, default=-1) \
                and np.any(samples):
            grown = min(self._zero_at + self._captured_until - sounds_at + CUSHION,
                        self._first_at + MAX_PLAYOUT)
            if grown > self._zero_at:
                self._zero_at = grown
                self.underruns += 1
        self._frames[start] = np.asarray(samples, np.float32).reshape(-1)
        if len(self._frames) > 200:  # keep about 4 s
            for old in sorted(self._frames)[:-150]:
                del self._frames[old]

    def played(self, at: float, n: int) -> npt.NDArray[np.float32] | None:
        """The ``n`` samples the speaker played from time ``at`` (``None``: nothing yet)."""
        if self._first_pts is None:
            return None
        self._captured_until = max(self._captured_until, at + n / RATE)
        begin = round((at - self._zero_at) * RATE)
        out = np.zeros(n, np.float32)
        for start, frame in self._frames.items():
            lo, hi = max(begin, start), min(begin + n, start + len(frame))
            if lo < hi:
                out[lo - begin : hi - begin] = frame[lo - start : hi - start]
        return out


_TALK = ("so what I have been thinking about lately is how to plan my week better and keep "
         "my evenings free for the family while still getting the big project done on time")


@functools.lru_cache(maxsize=1)
def _talk() -> npt.NDArray[np.int16]:
    from testkit.voices import espeak

    return espeak(_TALK, RATE, 190)


class SyntheticVoice(MediaStreamTrack):
    """20 ms mono frames: a faint noise floor, or the mouth's voiced bursts while speaking."""

    kind = "audio"

    def __init__(self, mouth: Mouth) -> None:
        super().__init__()
        self._mouth = mouth
        self._start = time.monotonic()
        self._index = 0

    async def _next_slot(self) -> int:
        """Wait for the next 20 ms frame's time; its index (skipping ahead if far behind)."""
        due = self._start + self._index * FRAME / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.2:  # fell far behind (a busy loop): skip ahead rather than burst
            self._index = int((time.monotonic() - self._start) * RATE / FRAME)
        return self._index

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._next_slot()
        due = self._start + self._index * FRAME / RATE
        mouth = self._mouth
        clip = mouth.clip_frame()
        if clip is not None:
            samples = clip
        elif mouth.speaking:
            pos = (self._index * FRAME) % (len(mouth.syllable) - FRAME)
            samples = mouth.syllable[pos : pos + FRAME]
        else:
            pos = (self._index % 49) * FRAME
            samples = mouth.floor[pos : pos + FRAME]
        samples = mouth.with_echo(samples, due)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._index * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self._index += 1
        return frame


class SyntheticCamera(MediaStreamTrack):
    """A small moving test picture (precomputed, so a camera costs almost nothing)."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120, fps: float = 10.0) -> None:
        super().__init__()
        self._fps = fps
        self._start = time.monotonic()
        self._index = 0
        self._frames = []
        for i in range(8):
            plane = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
            plane[:height] = 60
            x = (i * width // 8) & ~1
            plane[:height, x : x + width // 8] = 200
            self._frames.append(plane)

    async def _wait_due(self) -> None:
        delay = self._start + self._index / self._fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def picture(self, index: int) -> av.VideoFrame:
        """Frame ``index`` of the loop of eight pictures, stamped on the 90 kHz clock."""
        frame = av.VideoFrame.from_ndarray(self._frames[index % 8], format="yuv420p")
        frame.pts = round(index * 90_000 / self._fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        return frame

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._wait_due()
        frame = self.picture(self._index)
        self._index += 1
        return frame


class PeerMedia:
    """What one human receives from one peer, and a stall meter over it.

    The stall meter answers "did the call freeze?" across a signaling loss: between
    :meth:`start_measuring` and now, the longest gap between two received video frames, or
    between two received audio packets (each kind on its own, the worse one counts; a gap
    still open now counts too). Media flows peer to peer, so a server or balancer lost
    mid-call must not show up here.

    A sender in DTX (the orb while it is silent: orb_bridge.encoding) sends audio only every
    ``DTX_KEEPALIVE`` seconds, its RTP timestamps jumping over what it did not send. Such a
    gap is not a stall: an audio gap counts only by how much longer it was than the time the
    sender's clock skipped, and a gap still open counts beyond ``DTX_KEEPALIVE`` once the
    stream has shown DTX.
    """

    #: The longest a sender in DTX stays quiet (orb_bridge.encoding: 400 ms, as WebRTC).
    DTX_KEEPALIVE = 0.4

    def __init__(self) -> None:
        self.video_frames = 0
        self.video_size: tuple[int, int] | None = None
        self.first_video_at: float | None = None
        self.video_times: deque[float] = deque(maxlen=600)
        self.audio_frames = 0
        #: Seconds of the sender's audio clock received, DTX's skipped time included: how long
        #: the stream has gone on, whatever the sender's packet rate (audio_frames counts packets).
        self.audio_seconds = 0.0
        self.audio_levels: deque[tuple[float, float]] = deque(maxlen=3000)
        #: Set to a list to keep every decoded audio frame (48 kHz mono int16) from now on:
        #: what the human actually heard, for tests that transcribe it back.
        self.recording: list[npt.NDArray[np.int16]] | None = None
        self._measuring_since: float | None = None
        self._last: dict[str, float] = {}
        self._longest: dict[str, float] = {}
        #: The received audio's next expected pts (48 kHz samples), and whether it ever
        #: jumped (the sender is in DTX at times).
        self._audio_next_pts: int | None = None
        self.audio_dtx_seen = False
        #: Called with each received audio frame (an echo path): mono float samples, the
        #: frame's place on the sender's media clock (pts at 48 kHz) and its arrival time.
        self.on_audio: Callable[[npt.NDArray[np.float32], int, float], None] | None = None

    def received(self, kind: str, now: float, skipped: float = 0.0) -> None:
        """One video frame or audio packet arrived (kind ``video`` or ``audio``); ``skipped``:
        seconds of the sender's clock it did not send before this one (DTX)."""
        if self._measuring_since is not None:
            gap = now - self._last.get(kind, self._measuring_since) - skipped
            if gap > self._longest.get(kind, 0.0):
                self._longest[kind] = gap
        self._last[kind] = now

    def start_measuring(self, now: float | None = None) -> None:
        """Start (again) the stall meter: gaps count from now on."""
        now = time.monotonic() if now is None else now
        self._measuring_since = now
        self._last = dict.fromkeys(self._last, now)
        self._longest = {}

    def longest_stall(self, now: float | None = None) -> float:
        """Seconds: the longest gap in any kind of media received since measuring began,
        including the gap open now (``inf`` when not measuring or nothing was ever received)."""
        since = self._measuring_since
        if since is None or not self._last:
            return math.inf
        now = time.monotonic() if now is None else now
        return max(max(self._longest.get(k, 0.0), now - last - self._quiet_allowed(k))
                   for k, last in self._last.items())

    def _quiet_allowed(self, kind: str) -> float:
        return self.DTX_KEEPALIVE if kind == "audio" and self.audio_dtx_seen else 0.0

    def _audio_skipped(self, frame: av.AudioFrame) -> int:
        """Samples (48 kHz) the sender's clock skipped before ``frame`` (DTX), 0 if none."""
        base = frame.time_base
        if frame.pts is None or base is None:
            return 0
        pts = round(frame.pts * base * RATE)
        expected, self._audio_next_pts = self._audio_next_pts, pts + frame.samples
        if expected is None:
            return 0
        skipped = (pts - expected) % (1 << 32)  # RTP timestamps wrap
        if skipped == 0 or skipped > 60 * RATE:  # none, or a new stream's clock
            return 0
        self.audio_dtx_seen = True
        return skipped

    async def consume(self, track: MediaStreamTrack, changed: asyncio.Event) -> None:
        """Receive ``track`` until it ends; ``changed`` is set at the first video frame."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if isinstance(frame, av.VideoFrame):
                self.video_frames += 1
                self.video_size = (frame.width, frame.height)
                self.video_times.append(now)
                self.received("video", now)
                if self.first_video_at is None:
                    self.first_video_at = now
                    changed.set()
            elif isinstance(frame, av.AudioFrame):
                self.audio_received(frame, now)

    def audio_received(self, frame: av.AudioFrame, now: float) -> None:
        """One decoded audio frame arrived at ``now``: counted, metered, recorded, echoed."""
        self.audio_frames += 1
        skipped = self._audio_skipped(frame)
        self.audio_seconds += (frame.samples + skipped) / RATE
        self.received("audio", now, skipped / RATE)
        samples = frame.to_ndarray().astype(np.float32)
        self.audio_levels.append((now, dbfs(samples)))
        if self.recording is not None:
            if skipped:  # what a listener hears while the sender is in DTX
                self.recording.append(np.zeros(skipped, np.int16))
            self.recording.append(_mono48k(frame))
        base = frame.time_base
        if self.on_audio is not None and frame.pts is not None and base is not None:
            channels = len(frame.layout.channels)
            pts = round(frame.pts * base * RATE)
            self.on_audio(samples.reshape(-1, channels).mean(axis=1), pts, now)

    def video_fps(self, window: float = 3.0) -> float:
        now = time.monotonic()
        recent = [t for t in self.video_times if t >= now - window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def loudest_since(self, since: float) -> float:
        levels = [level for t, level in self.audio_levels if t >= since]
        return max(levels, default=-100.0)


def _mono48k(frame: av.AudioFrame) -> npt.NDArray[np.int16]:
    """One decoded audio frame as 48 kHz mono int16 (aiortc's Opus decoder gives packed
    stereo s16: interleaved channels in one plane)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.reshape(channels, -1).astype(np.float32).mean(axis=0)
    else:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1)
    if frame.sample_rate != 48_000:
        from orb_bridge.sound import resample

        return resample(mono, frame.sample_rate, 48_000)
    return mono.astype(np.int16)


def split_candidates(sdp: str) -> tuple[str, list[dict[str, object]]]:
    """An SDP without its candidate lines (and end-of-candidates), and those candidates as
    ``ice-candidate`` payloads, each once (bundled m-lines repeat them): what a browser that
    trickles sends."""
    kept: list[str] = []
    candidates: list[dict[str, object]] = []
    seen: set[str] = set()
    mid_index = -1
    mid: str | None = None
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            mid_index += 1
            mid = None
        elif line.startswith("a=mid:"):
            mid = line[6:]
        if line.startswith("a=candidate:"):
            if line[2:] not in seen:
                seen.add(line[2:])
                candidates.append({"candidate": line[2:], "sdpMid": mid,
                                   "sdpMLineIndex": mid_index})
            continue
        if line != "a=end-of-candidates":
            kept.append(line)
    return "\r\n".join(kept), candidates

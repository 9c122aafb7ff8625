"""A synthetic human's voice and camera encoded ahead of time, for load benchmarks.

A synthetic human (:mod:`testkit.synthetic`) sends what a browser sends: Opus every 20 ms and a
small VP8 camera. With frames as input, aiortc encodes both live for every human (Opus with a
resampler, the RFC 6465 audio level in a pure-Python loop, VP8; each job handed to a thread
pool and back): in ``bench/orb_capacity.py`` that is a good part of the humans' CPU, taken from
the same cores as the orb server being measured. Everything a synthetic human says is known
in advance (a noise floor on a loop, a voiced loop, espeak-ng sentences), and so is its camera
(eight pictures on a loop), so these tracks hand aiortc ``av.Packet`` objects instead: aiortc
then only packetizes them (``RTCRtpSender._next_encoded_frame``: a packet is ``pack()``-ed, not
encoded). The packets come from aiortc's own encoders, run once per process, so the orb
receives the same kind of RTP stream as from a live-encoding human: one Opus packet per 20 ms
and one VP8 frame per camera frame, at the same sizes. Differences: the camera's loop opens
with a keyframe every ``CAMERA_LOOP`` frames (the live encoder sends one at the start and on
request), keyframe requests are not served (the orb does not decode the camera), and no audio
level header extension is sent (the orb does not read it). A microphone with an echo of the
orb's voice (``Mouth.echo_gain``) cannot be known in advance: that voice encodes live.
"""

from __future__ import annotations

import fractions
import functools
import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import numpy.typing as npt
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor
from aiortc.mediastreams import MediaStreamError

from testkit.synthetic_media import FRAME, RATE, Mouth, SyntheticCamera, SyntheticVoice

if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet

VIDEO_CLOCK = 90_000
#: Camera frames encoded once and sent on a loop (10 s at 15 fps), opening with a keyframe.
CAMERA_LOOP = 150
#: Sentences whose packets are kept per process (the bench repeats a few).
KEPT_CLIPS = 16


def _frame(samples: npt.NDArray[np.int16], index: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = index * FRAME
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


def encode_opus(pcm: npt.NDArray[np.int16]) -> tuple[bytes, ...]:
    """``pcm`` (48 kHz mono) as Opus packets of 20 ms, by aiortc's own encoder (the last frame
    padded with silence)."""
    frames = max(1, -(-len(pcm) // FRAME))
    padded = np.zeros(frames * FRAME, dtype=np.int16)
    padded[: len(pcm)] = pcm
    encoder = OpusEncoder()
    out: list[bytes] = []
    for i in range(frames):
        payloads, _ = encoder.encode(_frame(padded[i * FRAME : (i + 1) * FRAME], i))
        out.append(payloads[0] if payloads else b"")
    return tuple(out)


@functools.lru_cache(maxsize=4)
def _loop_packets(key: bytes, pcm_bytes: bytes) -> tuple[bytes, ...]:
    del key  # the cache's key only
    return encode_opus(np.frombuffer(pcm_bytes, dtype=np.int16))


def loop_packets(pcm: npt.NDArray[np.int16]) -> tuple[bytes, ...]:
    """Packets of a loop (the floor, the voiced loop), encoded once per process."""
    data = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
    return _loop_packets(hashlib.blake2b(data, digest_size=16).digest(), data)


class ClipPackets:
    """Packets of the sentences a process plays, encoded on first play, the last few kept."""

    def __init__(self, size: int = KEPT_CLIPS) -> None:
        self._kept: OrderedDict[bytes, tuple[bytes, ...]] = OrderedDict()
        self._size = size

    def of(self, pcm: npt.NDArray[np.int16]) -> tuple[bytes, ...]:
        data = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
        key = hashlib.blake2b(data, digest_size=16).digest()
        packets = self._kept.get(key)
        if packets is None:
            packets = self._kept[key] = encode_opus(np.frombuffer(data, dtype=np.int16))
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return packets


CLIPS = ClipPackets()


def _packet(data: bytes, pts: int, clock: int) -> Packet:
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = fractions.Fraction(1, clock)
    return packet


class PreEncodedVoice(SyntheticVoice):
    """:class:`~testkit.synthetic_media.SyntheticVoice`'s sound on the same 20 ms grid, as
    Opus packets encoded ahead of time (module docstring)."""

    def __init__(self, mouth: Mouth) -> None:
        super().__init__(mouth)
        self._floor = loop_packets(mouth.floor[: 49 * FRAME])
        self._voiced: tuple[bytes, ...] | None = None
        self._clip: npt.NDArray[np.int16] | None = None
        self._clip_packets: tuple[bytes, ...] = ()
        self._live: OpusEncoder | None = None

    async def recv(self) -> Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        mouth = self._mouth
        if mouth.echo_gain is not None:  # the echo is not known in advance
            frame = await super().recv()
            self._live = self._live or OpusEncoder()
            payloads, _ = self._live.encode(frame)
            return _packet(payloads[0] if payloads else b"", int(frame.pts or 0), RATE)
        index = await self._next_slot()
        playing = mouth.clip_index()
        if playing is not None:
            clip, at = playing
            if clip is not self._clip:  # a new play: its packets looked up once, not per frame
                self._clip, self._clip_packets = clip, CLIPS.of(clip)
            data = self._clip_packets[at]
        elif mouth.speaking:
            if self._voiced is None:
                self._voiced = loop_packets(
                    mouth.syllable[: len(mouth.syllable) // FRAME * FRAME])
            data = self._voiced[index % len(self._voiced)]
        else:
            data = self._floor[index % len(self._floor)]
        self._index += 1
        return _packet(data, index * FRAME, RATE)


@functools.lru_cache(maxsize=4)
def camera_loop(width: int, height: int, fps: float) -> tuple[tuple[bytes, bool], ...]:
    """VP8 frames of :class:`~testkit.synthetic_media.SyntheticCamera`'s pictures, by aiortc's
    own encoder: ``CAMERA_LOOP`` of them, the first a keyframe (each with its keyframe flag)."""
    camera = SyntheticCamera(width, height, fps)
    encoder = Vp8Encoder()
    out: list[tuple[bytes, bool]] = []
    for i in range(CAMERA_LOOP):
        frame = camera.picture(i)
        payloads, _ = encoder.encode(frame, i == 0)
        data = b"".join(VpxPayloadDescriptor.parse(p)[1] for p in payloads)
        out.append((data, i == 0))
    return tuple(out)


class PreEncodedCamera(SyntheticCamera):
    """:class:`~testkit.synthetic_media.SyntheticCamera` at the same rate, as VP8 frames
    encoded ahead of time and sent on a loop (module docstring)."""

    def __init__(self, width: int = 160, height: int = 120, fps: float = 10.0) -> None:
        super().__init__(width, height, fps)
        self._packets = camera_loop(width, height, fps)

    async def recv(self) -> Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        await self._wait_due()
        data, keyframe = self._packets[self._index % len(self._packets)]
        packet = _packet(data, round(self._index * VIDEO_CLOCK / self._fps), VIDEO_CLOCK)
        packet.is_keyframe = keyframe
        self._index += 1
        return packet

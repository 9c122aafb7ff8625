"""Encode the orb's picture and voice once per orb, not once per peer connection.

aiortc gives every RTCRtpSender its own encoder: with frames as input, an orb talking to two
humans encodes each picture twice with VP8 and each 20 ms of voice twice with Opus, hands every
one of those jobs to a thread pool (a thread hand-off per frame per peer), and computes each
audio frame's RFC 6465 level in a pure-Python loop, per peer. All of that is the bulk of an
orb's CPU. aiortc also accepts already-encoded ``av.Packet`` objects from a track and then only
packetizes them; so when a peer connection negotiated VP8 (video) or Opus (audio), its track
hands out packets from the shared encoders here. Peers that negotiated another codec get the
shared *frames* and aiortc encodes for them as usual (see :mod:`orb_bridge.peers`).

Keyframes: a shared encoder cannot serve one receiver's keyframe request alone, so any request
(a new subscriber, an RTCP PLI/FIR relayed from a sender, see :func:`forward_keyframe_requests`)
makes the next picture a keyframe for everyone, and a keyframe is forced every
``keyframe_interval`` seconds as a safety net. The picture is mostly smooth gradients, so
keyframes are small. The bitrate is capped, not adapted (no REMB): plenty for a 320x240 orb.
"""

from __future__ import annotations

import fractions
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import WEBRTC_RATE
from .media_out import VIDEO_CLOCK, OrbPicture, Voice

logger = logging.getLogger(__name__)

#: An encoded frame, as aiortc senders accept it from a track (generic only for the checker).
if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet


class SharedVp8:
    """VP8 packets of the orb picture, one encode per grid slot, in slot order."""

    def __init__(self, picture: OrbPicture, *, bitrate: int = 300_000,
                 keyframe_interval: float = 3.0) -> None:
        self._picture = picture
        self._bitrate = bitrate
        self._keyframe_every = max(1, round(keyframe_interval / picture.grid.period))
        self._codec: Any = None
        self._cached: tuple[int, Packet | None] | None = None
        self._want_keyframe = True
        self._last_keyframe = -(10**9)
        self.encoded = 0

    def request_keyframe(self) -> None:
        self._want_keyframe = True

    def packet(self, index: int) -> tuple[int, Packet | None]:
        """The encoded picture for slot ``index`` (or the newest one if that is later).

        Encoded inline: at 320x240 with one thread libvpx takes well under a millisecond, less
        than handing the job to a worker thread and back would cost.
        """
        if self._cached is not None and self._cached[0] >= index:
            return self._cached
        slot, frame = self._picture.frame(index)
        keyframe = self._want_keyframe or slot - self._last_keyframe >= self._keyframe_every
        if keyframe:
            self._want_keyframe = False
            self._last_keyframe = slot
        self._cached = (slot, self._encode(frame, keyframe))
        return self._cached

    def _encode(self, frame: av.VideoFrame, keyframe: bool) -> Packet | None:
        if self._codec is None:
            self._codec = _vp8_codec(frame.width, frame.height, self._bitrate,
                                     self._picture.grid.period)
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self._codec.encode(frame)
        self.encoded += 1
        if not packets:
            return None
        packet: Packet = packets[0]
        if len(packets) > 1:  # never seen with lag-in-frames=0; keep the stream whole anyway
            packet = av.Packet(b"".join(bytes(p) for p in packets))
        packet.pts = frame.pts
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return packet


def _vp8_codec(width: int, height: int, bitrate: int, period: float) -> Any:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, VIDEO_CLOCK)
    codec.framerate = fractions.Fraction(round(1 / period))
    codec.gop_size = 10**6  # keyframes only when asked (see SharedVp8)
    codec.qmin, codec.qmax = 2, 56
    # One thread: at 320x240 libvpx's own threading costs far more than it saves.
    codec.thread_count = 1
    # Constrained quality under a bitrate cap: the orb is smooth gradients, so most frames fit
    # one RTP packet (fewer packets is less per-packet work for every peer connection).
    codec.options = {
        "deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
        "static-thresh": "1", "crf": "30", "maxrate": str(bitrate), "bufsize": str(bitrate),
        "noise-sensitivity": "0", "partitions": "0",
    }
    return codec


class SharedOpus:
    """Opus packets of the orb voice, one encode per 20 ms slot (done inline), and none for
    silence once the encoder has shown what silence is.

    An orb is silent most of the time, and libopus encodes every frame of digital silence
    into the very same packet (3 bytes in this mode). So when two silent frames in a row came
    out as the same bytes, later silent frames get those bytes again without an encode (the
    costliest part of a silent orb's voice). The first frame of speech goes to the encoder,
    whose state is the one it had after silence.
    """

    def __init__(self, voice: Voice, *, bitrate: int = 32_000) -> None:
        self._voice = voice
        self._bitrate = bitrate
        self._codec: Any = None
        self._cached: tuple[int, Packet | None] | None = None
        #: The encoder's packet for the latest silent frame, and whether it repeated itself.
        self._silent_bytes: bytes | None = None
        self._silence_known = False
        #: Frames encoded (the rest were silence handed out again).
        self.encoded = 0

    def packet(self, index: int) -> tuple[int, Packet | None]:
        if self._cached is not None and self._cached[0] >= index:
            return self._cached
        slot, frame = self._voice.frame(index)
        silent = self._voice.silent
        packet: Packet | None
        if silent and self._silence_known and self._silent_bytes is not None:
            packet = av.Packet(self._silent_bytes)
        else:
            packet = self._encode(frame, silent)
        if packet is not None:
            packet.pts = frame.pts
            packet.time_base = fractions.Fraction(1, WEBRTC_RATE)
        self._cached = (slot, packet)
        return self._cached

    def _encode(self, frame: av.AudioFrame, silent: bool) -> Packet | None:
        if self._codec is None:
            self._codec = _opus_codec(self._bitrate)
        packets = self._codec.encode(frame)
        self.encoded += 1
        packet: Packet | None = packets[0] if packets else None
        data = bytes(packet) if silent and packet is not None else None
        self._silence_known = data is not None and data == self._silent_bytes
        self._silent_bytes = data
        return packet


def _opus_codec(bitrate: int) -> Any:
    codec = av.CodecContext.create("libopus", "w")
    codec.bit_rate = bitrate
    codec.sample_rate = WEBRTC_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.time_base = fractions.Fraction(1, WEBRTC_RATE)
    # CELT-only low-delay mode at a middling complexity: a fifth of the default's CPU, and
    # plenty for a synthetic voice.
    codec.options = {"application": "lowdelay", "compression_level": "5"}
    return codec


def forward_keyframe_requests(sender: Any, request: Callable[[], None]) -> bool:
    """Make a sender's PLI/FIR (RTCP from its receiver) reach the shared encoder.

    aiortc handles those by calling the sender's ``_send_keyframe``, which only affects its own
    encoder; this wraps that one sender object's method. ``False`` if the hook is missing (the
    periodic keyframe still bounds how long a receiver can be stuck).
    """
    original = getattr(sender, "_send_keyframe", None)
    if not callable(original):
        return False

    def send_keyframe() -> None:
        original()
        request()

    sender._send_keyframe = send_keyframe
    return True


class _SharedPackets(MediaStreamTrack):
    """Hands out a shared encoder's packets on its source's frame grid, one per due frame."""

    def __init__(self, source: OrbPicture | Voice, encoder: SharedVp8 | SharedOpus) -> None:
        super().__init__()
        self._source = source
        self._grid = source.grid
        self._encoder = encoder
        self._last = -1

    async def _next_packet(self) -> Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            index = self._grid.next_index(self._last)
            await self._grid.wait_for(index)
            try:
                self._last, packet = self._encoder.packet(index)
            except Exception as exc:
                raise self._source.failed(exc) from exc
            if packet is not None:
                return packet


class OrbVideoPackets(_SharedPackets):
    """One peer connection's VP8 packets of the orb picture (see :class:`SharedVp8`)."""

    kind = "video"

    def __init__(self, picture: OrbPicture, encoder: SharedVp8) -> None:
        super().__init__(picture, encoder)
        self._vp8 = encoder
        self._synced = False

    async def recv(self) -> Packet:
        if not self._synced:
            self._vp8.request_keyframe()
        while True:
            packet = await self._next_packet()
            # A new receiver cannot decode a delta frame: start it on the next keyframe.
            if self._synced or packet.is_keyframe:
                self._synced = True
                return packet


class OrbAudioPackets(_SharedPackets):
    """One peer connection's Opus packets of the orb voice (see :class:`SharedOpus`)."""

    kind = "audio"

    def __init__(self, voice: Voice, encoder: SharedOpus) -> None:
        super().__init__(voice, encoder)

    async def recv(self) -> Packet:
        return await self._next_packet()

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
from .render import REST_LOOP_SECONDS

logger = logging.getLogger(__name__)

#: An encoded frame, as aiortc senders accept it from a track (generic only for the checker).
if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet


class RestLoop:
    """VP8 packets of the orb's picture at rest, kept to be sent again, shared by every orb.

    At rest (voice level 0) the picture is a function of the status and the slot's place in a
    ``REST_LOOP_SECONDS`` loop (orb_bridge.render), the same for every orb of the process. The
    loop is cut into segments of one keyframe interval, each opening with a keyframe. A
    segment encoded whole at rest (keyframe, then its delta frames, none skipped) decodes on
    its own, whatever came before it: so it is kept, and any orb at rest in that status and
    place of the loop sends those packets again instead of rendering and encoding (about
    1.5 ms a frame, 15 a second per orb). Key: the picture's size, rate, bitrate, status and
    segment; bounded (``max_segments``).
    """

    def __init__(self, max_segments: int = 64) -> None:
        self._segments: dict[tuple[object, ...], list[tuple[bytes, bool]]] = {}
        self._max = max_segments

    def get(self, key: tuple[object, ...]) -> list[tuple[bytes, bool]] | None:
        return self._segments.get(key)

    def keep(self, key: tuple[object, ...], packets: list[tuple[bytes, bool]]) -> None:
        if key in self._segments or len(self._segments) < self._max:
            self._segments[key] = packets


#: The process's loop of packets at rest (every orb of the process shares it).
REST_LOOP = RestLoop()


class SharedVp8:
    """VP8 packets of the orb picture, one encode per grid slot, in slot order; at rest, the
    packets of a :class:`RestLoop` segment whenever one is kept for this status and place.

    Keyframes come at slots that are multiples of the keyframe interval (and when asked for),
    so that segments line up with the rest loop. Going from kept packets back to the live
    encoder forces a keyframe: the receivers' references are the kept stream's, not the
    encoder's.
    """

    def __init__(self, picture: OrbPicture, *, bitrate: int = 300_000,
                 keyframe_interval: float = 3.0, rest_loop: RestLoop | None = REST_LOOP
                 ) -> None:
        self._picture = picture
        self._bitrate = bitrate
        self._keyframe_every = max(1, round(keyframe_interval / picture.grid.period))
        loop_slots = round(REST_LOOP_SECONDS / picture.grid.period)
        exact = abs(loop_slots * picture.grid.period - REST_LOOP_SECONDS) < 1e-9
        #: Slots in the rest loop; 0 when the loop does not fall on whole segments.
        self._loop_slots = loop_slots if exact and loop_slots % self._keyframe_every == 0 \
            else 0
        self._rest_loop = rest_loop if self._loop_slots else None
        self._codec: Any = None
        self._cached: tuple[int, Packet | None] | None = None
        self._want_keyframe = True
        #: The live encoder's next frame must be a keyframe (kept packets were sent since).
        self._resync = False
        #: The segment being sent from the rest loop (key), or ``None``: encoding live.
        self._replaying: tuple[object, ...] | None = None
        #: The segment being recorded while encoding live at rest: key, packets, last slot.
        self._recording: tuple[tuple[object, ...], list[tuple[bytes, bool]], int] | None = None
        self.encoded = 0
        #: Slots sent from the rest loop.
        self.reused = 0

    def request_keyframe(self) -> None:
        self._want_keyframe = True

    def packet(self, index: int) -> tuple[int, Packet | None]:
        """The encoded picture for slot ``index`` (or the newest one if that is later).

        Encoded inline: at 320x240 with one thread libvpx takes well under a millisecond, less
        than handing the job to a worker thread and back would cost.
        """
        if self._cached is not None and self._cached[0] >= index:
            return self._cached
        reused = self._from_rest_loop(index)
        if reused is not None:
            self._picture.skip(index)
            self._cached = (index, reused)
            self.reused += 1
            return self._cached
        slot, frame = self._picture.frame(index)
        keyframe = self._want_keyframe or self._resync or slot % self._keyframe_every == 0
        self._want_keyframe = self._resync = False
        packet = self._encode(frame, keyframe)
        self._record(slot, packet)
        self._cached = (slot, packet)
        return self._cached

    def _segment_key(self, index: int) -> tuple[tuple[object, ...], int] | None:
        """The rest loop's key for slot ``index`` and its place in the segment, or ``None``
        if the picture is not at rest."""
        if self._rest_loop is None:
            return None
        status, level = self._picture.look()
        if level != 0.0:
            return None
        phase = index % self._loop_slots
        key = (self._picture.size, self._picture.grid.period, self._bitrate, status,
               phase // self._keyframe_every)
        return key, phase % self._keyframe_every

    def _from_rest_loop(self, index: int) -> Packet | None:
        """A kept packet for slot ``index`` if the stream can go on (or start) with it."""
        found = self._segment_key(index)
        if found is None or self._rest_loop is None:
            self._replaying = None
            return None
        key, place = found
        if place == 0:  # a segment opens with a keyframe: any receiver can start there
            self._replaying = key if self._rest_loop.get(key) is not None else None
        elif self._replaying != key or self._want_keyframe:
            self._replaying = None
        if self._replaying is None:
            return None
        segment = self._rest_loop.get(key)
        assert segment is not None
        self._recording = None
        self._resync = True  # for when the live encoder takes over again
        data, keyframe = segment[place]
        if keyframe:
            self._want_keyframe = False
        packet = av.Packet(data)
        packet.is_keyframe = keyframe
        packet.pts = index * round(VIDEO_CLOCK * self._picture.grid.period)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return packet

    def _record(self, slot: int, packet: Packet | None) -> None:
        """Keep the live packets of a whole segment encoded at rest in the rest loop."""
        found = self._segment_key(slot)
        if found is None or packet is None or self._rest_loop is None:
            self._recording = None
            return
        key, place = found
        entry = (bytes(packet), bool(packet.is_keyframe))
        if place == 0:
            self._recording = (key, [entry], slot) if packet.is_keyframe else None
        elif self._recording is not None:
            rec_key, packets, last = self._recording
            if rec_key != key or last != slot - 1 or packet.is_keyframe:
                self._recording = None
                return
            packets.append(entry)
            self._recording = (key, packets, slot)
        if self._recording is not None and len(self._recording[1]) == self._keyframe_every:
            self._rest_loop.keep(key, self._recording[1])
            self._recording = None

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


#: Silent 20 ms slots still sent in full after the voice goes quiet, before DTX begins (as
#: libopus's own DTX waits 200 ms): the receivers' jitter buffers (aiortc's holds 4 frames
#: back) flush the end of the speech with these, not with packets 400 ms apart.
DTX_HANGOVER_SLOTS = 10
#: Slots sent in full at the stream's start (1 s), so a new receiver locks on at once.
DTX_START_SLOTS = 50
#: In DTX, one packet every this many slots (400 ms, libopus's and WebRTC's cadence): the
#: receivers' clocks, statistics and stall meters see a live stream.
DTX_KEEPALIVE_SLOTS = 20


class SharedOpus:
    """Opus packets of the orb voice, one encode per 20 ms slot (done inline), and none for
    silence once the encoder has shown what silence is; with ``dtx``, no packet for most
    silent slots.

    An orb is silent most of the time, and libopus encodes every frame of digital silence
    into the very same packet (3 bytes in this mode). So when two silent frames in a row came
    out as the same bytes, later silent frames get those bytes again without an encode (the
    costliest part of a silent orb's voice). The first frame of speech goes to the encoder,
    whose state is the one it had after silence.

    DTX (discontinuous transmission, RFC 7587 section 3.1.3; what browsers do with
    ``usedtx``): after ``DTX_HANGOVER_SLOTS`` silent slots, the orb sends a packet only every
    ``DTX_KEEPALIVE_SLOTS`` slots, and that packet is Opus's DTX frame, the table-of-contents
    byte alone (a 0-byte frame: a decoder conceals it, here as silence; WebRTC's receiver
    takes a packet of at most 2 bytes as DTX and plays comfort noise, not loss concealment).
    RTP timestamps come from the slots (the packets' pts), so they jump over the untransmitted
    slots while sequence numbers stay consecutive, which is how a receiver tells DTX from
    loss. Per human that is 2.5 packets a second of a silent orb instead of 50, each one of
    which costs the orb's loop (RTP, SRTP, a socket send) and the receiver (a decode).
    """

    def __init__(self, voice: Voice, *, bitrate: int = 32_000, dtx: bool = True) -> None:
        self._voice = voice
        self._bitrate = bitrate
        self._dtx = dtx
        #: Silent slots up to this one are sent in full (``None``: no slot made yet).
        self._full_until: int | None = None
        #: The latest slot for which a packet was handed out, and whether it was a DTX frame.
        self._last_sent = -(10**9)
        self._last_was_dtx = False
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
        if self._full_until is None:
            self._full_until = slot + DTX_START_SLOTS - 1
        if not silent:
            self._full_until = max(self._full_until, slot + DTX_HANGOVER_SLOTS)
        packet: Packet | None
        if silent and self._silence_known and self._silent_bytes is not None:
            packet = self._silence(slot, self._silent_bytes)
        else:
            packet = self._encode(frame, silent)
        if packet is not None:
            packet.pts = frame.pts
            packet.time_base = fractions.Fraction(1, WEBRTC_RATE)
            self._last_sent = slot
            self._last_was_dtx = packet.size == 1
        self._cached = (slot, packet)
        return self._cached

    def _silence(self, slot: int, silent_bytes: bytes) -> Packet | None:
        """The packet for a silent ``slot``: the encoder's silence, a DTX frame, or none."""
        assert self._full_until is not None
        if not self._dtx or slot <= self._full_until:
            return av.Packet(silent_bytes)
        if not self._last_was_dtx or slot - self._last_sent >= DTX_KEEPALIVE_SLOTS:
            return av.Packet(silent_bytes[:1])  # the TOC byte alone: a DTX frame
        return None

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

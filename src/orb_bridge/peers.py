"""One human, one RTCPeerConnection: the orb answers, never offers.

A :class:`HumanPeer` turns the human's ``offer`` into an ``answer`` carrying the orb's own video
and audio tracks (aiortc puts all of its ICE candidates into that SDP), applies the human's
trickled candidates (buffered, bounded, until the offer has been applied; ``null`` or an empty
``candidate`` means end-of-candidates), starts an :class:`~orb_bridge.hearing.Ear` on the human's
audio, and takes none of the human's video: the orb sends its picture and looks at none, so
its answer makes the video ``sendonly`` and no browser encodes or sends a camera stream to it.

Bad input from a peer (unparsable SDP or candidate) is the peer's problem: it is logged and that
peer's connection is dropped; it never ends the orb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import attrs
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from signaling_core.wire import SDP_OFFER, WebRtcField

from ._config import OrbConfig
from .audio_in import decode_inline, hear_promptly
from .encoding import (
    OrbAudioPackets,
    OrbVideoPackets,
    SharedOpus,
    SharedVp8,
    forward_keyframe_requests,
)
from .hearing import Ear, TurnDetector, TurnEvent
from .media_out import OrbAudioTrack, OrbPicture, OrbVideoTrack, Voice

logger = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]

#: What aiortc raises for SDP or candidates it cannot use.
PEER_ERRORS = (ValueError, TypeError, KeyError, IndexError, AssertionError,
               InvalidAccessError, InvalidStateError, InternalError)
#: How the orb answers a human's video m-line: it sends its picture and takes none.
VIDEO_DIRECTION = "sendonly"


@attrs.frozen
class OrbMedia:
    """What one orb sends, shared by all of its peer connections."""

    picture: OrbPicture
    voice: Voice
    #: Shared encoders; ``None`` makes every peer connection encode for itself.
    vp8: SharedVp8 | None = None
    opus: SharedOpus | None = None


_LIVE_PCS: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()


def open_peer_connections() -> int:
    """Peer connections of this process not yet closed (leak checks in tests and metrics)."""
    return sum(1 for pc in list(_LIVE_PCS) if pc.connectionState != "closed")


def _negotiated(transceiver: Any) -> str:
    """MIME type of the codec aiortc will send on ``transceiver`` ("" if it cannot tell)."""
    codecs = getattr(transceiver, "_codecs", None) or []
    return str(getattr(codecs[0], "mimeType", "")).lower() if codecs else ""


def decoder_running(receiver: RTCRtpReceiver) -> bool | None:
    """Whether aiortc's decoder thread runs for ``receiver`` (``None``: cannot tell)."""
    missing = object()
    thread = getattr(receiver, "_RTCRtpReceiver__decoder_thread", missing)
    if thread is missing:
        return None
    return thread is not None


def queued_frames(track: MediaStreamTrack | None) -> int:
    """Decoded frames waiting in a remote track's receive queue (0 if unknown)."""
    queue = getattr(track, "_queue", None)
    size = getattr(queue, "qsize", None)
    return int(size()) if callable(size) else 0


class EndOfCandidates:
    """The remote peer has no more candidates (``candidate`` null or empty)."""


END_OF_CANDIDATES = EndOfCandidates()


def parse_candidate(value: object) -> RTCIceCandidate | EndOfCandidates:
    """A browser ``RTCIceCandidateInit`` (or its bare string) as an aiortc candidate.

    Raises ``ValueError`` for anything that is not a candidate.
    """
    mid: object = None
    index: object = 0
    if value is None:
        return END_OF_CANDIDATES
    if isinstance(value, dict):
        line = value.get(WebRtcField.CANDIDATE)
        mid = value.get(WebRtcField.SDP_MID)
        index = value.get(WebRtcField.SDP_M_LINE_INDEX)
    else:
        line = value
    if line is None or line == "":
        return END_OF_CANDIDATES
    if not isinstance(line, str):
        raise ValueError("candidate must be a string")
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    if len(line.split()) < 8:
        raise ValueError("malformed candidate")
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, IndexError) as exc:
        raise ValueError("malformed candidate") from exc
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0
    return candidate


def rtc_ice_servers(specs: Sequence[Mapping[str, Any]]) -> list[RTCIceServer]:
    """aiortc's ``RTCIceServer`` list from ``iceServers`` entries as browsers get them
    (``/api/turn-credentials``): ``urls`` (a string or a list), optional ``username`` and
    ``credential``. Entries without a usable ``urls`` are skipped, not fatal."""
    servers: list[RTCIceServer] = []
    for spec in specs:
        urls = spec.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            logger.warning("ignoring an ICE server without urls: %r", spec)
            continue
        username, credential = spec.get("username"), spec.get("credential")
        servers.append(RTCIceServer(
            urls=list(urls), username=username if isinstance(username, str) else None,
            credential=credential if isinstance(credential, str) else None))
    return servers


class HumanPeer:
    """The orb's peer connection to one human, rebuilt when that human comes back."""

    def __init__(
        self,
        user_id: str,
        role: str,
        *,
        config: OrbConfig,
        media: OrbMedia,
        spawn: Spawn,
        on_turn: Callable[[TurnEvent], None],
        on_hearing: Callable[[], None],
        ice_servers: Sequence[RTCIceServer] = (),
        detector: TurnDetector | None = None,
    ) -> None:
        self.user_id = user_id
        #: STUN/TURN for this human's connection: the same the browsers get.
        self.ice_servers = list(ice_servers)
        self.role = role
        self._cfg = config
        self._media = media
        self._spawn = spawn
        self._on_turn = on_turn
        self._on_hearing = on_hearing
        self.pc: RTCPeerConnection | None = None
        self.detector = detector or TurnDetector(user_id, role, config)
        self.ear: Ear | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: deque[RTCIceCandidate | EndOfCandidates] = deque(
            maxlen=config.max_pending_candidates)
        self.negotiations = 0
        #: The ``linkId`` of the offer that made ``pc`` (docs/protocol.md, "Links"); an offer
        #: with another one starts a new link, which gets a new connection.
        self.link_id: str | None = None

    @property
    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    async def answer(self, offer: object) -> dict[str, str]:
        """Apply the human's offer and return our answer (``{"type", "sdp"}``)."""
        if not isinstance(offer, dict) or offer.get(WebRtcField.SDP_TYPE, SDP_OFFER) != SDP_OFFER \
                or not isinstance(offer.get(WebRtcField.SDP), str):
            raise ValueError("offer must be an object with an SDP string")
        if self.pc is not None and (self.pc.signalingState != "stable"
                                    or self.pc.connectionState in ("failed", "closed")):
            await self.close()
        if self.pc is None:
            self.pc = self._new_pc()
        pc = self.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer[WebRtcField.SDP],
                                                            type=SDP_OFFER))
        self._attach_media(pc)
        while self._pending:
            await self._apply(self._pending.popleft())
        await pc.setLocalDescription(await pc.createAnswer())
        self.negotiations += 1
        local = pc.localDescription
        return {WebRtcField.SDP_TYPE: local.type, WebRtcField.SDP: local.sdp}

    async def add_candidate(self, value: object) -> None:
        candidate = parse_candidate(value)
        if self.pc is None or self.pc.remoteDescription is None:
            self._pending.append(candidate)
            return
        await self._apply(candidate)

    async def close(self) -> None:
        """Drop the peer connection and its tasks (bounded); the peer may offer again later."""
        pc, self.pc = self.pc, None
        tasks, self._tasks = self._tasks, []
        self._pending.clear()
        for task in tasks:
            task.cancel()
        if pc is not None:
            # aiortc's close can fail late ("invalid state" when its own teardown closed the
            # connection first, as at a server's shutdown): the outcome is read here, whenever
            # it comes, so it never reaches the log as "Task exception was never retrieved".
            closing = asyncio.ensure_future(pc.close())
            closing.add_done_callback(self._closed)
            done, _ = await asyncio.wait({closing}, timeout=self._cfg.pc_close_timeout)
            if not done:
                logger.warning("closing the peer connection to %s timed out", self.user_id)
        if tasks:
            await asyncio.wait(tasks, timeout=self._cfg.pc_close_timeout)
        self.ear = None

    def _closed(self, closing: asyncio.Future[None]) -> None:
        if not closing.cancelled() and closing.exception() is not None:
            logger.debug("closing the peer connection to %s: %r", self.user_id,
                         closing.exception())

    def stats(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "connection": self.pc.connectionState if self.pc is not None else "none",
            "levelDbfs": round(self.detector.level_dbfs, 1),
            "peakDbfs": round(self.detector.peak_dbfs, 1),
            "speaking": self.detector.speaking,
            "utterances": self.detector.utterances,
            "audioFrames": self.ear.frames if self.ear is not None else 0,
        }

    async def media_report(self) -> dict[str, Any]:
        """Per kind: RTP packets received, whether aiortc decodes, frames left queued."""
        report: dict[str, Any] = {}
        if self.pc is None:
            return report
        for transceiver in self.pc.getTransceivers():
            receiver = transceiver.receiver
            stats = await receiver.getStats()
            packets = sum(getattr(s, "packetsReceived", 0) or 0 for s in stats.values()
                          if getattr(s, "type", "") == "inbound-rtp")
            report[transceiver.kind] = {
                "packetsReceived": packets,
                "decoding": decoder_running(receiver),
                "queuedFrames": queued_frames(receiver.track),
            }
        return report

    # ---------------------------------------------------------------- internals
    def _new_pc(self) -> RTCPeerConnection:
        policy = (RTCIceTransportPolicy.RELAY if self._cfg.ice_relay_only
                  else RTCIceTransportPolicy.ALL)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers),
                                                iceTransportPolicy=policy))
        _LIVE_PCS.add(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._start_ear(track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            logger.info("orb <-> %s: %s", self.user_id, pc.connectionState)

        return pc

    def _attach_media(self, pc: RTCPeerConnection) -> None:
        """Our tracks go on the transceivers the offer created (never new m-lines)."""
        kinds_with_track = {t.kind for t in pc.getTransceivers() if t.sender.track is not None}
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio":
                hear_promptly(transceiver.receiver)
                if not decode_inline(transceiver.receiver):
                    logger.warning("aiortc lacks the decoder queue; its thread decodes %s's "
                                   "audio", self.user_id)
            if transceiver.kind == "video":
                # The orb sends its picture and looks at none: answered ``sendonly``, the
                # human's side becomes ``recvonly``, so no browser encodes, and no orb
                # receives, a camera stream for nothing (and aiortc starts no receiver).
                transceiver.direction = VIDEO_DIRECTION
        for transceiver in pc.getTransceivers():
            kind = transceiver.kind
            if kind in kinds_with_track or transceiver.sender.track is not None:
                continue
            track, keyframes = self._track_for(kind, _negotiated(transceiver))
            sender = pc.addTrack(track)
            if keyframes is not None:
                forward_keyframe_requests(sender, keyframes)
            kinds_with_track.add(kind)

    def _track_for(self, kind: str, codec: str
                   ) -> tuple[MediaStreamTrack, Callable[[], None] | None]:
        """Shared encoded packets when the peer negotiated VP8/Opus, else shared frames."""
        media = self._media
        if kind == "video":
            if media.vp8 is not None and codec == "video/vp8":
                return OrbVideoPackets(media.picture, media.vp8), media.vp8.request_keyframe
            return OrbVideoTrack(media.picture), None
        if media.opus is not None and codec == "audio/opus":
            return OrbAudioPackets(media.voice, media.opus), None
        return OrbAudioTrack(media.voice), None

    def _start_ear(self, track: MediaStreamTrack) -> None:
        if self.ear is not None:
            return
        self.ear = Ear(track, self.detector, self._on_turn)
        self._on_hearing()
        self._own(self.ear.run(), f"ear-{self.user_id}")

    def _own(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(self._spawn(coro, name))

    async def _apply(self, candidate: RTCIceCandidate | EndOfCandidates) -> None:
        assert self.pc is not None
        if isinstance(candidate, EndOfCandidates):
            # Browsers may say it twice (``null`` and ``""``), or the SDP already did.
            with contextlib.suppress(ValueError):
                await self.pc.addIceCandidate(None)
            return
        await self.pc.addIceCandidate(candidate)

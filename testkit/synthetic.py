"""Synthetic humans: real aiortc peers that join a room over WebSocket, for tests and benches.

A :class:`SyntheticHuman` speaks docs/protocol.md like a browser would: it joins, follows the
server's ``shouldCreateOffer`` for every pair, sends its offers with ``toId``, trickles its ICE
candidates separately (stripped from the SDP, then end-of-candidates, as browsers do), and sends
a synthetic camera and a synthetic voice whose speech-like bursts are switched on with
:meth:`SyntheticHuman.say`. It records what it gets from each peer: decoded video frames (count,
size, timing) and the loudness of the audio, plus every ``ai_status`` and ``user-left``.

Test tooling only, outside the shipped packages (``tests/orb`` and the orb benches use it); the
orb itself never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import orjson
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from websockets.asyncio.client import ClientConnection, connect

from orb_bridge.hearing import dbfs
from orb_bridge.peers import parse_candidate
from orb_bridge.video_in import receive_without_decoding
from signaling_core import join_message

logger = logging.getLogger(__name__)

RATE = 48_000
FRAME = 960


class Mouth:
    """When a human speaks, shared by the voice tracks of all its peer connections."""

    def __init__(self, level_dbfs: float = -16.0) -> None:
        self._speak_until = 0.0
        t = np.arange(int(0.32 * RATE)) / RATE
        voiced = np.zeros_like(t)
        for harmonic, weight in ((1, 1.0), (2, 0.6), (3, 0.4), (5, 0.25)):
            voiced += weight * np.sin(2 * np.pi * 130.0 * harmonic * t)
        # A 220 ms syllable then a 100 ms gap: speech-like bursts, gaps shorter than a pause.
        envelope = np.where(t < 0.22, np.sin(np.pi * np.minimum(t, 0.22) / 0.22) ** 0.5, 0.0)
        peak = 32767 * 10 ** (level_dbfs / 20) * math.sqrt(2)
        self.syllable = (peak * envelope * voiced / np.max(np.abs(voiced))).astype(np.int16)
        rng = np.random.default_rng(7)
        self.floor = (rng.standard_normal(FRAME * 50) * 3).astype(np.int16)  # about -80 dBFS
        self._clip: npt.NDArray[np.int16] | None = None
        self._clip_pos = 0
        self.clip_ended_at: float | None = None

    def say(self, seconds: float) -> None:
        self._speak_until = time.monotonic() + seconds

    def play(self, pcm: npt.NDArray[np.int16]) -> None:
        """Say real audio once (48 kHz mono int16, e.g. an espeak-ng sentence)."""
        self._clip = pcm.astype(np.int16)
        self._clip_pos = 0
        self.clip_ended_at = None

    def clip_frame(self) -> npt.NDArray[np.int16] | None:
        """The next 20 ms of the clip being played, or None."""
        clip = self._clip
        if clip is None:
            return None
        frame = np.zeros(FRAME, dtype=np.int16)
        part = clip[self._clip_pos : self._clip_pos + FRAME]
        frame[: len(part)] = part
        self._clip_pos += FRAME
        if self._clip_pos >= len(clip):
            self._clip = None
            #: When the clip's last sample went out (``time.monotonic()``).
            self.clip_ended_at = time.monotonic()
        return frame

    def hush(self) -> None:
        self._speak_until = 0.0
        self._clip = None

    @property
    def speaking(self) -> bool:
        return time.monotonic() < self._speak_until


class SyntheticVoice(MediaStreamTrack):
    """20 ms mono frames: a faint noise floor, or the mouth's voiced bursts while speaking."""

    kind = "audio"

    def __init__(self, mouth: Mouth) -> None:
        super().__init__()
        self._mouth = mouth
        self._start = time.monotonic()
        self._index = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        due = self._start + self._index * FRAME / RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.2:  # fell far behind (a busy loop): skip ahead rather than burst
            self._index = int((time.monotonic() - self._start) * RATE / FRAME)
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

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        due = self._start + self._index / self._fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame.from_ndarray(self._frames[self._index % 8], format="yuv420p")
        frame.pts = round(self._index * 90_000 / self._fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._index += 1
        return frame


class PeerMedia:
    """What one human receives from one peer."""

    def __init__(self) -> None:
        self.video_frames = 0
        self.video_size: tuple[int, int] | None = None
        self.first_video_at: float | None = None
        self.video_times: deque[float] = deque(maxlen=600)
        self.audio_frames = 0
        self.audio_levels: deque[tuple[float, float]] = deque(maxlen=3000)

    def video_fps(self, window: float = 3.0) -> float:
        now = time.monotonic()
        recent = [t for t in self.video_times if t >= now - window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])

    def loudest_since(self, since: float) -> float:
        levels = [level for t, level in self.audio_levels if t >= since]
        return max(levels, default=-100.0)


class SyntheticHuman:
    """A coach or client made of aiortc: joins over WebSocket and meshes with every peer."""

    def __init__(
        self,
        url: str,
        room_id: str,
        user_id: str,
        role: str,
        *,
        camera: tuple[int, int, float] | None = (160, 120, 10.0),
        mesh_with_humans: bool = True,
        trickle: bool = True,
        decode_video: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.room_id = room_id
        self.user_id = user_id
        self.role = role
        self._camera_spec = camera
        self._mesh_with_humans = mesh_with_humans
        self._trickle = trickle
        self._decode_video = decode_video
        self.mouth = Mouth()
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.media: dict[str, PeerMedia] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.statuses: list[tuple[float, str, str]] = []  # (time, fromId, status)
        self.messages: list[dict[str, Any]] = []
        self.joined_at: float | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._ws = await connect(f"{self.url}/ws-simple/{self.room_id}", max_size=2**20)
        self.joined_at = time.monotonic()
        await self._send(join_message(self.room_id, self.user_id, self.role,
                                      user_name=self.user_id, participant_type="human"))
        self._own(self._read(), "reader")

    async def close(self) -> None:
        # Peer connections first: closing them ends their tracks, so the consumer tasks finish
        # on their own and aiortc's own close does not race a cancelled one.
        pcs, self.pcs = list(self.pcs.values()), {}
        await asyncio.gather(*(asyncio.wait_for(pc.close(), 5) for pc in pcs),
                             return_exceptions=True)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def send(self, message: dict[str, Any]) -> None:
        await self._send(message)

    def say(self, seconds: float) -> None:
        self.mouth.say(seconds)

    def play(self, pcm: npt.NDArray[np.int16]) -> None:
        """Speak real audio (48 kHz mono int16) into every peer connection, once."""
        self.mouth.play(pcm)

    def transcripts(self) -> list[dict[str, Any]]:
        """The ``ai_transcript`` messages received so far."""
        return [m for m in self.messages if m.get("type") == "ai_transcript"]

    # ---------------------------------------------------------------- observations
    def orb_id(self) -> str | None:
        for uid, p in self.participants.items():
            if p.get("participantType") == "ai":
                return uid
        return None

    def statuses_since(self, since: float) -> list[str]:
        return [s for t, _, s in self.statuses if t >= since]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float,
                         what: str = "condition") -> None:
        async def poll() -> None:
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)
        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.user_id}: timed out after {timeout}s waiting for "
                                 f"{what}") from None

    # ---------------------------------------------------------------- signaling
    async def _send(self, message: dict[str, object]) -> None:
        assert self._ws is not None
        await self._ws.send(orjson.dumps(message).decode())

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            msg = orjson.loads(raw)
            self.messages.append(msg)
            del self.messages[:-500]
            await self._dispatch(msg)
            self._changed.set()

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "peer-discovery":
            for peer in msg["peers"]:
                self.participants[peer["userId"]] = peer
                if peer.get("shouldCreateOffer"):
                    await self._offer_to(peer)
        elif kind == "user-joined":
            self.participants[msg["userId"]] = msg
            if msg.get("shouldCreateOffer"):
                await self._offer_to(msg)
        elif kind == "user-left":
            self.participants.pop(msg["userId"], None)
            pc = self.pcs.pop(msg["userId"], None)
            if pc is not None:
                await pc.close()
        elif kind == "offer":
            await self._answer(msg)
        elif kind == "answer":
            pc = self.pcs.get(msg["fromId"])
            if pc is not None:
                await pc.setRemoteDescription(RTCSessionDescription(**msg["answer"]))
        elif kind == "ice-candidate":
            pc = self.pcs.get(msg["fromId"])
            if pc is not None:
                cand = parse_candidate(msg.get("candidate"))
                if isinstance(cand, RTCIceCandidate):
                    await pc.addIceCandidate(cand)
        elif kind == "ai_status":
            self.statuses.append((time.monotonic(), str(msg.get("fromId", "")),
                                  str(msg.get("status"))))

    def _wants(self, peer: dict[str, Any]) -> bool:
        return peer.get("participantType") == "ai" or self._mesh_with_humans

    def _new_pc(self, peer_id: str) -> RTCPeerConnection:
        old = self.pcs.pop(peer_id, None)
        if old is not None:
            self._own(old.close(), "close-old")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[peer_id] = pc
        media = self.media[peer_id] = PeerMedia()
        pc.addTrack(SyntheticVoice(self.mouth))
        if self._camera_spec is not None:
            pc.addTrack(SyntheticCamera(*self._camera_spec))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._own(self._consume(track, media), f"consume-{peer_id}-{track.kind}")

        return pc

    async def _offer_to(self, peer: dict[str, Any]) -> None:
        if not self._wants(peer):
            return
        peer_id = peer["userId"]
        pc = self._new_pc(peer_id)
        await pc.setLocalDescription(await pc.createOffer())
        await self._send_description(pc, "offer", peer_id)

    async def _answer(self, msg: dict[str, Any]) -> None:
        peer_id = msg["fromId"]
        pc = self._new_pc(peer_id)
        await pc.setRemoteDescription(RTCSessionDescription(**msg["offer"]))
        if not self._decode_video:
            for t in pc.getTransceivers():
                if t.kind == "video":
                    receive_without_decoding(t.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_description(pc, "answer", peer_id)

    async def _send_description(self, pc: RTCPeerConnection, kind: str, peer_id: str) -> None:
        sdp = pc.localDescription.sdp
        if not self._trickle:
            await self._send({"type": kind, kind: {"type": kind, "sdp": sdp}, "toId": peer_id})
            return
        lines = sdp.split("\r\n")
        kept, candidates, mid_index = [], [], -1
        mid: str | None = None
        for line in lines:
            if line.startswith("m="):
                mid_index += 1
                mid = None
            elif line.startswith("a=mid:"):
                mid = line[6:]
            if line.startswith("a=candidate:"):
                candidates.append({"candidate": line[2:], "sdpMid": mid,
                                   "sdpMLineIndex": mid_index})
                continue
            if line == "a=end-of-candidates":
                continue
            kept.append(line)
        await self._send({"type": kind, kind: {"type": kind, "sdp": "\r\n".join(kept)},
                          "toId": peer_id})
        seen = set()
        for cand in candidates:
            if cand["candidate"] in seen:  # bundled m-lines repeat the same candidates
                continue
            seen.add(cand["candidate"])
            await self._send({"type": "ice-candidate", "candidate": cand, "toId": peer_id})
        # End-of-candidates, both ways browsers have said it.
        await self._send({"type": "ice-candidate", "candidate": {"candidate": "",
                          "sdpMid": "0", "sdpMLineIndex": 0}, "toId": peer_id})
        await self._send({"type": "ice-candidate", "candidate": None, "toId": peer_id})

    async def _consume(self, track: MediaStreamTrack, media: PeerMedia) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if isinstance(frame, av.VideoFrame):
                media.video_frames += 1
                media.video_size = (frame.width, frame.height)
                media.video_times.append(now)
                if media.first_video_at is None:
                    media.first_video_at = now
                    self._changed.set()
            elif isinstance(frame, av.AudioFrame):
                media.audio_frames += 1
                samples = frame.to_ndarray().astype(np.float32)
                media.audio_levels.append((now, dbfs(samples)))

    def _own(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.user_id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("synthetic human %s: task %s failed", self.user_id, task.get_name(),
                         exc_info=task.exception())

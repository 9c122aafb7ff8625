"""Synthetic humans: real aiortc peers that join a room over WebSocket, for tests and benches.

A :class:`SyntheticHuman` speaks docs/protocol.md like a browser would: it joins, follows the
server's ``shouldCreateOffer`` for every pair, sends its offers with ``toId`` and a ``linkId``,
trickles its ICE candidates separately (stripped from the SDP, then end-of-candidates, as
browsers do), and sends a synthetic camera and a synthetic voice whose speech-like bursts are
switched on with :meth:`SyntheticHuman.say`. It records what it gets from each peer
(:class:`~testkit.synthetic_media.PeerMedia`: decoded video frames, the loudness of the audio,
a stall meter), plus every ``ai_status`` and ``user-left``.

With ``resume=True`` it also outlives its signaling connection the way the browser client does
(src/trio_server/static/tri-party.js; docs/protocol.md, "Away and resume" and "Links: keep,
repair, rebuild"): on a lost socket it reconnects at once (100-300 ms with jitter, then a
bounded backoff, for a bounded time) and rejoins with its ``resumeToken``; a fresh
``peer-discovery`` after a server or node loss is a reunion, so a link that is still
``connected`` is kept (the same ``RTCPeerConnection`` goes on carrying the media), and one that
is not is rebuilt (aiortc cannot restart ICE). Every loss is recorded (:attr:`losses`).

Test tooling only, outside the shipped packages (``tests/orb``, ``tests/cluster`` and the orb
benches use it); the orb itself never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from orb_bridge.peers import parse_candidate
from signaling_core import join_message
from testkit.pre_encoded import PreEncodedCamera, PreEncodedVoice
from testkit.reconnect import TERMINAL_CLOSE_CODES, Loss, retry_delay
from testkit.synthetic_media import (
    FRAME,
    RATE,
    Mouth,
    PeerMedia,
    SyntheticCamera,
    SyntheticVoice,
    split_candidates,
)
from testkit.video_in import receive_without_decoding

__all__ = ["FRAME", "RATE", "Loss", "Mouth", "PeerMedia", "SyntheticCamera", "SyntheticHuman",
           "SyntheticVoice"]

logger = logging.getLogger(__name__)

LINK_STATE = "link-state"


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
        voice: bool = True,
        mesh_with_humans: bool = True,
        trickle: bool = True,
        decode_video: bool = True,
        resume: bool = False,
        resume_for: float = 30.0,
        reunion: float = 10.0,
        echo_db: float | None = None,
        pre_encoded: bool = False,
    ) -> None:
        """``resume``: survive a lost signaling connection like the browser client (module
        docstring), reconnecting for at most ``resume_for`` seconds; ``reunion``: how long a
        link to a peer that a fresh ``peer-discovery`` does not list waits for it (the grace).
        ``pre_encoded``: send voice and camera encoded ahead of time (testkit.pre_encoded: for
        load benchmarks, where live encoding would take the measured machine's CPU)."""
        self.url = url.rstrip("/")
        self.room_id = room_id
        self.user_id = user_id
        self.role = role
        self._camera_spec = camera
        self._voice = voice
        self._pre_encoded = pre_encoded
        self._mesh_with_humans = mesh_with_humans
        self._trickle = trickle
        self._decode_video = decode_video
        self._resume = resume
        self._resume_for = resume_for
        self._reunion = reunion
        self.mouth = Mouth()
        #: ``echo_db``: the orb's voice comes back into this microphone that much down.
        self.mouth.echo_gain = None if echo_db is None else 10 ** (echo_db / 20)
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.media: dict[str, PeerMedia] = {}
        #: Per peer: the current link's id, and whether this side offers on it.
        self.link_ids: dict[str, str | None] = {}
        self._offerer: dict[str, bool] = {}
        self._answered: set[str] = set()
        self._away: set[str] = set()
        self._seen_in: dict[str, int] = {}
        #: (time, peer, connectionState) of every link's state change, for failure messages.
        self.link_events: list[tuple[float, str, str]] = []
        self._discoveries = 0
        self.participants: dict[str, dict[str, Any]] = {}
        self.statuses: list[tuple[float, str, str]] = []  # (time, fromId, status)
        self.messages: list[dict[str, Any]] = []
        self.joined_at: float | None = None
        self.resume_token: str | None = None
        self.losses: list[Loss] = []
        self._closing = False
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._ws = await connect(self._room_url(), max_size=2**20, open_timeout=10)
        self.joined_at = time.monotonic()
        await self._send_join()
        self._own(self._signaling(), "signaling")

    async def close(self) -> None:
        self._closing = True
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

    def start_measuring(self) -> None:
        """Start the stall meter of every peer's media (:meth:`PeerMedia.longest_stall`)."""
        for media in self.media.values():
            media.start_measuring()

    # ---------------------------------------------------------------- observations
    def orb_id(self) -> str | None:
        for uid, p in self.participants.items():
            if p.get("participantType") == "ai":
                return uid
        return None

    @property
    def connected(self) -> bool:
        """Joined on an open signaling connection (not between a loss and the rejoin)."""
        return self._ws is not None and not self._ws.close_code and \
            (not self.losses or self.losses[-1].rejoined_at is not None)

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

    # ---------------------------------------------------------------- signaling connection
    def _room_url(self) -> str:
        return f"{self.url}/ws-simple/{self.room_id}"

    async def _send_join(self) -> None:
        await self._send(join_message(
            self.room_id, self.user_id, self.role, user_name=self.user_id,
            participant_type="human", resume_token=self.resume_token if self._resume else None))

    async def _send(self, message: dict[str, object]) -> None:
        assert self._ws is not None
        await self._ws.send(orjson.dumps(message).decode())

    async def _signaling(self) -> None:
        """Read until the socket is lost; with ``resume``, reconnect and read on."""
        while True:
            ws = self._ws
            assert ws is not None
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    msg = orjson.loads(raw)
                    self.messages.append(msg)
                    del self.messages[:-500]
                    await self._dispatch(msg)
                    self._changed.set()
            if self._closing or not self._resume or ws.close_code in TERMINAL_CLOSE_CODES:
                return
            loss = Loss(time.monotonic(), ws.close_code)
            self.losses.append(loss)
            self._changed.set()
            if not await self._reconnect(loss):
                logger.warning("synthetic human %s: no way back within %.0f s", self.user_id,
                               self._resume_for)
                return

    async def _reconnect(self, loss: Loss) -> bool:
        """Connect again and send the join (with the resume token), the browser's retry
        delays apart (:func:`~testkit.reconnect.retry_delay`); ``False`` past the bound."""
        deadline = loss.lost_at + self._resume_for
        while not self._closing:
            delay = retry_delay(loss.attempts)
            if time.monotonic() + delay >= deadline:
                return False
            await asyncio.sleep(delay)
            loss.attempts += 1
            try:
                ws = await connect(self._room_url(), max_size=2**20,
                                   open_timeout=max(0.5, min(3.0, deadline - time.monotonic())))
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError):
                continue
            self._ws = ws
            loss.connected_at = time.monotonic()
            try:
                await self._send_join()
            except ConnectionClosed:
                continue
            return True
        return False

    # ---------------------------------------------------------------- signaling
    async def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "peer-discovery":
            await self._on_discovery(msg)
        elif kind == "user-joined":
            self.participants[msg["userId"]] = msg
            await self._announce(msg, bool(msg.get("shouldCreateOffer")), False)
        elif kind == "user-left":
            self.participants.pop(msg["userId"], None)
            self._drop_link(msg["userId"])
        elif kind == "user-away":
            self._away.add(msg["userId"])
        elif kind == "user-back":
            self._away.discard(msg["userId"])
            known = self.participants.get(msg["userId"])
            if known is not None:
                await self._announce(known, bool(known.get("shouldCreateOffer")), False)
        elif kind == "offer":
            await self._answer(msg)
        elif kind in ("answer", "ice-candidate"):
            peer_id = msg.get("fromId", "")
            pc = self.pcs.get(peer_id)
            link_id = msg.get("linkId")
            if pc is None or (link_id is not None and link_id != self.link_ids.get(peer_id)):
                return  # no link, or a stale link's message (rule 3)
            if kind == "answer":
                await pc.setRemoteDescription(RTCSessionDescription(**msg["answer"]))
                self._answered.add(peer_id)
            else:
                cand = parse_candidate(msg.get("candidate"))
                if isinstance(cand, RTCIceCandidate):
                    await pc.addIceCandidate(cand)
        elif kind == "client_signal" and msg.get("action") == LINK_STATE:
            link_id = msg.get("linkId")
            await self._on_link_state(msg.get("fromId", ""),
                                      link_id if isinstance(link_id, str) else None)
        elif kind == "ai_status":
            self.statuses.append((time.monotonic(), str(msg.get("fromId", "")),
                                  str(msg.get("status"))))

    async def _on_discovery(self, msg: dict[str, Any]) -> None:
        self.resume_token = msg.get("resumeToken") or self.resume_token
        self._discoveries += 1
        epoch = self._discoveries
        if self.losses and self.losses[-1].rejoined_at is None:
            self.losses[-1].rejoined_at = time.monotonic()
            self.losses[-1].resumed = bool(msg.get("resumed"))
        listed = {peer["userId"] for peer in msg["peers"]}
        for uid in [u for u in self.participants if u not in listed]:
            del self.participants[uid]
        if msg.get("resumed"):
            # Our seat was kept: whoever it does not list has left while we were away.
            for uid in [u for u in self.pcs if u not in listed]:
                self._drop_link(uid)
        elif self.pcs:
            # A fresh join after a server or node loss: a link to a peer not listed yet waits
            # for it to rejoin (a reunion), for the reunion window.
            self._own(self._reunion_window(epoch), "reunion")
        for peer in msg["peers"]:
            if msg.get("resumed") and peer.get("status") == "joined":
                self._drop_link(peer["userId"])  # another seat under a userId we knew
            self.participants[peer["userId"]] = peer
            await self._announce(peer, bool(peer.get("shouldCreateOffer")),
                                 bool(peer.get("away")))

    async def _reunion_window(self, epoch: int) -> None:
        await asyncio.sleep(self._reunion)
        if self._discoveries == epoch:
            for uid in [u for u in self.pcs if self._seen_in.get(u, 0) < epoch]:
                self._drop_link(uid)

    async def _announce(self, peer: dict[str, Any], offerer: bool, away: bool) -> None:
        """A peer is (again) in the room: keep, rebuild or create the link (rule 4)."""
        uid = peer["userId"]
        self._seen_in[uid] = self._discoveries
        (self._away.add if away else self._away.discard)(uid)
        if not self._wants(peer):
            return
        pc = self.pcs.get(uid)
        if offerer:
            if pc is not None and self._offerer.get(uid) and \
                    (away or pc.connectionState == "connected"):
                return  # keep: the media never stopped
            await self._offer_to(peer)  # aiortc cannot restart ICE: rebuild
        elif self._resume and not away:
            # The answerer says which link it holds (rule 5).
            await self._send({"type": "client_signal", "action": LINK_STATE, "toId": uid,
                              "linkId": self.link_ids.get(uid)})

    async def _on_link_state(self, peer_id: str, link_id: str | None) -> None:
        peer = self.participants.get(peer_id)
        if peer is None or not bool(peer.get("shouldCreateOffer")):
            return
        if peer_id not in self.pcs or (link_id != self.link_ids.get(peer_id)
                                       and peer_id in self._answered):
            await self._offer_to(peer)  # it lost our link (or we have none): a new one

    def _drop_link(self, peer_id: str) -> None:
        pc = self.pcs.pop(peer_id, None)
        self.link_ids.pop(peer_id, None)
        self._offerer.pop(peer_id, None)
        self._answered.discard(peer_id)
        if pc is not None:
            self._own(pc.close(), f"close-{peer_id}")

    def _wants(self, peer: dict[str, Any]) -> bool:
        return peer.get("participantType") == "ai" or self._mesh_with_humans

    def _new_pc(self, peer_id: str, *, offerer: bool, link_id: str | None) -> RTCPeerConnection:
        self._drop_link(peer_id)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs[peer_id] = pc
        self.link_ids[peer_id] = link_id
        self._offerer[peer_id] = offerer
        media = self.media[peer_id] = PeerMedia()
        if peer_id.startswith("ai-orb"):
            media.on_audio = self.mouth.hear_orb
        if self._voice:
            pc.addTrack(PreEncodedVoice(self.mouth) if self._pre_encoded
                        else SyntheticVoice(self.mouth))
        if self._camera_spec is not None:
            pc.addTrack(PreEncodedCamera(*self._camera_spec) if self._pre_encoded
                        else SyntheticCamera(*self._camera_spec))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._own(media.consume(track, self._changed), f"consume-{peer_id}-{track.kind}")

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self.link_events.append((time.monotonic(), peer_id, pc.connectionState))
            # Rule 6, for aiortc: the offerer rebuilds a failed link while the pair is there.
            if pc.connectionState == "failed" and self._resume and offerer and \
                    self.pcs.get(peer_id) is pc and peer_id not in self._away and \
                    peer_id in self.participants and self.connected:
                self._own(self._offer_to(self.participants[peer_id]), f"rebuild-{peer_id}")

        return pc

    async def _offer_to(self, peer: dict[str, Any]) -> None:
        if not self._wants(peer):
            return
        peer_id = peer["userId"]
        link_id = secrets.token_hex(6)
        pc = self._new_pc(peer_id, offerer=True, link_id=link_id)
        await pc.setLocalDescription(await pc.createOffer())
        await self._send_description(pc, "offer", peer_id, link_id)

    async def _answer(self, msg: dict[str, Any]) -> None:
        peer_id = msg["fromId"]
        link_id = msg.get("linkId") if isinstance(msg.get("linkId"), str) else None
        pc = self.pcs.get(peer_id)
        if pc is None or link_id is None or link_id != self.link_ids.get(peer_id):
            pc = self._new_pc(peer_id, offerer=False, link_id=link_id)  # a new link (rule 3)
        await pc.setRemoteDescription(RTCSessionDescription(**msg["offer"]))
        if not self._decode_video:
            for t in pc.getTransceivers():
                if t.kind == "video":
                    receive_without_decoding(t.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send_description(pc, "answer", peer_id, link_id)

    async def _send_description(self, pc: RTCPeerConnection, kind: str, peer_id: str,
                                link_id: str | None) -> None:
        link = {} if link_id is None else {"linkId": link_id}
        sdp = pc.localDescription.sdp
        if not self._trickle:
            await self._send({"type": kind, kind: {"type": kind, "sdp": sdp}, "toId": peer_id,
                              **link})
            return
        kept, candidates = split_candidates(sdp)
        await self._send({"type": kind, kind: {"type": kind, "sdp": kept},
                          "toId": peer_id, **link})
        for cand in candidates:
            await self._send({"type": "ice-candidate", "candidate": cand, "toId": peer_id,
                              **link})
        # End-of-candidates, both ways browsers have said it.
        await self._send({"type": "ice-candidate", "candidate": {"candidate": "",
                          "sdpMid": "0", "sdpMLineIndex": 0}, "toId": peer_id, **link})
        await self._send({"type": "ice-candidate", "candidate": None, "toId": peer_id, **link})

    def _own(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.user_id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("synthetic human %s: task %s failed", self.user_id, task.get_name(),
                         exc_info=task.exception())

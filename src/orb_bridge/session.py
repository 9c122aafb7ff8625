"""One orb in one room: its protocol side (docs/protocol.md), over any :class:`SignalingLink`.

The session joins as ``ai-orb-{sessionId}``, keeps one :class:`~orb_bridge.peers.HumanPeer` per
human (answering their offers, never offering), heartbeats, publishes ``ai_status`` from the
:class:`~orb_bridge.conductor.Conductor`, and ends with ``ai-orb-shutdown``:

* ``session_complete`` after ``idle_grace`` without a human, or when asked to stop;
* ``timeout`` at ``max_lifetime`` (both deadlines: :mod:`orb_bridge.lifetime_watch`);
* ``error`` when anything inside the orb raises. :meth:`OrbSession.run` never raises (except
  its own cancellation): the exception is logged with its traceback and announced.

Everything it sends goes through one :class:`~orb_bridge.signaling_outbox.SignalingOutbox`.
All of it runs on one asyncio loop; every task belongs to the session's :class:`TaskOwner`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from signaling_core import (
    ORB_SHUTDOWN_COMPLETE,
    ORB_SHUTDOWN_ERROR,
    ORB_SHUTDOWN_REASONS,
    join_message,
    orb_user_id,
    wire,
)
from signaling_core.wire import AI, Field, MessageType

from ._config import OrbConfig
from .address_judge import address_judge_for
from .addressee import MODES, Addressee
from .addressing import AddressRule
from .brain import Brain
from .conductor import Conductor
from .cpu_meter import CpuMeter
from .encoding import SharedOpus, SharedVp8
from .hearing import Utterance
from .lifetime_watch import LifetimeWatch
from .media_out import OrbPicture, Voice
from .minutes import Minutes
from .peers import PEER_ERRORS, HumanPeer, OrbMedia, rtc_ice_servers
from .pipeline import build_pipeline
from .render import OrbRenderer
from .signaling_link import LinkClosed, SignalingLink
from .signaling_outbox import SignalingOutbox, dump
from .tasks import TaskOwner
from .voices import voice_name

logger = logging.getLogger(__name__)

ORB_NAME = "AI Assistant"
_FINAL_SEND_TIMEOUT = 2.0


class OrbJoinRefused(Exception):
    """The server answered the orb's join with an error."""


@attrs.frozen
class OrbOutcome:
    """How an orb ended: ``reason`` is an ``ai-orb-shutdown`` reason, or ``closed`` when the
    server dropped the link first (nothing could be announced)."""

    reason: str
    joined: bool
    announced: bool


class OrbSession:
    def __init__(
        self,
        link: SignalingLink,
        *,
        room_id: str,
        session_id: str,
        config: OrbConfig,
        brain: Brain,
        renderer: OrbRenderer | None = None,
        ice_servers: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """``ice_servers``: STUN/TURN entries as browsers get them (``urls``, ``username``,
        ``credential``), so the orb can reach humans behind NAT as they reach each other."""
        self.room_id = room_id
        self._ice_servers = rtc_ice_servers(ice_servers)
        self.session_id = session_id
        self.user_id = orb_user_id(session_id)
        self._link = link
        self._cfg = config
        self._brain = brain
        self.voice = Voice()
        #: Whom the orb talks to: the mode, its name, open asks (orb_bridge.addressee).
        self.addressee = Addressee(
            AddressRule(config.name), mode=config.mode, reply_to_roles=config.reply_to_roles,
            ask_window=config.ask_window, max_replies=config.max_replies,
            reply_period=config.reply_period, judge=address_judge_for(config))
        self.conductor = Conductor(
            brain, self.voice, self._publish_status, addressee=self.addressee,
            reply_to_roles=config.reply_to_roles, min_utterance=config.min_utterance,
            on_spoken=lambda text, started, ended: self.minutes.on_spoken(text, started, ended))
        renderer = renderer or OrbRenderer(config.width, config.height)
        self.picture = OrbPicture(renderer, config.fps, self._look)
        self.picture.on_failure = self.voice.on_failure = self._fail
        shared = config.share_encoding
        self.media = OrbMedia(
            self.picture, self.voice,
            SharedVp8(self.picture, bitrate=config.video_bitrate,
                      keyframe_interval=config.keyframe_interval) if shared else None,
            SharedOpus(self.voice) if shared else None)
        self.humans: dict[str, HumanPeer] = {}
        self.joined = False
        self._outbox = SignalingOutbox(link, config.queue_size)
        self._tasks = TaskOwner(self._fail)
        # Speech-to-text between hearing and the conductor, transcripts and the summary.
        self.minutes = Minutes(
            config, brain, session_id=session_id, user_id=self.user_id,
            post=self._post_if_joined, joined=lambda: self.joined,
            deliver=self.conductor.on_turn,
            spawn=self._tasks.spawn, name_matters=self._name_matters)
        self.scribe = self.minutes.scribe
        #: Hearing → end of turn → transcription → conductor, wired in one place.
        self.pipeline = build_pipeline(config, conductor=self.conductor, scribe=self.scribe,
                                       spawn=self._tasks.spawn, voice=self.voice)
        self._ending: asyncio.Future[str] | None = None
        self._lifetime = LifetimeWatch(max_lifetime=config.max_lifetime,
                                       idle_grace=config.idle_grace, name=self.user_id)
        self._cpu = CpuMeter()
        self._last_cpu = 0.0
        #: Called once, when the server has accepted the orb's join (a worker times it).
        self.on_joined: Callable[[], None] | None = None

    # ---------------------------------------------------------------- public
    async def run(self) -> OrbOutcome:
        self._ending = asyncio.get_running_loop().create_future()
        self._lifetime.started = time.monotonic()
        try:
            self._tasks.spawn(self._outbox.run(lambda: self._end("closed")), "orb-writer")
            self._outbox.post(join_message(self.room_id, self.user_id, "ai", user_name=ORB_NAME,
                                    participant_type="ai"))
            self._tasks.spawn(self._reader(), "orb-reader")
            self._tasks.spawn(self._heartbeat(), "orb-heartbeat")
            self._tasks.spawn(self._lifetime.run(self._end), "orb-watchdog")
            self._tasks.spawn(self.conductor.run(), "orb-conductor")
            try:
                reason = await self._ending
            except Exception as exc:  # a task failed: the orb ends with ``error``
                logger.error("orb %s in room %s failed", self.user_id, self.room_id,
                             exc_info=exc)
                reason = ORB_SHUTDOWN_ERROR
        except asyncio.CancelledError:
            await self._finish(None)
            raise
        except Exception as exc:
            logger.error("orb %s in room %s failed to start", self.user_id, self.room_id,
                         exc_info=exc)
            reason = ORB_SHUTDOWN_ERROR
        return await self._finish(reason)

    def request_stop(self, reason: str) -> None:
        """Ask the orb to announce ``ai-orb-shutdown`` and leave (from this loop's thread)."""
        self._end(reason if reason in ORB_SHUTDOWN_REASONS else ORB_SHUTDOWN_COMPLETE)

    def stats(self) -> dict[str, Any]:
        return {
            Field.USER_ID: self.user_id,
            Field.ROOM_ID: self.room_id,
            "joined": self.joined,
            Field.STATUS: self.conductor.status,
            Field.PEERS: sum(1 for h in self.humans.values() if h.connected),
            "fps": round(self.picture.meter.rate(), 1),
            "replies": self.conductor.replies,
            "bargeIns": self.conductor.barge_ins,
            "bargeInAt": self.conductor.barge_in_at,
            "humans": {uid: h.stats() for uid, h in self.humans.items()},
            "sttRuns": 0 if self.scribe is None else self.scribe.runs,
            "sttLost": 0 if self.scribe is None else self.scribe.lost,
            "judgements": self.pipeline.judgements,
            # Replies drafted at a pause's words, and what became of them (kept, dropped).
            "earlyReplies": None if self.pipeline.early is None
            else dict(self.pipeline.early.counts),
            "floor": self.pipeline.floor_stats(),
            "lastTurn": None if self.conductor.last_times is None
            else self.conductor.last_times.stages(),
            "tasks": len(self._tasks),
        }

    async def media_report(self) -> dict[str, Any]:
        return {uid: await h.media_report() for uid, h in list(self.humans.items())}

    # ---------------------------------------------------------------- ending
    def _end(self, reason: str) -> None:
        if self._ending is not None and not self._ending.done():
            self._ending.set_result(reason)

    def _fail(self, exc: BaseException) -> None:
        if self._ending is not None and not self._ending.done():
            self._ending.set_exception(exc)

    async def _finish(self, reason: str | None) -> OrbOutcome:
        """Tear everything down; announce ``reason`` if the link still works."""
        await self._tasks.aclose()
        if self.pipeline.early is not None:
            self.pipeline.early.stop()  # a draft's request closed with the orb
        if self.scribe is not None:
            self.scribe.close()
        self.voice.stop()
        humans, self.humans = list(self.humans.values()), {}
        await asyncio.gather(*(h.close() for h in humans), return_exceptions=True)
        announced = False
        if reason is not None and reason != "closed":
            try:
                await self.minutes.send_summary(final=True)
            except Exception:  # the summary is bookkeeping: the orb still says goodbye
                logger.exception("orb %s could not send its summary", self.user_id)
            announced = await self._announce(reason)
        try:
            await self._brain.aclose()
        except Exception:
            logger.exception("brain of orb %s failed to close", self.user_id)
        await self._link.aclose()
        return OrbOutcome(reason or "closed", self.joined, announced)

    async def _announce(self, reason: str) -> bool:
        try:
            async with asyncio.timeout(_FINAL_SEND_TIMEOUT):
                await self._outbox.flush()
                if not self.joined:
                    return False
                await self._link.send(dump(wire.orb_shutdown(reason, self.session_id)))
                return True
        except (LinkClosed, TimeoutError):
            return False
        except Exception:
            logger.exception("orb %s could not announce its shutdown", self.user_id)
            return False

    # ---------------------------------------------------------------- sending
    def _publish_status(self, status: str) -> None:
        if self.joined:
            self._outbox.post(self._status_message(status))

    def _status_message(self, status: str) -> dict[str, Any]:
        """``ai_status``; ``transcribing`` tells the pages whether captions will come,
        ``voice`` which voice speaks (``none``: the replies come as text only)."""
        return wire.orb_status(status, self.session_id,
                               transcribing=self.minutes.publishes_transcripts,
                               voice=voice_name(self._cfg.speech), mode=self.addressee.mode)

    def _name_matters(self, utterance: Utterance) -> bool:
        """Whether the orb's name in this finished turn could change the addressee's
        decision: not in ``listen`` mode (no turn is answered), nor for a turn ``active``
        mode answers anyway (the client's). Only then does the scribe listen again for a
        name Whisper dropped (0.5-0.7 s of CPU a turn, as much again as the words)."""
        mode = self.addressee.mode
        if mode == "listen":
            return False
        return not (mode == "active" and utterance.role in self._cfg.reply_to_roles)

    def _post_if_joined(self, message: dict[str, Any]) -> None:
        if self.joined:
            self._outbox.post(message)

    # ---------------------------------------------------------------- receiving
    async def _reader(self) -> None:
        while True:
            try:
                text = await self._link.recv()
            except LinkClosed:
                self._end("closed")
                return
            try:
                message = orjson.loads(text)
            except orjson.JSONDecodeError:
                logger.warning("orb %s got invalid JSON", self.user_id)
                continue
            if isinstance(message, dict):
                await self._dispatch(message)

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get(Field.TYPE)
        if kind == MessageType.PEER_DISCOVERY:
            self._on_discovery(msg)
        elif kind == MessageType.USER_JOINED:
            self._add_human(msg)
        elif kind == MessageType.USER_LEFT:
            self._remove_human(msg.get(Field.USER_ID))
        elif kind == MessageType.OFFER:
            await self._on_offer(msg)
        elif kind == MessageType.ICE_CANDIDATE:
            await self._on_candidate(msg)
        elif kind == MessageType.AI_CONTROL:
            action = msg.get(Field.ACTION)
            if isinstance(action, str):
                self.conductor.on_control(action)
        elif kind == MessageType.AI_MODE_CHANGED:
            self._set_mode(msg.get(Field.MODE))
        elif kind == MessageType.AI_ASK:
            asker = msg.get(Field.FROM_ID)
            if isinstance(asker, str):
                self.addressee.ask(asker)
        elif kind == MessageType.ERROR:
            code, text = msg.get(Field.CODE), msg.get(Field.MESSAGE)
            if not self.joined:
                raise OrbJoinRefused(f"join refused: {code}: {text}")
            logger.warning("orb %s: server error %s: %s", self.user_id, code, text)
        elif kind == MessageType.ANSWER:
            logger.warning("orb %s got an answer but never offers; ignored", self.user_id)

    def _set_mode(self, mode: object) -> None:
        """The coach's ``ai_mode`` (or the room's, on joining): ``listen`` hushes a reply."""
        if not isinstance(mode, str) or mode not in MODES or mode == self.addressee.mode:
            return
        self.addressee.mode = mode
        logger.info("orb %s: mode %s (set by %s)", self.user_id, mode, "the coach")
        if mode == "listen":
            self.conductor.hush()
        if self.joined:
            self._outbox.post(self._status_message(self.conductor.status))

    def _on_discovery(self, msg: dict[str, Any]) -> None:
        first = not self.joined
        mode = msg.get(Field.ORB_MODE)
        if isinstance(mode, str) and mode in MODES:
            self.addressee.mode = mode  # before the first ai_status, which carries it
            logger.info("orb %s: mode %s (the room's)", self.user_id, mode)
        self.joined = True
        peers = msg.get(Field.PEERS)
        for peer in peers if isinstance(peers, list) else []:
            if isinstance(peer, dict):
                self._add_human(peer)
        self._humans_changed()
        if first:
            if self.on_joined is not None:
                self.on_joined()
            self.conductor.joined()
            self._outbox.post(self._status_message(self.conductor.status))
            self._post_heartbeat()

    def _add_human(self, participant: dict[str, Any]) -> None:
        user_id = participant.get(Field.USER_ID)
        if not isinstance(user_id, str) or user_id == self.user_id:
            return
        if AI in (participant.get(Field.PARTICIPANT_TYPE), participant.get(Field.USER_ROLE)):
            return  # two ai participants never connect (docs/protocol.md, "Offer direction")
        role = participant.get(Field.USER_ROLE)
        old = self.humans.pop(user_id, None)
        if old is not None:  # a replacement: the old connection is gone
            self._close_later(old)
        self.humans[user_id] = self._new_peer(user_id, role if isinstance(role, str) else "")
        self._humans_changed()
        if self.joined and participant.get(Field.TYPE) == MessageType.USER_JOINED:
            # ai_status is only relayed when sent: tell the newcomer where the orb stands.
            self._outbox.post(self._status_message(self.conductor.status))

    def _remove_human(self, user_id: object) -> None:
        if isinstance(user_id, str) and user_id in self.humans:
            peer = self.humans.pop(user_id)
            self._close_later(peer)
            self._humans_changed()
            # A user-left is a final departure (an away seat's comes after its grace). When
            # the client goes, the coach is often still there: the summary is for them now.
            if not self.humans or peer.role == "client":
                self.minutes.summary_soon()

    def _new_peer(self, user_id: str, role: str) -> HumanPeer:
        detector = self.pipeline.detector(user_id, role)
        return HumanPeer(user_id, role, config=self._cfg, media=self.media,
                         spawn=self._tasks.spawn, on_turn=self.pipeline.listener(detector),
                         on_hearing=self.conductor.hearing_started,
                         ice_servers=self._ice_servers, detector=detector)

    def _close_later(self, peer: HumanPeer) -> None:
        self.pipeline.retire(peer.detector)
        self._tasks.spawn(peer.close(), f"close-{peer.user_id}")

    async def _on_offer(self, msg: dict[str, Any]) -> None:
        from_id = msg.get(Field.FROM_ID)
        if not isinstance(from_id, str):
            return
        peer = self.humans.get(from_id)
        if peer is None:  # offers come after user-joined; be lenient about odd servers
            peer = self._new_peer(from_id, "")
            self.humans[from_id] = peer
            self._humans_changed()
        link_id = msg.get(Field.LINK_ID)
        link_id = link_id if isinstance(link_id, str) else None
        if link_id is not None and link_id != peer.link_id and peer.pc is not None:
            # aiortc cannot restart ICE, so browsers rebuild a link to the orb instead of
            # repairing it: a new linkId is a new link, answered on a new connection.
            await peer.close()
        peer.link_id = link_id
        try:
            answer = await peer.answer(msg.get(Field.OFFER))
        except PEER_ERRORS as exc:
            logger.warning("orb %s: unusable offer from %s: %r", self.user_id, from_id, exc)
            await peer.close()
            return
        if self.humans.get(from_id) is peer:
            self._outbox.post(wire.answer(answer, from_id, link_id))

    async def _on_candidate(self, msg: dict[str, Any]) -> None:
        peer = self.humans.get(msg.get(Field.FROM_ID))  # type: ignore[arg-type]
        link_id = msg.get(Field.LINK_ID)
        if peer is None or (isinstance(link_id, str) and peer.link_id not in (None, link_id)):
            return  # no such peer, or a candidate of a link it no longer holds
        try:
            await peer.add_candidate(msg.get(Field.CANDIDATE))
        except PEER_ERRORS as exc:
            logger.warning("orb %s: unusable candidate from %s: %r", self.user_id,
                           peer.user_id, exc)

    # ---------------------------------------------------------------- liveness and limits
    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._cfg.heartbeat_interval)
            self._outbox.post(wire.ping())
            self._post_heartbeat()

    def _post_heartbeat(self) -> None:
        self._last_cpu = self._cpu.read()
        self._outbox.post(wire.orb_heartbeat(self.session_id, {
            "cpu": self._last_cpu,
            Field.PEERS: sum(1 for h in self.humans.values() if h.connected),
            "fps": round(self.picture.meter.rate(), 1),
            Field.STATUS: self.conductor.status,
            "uptime": round(time.monotonic() - self._lifetime.started, 1),
        }))

    def _humans_changed(self) -> None:
        if self.joined:
            self._lifetime.humans_changed(bool(self.humans))

    def _look(self) -> tuple[str, float]:
        return self.conductor.status, self.voice.level()


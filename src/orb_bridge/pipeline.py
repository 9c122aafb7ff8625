"""The orb's stages and the one place they are wired together.

What the orb does with a human's voice, as typed events flowing through stages::

  Ear ─ audio ─► TurnDetector ──Started/Paused/Ended, voicing ─► FloorStage ─ hold ─► Voice
  (per human)  (EchoGate│Silero)        (backchannel or barge-in?) └ barge_in ─► Conductor
                                ──SpeechPaused(first) ─────────────► Scribe: early STT
                                │                       (at most stt_early_runs an utterance)
                                ├─SpeechPaused(check n)─► TurnJudge (Smart Turn, a thread)
                                │   ◄── judged(combine(p, the early words)) ─┘
                                │     (the words' check: only with words that read whole)
                                └─SpeechEnded(utterance)──► Scribe (STT, a thread pool)
                                                               └─SpeechEnded(+text)─► Conductor
                                └─early words (once in)─► EarlyReply: a draft, nothing said
                                       (Brain.prepare; dropped on resume, other words, ...)
  Conductor ── client's final turn ──► EarlyReply.take (same words) or Brain.respond
            │                          ─ tokens → sentences → TTS ─► Voice
            ── anything else ───────► Brain.observe

:func:`build_pipeline` is the factory; :class:`OrbPipeline` routes each event to the stages
that take it and stamps the moments the per-turn figures need (:mod:`orb_bridge.figures`).
Nothing here blocks: the judge and speech-to-text run in their own threads and answer by
futures on the orb loop; the detector and the conductor are synchronous and quick. The floor
(orb_bridge.floor) holds the orb's voice while a human speaks and decides backchannel or
barge-in; without it (``OrbConfig.floor.enabled`` false) any speech is a barge-in.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from ._config import OrbConfig
from .brain import Prepares
from .conductor import Conductor
from .early_reply import EarlyReply, Fate, PauseWords, tick_while_waiting
from .echo import EchoGate
from .end_of_turn import TurnJudge, combine, shared_judge
from .floor import Floor, FloorStage
from .hearing import (
    SpeechEnded,
    SpeechPaused,
    SpeechProbability,
    SpeechStarted,
    TurnDetector,
    TurnEvent,
    new_vad,
)
from .media_out import Voice
from .transcripts import Scribe

logger = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], object]


@attrs.define
class PauseVerdicts:
    """The model's verdicts so far in one human's pause: what a later check of the same
    pause needs to know to tell that its own verdict could change nothing."""

    pause: int
    #: The highest probability the model gave in this pause (the words' check's evidence).
    best: float = -1.0
    #: A check that does not need the words reached its own threshold.
    passed: bool = False
    #: The model's answer per length of audio asked (checks at the same silence, such as
    #: the first model check and the words' check at 0.65 s, share one run).
    asked: dict[int, asyncio.Future[float | None]] = attrs.Factory(dict)


class OrbPipeline:
    """Routes one orb's turn events: hearing → end of turn → transcription → conductor."""

    def __init__(self, config: OrbConfig, *, conductor: Conductor, scribe: Scribe | None,
                 judge: TurnJudge | None, spawn: Spawn,
                 clock: Callable[[], float] = time.monotonic,
                 voice: Voice | None = None, early: Prepares | None = None) -> None:
        """``early``: the brain, when it can begin a reply at a pause's words (the early
        reply stage, orb_bridge.early_reply; ``None``: it is asked at the end of the turn)."""
        self._cfg = config
        self._checks = config.decision_checks
        self.conductor = conductor
        self.scribe = scribe
        self.judge = judge
        self._spawn = spawn
        self._clock = clock
        self._retired: set[int] = set()
        self.judgements = 0
        #: Judgements the words settled without asking the model (orb_bridge.end_of_turn).
        self.skipped_judgements = 0
        #: Checks an earlier verdict of the same pause already settles (no model asked).
        self.passed_judgements = 0
        #: id(detector) -> the model's verdicts so far in that human's latest pause.
        self._verdicts: dict[int, PauseVerdicts] = {}
        if scribe is not None:
            scribe.deliver = self._transcribed
        self._voice = voice
        self._gates: dict[str, EchoGate] = {}
        self._detectors: dict[str, TurnDetector] = {}
        #: The early reply (orb_bridge.early_reply); ``None``: off, or nothing to draft with.
        self.early: EarlyReply | None = None
        if early is not None and scribe is not None:
            self.early = conductor.early = EarlyReply(
                early, answers=conductor.would_answer, voicing=self._voicing, clock=clock)
        self._ticking = False
        #: The floor (orb_bridge.floor); ``None``: off, or no voice to hold.
        self.floor: FloorStage | None = None
        if voice is not None and config.floor.enabled:
            self.floor = FloorStage(
                Floor(config.floor, busy=lambda: voice.playing or conductor.replying),
                hold=voice.hold, barge_in=conductor.barge_in,
                early_words=None if scribe is None else scribe.early_text,
                spawn=spawn, clock=clock)

    # ---------------------------------------------------------------- building
    def detector(self, speaker_id: str, role: str) -> TurnDetector:
        """The turn detector (and voice-activity model) of one human's audio track; with
        the floor, its voice-activity model does not hear the orb's own echo."""
        vad: SpeechProbability = new_vad(self._cfg)
        voice = self._voice
        gate: EchoGate | None = None
        if self.floor is not None and voice is not None and self._cfg.floor.echo_gate:
            vad = gate = self._gates[speaker_id] = EchoGate(
                vad, voice.sent, self._cfg.floor, threshold=self._cfg.vad_off_threshold,
                clock=self._clock)
        detector = TurnDetector(speaker_id, role, self._cfg, vad,
                                tap=None if gate is None else gate.hear,
                                onset=None if self.floor is None else self.floor.onset)
        if self.floor is not None:
            self.floor.watch(detector)
        self._detectors[speaker_id] = detector
        return detector

    def listener(self, detector: TurnDetector) -> Callable[[TurnEvent], None]:
        """What the human's :class:`~orb_bridge.hearing.Ear` calls with each event."""
        return lambda event: self.on_event(detector, event)

    def retire(self, detector: TurnDetector) -> None:
        """That human's connection was replaced or closed: ignore its late events."""
        self._retired.add(id(detector))
        self._verdicts.pop(id(detector), None)
        if self.floor is not None:
            self.floor.forget(detector)
        if self._detectors.get(detector.speaker_id) is detector:
            del self._detectors[detector.speaker_id]
            if self.early is not None:
                self.early.ended(detector.speaker_id, Fate.STOPPED)

    def floor_stats(self) -> dict[str, Any] | None:
        """The floor's counts and latest moves (``None``: no floor)."""
        if self.floor is None:
            return None
        return {"held": self.floor.floor.held, "heldAt": self.floor.held_at,
                "holds": list(self.floor.holds),
                "releasedAt": self.floor.released_at,
                "backchannels": self.floor.floor.backchannels,
                "bargeIns": self.floor.floor.barge_ins,
                "clicks": self.floor.floor.clicks,
                "echoGated": {s: g.gated for s, g in self._gates.items()},
                "echoChecked": {s: g.checked for s, g in self._gates.items()},
                "echoPath": {s: None if g.path is None else
                             {"delay": round(g.path.delay, 3),
                              "gainDb": round(20 * math.log10(max(g.path.gain, 1e-5)), 1),
                              "correlation": round(g.path.correlation, 2)}
                             for s, g in self._gates.items()}}

    # ---------------------------------------------------------------- routing
    def on_event(self, detector: TurnDetector, event: TurnEvent) -> None:
        if id(detector) in self._retired:
            return
        if isinstance(event, SpeechStarted):
            if self.early is not None:
                self.early.started(event.speaker_id)
            if self.floor is not None:
                self.floor.started(event.speaker_id)
            else:
                self.conductor.on_turn(event)
        elif isinstance(event, SpeechPaused):
            self._paused(detector, event)
            if self.floor is not None and event.check <= 0:
                self.floor.paused(event.speaker_id, event.silence, event.pause,
                                  event.speech, event.first)
        else:
            self._ended(event)

    def _paused(self, detector: TurnDetector, event: SpeechPaused) -> None:
        if (self.scribe is not None and event.first
                and event.early <= self._cfg.stt_early_runs):
            self.scribe.paused(event)  # words start before the turn is known to be over
            if self.early is not None:
                self._spawn(self._draft(detector, event), f"draft-{event.speaker_id}")
        if self.judge is not None and event.check >= 0:
            self._spawn(self._judge(detector, event), f"eot-{event.speaker_id}")

    async def _judge(self, detector: TurnDetector, event: SpeechPaused) -> None:
        assert self.judge is not None
        silence, threshold, needs_words = self._checks[event.check]
        known = None if self.scribe is None else \
            self.scribe.early_decided_now(event.speaker_id, event.speech, silence)
        probability: float | None = None
        verdicts = self._verdicts.get(id(detector))
        if verdicts is None or verdicts.pause != event.pause:
            verdicts = self._verdicts[id(detector)] = PauseVerdicts(event.pause)
        if known is not None and combine(1.0, known, needs_words) is None:
            # The pause's words are in and already say "no verdict" (they read mid-clause,
            # or the words' check has none): the model's 40-80 ms would change nothing.
            self.skipped_judgements += 1
        elif verdicts.passed or (needs_words and verdicts.best >= threshold):
            # An earlier check of this pause is already settled by the model: its verdict
            # reaches the detector first (its task awaited the words before this one), so
            # the words decide the outcome without this check's model. Either an earlier
            # check reached its own threshold (words that do not read mid-clause end the
            # turn there; words that do make this check's verdict nothing too), or this is
            # the words' check, which goes by the pause's best verdict (TurnDetector.judged).
            # The best verdict, not "none": a later check may read the same words whole
            # that an earlier one's closing-mark bar read trailing (closing_mark.MARK_BARS).
            probability = verdicts.best
            self.passed_judgements += 1
        else:
            probability = await self._model_verdict(verdicts, event)
            if probability is not None and verdicts.pause == event.pause:
                verdicts.best = max(verdicts.best, probability)
                verdicts.passed = verdicts.passed or (
                    not needs_words and probability >= threshold)
        text = None if self.scribe is None else \
            await self.scribe.early_decided(event.speaker_id, event.speech, silence)
        verdict = combine(probability, text, needs_words)
        logger.debug("end of turn of %s, pause %d check %d at %.2f s: p=%s words=%r -> %s",
                     event.speaker_id, event.pause, event.check, event.silence,
                     None if probability is None else round(probability, 3), text, verdict)
        probability = verdict
        self.judgements += 1
        for follow in detector.judged(event.pause, event.check, probability):
            self.on_event(detector, follow)

    async def _model_verdict(self, verdicts: PauseVerdicts, event: SpeechPaused) -> float | None:
        """The model's P(complete) for this check's audio: asked once per audio of a pause,
        so a second check at the same silence awaits the first one's run (counted passed)."""
        assert self.judge is not None
        key = len(event.audio.samples)
        shared = verdicts.asked.get(key)
        if shared is not None:
            self.passed_judgements += 1
            return await asyncio.shield(shared)
        asked = verdicts.asked[key] = asyncio.get_running_loop().create_future()
        probability: float | None = None
        try:
            probability = await self.judge.judge(event.audio)
        except Exception:  # the model failing costs the decision, not the orb
            logger.exception("end-of-turn model failed; timing decides")
        finally:
            if not asked.done():
                asked.set_result(probability)
        return probability

    async def _draft(self, detector: TurnDetector, event: SpeechPaused) -> None:
        """The early reply stage gets the pause's words as soon as they are in."""
        assert self.scribe is not None and self.early is not None
        text = await self.scribe.early_text(event.speaker_id, event.speech)
        if text is None or id(detector) in self._retired or not detector.speaking:
            return  # no words, or the turn already ended (its own answer asks the brain)
        decided = await self.scribe.early_decided(event.speaker_id, event.speech)
        if decided is None or combine(1.0, decided, True) is None:
            return  # they trail off (orb_bridge.closing_mark): the turn is not over here
        self.early.words(PauseWords(event.speaker_id, detector.role, event.speech, text))
        if self.early.waiting and not self._ticking:
            self._ticking = True
            self._spawn(self._tick(), "orb-early-reply")

    async def _tick(self) -> None:
        assert self.early is not None
        try:
            await tick_while_waiting(self.early)
        finally:
            self._ticking = False

    def _voicing(self, speaker_id: str) -> bool:
        detector = self._detectors.get(speaker_id)
        return detector is not None and detector.voicing

    def _ended(self, event: SpeechEnded) -> None:
        utterance = attrs.evolve(event.utterance, heard_at=self._clock())
        if self.floor is not None:
            if utterance.speaker_id in self.floor.floor.backchannelled:
                # A backchannel is heard and written down, never answered.
                self.floor.floor.backchannelled.discard(utterance.speaker_id)
                utterance = attrs.evolve(utterance, final=False)
            self.floor.ended(utterance.speaker_id)
        if self.scribe is not None:
            self.scribe.heard(utterance)
        else:
            self.conductor.on_turn(SpeechEnded(utterance))

    def _transcribed(self, event: TurnEvent) -> None:
        if not isinstance(event, SpeechEnded):
            return
        utterance = attrs.evolve(event.utterance, transcribed_at=self._clock())
        self.conductor.on_turn(SpeechEnded(utterance))


def build_pipeline(config: OrbConfig, *, conductor: Conductor, scribe: Scribe | None,
                   spawn: Spawn, voice: Voice | None = None) -> OrbPipeline:
    """The factory: the one place an orb's stages are chosen and connected (``voice``:
    the orb's voice, which the floor holds; without it, no floor)."""
    from .vad import vad_available

    judge = shared_judge() if config.neural_vad and config.eot_checks and vad_available() \
        else None
    brain = conductor.brain
    early = brain if config.speech.early_reply and isinstance(brain, Prepares) else None
    return OrbPipeline(config, conductor=conductor, scribe=scribe, judge=judge, spawn=spawn,
                       voice=voice, early=early)

"""The orb's stages and the one place they are wired together.

What the orb does with a human's voice, as typed events flowing through stages::

  Ear ─ audio ─► TurnDetector ──SpeechStarted──────────────────────► Conductor (barge-in)
  (per human)     (Silero VAD)  ──SpeechPaused(first) ─────────────► Scribe: early STT
                                │                       (at most stt_early_runs an utterance)
                                ├─SpeechPaused(check n)─► TurnJudge (Smart Turn, a thread)
                                │   ◄── judged(combine(p, the early words)) ─┘
                                └─SpeechEnded(utterance)──► Scribe (STT, a thread pool)
                                                               └─SpeechEnded(+text)─► Conductor
  Conductor ── client's final turn ──► Brain.respond ─ tokens → sentences → TTS ─► Voice
            ── anything else ───────► Brain.observe

:func:`build_pipeline` is the factory; :class:`OrbPipeline` routes each event to the stages
that take it and stamps the moments the per-turn figures need (:mod:`orb_bridge.figures`).
Nothing here blocks: the judge and speech-to-text run in their own threads and answer by
futures on the orb loop; the detector and the conductor are synchronous and quick. The next
stages (who is addressed; yielding the floor) plug in here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from ._config import OrbConfig
from .conductor import Conductor
from .end_of_turn import TurnJudge, combine, shared_judge
from .hearing import SpeechEnded, SpeechPaused, SpeechStarted, TurnDetector, TurnEvent, new_vad
from .transcripts import Scribe

logger = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class OrbPipeline:
    """Routes one orb's turn events: hearing → end of turn → transcription → conductor."""

    def __init__(self, config: OrbConfig, *, conductor: Conductor, scribe: Scribe | None,
                 judge: TurnJudge | None, spawn: Spawn,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cfg = config
        self.conductor = conductor
        self.scribe = scribe
        self.judge = judge
        self._spawn = spawn
        self._clock = clock
        self._retired: set[int] = set()
        self.judgements = 0
        if scribe is not None:
            scribe.deliver = self._transcribed

    # ---------------------------------------------------------------- building
    def detector(self, speaker_id: str, role: str) -> TurnDetector:
        """The turn detector (and voice-activity model) of one human's audio track."""
        return TurnDetector(speaker_id, role, self._cfg, new_vad(self._cfg))

    def listener(self, detector: TurnDetector) -> Callable[[TurnEvent], None]:
        """What the human's :class:`~orb_bridge.hearing.Ear` calls with each event."""
        return lambda event: self.on_event(detector, event)

    def retire(self, detector: TurnDetector) -> None:
        """That human's connection was replaced or closed: ignore its late events."""
        self._retired.add(id(detector))

    # ---------------------------------------------------------------- routing
    def on_event(self, detector: TurnDetector, event: TurnEvent) -> None:
        if id(detector) in self._retired:
            return
        if isinstance(event, SpeechStarted):
            self.conductor.on_turn(event)
        elif isinstance(event, SpeechPaused):
            self._paused(detector, event)
        else:
            self._ended(event)

    def _paused(self, detector: TurnDetector, event: SpeechPaused) -> None:
        if (self.scribe is not None and event.first
                and event.early <= self._cfg.stt_early_runs):
            self.scribe.paused(event)  # words start before the turn is known to be over
        if self.judge is not None and event.check >= 0:
            self._spawn(self._judge(detector, event), f"eot-{event.speaker_id}")

    async def _judge(self, detector: TurnDetector, event: SpeechPaused) -> None:
        assert self.judge is not None
        try:
            probability = await self.judge.judge(event.pcm)
        except Exception:  # the model failing costs the decision, not the orb
            logger.exception("end-of-turn model failed; timing decides")
            probability = None
        if self.scribe is not None:
            probability = combine(probability,
                                  await self.scribe.early_text(event.speaker_id,
                                                               event.speech_pcm))
        self.judgements += 1
        for follow in detector.judged(event.pause, event.check, probability):
            self.on_event(detector, follow)

    def _ended(self, event: SpeechEnded) -> None:
        utterance = attrs.evolve(event.utterance, heard_at=self._clock())
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
                   spawn: Spawn) -> OrbPipeline:
    """The factory: the one place an orb's stages are chosen and connected."""
    from .vad import vad_available

    judge = shared_judge() if config.neural_vad and config.eot_checks and vad_available() \
        else None
    return OrbPipeline(config, conductor=conductor, scribe=scribe, judge=judge, spawn=spawn)

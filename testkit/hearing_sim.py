"""The orb's hearing offline: rendered audio through the real :class:`TurnDetector`, Silero
VAD and Smart Turn, on a simulated clock (the audio's own time).

Audio is fed in 20 ms chunks, as the orb's ear gets it. When the detector asks for an
end-of-turn judgement, the model runs at once and its verdict is handed back after the
compute time it really took (rounded up to the next chunk), as the live pipeline's thread
would. Used by the hearing tests and ``bench/party.py``; test tooling only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
import numpy as np
import numpy.typing as npt

from orb_bridge import OrbConfig
from orb_bridge.audio import Audio
from orb_bridge.closing_mark import HeardAtPause
from orb_bridge.end_of_turn import SmartTurn, combine
from orb_bridge.hearing import (
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    TurnDetector,
    TurnEvent,
    new_vad,
)

CHUNK = 320  # 20 ms at 16 kHz
RATE = 16_000


@attrs.frozen
class Heard:
    """One event and the audio time (seconds from the start) when the orb had it."""

    at: float
    event: TurnEvent


def hear(pcm: npt.NDArray[np.int16], *, config: OrbConfig | None = None,
         model: SmartTurn | None = None, role: str = "client",
         transcribe: Callable[[Audio], str | HeardAtPause] | None = None,
         model_seconds: float | None = None,
         transcribe_seconds: float | None = None,
         on_words: Callable[[float, SpeechPaused, str], None] | None = None,
         on_step: Callable[[float, TurnDetector, list[TurnEvent]], None] | None = None,
         ) -> list[Heard]:
    """Every event the orb's hearing produces for ``pcm`` (16 kHz mono int16).

    With ``transcribe`` (speech-to-text, blocking), a pause's words are taken early as the
    orb's scribe does, and the verdict combines them with the model's (``combine``), arriving
    when both are done. ``model_seconds``: the model's verdict takes this long on the
    simulated clock instead of the compute time measured (a test of the decision, not of the
    machine's load); ``transcribe_seconds`` the same for speech-to-text's early words.
    ``on_words(at, pause, words)``: a pause's early words, when they are in; ``on_step(now,
    detector, events)``: after every 20 ms chunk (testkit.reply_sim runs the early reply)."""
    cfg = config or OrbConfig()
    detector = TurnDetector("human", role, cfg, new_vad(cfg))
    pending: list[tuple[float, SpeechPaused, float | None]] = []  # (due, event, verdict)
    texts: dict[int, tuple[float, str | HeardAtPause | None]] = {}
    told: list[tuple[float, SpeechPaused, str]] = []  # words not yet handed to on_words
    #: pause -> the model's verdicts in it: (when in hand, probability, its check passed)
    verdicts: dict[int, list[tuple[float, float, bool]]] = {}
    out: list[Heard] = []
    samples = pcm.astype(np.float32)
    for index in range(0, len(samples), CHUNK):
        now = (index + CHUNK) / RATE
        step: list[TurnEvent] = []
        for event in detector.feed(Audio(samples[index:index + CHUNK], RATE)):
            out.append(Heard(now, event))
            step.append(event)
            if not isinstance(event, SpeechPaused):
                continue
            if (transcribe is not None and event.first
                    and event.early <= cfg.stt_early_runs):
                started = time.perf_counter()
                words = transcribe(event.speech)
                took = time.perf_counter() - started
                texts[event.pause] = (now + (took if transcribe_seconds is None
                                             else transcribe_seconds), words)
                told.append((texts[event.pause][0], event, _reading(words, None)))
            if model is not None and event.check >= 0:
                silence, threshold, needs_words = cfg.decision_checks[event.check]
                ready, heard_words = texts.get(event.pause, (now, None))
                # The words as this check reads them (orb_bridge.closing_mark: its bar).
                known = None if heard_words is None else _reading(heard_words, silence)
                verdict: float | None = None
                # The model's verdicts of this pause already in hand: (verdict, passed).
                in_hand = [(p, passed) for due, p, passed in verdicts.get(event.pause, [])
                           if due <= now]
                best = max((p for p, _ in in_hand), default=-1.0)
                passed = any(passed for _, passed in in_hand)
                if known is not None and ready <= now and \
                        combine(1.0, known, needs_words) is None:
                    # As the orb's pipeline does: words already in that settle the check
                    # ("no verdict") spare the model (orb_bridge.pipeline, _judge).
                    due = now
                elif passed or (needs_words and best >= threshold):
                    # As the pipeline does: an earlier verdict of this pause, in hand,
                    # already settles this check (it is delivered first).
                    verdict, due = best, now  # as the pipeline: the best in hand
                else:
                    started = time.perf_counter()
                    verdict = model.probability(event.audio)
                    due = now + (time.perf_counter() - started if model_seconds is None
                                 else model_seconds)
                    verdicts.setdefault(event.pause, []).append(
                        (due, verdict, not needs_words and verdict >= threshold))
                due = max(due, ready)
                verdict = combine(verdict, known, needs_words)
                pending.append((due, event, verdict))
        if on_words is not None:
            for said in [w for w in told if w[0] <= now]:
                told.remove(said)
                on_words(now, said[1], said[2])
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            _due, paused, probability = item
            for event in detector.judged(paused.pause, paused.check, probability):
                out.append(Heard(now, event))
                step.append(event)
        if on_step is not None:
            on_step(now, detector, step)
    return out


def _reading(words: str | HeardAtPause, silence: float | None) -> str:
    """A pause's words as the decision reads them at a check of ``silence`` (``None``: the
    reading of any check, ``HeardAtPause.decided``; plain words as they are)."""
    if isinstance(words, str):
        return words.strip()
    return (words.decided if silence is None else words.decided_at(silence)).strip()


def ends(heard: list[Heard]) -> list[Heard]:
    return [h for h in heard if isinstance(h.event, SpeechEnded)]


def starts(heard: list[Heard]) -> list[Heard]:
    return [h for h in heard if isinstance(h.event, SpeechStarted)]

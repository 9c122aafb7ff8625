"""The early reply offline: rendered speech through the orb's hearing on a simulated clock
(testkit.hearing_sim), the orb's own :class:`~orb_bridge.early_reply.EarlyReply` stage fed
as the pipeline feeds it, and a real brain answering (the language-model brain asking the
stand-in model served on a local port, testkit.llm_standin).

The clocks: the audio's own time drives hearing; speech-to-text and the end-of-turn model
take the compute time they really took (or a fixed time), as in hearing_sim. The model server
is real and keeps real time, so a reply's own course is measured in real seconds and placed
on the simulated clock: a draft's first synthesised audio is ready the real time it took
after the simulated moment it was drafted (replies run on their own loop's thread, as the
orb's loop runs beside its speech-to-text and model threads). At the verdict the turn's words
are taken as the orb's scribe takes them (the pause's early words when they read this very
speech, else a run after the end); the reply is the draft if the stage hands one over, else
the brain asked then, its time to first audio measured from that moment. Test and bench
tooling only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from orb_bridge import OrbConfig
from orb_bridge.audio import Audio
from orb_bridge.brain import ReplyAudio
from orb_bridge.closing_mark import HeardAtPause
from orb_bridge.early_reply import EarlyReply, PauseWords
from orb_bridge.end_of_turn import SmartTurn
from orb_bridge.hearing import SpeechEnded, SpeechPaused, SpeechStarted, TurnDetector, TurnEvent
from testkit.hearing_sim import Heard, hear

T = TypeVar("T")


class ReplyLoop:
    """An asyncio loop on its own thread, as the orb's replies have (the hearing's compute
    in the simulation does not stop them, as the orb's threads do not stop its loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="reply-sim",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def reply_loop() -> Iterator[ReplyLoop]:
    running = ReplyLoop()
    try:
        yield running
    finally:
        running.close()


@attrs.define
class ReplyRun:
    """One rendered turn (or more) against the early reply, in simulated seconds."""

    heard: list[Heard] = attrs.field(factory=list)
    #: Simulated moments drafts were made (the model asked before the verdict).
    drafted: list[float] = attrs.field(factory=list)
    #: The answered turn's verdict, when its words were in, its first synthesised audio.
    verdict_at: float | None = None
    transcript_at: float | None = None
    first_audio_at: float | None = None
    #: The words answered, and whether the reply was the draft.
    words: str | None = None
    kept: bool = False
    #: With ``compare``: the same turn's first audio had the brain been asked at the verdict
    #: (measured after the draft's, so the two do not share the model's time).
    fresh_first_audio_at: float | None = None
    #: Earliest simulated moment any reply output was taken to be played.
    first_taken_at: float | None = None
    counts: dict[str, int] = attrs.field(factory=dict)
    #: The per-stage breakdown of the answered turn: when its words were in (simulated;
    #: ``None``: read after the end), and the reply's own course in real seconds from its
    #: request: the model's first token, its first synthesised audio.
    words_at: float | None = None
    reply_first_token: float | None = None
    reply_first_audio: float | None = None


def converse(pcm: npt.NDArray[np.int16], brain: Any, loop: ReplyLoop, *,
             config: OrbConfig | None = None, model: SmartTurn | None = None,
             transcribe: Callable[[Audio], str | HeardAtPause], early: bool = True,
             model_seconds: float | None = None, transcribe_seconds: float | None = None,
             answers: Callable[[str], bool] = lambda text: True,
             answer: bool = True, compare: bool = False,
             role: str = "client") -> ReplyRun:
    """``pcm`` (16 kHz mono) through hearing and the early reply (``early`` False: the brain
    asked at the end of the turn only, the orb without the stage); the first finished turn
    the orb would answer (``answers(words)``) is answered and timed (``answer`` False: not
    answered, for the drafts a turn costs; ``compare``: also timed as if the brain were asked
    at the verdict, :attr:`ReplyRun.fresh_first_audio_at`)."""
    cfg = config or OrbConfig()
    run = ReplyRun()
    now_box = [0.0]
    voicing: dict[str, bool] = {}
    stage = EarlyReply(brain, answers=lambda u: run.first_audio_at is None
                       and answers(u.text or ""),
                       voicing=lambda s: voicing.get(s, False), clock=lambda: now_box[0])
    words_of: dict[int, tuple[Audio, str, float]] = {}

    def on_words(at: float, paused: SpeechPaused, text: str) -> None:
        words_of[paused.pause] = (paused.speech, text, at)
        if not early or not detector_box or not detector_box[0].speaking:
            return
        before = stage.counts["drafted"]
        loop.run(_call(lambda: stage.words(
            PauseWords(paused.speaker_id, role, paused.speech, text))))
        if stage.counts["drafted"] > before:
            run.drafted.append(at)

    detector_box: list[TurnDetector] = []

    def on_step(now: float, detector: TurnDetector, events: list[TurnEvent]) -> None:
        now_box[0] = now
        if not detector_box:
            detector_box.append(detector)
        voicing[detector.speaker_id] = detector.voicing
        for event in events:
            if isinstance(event, SpeechStarted):
                loop.run(_call(lambda: stage.started(detector.speaker_id)))
            elif isinstance(event, SpeechEnded) and not answer:
                loop.run(_call(lambda: stage.ended(detector.speaker_id)))
            elif isinstance(event, SpeechEnded) and event.utterance.final \
                    and run.first_audio_at is None:
                _answer(now, event, run, stage, brain, loop, words_of, transcribe,
                        answers, compare)
        if stage.waiting:
            loop.run(_call(stage.tick))

    run.heard = hear(pcm, config=cfg, model=model, role=role, transcribe=transcribe,
                     model_seconds=model_seconds, transcribe_seconds=transcribe_seconds,
                     on_words=on_words, on_step=on_step)
    loop.run(_call(stage.stop))
    run.counts = dict(stage.counts)
    return run


async def _call(action: Callable[[], None]) -> None:
    action()  # on the loop: a draft's tasks are made there


def _answer(now: float, event: SpeechEnded, run: ReplyRun, stage: EarlyReply, brain: Any,
            loop: ReplyLoop, words_of: dict[int, tuple[Audio, str, float]],
            transcribe: Callable[[Audio], str | HeardAtPause],
            answers: Callable[[str], bool],
            compare: bool = False) -> None:
    utterance = event.utterance
    run.verdict_at = now
    early = [(w, at) for speech, w, at in words_of.values() if speech.same(utterance.speech)]
    transcript_at = now
    if early:
        words, run.words_at = early[-1]
    else:
        started = time.perf_counter()
        heard = transcribe(utterance.speech)
        words = (heard if isinstance(heard, str) else heard.decided).strip()
        transcript_at += time.perf_counter() - started
    if not answers(words):
        loop.run(_call(lambda: stage.ended(utterance.speaker_id)))
        return
    run.words, run.transcript_at = words, transcript_at
    answered = attrs.evolve(utterance, text=words)

    async def first_audio(fresh: bool = False) -> float:
        started, asked = time.perf_counter(), time.monotonic()
        drafted = None if fresh else stage.take(answered)
        if not fresh:
            run.kept = drafted is not None
        outputs: Any = drafted.outputs() if drafted is not None else brain.respond(answered)
        async with contextlib.aclosing(outputs) as said:
            async for out in said:
                if run.first_taken_at is None and not fresh:
                    run.first_taken_at = transcript_at
                if isinstance(out, ReplyAudio):
                    took = time.perf_counter() - started
                    if not fresh:
                        _reply_course(run, drafted, brain, asked, took)
                    if drafted is None:
                        return transcript_at + took
                    # The draft ran in real time from its own start: its first audio was
                    # ready that long after the simulated moment it was drafted.
                    made_in: float = drafted.first_audio_at - drafted.started_at  # type: ignore
                    return max(transcript_at, run.drafted[-1] + made_in)
        raise RuntimeError("the brain said nothing")

    run.first_audio_at = loop.run(first_audio())
    if compare:
        run.fresh_first_audio_at = loop.run(first_audio(fresh=True)) if run.kept \
            else run.first_audio_at


def _reply_course(run: ReplyRun, drafted: Any, brain: Any, asked: float, took: float) -> None:
    """The reply's own course (real seconds from its request): first token, first audio."""
    if drafted is not None:
        start, token, audio = drafted.started_at, drafted.first_token_at, \
            drafted.first_audio_at
    else:
        start, token, audio = asked, getattr(brain, "first_token_at", None), asked + took
    run.reply_first_token = None if token is None else round(token - start, 3)
    run.reply_first_audio = None if audio is None else round(audio - start, 3)

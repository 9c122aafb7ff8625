"""The orb's pipeline (orb_bridge.pipeline) with its real stages and no network: rendered
speech into a human's detector, real Silero, Smart Turn and faster-whisper, the conductor
and the offline coach. What it must guarantee: speech-to-text reads one utterance a bounded
number of times however often the speaker pauses, a finished request reaches the brain once
with its words and its figures, and a detector that was retired is not heard."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from orb_bridge import OrbConfig
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.brain import OfflineBrain
from orb_bridge.conductor import Conductor, OrbStatus
from orb_bridge.media_out import Voice
from orb_bridge.pipeline import build_pipeline
from orb_bridge.stt import WhisperStt
from orb_bridge.transcripts import Scribe, TranscriptBook
from testkit import voices
from testkit.spawned import Spawned


class Counting:
    """The real speech-to-text, counting what it is asked to read."""

    def __init__(self, engine: WhisperStt) -> None:
        self.engine = engine
        self.runs = 0

    async def transcribe(self, audio: Audio) -> str:
        self.runs += 1
        return await self.engine.transcribe(audio)


async def feed_in_real_time(feed: Any, pcm: np.ndarray, speedup: float = 4.0) -> None:
    """20 ms chunks, paced (faster than real time, but the threads still get their turn)."""
    for start in range(0, len(pcm), 320):
        feed(pcm[start:start + 320].astype(np.float32))
        await asyncio.sleep(0.02 / speedup)


def test_a_pausing_talker_is_read_a_bounded_number_of_times_and_answered_once() -> None:
    engine = WhisperStt()
    engine.load()
    stt = Counting(engine)
    statuses: list[str] = []
    cfg = OrbConfig()

    async def scenario() -> None:
        spawned = Spawned()
        tasks, spawn = spawned.tasks, spawned.spawn

        brain = OfflineBrain()
        conductor = Conductor(brain, Voice(), statuses.append, reply_to_roles=("client",),
                              min_utterance=cfg.min_utterance)
        scribe = Scribe(stt, session_id="s", book=TranscriptBook(), publish=None,
                        deliver=conductor.on_turn, spawn=spawn,
                        min_utterance=cfg.min_utterance)
        pipeline = build_pipeline(cfg, conductor=conductor, scribe=scribe, spawn=spawn)
        detector = pipeline.detector("client-1", "client")
        assert pipeline.judge is not None
        decisions_before = pipeline.judge.model.decisions
        listener = pipeline.listener(detector)
        runner = spawn(conductor.run(), "conductor")

        def feed(chunk: np.ndarray) -> None:
            for event in detector.feed(Audio(chunk, HEARING_RATE)):
                listener(event)

        # Six short phrases with pauses (each a pause, none the end), then quiet. The first
        # pause is long (1.5 s, under turn_timeout): its early words ("and then I") read
        # mid-clause, so once they are in, its later checks do not ask the model.
        phrase = voices.espeak("and then I")
        await feed_in_real_time(feed, np.concatenate([voices.silence(0.3), phrase,
                                                      voices.silence(0.3)]))
        for _ in range(200):  # the early words are in (bounded: 10 s), then the pause goes on
            if scribe._early and all(f.done() for _pcm, f in scribe._early.values()):
                break
            await asyncio.sleep(0.05)
        talk = np.concatenate([voices.silence(1.2)]
                              + [np.concatenate([phrase, voices.silence(0.35)])
                                 for _ in range(5)]
                              + [voices.espeak("how do I stop working so late?"),
                                 voices.silence(3.0)])
        await feed_in_real_time(feed, talk)
        for _ in range(200):  # bounded: the reply's figures are recorded when it ends
            if conductor.last_times is not None:
                break
            await asyncio.sleep(0.05)
        # A retired detector (the human's connection replaced) is not heard any more.
        pipeline.retire(detector)
        await feed_in_real_time(feed, np.concatenate([voices.espeak("hello there"),
                                                      voices.silence(2.0)]), speedup=8)
        runner.cancel()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

        assert detector.utterances >= 1
        assert stt.runs <= (cfg.stt_early_runs + 1) * detector.utterances, stt.runs
        assert conductor.replies == 1 and scribe.transcribed == 1
        assert "late" in scribe.book.lines[0].text.lower()
        times = conductor.last_times
        assert times is not None and times.first_synth is not None
        assert set(times.stages()) >= {"end_of_turn", "transcript", "first_token",
                                       "first_synth"}
        assert OrbStatus.THINKING in statuses and OrbStatus.SPEAKING in statuses
        assert pipeline.skipped_judgements >= 1, pipeline.judgements
        assert pipeline.judge is not None
        assert pipeline.judge.model.decisions <= decisions_before + pipeline.judgements \
            - pipeline.skipped_judgements - pipeline.passed_judgements \
            + 1  # + 1: one in flight when the test ended

    try:
        asyncio.run(asyncio.wait_for(scenario(), 90))
    finally:
        engine.close()


def test_statuses_are_the_enum_and_a_plugin_brains_unknown_hint_is_ignored() -> None:
    from collections.abc import AsyncIterator

    from orb_bridge.brain import BrainOutput, ReplyAudio, StatusHint
    from orb_bridge.hearing import SpeechEnded, Utterance

    class OddBrain:
        def observe(self, utterance: Utterance) -> None:
            pass

        async def respond(self, utterance: Utterance) -> AsyncIterator[BrainOutput]:
            yield StatusHint("dancing")
            yield StatusHint("thinking")
            yield ReplyAudio(Audio.silence(0.02, 48_000), "Hm.")

        async def aclose(self) -> None:
            pass

    published: list[str] = []

    async def scenario() -> None:
        conductor = Conductor(OddBrain(), Voice(), published.append,
                              reply_to_roles=("client",), min_utterance=0.1)
        runner = asyncio.get_running_loop().create_task(conductor.run())
        conductor.on_turn(SpeechEnded(Utterance("c", "client", Audio.silence(1.0, HEARING_RATE),
                                                1.0,
                                                text="hello")))
        for _ in range(100):
            if conductor.replies and conductor.status == OrbStatus.LISTENING:
                break
            await asyncio.sleep(0.02)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert published == ["thinking", "speaking", "listening"]
    assert all(isinstance(s, OrbStatus) for s in published)


class FixedTurnModel:
    """Smart Turn's place with a fixed verdict, counting the decisions it is asked for (the
    routing is under test here, not the model: test_hearing.py runs the real one)."""

    def __init__(self, probability: float) -> None:
        self.value = probability
        self.decisions = 0

    def probability(self, audio: Audio) -> float:
        self.decisions += 1
        return self.value


class SlowWords:
    """Speech-to-text whose words arrive after the words' check has been asked."""

    async def transcribe(self, audio: Audio) -> str:
        await asyncio.sleep(0.4)
        return "I want to go home."


def words_check_run(first_verdict: float, cfg: OrbConfig | None = None
                    ) -> tuple[Any, FixedTurnModel, list[Any]]:
    """A finished request through the pipeline (level VAD, a fixed model, slow words); the
    pipeline, the model and the utterances that reached the conductor."""
    from orb_bridge.end_of_turn import TurnJudge
    from orb_bridge.hearing import SpeechEnded
    from orb_bridge.pipeline import OrbPipeline

    # Checks at separate silences (rounds 5-7's schedule), so an earlier check's verdict can
    # settle a later one; since round 8 the first model check and the words' check share 0.65 s.
    cfg = cfg or OrbConfig(neural_vad=False, eot_checks=((0.2, 0.5), (0.6, 0.3), (1.2, 0.15)),
                           eot_words_check=(0.4, 0.02))
    model = FixedTurnModel(first_verdict)
    heard: list[Any] = []

    async def scenario() -> OrbPipeline:
        spawned = Spawned()
        tasks, spawn = spawned.tasks, spawned.spawn

        conductor = Conductor(OfflineBrain(), Voice(), lambda _s: None,
                              reply_to_roles=(), min_utterance=cfg.min_utterance)
        conductor.on_turn = lambda event: heard.append(  # type: ignore[method-assign]
            event.utterance) if isinstance(event, SpeechEnded) else None
        scribe = Scribe(SlowWords(), session_id="s", book=TranscriptBook(), publish=None,
                        deliver=conductor.on_turn, spawn=spawn,
                        min_utterance=cfg.min_utterance)
        pipeline = OrbPipeline(cfg, conductor=conductor, scribe=scribe,
                               judge=TurnJudge(model=model),  # type: ignore[arg-type]
                               spawn=spawn)
        detector = pipeline.detector("client-1", "client")
        listener = pipeline.listener(detector)

        def feed(chunk: np.ndarray) -> None:
            for event in detector.feed(Audio(chunk, HEARING_RATE)):
                listener(event)

        await feed_in_real_time(feed, np.concatenate([
            voices.silence(0.3), voices.espeak("I want to go home"), voices.silence(2.5)]),
            speedup=2)
        for _ in range(100):  # bounded: 5 s for the words and the last verdicts
            if heard and not tasks:
                break
            await asyncio.sleep(0.05)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return pipeline

    return asyncio.run(asyncio.wait_for(scenario(), 30)), model, heard


def test_a_check_an_earlier_verdict_of_the_pause_settles_does_not_ask_the_model() -> None:
    """A check whose outcome an earlier verdict of the same pause already settles does not
    ask the model: the words' check goes by the pause's best verdict, and a verdict that
    passed its own check ends the turn (or the words void both). The turn ends as before."""
    words_threshold = OrbConfig().eot_words_check[1]  # type: ignore[index]
    pipeline, model, heard = words_check_run(0.033)
    assert words_threshold <= 0.033
    assert [u.ended_by for u in heard] == ["words"], heard
    assert heard[0].probability == 0.033
    assert pipeline.passed_judgements == 1
    assert model.decisions == pipeline.judgements - pipeline.passed_judgements \
        - pipeline.skipped_judgements
    # A first verdict that passes its own check (0.5 at 0.2 s) settles the later checks
    # asked while the words are still coming: the model runs once, the turn ends there.
    pipeline, model, heard = words_check_run(0.6)
    assert [(u.ended_by, u.probability) for u in heard] == [("model", 0.6)], heard
    assert model.decisions == 1 and pipeline.passed_judgements >= 1, pipeline.judgements
    # Below the words' threshold the words' check asks the model itself.
    pipeline, model, heard = words_check_run(0.0005)
    assert words_threshold > 0.0005
    assert pipeline.passed_judgements == 0 and model.decisions >= 2
    assert all(u.ended_by != "words" for u in heard), heard


def test_checks_at_the_same_silence_share_one_run_of_the_model() -> None:
    """The default schedule asks the first model check and the words' check at the same
    0.65 s of quiet, about the same audio: the model runs once for both (the second check
    awaits the first one's answer), and the turn still ends as it did."""
    cfg = OrbConfig(neural_vad=False)
    first, words = cfg.eot_checks[0], cfg.eot_words_check
    assert words is not None and first[0] == words[0]  # the schedule this test is about
    pipeline, model, heard = words_check_run(0.0005, cfg)  # below every threshold: none passes
    asked = pipeline.judgements - pipeline.passed_judgements - pipeline.skipped_judgements
    assert model.decisions == asked, (model.decisions, pipeline.judgements)
    assert pipeline.passed_judgements >= 1  # the shared run
    # One run per silence, not per check (since round 12 the words' check comes again at
    # 1.0 s, a silence of its own: OrbConfig.eot_late_words_check).
    assert model.decisions <= len({check[0] for check in cfg.decision_checks})
    assert all(u.ended_by != "words" for u in heard), heard

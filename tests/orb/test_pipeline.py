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
        tasks: set[asyncio.Task[None]] = set()

        def spawn(coro: Any, name: str) -> asyncio.Task[None]:
            task = asyncio.get_running_loop().create_task(coro, name=name)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            return task

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
            - pipeline.skipped_judgements + 1  # + 1: one in flight when the test ended

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

"""The early reply (orb_bridge.early_reply): the language model asked at a pause's words,
heard only once the turn is over with the same words.

Offline, on a simulated clock (testkit.reply_sim): rendered espeak-ng speech through the
orb's detector, Silero, Smart Turn and Whisper, the orb's own stage, and the orb's
language-model brain asking the stand-in model served on a local port. Then the conductor's
side with the real stage and brain: a draft is heard only when its turn is answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from orb_bridge import OrbConfig
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.brain import Prepares
from orb_bridge.conductor import Conductor, OrbStatus
from orb_bridge.early_reply import EarlyReply, Fate, PauseWords
from orb_bridge.end_of_turn import SmartTurn
from orb_bridge.hearing import SpeechEnded, Utterance
from orb_bridge.llm_brain import LanguageModelBrain, espeak_speech
from orb_bridge.media_out import Voice
from orb_bridge.speech_config import SpeechConfig
from orb_bridge.stt import WhisperStt
from testkit import voices
from testkit.llm_standin import StandInModel
from testkit.reply_sim import ReplyLoop, converse, reply_loop

pytestmark = pytest.mark.skipif(not __import__("orb_bridge.vad").vad.vad_available(),
                                reason="needs the brain extra")

TTFT = 0.3
#: A decision slower than the words (its one check at 1.2 s of quiet; the words take 0.1 s):
#: a lead the early reply can use whole, so the gain is the model's whole time and not the
#: machine's noise. With the orb's own schedule the verdict mostly comes with the words or
#: 0.2-0.3 s after them and the gain is that lead (docs/orb.md, "The early reply").
SLOW_DECISION = OrbConfig(eot_checks=((1.2, 0.15),), eot_words_check=None,
                          eot_late_words_check=None)
FINISHED = "I keep saying yes to every request at work and I have no evenings left."


@pytest.fixture()
def served() -> Iterator[tuple[StandInModel, LanguageModelBrain, ReplyLoop]]:
    with StandInModel(answer="That sounds important to you. Tell me more.",
                      first_token_delay=TTFT, tokens_per_second=30) as standin, \
            reply_loop() as loop:
        brain = LanguageModelBrain(SpeechConfig(stt_model=None, llm_url=standin.url),
                                   speak=espeak_speech)
        yield standin, brain, loop
        loop.run(brain.aclose())


def padded(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([voices.silence(0.5), *parts, voices.silence(2.5)])


def test_a_finished_request_is_heard_sooner_by_about_the_models_first_token(
        whisper: WhisperStt, model: SmartTurn, served: Any) -> None:
    _standin, brain, loop = served
    pcm = padded(voices.espeak(FINISHED))
    words = lambda pcm: whisper.transcribe_blocking(pcm, False)  # noqa: E731

    # One hearing; the turn answered with the early reply, then timed again as if the
    # model were asked at the verdict (the same turn, the same words, the same moment).
    soon = converse(pcm, brain, loop, config=SLOW_DECISION, model=model, transcribe=words,
                    model_seconds=0.05, transcribe_seconds=0.1, compare=True)
    assert soon.kept and len(soon.drafted) == 1 and soon.counts == {"drafted": 1, "kept": 1}
    assert soon.verdict_at is not None and soon.drafted[0] < soon.verdict_at - 0.9
    # Its first audio comes at least the model's time to first token sooner: the request
    # went out at the pause's words, a second before the verdict.
    late, first = soon.fresh_first_audio_at, soon.first_audio_at
    assert late is not None and first is not None
    assert late - soon.verdict_at >= TTFT  # asked at the verdict, the model's time follows it
    assert late - first >= 0.8 * TTFT, (late, first)
    # Nothing was taken to be played before the verdict.
    assert soon.first_taken_at is not None and soon.first_taken_at >= soon.verdict_at


def test_a_paused_requests_early_reply_is_dropped_unheard(
        whisper: WhisperStt, model: SmartTurn, served: Any) -> None:
    standin, brain, loop = served
    # Its first part reads as a whole sentence; the speaker goes on after 0.6 s of quiet.
    first, rest = "I spoke to my sister.", "And then she said I should move to Leeds."
    pcm = padded(voices.espeak(first), voices.silence(0.6), voices.espeak(rest))
    words = lambda pcm: whisper.transcribe_blocking(pcm, False)  # noqa: E731
    run = converse(pcm, brain, loop, config=SLOW_DECISION, model=model, transcribe=words,
                   model_seconds=0.05, transcribe_seconds=0.1)
    ends = [h for h in run.heard if isinstance(h.event, SpeechEnded)]
    assert len(ends) == 1  # the pause did not end the turn
    assert run.counts.get(Fate.RESUMED) == 1, run.counts
    assert run.drafted[0] < 0.5 + 2.0  # drafted in the pause, before the rest was said
    # What was answered is the whole request, asked afresh or drafted at its end: the
    # first part's reply was never taken, and the brain remembers no such turn.
    assert run.words is not None and "leeds" in run.words.lower()
    assert run.first_taken_at is not None and run.verdict_at is not None
    assert run.first_taken_at >= run.verdict_at
    asked = [str(r.body["messages"][-1]["content"]) for r in standin.requests]
    assert len(asked) == 2 and "leeds" not in asked[0].lower() and "leeds" in asked[1].lower()
    remembered = [t.text for t in brain.history]
    assert not any(t.strip().lower() == "i spoke to my sister." for t in remembered)


class Recording(Voice):
    """The orb's voice, noting when each reply piece was handed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.played: list[float] = []

    def play(self, said: Audio, follow: bool = False) -> float:
        self.played.append(time.monotonic())
        return super().play(said, follow)


def turn(text: str) -> Utterance:
    speech = Audio(np.zeros(HEARING_RATE, np.int16), HEARING_RATE)
    return Utterance("client-1", "client", speech, 1.0, text=text)


async def with_conductor(standin: StandInModel, script: Any, **conductor: Any) -> Any:
    brain = LanguageModelBrain(SpeechConfig(stt_model=None, llm_url=standin.url),
                               speak=espeak_speech)
    assert isinstance(brain, Prepares)
    voice = Recording()
    statuses: list[str] = []
    orb = Conductor(brain, voice, statuses.append, reply_to_roles=("client",),
                    min_utterance=0.15, **conductor)
    stage = orb.early = EarlyReply(brain, answers=orb.would_answer, voicing=lambda s: False,
                                   clock=time.monotonic)
    runner = asyncio.get_running_loop().create_task(orb.run())
    try:
        return await asyncio.wait_for(script(orb, stage, voice, statuses, brain), 10)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def test_the_conductor_says_a_draft_only_once_its_turn_is_answered() -> None:
    async def script(orb: Conductor, stage: EarlyReply, voice: Recording,
                     statuses: list[str], brain: LanguageModelBrain) -> None:
        words = "I have no evenings left."
        drafts: list[Any] = []
        prepare = brain.prepare
        brain.prepare = lambda u: drafts.append(prepare(u)) or drafts[-1]  # type: ignore
        stage.words(PauseWords("client-1", "client", turn(words).audio, words))
        assert stage.counts["drafted"] == 1 and len(drafts) == 1
        while drafts[0].first_audio_at is None:  # the model answered, its sentence made
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert voice.played == [] and OrbStatus.SPEAKING not in statuses
        assert brain.history == type(brain.history)()  # nothing remembered yet
        confirmed = time.monotonic()
        orb.on_turn(SpeechEnded(turn(words)))
        while not voice.played:
            await asyncio.sleep(0.01)
        assert voice.played[0] - confirmed < TTFT  # the model was not asked again
        assert stage.counts[Fate.KEPT] == 1 and len(standin.requests) == 1
        orb.hush()

    with StandInModel(answer="That sounds hard.", first_token_delay=TTFT) as standin:
        asyncio.run(with_conductor(standin, script))


@pytest.mark.parametrize("how", ["other words", "not answered", "muted", "resumed"])
def test_a_draft_that_is_not_its_turns_reply_is_dropped_and_never_said(how: str) -> None:
    async def script(orb: Conductor, stage: EarlyReply, voice: Recording,
                     statuses: list[str], brain: LanguageModelBrain) -> None:
        words = "I have no evenings left."
        stage.words(PauseWords("client-1", "client", turn(words).audio, words))
        await asyncio.sleep(0.05)
        if how == "other words":
            orb.on_turn(SpeechEnded(turn(words + " And my weekends.")))
            expected, asked = Fate.CHANGED, 2
        elif how == "not answered":
            coach = turn(words)
            orb.on_turn(SpeechEnded(Utterance("client-1", "coach", coach.audio, 1.0,
                                              text=words)))
            expected, asked = Fate.NOT_ANSWERED, 1
        elif how == "muted":
            orb.on_control("mute")
            expected, asked = Fate.STOPPED, 1
        else:
            stage.started("client-1")
            expected, asked = Fate.RESUMED, 1
        if asked == 1:
            await asyncio.sleep(TTFT + 0.3)  # long enough for a draft's sentence to be made
        else:  # answered afresh: its first audio, however slow the machine (bounded)
            deadline = time.monotonic() + 8
            while not voice.played and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        assert stage.counts[expected] == 1, stage.counts
        assert not stage.waiting
        if asked == 1:
            assert voice.played == []
            assert [t.text for t in brain.history] == ([words] if how == "not answered"
                                                       else [])
        else:  # answered afresh with the turn's own words
            assert len(standin.requests) == 2 and voice.played
            assert "weekends" in str(standin.requests[1].body["messages"][-1]["content"])
        assert len(standin.requests) == asked
        orb.hush()

    with StandInModel(answer="That sounds hard.", first_token_delay=TTFT) as standin:
        asyncio.run(with_conductor(standin, script))


def test_no_draft_in_listen_mode_or_for_words_that_read_mid_clause() -> None:
    from orb_bridge.addressee import Addressee
    from orb_bridge.addressing import AddressRule

    async def script(orb: Conductor, stage: EarlyReply, voice: Recording,
                     statuses: list[str], brain: LanguageModelBrain) -> None:
        speech = turn("").audio
        stage.words(PauseWords("client-1", "client", speech, "I wanted to talk about the"))
        assert orb.addressee is not None
        orb.addressee.mode = "addressed"
        stage.words(PauseWords("client-1", "client", speech, "I have no evenings left."))
        orb.addressee.mode = "listen"
        stage.words(PauseWords("client-1", "client", speech, "Orb, what should I do?"))
        assert stage.counts["drafted"] == 0 and standin.requests == []
        orb.addressee.mode = "addressed"
        stage.words(PauseWords("client-1", "client", speech, "Orb, what should I do?"))
        assert stage.counts["drafted"] == 1
        stage.stop()

    with StandInModel(answer="That sounds hard.", first_token_delay=TTFT) as standin:
        asyncio.run(with_conductor(standin, script, addressee=Addressee(
            AddressRule("Orb"), mode="active")))


def test_the_pipeline_builds_the_stage_for_a_brain_that_prepares_unless_switched_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On by default for a language model (round 8's schedule leaves the words ~0.3 s ahead
    of the verdict; docs/orb.md, "The early reply"); ``--orb-early-reply off``
    (trio-server), ``--early-reply off`` or ``SIGNALING_ORB_EARLY_REPLY=off`` (orb-worker)
    turn it off; the offline coach answers at once and has no use for it."""
    from orb_bridge import InProcessOrbHost
    from orb_bridge.brain import OfflineBrain
    from orb_bridge.pipeline import build_pipeline
    from orb_bridge.transcripts import Scribe, TranscriptBook
    from orb_bridge.worker import _speech
    from orb_bridge.worker import build_parser as worker_parser
    from trio_server.cli import build_parser, orb_options_from_args

    async def stages(config: OrbConfig, brain: Any) -> Any:
        orb = Conductor(brain, Voice(), lambda s: None, reply_to_roles=("client",),
                        min_utterance=0.15)
        spawn: Any = lambda coro, name: asyncio.get_running_loop().create_task(coro)  # noqa
        no_stt: Any = None  # never asked: nothing is heard here
        scribe = Scribe(no_stt, session_id="s", book=TranscriptBook(), publish=None,
                        deliver=orb.on_turn, spawn=spawn, min_utterance=0.15)
        pipeline = build_pipeline(config, conductor=orb, scribe=scribe, spawn=spawn)
        return pipeline.early, orb.early

    llm = LanguageModelBrain(SpeechConfig(stt_model=None, llm_url="http://127.0.0.1:9/v1"),
                             speak=espeak_speech)
    assert OrbConfig().speech.early_reply
    on = asyncio.run(stages(OrbConfig(), llm))
    assert on[0] is not None and on[0] is on[1]
    assert asyncio.run(stages(OrbConfig(), OfflineBrain())) == (None, None)
    args = build_parser().parse_args(["--orbs", "--orb-early-reply", "off"])
    switched_off = InProcessOrbHost(orb_options=orb_options_from_args(args, {})).config
    assert not switched_off.speech.early_reply
    assert asyncio.run(stages(switched_off, llm)) == (None, None)
    assert not _speech(worker_parser().parse_args(["--url", "ws://x", "--early-reply",
                                                   "off"])).early_reply
    assert _speech(worker_parser().parse_args(["--url", "ws://x"])).early_reply
    monkeypatch.setenv("SIGNALING_ORB_EARLY_REPLY", "off")
    assert not _speech(worker_parser().parse_args(["--url", "ws://x"])).early_reply


def test_every_fate_of_a_draft_is_in_the_table() -> None:
    from orb_bridge.early_reply import FATES

    assert set(FATES.values()) == set(Fate)
    assert [f for f in FATES.values() if f is Fate.KEPT] == [Fate.KEPT]  # heard only if kept


def test_no_draft_for_words_that_come_in_after_the_speaker_went_on() -> None:
    """A pause shorter than the words' transcription (0.4 s against ~0.45 s): the speaker is
    heard again when the words come in, so the model is not asked for a draft that the next
    frame would drop (bench/party.py: 4 of 52 design pauses asked it for nothing)."""
    asked: list[Utterance] = []

    class Drafting:
        def prepare(self, utterance: Utterance) -> Any:
            asked.append(utterance)
            return type("Reply", (), {"cancel": lambda self: None})()

    heard_again = {"client-1": True}
    stage = EarlyReply(Drafting(), answers=lambda u: True,
                       voicing=lambda s: heard_again.get(s, False), clock=time.monotonic)
    speech = turn("").audio
    stage.words(PauseWords("client-1", "client", speech, "I have no evenings left."))
    assert asked == [] and stage.counts["drafted"] == 0 and not stage.waiting
    heard_again["client-1"] = False  # a later pause, the words in while it lasts
    stage.words(PauseWords("client-1", "client", speech, "I have no evenings left."))
    assert [u.text for u in asked] == ["I have no evenings left."]
    assert stage.counts["drafted"] == 1 and stage.waiting

"""The language model behind the OpenAI-compatible API, against a local stand-in server.

The stand-in (testkit.llm_standin) streams server-sent events like any chat-completions
server; only the model is a stand-in: the HTTP client, the sentence splitting, the speech and
(in the call test) faster-whisper and aiortc are real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.brain import ReplyAudio, StatusHint
from orb_bridge.coaching import Turn
from orb_bridge.hearing import Utterance
from orb_bridge.llm import LlmError, sentences
from orb_bridge.llm_brain import LanguageModelBrain, brain_factory_for
from orb_bridge.speech_config import FALLBACK_LINE, SpeechConfig
from testkit.llm_standin import ANSWER, StandInModel

CLIENT_TEXT = "I want to find more time for my family."


def said(role: str, text: str) -> Utterance:
    return Utterance(f"{role}-1", role, Audio.silence(0.1, HEARING_RATE), 1.0, text=text)


async def quick_speech(text: str) -> tuple[bytes, int]:
    """Speech without espeak's cost: these tests are about the text stream."""
    return b"\1\0" * 480, 48_000


def config(url: str, **kw: Any) -> SpeechConfig:
    return SpeechConfig(stt_model=None, llm_url=url, llm_model="coach-test", **kw)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


async def replies(brain: LanguageModelBrain, utterance: Utterance
                  ) -> list[tuple[float, StatusHint | ReplyAudio]]:
    return [(time.monotonic(), out) async for out in brain.respond(utterance)]


def test_sentences_are_cut_as_they_arrive() -> None:
    async def pieces() -> Any:
        for p in ["Hel", "lo there. How", " are you? I", " am fine"]:
            yield p

    async def collect() -> list[str]:
        return [s async for s in sentences(pieces())]

    assert run(collect()) == ["Hello there.", "How are you?", "I am fine"]


def test_the_first_clause_is_said_before_the_model_has_written_its_sentence() -> None:
    """The reply's first piece may be its first clause (a comma after its 4th-10th word),
    handed on as the comma arrives, before the sentence's last token; later sentences and a
    clause too short or a number's comma are not cut."""
    pulled: list[str] = []

    async def pieces(texts: list[str]) -> Any:
        for p in texts:
            pulled.append(p)
            yield p

    async def collect(texts: list[str], first_clause: bool = True) -> list[tuple[str, int]]:
        pulled.clear()
        return [(s, len(pulled)) async for s in sentences(pieces(texts),
                                                          first_clause=first_clause)]

    tokens = ["I", " can", " hear", " how", " much", " that", " weighs", " on", " you,",
              " and", " it", " matters.", " Tell", " me", " more,", " if", " you", " like."]
    assert run(collect(tokens)) == [("I can hear how much that weighs on you,", 9),
                                    ("and it matters.", 12),
                                    ("Tell me more, if you like.", 18)]
    assert run(collect(tokens, first_clause=False))[0] == (
        "I can hear how much that weighs on you, and it matters.", 12)
    assert [s for s, _ in run(collect(["Well,", " I", " hear", " you.", " Go", " on."]))] \
        == ["Well, I hear you.", "Go on."]
    assert [s for s, _ in run(collect(["It", " costs", " 1,", "000", " a", " month."]))] \
        == ["It costs 1,000 a month."]


def test_a_coach_turn_addressed_to_the_orb_is_put_to_the_model_as_meant_for_it() -> None:
    """Issue 24: the addressing stage answers a coach who asks the orb (to sum up, say); the
    model must not read that turn as one for the client it should not answer."""
    with StandInModel(first_token_delay=0.05, tokens_per_second=200) as model:
        brain = LanguageModelBrain(config(model.url, llm_api_key="sk-test"),
                                   speak=quick_speech)
        brain.observe(said("coach", "Welcome, let's talk about your week."))
        run(replies(brain, said("coach", "Orb, could you sum up what we said?")))
        [seen] = model.requests
    assert [m["content"] for m in seen.body["messages"][1:]] == [
        "Coach (to the client; do not answer this): Welcome, let's talk about your week.",
        "Coach (to you): Orb, could you sum up what we said?"]


def test_streamed_request_carries_both_roles_and_speech_starts_before_the_end() -> None:
    with StandInModel(first_token_delay=0.3, tokens_per_second=30) as model:
        brain = LanguageModelBrain(config(model.url, llm_api_key="sk-test"),
                                   speak=quick_speech)
        brain.observe(said("coach", "Welcome, let's talk about your week."))
        out = run(replies(brain, said("client", CLIENT_TEXT)))
        [seen] = model.requests
    body = seen.body
    assert body["stream"] is True and body["model"] == "coach-test"
    messages = body["messages"]
    assert messages[0]["role"] == "system" and "coach" in messages[0]["content"].lower()
    assert [m["content"] for m in messages[1:]] == [
        "Coach (to the client; do not answer this): Welcome, let's talk about your week.",
        f"Client: {CLIENT_TEXT}"]
    audio = [(t, o) for t, o in out if isinstance(o, ReplyAudio)]
    assert [o.text for _, o in audio] == [
        "That sounds important to you.",
        "What would a good evening with your family look like?",
        "Tell me about the first small change you could make this week."]
    assert isinstance(out[0][1], StatusHint)
    assert seen.ended_at is not None and audio[0][0] < seen.ended_at - 0.3, \
        "the first sentence must be ready well before the stream ends"
    assert brain.client.last_first_token is not None
    assert 0.25 < brain.client.last_first_token < 1.0
    assert list(brain.history)[-1] == Turn("ai", ANSWER)


def test_the_api_key_comes_from_the_environment_only() -> None:
    cfg = SpeechConfig.from_options({"llm_url": "http://x/v1"}, {"ORB_LLM_API_KEY": "sk-1"})
    assert cfg.llm_api_key == "sk-1" and "sk-1" not in repr(cfg)
    with pytest.raises(ValueError, match="unknown orb option"):
        SpeechConfig.from_options({"llm_api_key": "sk-2"}, {})


def test_barge_in_cancels_the_request() -> None:
    with StandInModel(first_token_delay=0.1, tokens_per_second=5) as model:
        brain = LanguageModelBrain(config(model.url), speak=quick_speech)

        async def interrupted() -> list[str]:
            got: list[str] = []

            async def consume() -> None:
                async for out in brain.respond(said("client", CLIENT_TEXT)):
                    if isinstance(out, ReplyAudio):
                        got.append(out.text)

            task = asyncio.get_running_loop().create_task(consume())
            while not got:
                await asyncio.sleep(0.01)
            task.cancel()  # what the conductor does on barge-in
            await asyncio.gather(task, return_exceptions=True)
            deadline = time.monotonic() + 5
            while not model.requests[0].hung_up and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return got

        got = run(interrupted())
        assert got == ["That sounds important to you."]
        assert model.requests[0].hung_up, "the stream was not cancelled"
        assert model.requests[0].ended_at is not None
    # Only what was said enters the history.
    assert list(brain.history)[-1] == Turn("ai", "That sounds important to you.")


@pytest.mark.parametrize(("mode", "cause"), [
    ("error", "HTTP 500"), ("silent", "too slow"), ("garbage", "not JSON"),
    ("malformed", "malformed stream"), ("down", "cannot connect")])
def test_a_failing_model_gets_the_fallback_line(mode: str, cause: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with StandInModel(mode=mode if mode != "down" else "ok") as model:
        url = model.url if mode != "down" else "http://127.0.0.1:9/v1"
        brain = LanguageModelBrain(config(url, llm_first_token_timeout=0.5),
                                   speak=quick_speech)
        started = time.monotonic()
        out = run(replies(brain, said("client", CLIENT_TEXT)))
    took = time.monotonic() - started
    audio = [o for _, o in out if isinstance(o, ReplyAudio)]
    assert [a.text for a in audio] == [FALLBACK_LINE]
    assert brain.failures == 1 and brain.last_error is not None and cause in brain.last_error
    assert cause in caplog.text
    assert took < 3.0
    # The next turn works again once the server does.
    assert Turn("ai", FALLBACK_LINE) not in brain.history


def test_a_stream_that_stalls_mid_answer_ends_the_reply_not_the_orb(
        caplog: pytest.LogCaptureFixture) -> None:
    """The model hangs after its first sentence (keep-alive comments only): what was said
    stays said, no fallback line follows it, the reply ends one stall bound later (not at
    ``llm_timeout``), the request is hung up, and the next turn is answered in full."""
    with StandInModel(mode="stall", first_token_delay=0.05, tokens_per_second=200) as model:
        brain = LanguageModelBrain(config(model.url, llm_first_token_timeout=0.5,
                                          llm_timeout=20.0), speak=quick_speech)
        started = time.monotonic()
        out = run(replies(brain, said("client", CLIENT_TEXT)))
        took = time.monotonic() - started
        deadline = time.monotonic() + 5
        while not model.requests[0].hung_up and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.requests[0].hung_up, "the stalled request was not closed"
        assert [o.text for _, o in out if isinstance(o, ReplyAudio)] == [
            "That sounds important to you."]
        assert brain.failures == 1 and "stalled" in str(brain.last_error)
        assert "stalled" in caplog.text
        assert took < 3.0, f"the stall held the reply for {took:.1f} s"
        assert list(brain.history)[-1] == Turn("ai", "That sounds important to you.")
        model.mode = "ok"
        again = run(replies(brain, said("client", "Evenings are hard.")))
    assert " ".join(o.text for _, o in again if isinstance(o, ReplyAudio)) == ANSWER


def test_a_server_that_ignores_stream_still_works() -> None:
    with StandInModel(mode="json", first_token_delay=0.05) as model:
        brain = LanguageModelBrain(config(model.url), speak=quick_speech)
        out = run(replies(brain, said("client", CLIENT_TEXT)))
    assert " ".join(o.text for _, o in out if isinstance(o, ReplyAudio)) == ANSWER


def test_summary_by_the_model_and_the_fallback_when_it_fails() -> None:
    from orb_bridge.transcripts import summarize

    turns = [Turn("client", CLIENT_TEXT), Turn("coach", "What gets in the way?")]
    with StandInModel(answer="Key topics: family time. Progress: named a goal. "
                             "Next steps: one free evening.", first_token_delay=0.01,
                      tokens_per_second=500) as model:
        brain = LanguageModelBrain(config(model.url), speak=quick_speech)
        summary = run(summarize(brain, turns, 5.0))
        assert summary.method == "llm" and summary.text.startswith("Key topics: family time.")
        assert "Client: I want to find more time" in model.requests[0].body["messages"][1][
            "content"]
        model.mode = "error"
        fallback = run(summarize(brain, turns, 5.0))
    assert fallback.method == "extractive" and "family" in fallback.text
    assert fallback.goals == (CLIENT_TEXT,)


def test_the_factory_picks_the_model_only_when_configured(tmp_path: Any) -> None:
    from orb_bridge.brain import OfflineBrain

    assert isinstance(brain_factory_for(SpeechConfig())(), OfflineBrain)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are a terse coach.")
    brain = brain_factory_for(config("http://127.0.0.1:9/v1",
                                     system_prompt_file=str(prompt)))()
    assert isinstance(brain, LanguageModelBrain)
    assert brain.messages()[0] == {"role": "system", "content": "You are a terse coach."}
    with pytest.raises(LlmError):
        run(brain.client.complete([{"role": "user", "content": "hi"}]))


CallBody = Callable[[Any, Any, float], Awaitable[None]]


async def _call_with_the_model(model: StandInModel, body: CallBody, **speech_options: Any
                               ) -> None:
    """A real call on ``trio-server`` with the orb on ``model`` (faster-whisper, aiortc): a
    coach and a client whose audio from the orb flows; ``body(coach, client, t1)`` runs once
    the client has started saying CLIENT_TEXT at ``t1``."""
    from orb_bridge import OrbConfig
    from testkit.speech import espeak_pcm48k
    from testkit.synthetic import SyntheticHuman

    from .conftest import in_asyncio, orb_server

    speech = SpeechConfig(llm_url=model.url, llm_model="coach-test", **speech_options)
    async with orb_server(orb=OrbConfig(speech=speech),
                          brain_factory=brain_factory_for(speech)) as srv:
        async def scenario() -> None:
            coach = SyntheticHuman(srv.url, "llm", "coach-1", "coach",
                                   mesh_with_humans=False, camera=None)
            client = SyntheticHuman(srv.url, "llm", "client-1", "client",
                                    mesh_with_humans=False, camera=None)
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 10, "orb")
                await client.start()
                orb = coach.orb_id()
                for h in (coach, client):
                    await h.wait_until(lambda h=h: orb in h.media
                                       and h.media[orb].audio_frames > 10, 20, "audio")
                t1 = time.monotonic()
                client.play(espeak_pcm48k(CLIENT_TEXT))
                await body(coach, client, t1)
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=100)


@pytest.mark.media
async def test_a_call_with_the_model_answers_and_a_barge_in_cancels_it() -> None:
    from testkit.speech import espeak_pcm48k

    with StandInModel(first_token_delay=0.3, tokens_per_second=4) as model:
        async def body(coach: Any, client: Any, t1: float) -> None:
            await coach.wait_until(lambda: "speaking" in coach.statuses_since(t1),
                                   25, "the orb speaking the model's answer")
            spoke = time.monotonic()
            [seen] = model.requests
            assert seen.ended_at is None, "speech must start before the stream ends"
            assert seen.body["messages"][-1]["content"].startswith("Client: I want")
            # The client interrupts: the orb stops and the request is cancelled.
            await asyncio.sleep(0.5)
            client.play(espeak_pcm48k("Wait, let me add something."))
            await coach.wait_until(lambda: seen.hung_up, 10, "the request cancelled")
            assert seen.ended_at is not None and seen.ended_at > spoke
            await client.wait_until(
                lambda: any(m["speakerRole"] == "ai" for m in client.transcripts()),
                10, "the orb's (cut) reply transcript")
            cut = next(m for m in client.transcripts() if m["speakerRole"] == "ai")
            assert ANSWER.startswith(str(cut["text"])) and cut["text"] != ANSWER

        await _call_with_the_model(model, body)


@pytest.mark.media
async def test_a_model_that_hangs_mid_answer_in_a_call_costs_one_reply() -> None:
    """The model hangs after the first sentence of its answer. The orb says that sentence,
    is back to ``listening`` one stall bound later, and answers the client's next turn in
    full from the recovered model."""
    from testkit.speech import espeak_pcm48k

    stall_bound = 1.5
    with StandInModel(mode="stall", first_token_delay=0.2, tokens_per_second=20) as model:
        async def body(coach: Any, client: Any, t1: float) -> None:
            await coach.wait_until(lambda: "speaking" in coach.statuses_since(t1),
                                   25, "the orb speaking the first sentence")
            spoke = time.monotonic()
            await coach.wait_until(lambda: "listening" in coach.statuses_since(spoke), 15,
                                   "the orb back to listening after the stall")
            back = time.monotonic() - spoke
            assert back < stall_bound + 6.0, f"stuck for {back:.1f} s"
            await coach.wait_until(lambda: bool(model.requests) and model.requests[0].hung_up,
                                   10, "the stalled request closed")
            await client.wait_until(
                lambda: any(m["speakerRole"] == "ai" for m in client.transcripts()),
                10, "the transcript of what the orb said")
            first = [m["text"] for m in client.transcripts() if m["speakerRole"] == "ai"]
            assert first == ["That sounds important to you."], first
            model.mode = "ok"
            t2 = time.monotonic()
            client.play(espeak_pcm48k("Evenings are the hardest part."))
            await client.wait_until(
                lambda: any(m["speakerRole"] == "ai" and m["text"] == ANSWER
                            for m in client.transcripts()), 30,
                "the whole answer to the next turn")
            assert "speaking" in coach.statuses_since(t2)

        await _call_with_the_model(model, body, llm_first_token_timeout=stall_bound)


def test_trio_server_orb_options_reach_the_orb_host() -> None:
    from orb_bridge import InProcessOrbHost
    from trio_server.cli import build_parser, orb_options_from_args

    args = build_parser().parse_args(["--orbs", "--orb-llm-url", "http://127.0.0.1:9/v1",
                                      "--orb-llm-model", "m", "--orb-transcripts", "off"])
    options = orb_options_from_args(args, {"SIGNALING_ORB_STT_MODEL": "off"})
    assert options == {"stt_model": "off", "transcripts": "off",
                       "llm_url": "http://127.0.0.1:9/v1", "llm_model": "m"}
    host = InProcessOrbHost(orb_options=options)
    speech = host.config.speech
    assert speech.stt_model is None and speech.transcripts is False
    assert speech.llm_url == "http://127.0.0.1:9/v1"
    assert isinstance(host._brain_factory(), LanguageModelBrain)


def test_a_streaming_voice_makes_the_answer_piece_by_piece_as_it_is_taken() -> None:
    """With the voice chain's stream (the default), each sentence comes in pieces: its first
    carries the text, the rest follow (``more``); a piece is made only once the one before was
    taken, so an answer nobody asks further for is not synthesised ahead."""
    import numpy as np

    made: list[str] = []

    async def stream(text: str):  # type: ignore[no-untyped-def]
        for i in range(3):
            await asyncio.sleep(0.005)
            made.append(f"{text[:8]}#{i}")
            yield np.ones(4_800, dtype=np.int16)

    async def take() -> tuple[int, list[ReplyAudio]]:
        outputs = brain.respond(said("client", CLIENT_TEXT))
        got: list[ReplyAudio] = []
        async for out in outputs:
            if isinstance(out, ReplyAudio):
                got.append(out)
                if len(got) == 1:
                    await asyncio.sleep(0.5)  # the orb playing the first piece
                    made_while_playing = len(made)
        return made_while_playing, got

    with StandInModel(first_token_delay=0.05, tokens_per_second=200) as model:
        brain = LanguageModelBrain(config(model.url, voice="espeak"))
        brain._stream = stream  # the pieces, counted
        made_while_playing, got = run(take())
    assert made_while_playing <= 2  # the piece taken and at most one ahead
    assert len(got) == 9 and all(o.more for o in got)
    assert [o.text for o in got if o.text] == [
        "That sounds important to you.",
        "What would a good evening with your family look like?",
        "Tell me about the first small change you could make this week."]
    assert [o.text for o in got[:3]] == ["That sounds important to you.", "", ""]
    assert list(brain.history)[-1] == Turn("ai", ANSWER)

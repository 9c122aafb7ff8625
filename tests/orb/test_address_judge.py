"""The language model's judgement of ambiguous turns (orb_bridge.address_judge), against the
local stand-in of the OpenAI chat-completions API (testkit.llm_standin)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from orb_bridge.address_judge import MAX_TOKENS, AddressJudge
from orb_bridge.addressee import Addressee
from orb_bridge.addressing import AddressRule
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.brain import ReplyAudio, StatusHint
from orb_bridge.conductor import Conductor
from orb_bridge.hearing import SpeechEnded, Utterance
from orb_bridge.llm import ChatClient
from orb_bridge.media_out import Voice
from orb_bridge.speech_config import SpeechConfig
from testkit.llm_standin import StandInModel


def judge_for(url: str, **kw: Any) -> AddressJudge:
    config = SpeechConfig(stt_model=None, llm_url=url, llm_model="judge-test", **kw)
    return AddressJudge(ChatClient(config), "Orb")


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.mark.parametrize(("text", "ambiguous"), [
    ("Or, what should I try first?", False),  # the rule's rule 3: addressed already
    ("Or what should I try first?", True),  # a near miss opening a question
    ("Can you tell Orb to wait?", True),  # named, read as talked about
    ("Could you sum up what we said, or?", True),
    ("Or maybe we could try the mornings.", False),  # not a request
    ("Can you tell me more about your manager?", False),  # no name, no near miss
    ("Hey Orb, what do you think?", False),  # addressed already
])
def test_only_ambiguous_turns_are_put_to_the_model(text: str, ambiguous: bool) -> None:
    assert judge_for("http://127.0.0.1:9/v1").worth_asking(text) is ambiguous


@pytest.mark.parametrize(("answer", "verdict"), [
    ("yes", True), ("Yes.", True), (" no", False), ("No, it is not.", False),
    ("maybe", False), ("", False)])
def test_the_models_one_word_decides(answer: str, verdict: bool) -> None:
    with StandInModel(answer=answer or " ", first_token_delay=0.02,
                      tokens_per_second=200) as model:
        judge = judge_for(model.url)
        got = run(judge.addressed("Or what should I try first?",
                                  [("coach", "How did your week go?"),
                                   ("client", "Busy, as always.")]))
        [seen] = model.requests
    assert got is verdict
    assert judge.asked == 1 and judge.said_yes == int(verdict)
    assert judge.unusable == int(answer.strip().lower()[:2] not in ("ye", "no"))
    body = seen.body
    assert body["max_tokens"] == MAX_TOKENS
    system, user = body["messages"]
    assert system["role"] == "system" and "Orb" in system["content"]
    assert user["content"].splitlines() == [
        "coach: How did your week go?", "client: Busy, as always.",
        "LAST TURN: Or what should I try first?"]


@pytest.mark.parametrize("mode", ["error", "silent", "garbage", "down"])
def test_a_failing_model_leaves_the_rules_no_within_its_bound(
        mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="orb_bridge.address_judge")
    with StandInModel(answer="yes", mode=mode if mode != "down" else "ok") as model:
        url = model.url if mode != "down" else "http://127.0.0.1:9/v1"
        judge = judge_for(url, llm_first_token_timeout=0.5, llm_timeout=1.0)
        started = time.monotonic()
        got = run(judge.addressed("Or what should I try first?"))
    assert got is False
    assert time.monotonic() - started < 3.0
    assert judge.unusable == 1
    assert "no judgement" in caplog.text


class Brain:
    """Answers every turn it is given with one line; remembers what it only observed."""

    def __init__(self) -> None:
        self.observed: list[str] = []

    def observe(self, utterance: Utterance) -> None:
        self.observed.append(utterance.text or "")

    async def respond(self, utterance: Utterance) -> AsyncIterator[StatusHint | ReplyAudio]:
        yield StatusHint("thinking")
        yield ReplyAudio(Audio.silence(0, 48_000), "Start with the mornings.")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_the_orb_answers_an_ambiguous_turn_only_on_the_models_yes(answer: str) -> None:
    """Through the conductor's reply loop: the client's "Or what should I try first?" (a
    bare "Orb," as Whisper writes it) is put to the stand-in model; "yes" gets the orb's
    reply, "no" leaves the turn observed only."""
    brain, spoken = Brain(), []

    async def call(url: str) -> None:
        addressee = Addressee(AddressRule("Orb"), judge=judge_for(url))
        conductor = Conductor(brain, Voice(), lambda status: None, reply_to_roles=("client",),
                              min_utterance=0.1, addressee=addressee,
                              on_spoken=lambda text, started, ended: spoken.append(text))
        task = asyncio.get_running_loop().create_task(conductor.run())
        second = Audio.silence(1.0, HEARING_RATE)
        conductor.on_turn(SpeechEnded(Utterance("client-1", "client", second, 1.0,
                                                text="Or what should I try first?")))
        deadline = time.monotonic() + 5
        while not (spoken or brain.observed) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with StandInModel(answer=answer, first_token_delay=0.02, tokens_per_second=200) as model:
        run(call(model.url))
        assert len(model.requests) == 1
    if answer == "yes":
        assert spoken == ["Start with the mornings."] and brain.observed == []
    else:
        assert spoken == [] and brain.observed == ["Or what should I try first?"]

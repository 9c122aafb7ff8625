"""The addressing stage (orb_bridge.addressee): the mode, the name, the ask button and the
reply budget decide which finished turns the orb answers (issue 24). Pure and on a hand-moved
clock; the same decisions end to end are in test_addressed_live.py."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from orb_bridge.address_judge import AddressJudge
from orb_bridge.addressee import Addressee
from orb_bridge.addressing import AddressRule
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.hearing import Utterance


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def turn(text: str, role: str = "client", speaker: str | None = None) -> Utterance:
    return Utterance(speaker or f"{role}-1", role, Audio.silence(0.1, HEARING_RATE), 1.0, text=text)


def stage(mode: str = "addressed", **kw: float) -> tuple[Addressee, Clock]:
    clock = Clock()
    return Addressee(AddressRule("Orb"), mode=mode, clock=clock, **kw), clock  # type: ignore[arg-type]


def test_addressed_answers_only_turns_that_name_it_coach_or_client() -> None:
    a, _ = stage()
    assert not a.decide(turn("I keep putting things off until the last minute.")).answer
    assert not a.decide(turn("I told the orb yesterday about it.")).answer
    assert not a.decide(turn("How did your week go?", "coach")).answer
    assert a.decide(turn("Orb, could you sum up what we have talked about so far?",
                         "coach")).answer
    assert a.decide(turn("Hey Orb, what do you think?")).answer


def test_listen_never_answers_even_when_named_or_asked() -> None:
    a, _ = stage("listen")
    a.ask("client-1")
    assert not a.decide(turn("Orb, what do you think?")).answer
    assert not a.decide(turn("I feel stuck.")).answer


def test_active_answers_the_clients_turns_and_whoever_names_it() -> None:
    a, _ = stage("active")
    assert a.decide(turn("I feel stuck at work.")).answer
    assert not a.decide(turn("Tell me more about that.", "coach")).answer
    assert a.decide(turn("Orb, please recap.", "coach")).answer


def test_the_ask_button_opens_one_turn_of_the_asker_within_the_window() -> None:
    a, clock = stage(ask_window=10.0)
    a.ask("coach-1")
    assert not a.decide(turn("What should I try first?")).answer  # not the asker
    assert a.decide(turn("What should we focus on next?", "coach")).answer
    assert not a.decide(turn("And after that?", "coach")).answer  # one turn only
    a.ask("client-1")
    clock.now += 11.0
    assert not a.decide(turn("What should I try first?")).answer  # the window closed


def test_a_name_said_a_hundred_times_a_minute_gets_bounded_replies() -> None:
    a, clock = stage(max_replies=6, reply_period=60.0)
    answered = 0
    for _ in range(100):
        answered += a.decide(turn("Orb, what do you think?")).answer
        clock.now += 0.6
    assert answered == 6
    clock.now += 60.0
    assert a.decide(turn("Orb, what do you think?")).answer


def test_an_unknown_mode_is_refused() -> None:
    a, _ = stage()
    with pytest.raises(ValueError):
        a.mode = "loud"
    assert a.mode == "addressed"


def test_the_mode_and_the_name_come_from_the_command_lines_and_environment() -> None:
    """``trio-server --orb-mode`` / ``SIGNALING_ORB_MODE`` set a new session's mode (the
    core's); ``--orb-name`` reaches the orb and its speech-to-text hotword."""
    from orb_bridge import InProcessOrbHost
    from trio_server.cli import build_parser, config_from_args, orb_options_from_args

    args = build_parser().parse_args(["--orbs", "--orb-mode", "listen", "--orb-name", "Nova"])
    config, _host = config_from_args(args, {})
    assert config.core.orb_mode == "listen"
    args = build_parser().parse_args(["--orbs"])
    assert config_from_args(args, {"SIGNALING_ORB_MODE": "active"})[0].core.orb_mode == "active"
    assert config_from_args(args, {})[0].core.orb_mode == "addressed"
    with pytest.raises(SystemExit):
        config_from_args(args, {"SIGNALING_ORB_MODE": "loud"})
    named = build_parser().parse_args(["--orbs", "--orb-name", "Nova"])
    host = InProcessOrbHost(orb_options=orb_options_from_args(named, {}))
    assert host.config.name == "Nova" and host.config.speech.stt_hotwords == "Nova"


def test_orb_worker_flags_and_environment() -> None:
    from orb_bridge.worker import build_parser

    args = build_parser().parse_args(["--url", "ws://x", "--orb-mode", "listen",
                                      "--orb-name", "Nova"])
    assert (args.orb_mode, args.orb_name) == ("listen", "Nova")
    defaults = build_parser().parse_args(["--url", "ws://x"])
    assert (defaults.orb_mode, defaults.orb_name) == ("addressed", "Orb")


class Model:
    """A chat model that answers every judgement with ``answer`` and keeps the requests."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[list[dict[str, str]]] = []

    async def complete(self, messages: Any, *, max_tokens: int | None = None) -> str:
        self.asked.append(list(messages))
        return self.answer


def judged_stage(answer: str, mode: str = "addressed", **kw: float
                 ) -> tuple[Addressee, Model, Clock]:
    model, clock = Model(answer), Clock()
    judge = AddressJudge(model, "Orb")
    return Addressee(AddressRule("Orb"), mode=mode, clock=clock, judge=judge,  # type: ignore[arg-type]
                     **kw), model, clock


def test_an_ambiguous_turn_waits_for_the_language_models_word() -> None:
    """Rule says no, but a near miss of the name opens a question: the model is asked, with
    the turns before, and its "yes" answers it (within the reply budget)."""
    a, model, _ = judged_stage("yes", max_replies=1)
    a.decide(turn("How did your week go?", "coach"))
    first = a.decide(turn("Or what should I try first?"))
    assert not first.answer and first.to_judge
    assert asyncio.run(a.judged(turn("Or what should I try first?"))).answer
    [messages] = model.asked
    assert messages[-1]["content"].splitlines() == [
        "coach: How did your week go?", "LAST TURN: Or what should I try first?"]
    a.decide(turn("Or what now?"))
    assert not asyncio.run(a.judged(turn("Or what now?"))).answer  # over the budget


def test_the_model_is_not_asked_about_clear_turns_or_in_listen() -> None:
    a, model, _ = judged_stage("yes")
    assert not a.decide(turn("Or maybe we could try the mornings.")).to_judge
    assert not a.decide(turn("Can you tell me about your manager?")).to_judge
    assert a.decide(turn("Hey Orb, what do you think?")).answer
    a.mode = "listen"
    assert not a.decide(turn("Or what should I try first?")).to_judge
    assert model.asked == []


def test_a_no_from_the_model_keeps_the_turn_unanswered() -> None:
    a, _, _ = judged_stage("no")
    assert a.decide(turn("Or what should I try first?")).to_judge
    decision = asyncio.run(a.judged(turn("Or what should I try first?")))
    assert not decision.answer and decision.why == "judged not addressed"


def test_the_ask_window_is_judged_at_the_turns_end_not_after_its_transcription() -> None:
    """Speech-to-text on a busy machine may finish after the window: the turn that ended
    inside it is still the asked one; one that ended after it is not."""
    a, clock = stage(ask_window=10.0)
    a.ask("coach-1")
    inside = attrs.evolve(turn("What would you suggest?", "coach"), heard_at=clock.now + 9.0)
    clock.now += 14.0
    assert a.decide(inside).answer
    a.ask("coach-1")
    late = attrs.evolve(turn("And now?", "coach"), heard_at=clock.now + 11.0)
    clock.now += 11.5
    assert not a.decide(late).answer

"""Whom the orb talks to, end to end (issue 24): real aiortc humans whose microphones play
Piper and espeak-ng sentences through ``trio-server --orbs`` in its default ``addressed``
mode (real Silero VAD, Smart Turn, faster-whisper with the orb's name as a hotword).

One call, in order: the humans talk to each other and the orb never speaks, though it
transcribes every turn; a client cannot switch the mode; the coach naming the orb with a
request is answered; the client naming it is answered; the coach's "Ask the orb" opens an
addressed turn for an unnamed request; in ``listen`` even its name gets no answer (still
transcribed); in ``active`` the client's unnamed turn is answered. The rates over many
rendered turns are offline (tests/orb/test_addressee.py, bench/party.py --addressing).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import numpy as np
import pytest

from testkit import voices
from testkit.synthetic import SyntheticHuman

from .conftest import in_asyncio
from .test_transcripts import meet, trio_server

pytestmark = [pytest.mark.media]

#: Coach and client talking to each other, leaving the pauses a conversation has.
CONVERSATION = (
    ("coach", "How did your week go?"),
    ("client", "It was busy. I kept putting things off until the last minute."),
    ("coach", "What got in the way, do you think?"),
    ("client", "Mostly email and meetings. I told the orb yesterday about it."),
)
RESPONSE_STATUSES = ("thinking", "speaking")


def sentence(voice: str, text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
    return voices.speak(voice, text, 48_000)


def heard(human: SyntheticHuman) -> int:
    return len(human.transcripts())


async def say_and_wait_heard(speaker: SyntheticHuman, listener: SyntheticHuman, voice: str,
                             text: str) -> dict[str, Any]:
    """``speaker`` says ``text``; returns the transcript of it ``listener`` receives."""
    before = [m for m in listener.transcripts() if m["speakerId"] == speaker.user_id]
    speaker.play(sentence(voice, text))
    await listener.wait_until(
        lambda: len([m for m in listener.transcripts()
                     if m["speakerId"] == speaker.user_id]) > len(before), 30,
        f"the transcript of {text!r}")
    return [m for m in listener.transcripts() if m["speakerId"] == speaker.user_id][-1]


def responded_since(human: SyntheticHuman, since: float) -> bool:
    return any(s in RESPONSE_STATUSES for s in human.statuses_since(since))


async def answered(human: SyntheticHuman, since: float, what: str) -> None:
    await human.wait_until(lambda: "speaking" in human.statuses_since(since), 30, what)
    await human.wait_until(lambda: human.statuses[-1][2] == "listening", 30,
                           f"{what}: the reply is over")


def modes_seen(human: SyntheticHuman) -> list[str]:
    return [m["mode"] for m in human.messages if m.get("type") == "ai-mode"]


@pytest.mark.timeout(360)  # over the scenario's bound: its error names the late wait
async def test_addressed_by_name_or_button_silent_otherwise_and_the_coachs_modes() -> None:
    with trio_server("--orbs", "--orb-idle-grace", "2", "--db", "none") as (url, log):
        async def scenario() -> None:
            coach, client, _orb = await meet(url, "whom")
            try:
                discovery = next(m for m in coach.messages if m["type"] == "peer-discovery")
                assert discovery["orbMode"] == "addressed"
                # 1. The humans talk to each other: every turn heard, none answered, however
                #    long the quiet after the last one.
                t0 = time.monotonic()
                for role, text in CONVERSATION:
                    speaker, listener = (coach, client) if role == "coach" else (client, coach)
                    voice = "piper" if role == "client" else "espeak"
                    await say_and_wait_heard(speaker, listener, voice, text)
                await asyncio.sleep(3.0)
                assert not responded_since(coach, t0), coach.statuses_since(t0)
                assert not responded_since(client, t0)

                # 2. A client cannot switch the mode: an error, and nobody hears of a change.
                await client.send({"type": "ai_mode", "mode": "active"})
                await client.wait_until(lambda: any(
                    m.get("type") == "error" and m.get("ref") == "ai_mode"
                    for m in client.messages), 5, "the refusal")
                refusal = next(m for m in client.messages if m.get("ref") == "ai_mode")
                assert refusal["code"] == "forbidden"
                assert modes_seen(coach) == modes_seen(client) == []

                # 3. The coach names it with a request: answered.
                t1 = time.monotonic()
                await say_and_wait_heard(
                    coach, client, "piper",
                    "Hey Orb, could you sum up what we have talked about so far?")
                await answered(client, t1, "the orb answers the coach")

                # 4. The client names it: answered.
                t2 = time.monotonic()
                await say_and_wait_heard(client, coach, "piper",
                                         "Okay Orb, what should I try first?")
                await answered(coach, t2, "the orb answers the client")

                # 5. The coach presses "Ask the orb" and asks without its name: answered.
                t3 = time.monotonic()
                await coach.send({"type": "ai_ask"})
                await say_and_wait_heard(coach, client, "espeak",
                                         "What would you suggest we focus on next?")
                await answered(client, t3, "the orb answers the asker")

                # 6. Listen: even its name gets no answer, and the words are still heard.
                await coach.send({"type": "ai_mode", "mode": "listen"})
                await client.wait_until(lambda: modes_seen(client) == ["listen"], 5,
                                        "the client hears of listen")
                await client.wait_until(lambda: any(
                    m.get("type") == "ai_status" and m.get("mode") == "listen"
                    for m in client.messages), 5, "ai_status with the mode")
                t4 = time.monotonic()
                await say_and_wait_heard(client, coach, "piper",
                                         "Hey Orb, what do you think about that?")
                await asyncio.sleep(3.0)
                assert not responded_since(coach, t4), coach.statuses_since(t4)

                # 7. Active: the client's unnamed turn is answered.
                await coach.send({"type": "ai_mode", "mode": "active"})
                await coach.wait_until(lambda: modes_seen(coach)[-1:] == ["active"], 5,
                                       "the coach hears of active")
                t5 = time.monotonic()
                await say_and_wait_heard(client, coach, "piper",
                                         "I feel stuck at work these days.")
                await answered(coach, t5, "the orb answers the client in active mode")
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=300)
    decisions = [line for line in log
                 if re.search(r"addressing \S+ \((listen|addressed|active)\): ", line)]
    print("".join(decisions))
    assert any("coach-1 (addressed): answered, named (" in line for line in decisions)
    assert any("client-1 (addressed): answered, named (" in line for line in decisions)
    assert any("coach-1 (addressed): answered, asked by button" in line for line in decisions)
    assert any("client-1 (listen): not answered" in line for line in decisions)

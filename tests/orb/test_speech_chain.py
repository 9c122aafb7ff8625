"""``SpeechChainBrain``: the documented way to plug another speech-to-text, language model
and voice into the orb, run with the real pieces (faster-whisper, espeak-ng) and a small
language model of our own."""

from __future__ import annotations

import asyncio

import numpy as np

from orb_bridge import tts
from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.brain import ReplyAudio, SpeechChainBrain, StatusHint
from orb_bridge.hearing import Utterance
from orb_bridge.stt import WhisperStt
from testkit import voices


class EchoModel:
    """A language model that answers with what it last heard (so the test can check it)."""

    def __init__(self) -> None:
        self.seen: list[list[tuple[str, str]]] = []

    async def reply(self, history: list[tuple[str, str]]) -> str:
        self.seen.append(list(history))
        return f"You said: {history[-1][1]}"


class Espeak:
    async def synthesize(self, text: str) -> Audio:
        return await tts.espeak(text)


def utterance(role: str, text: str) -> Utterance:
    pcm = np.concatenate([voices.silence(0.2), voices.espeak(text), voices.silence(0.2)])
    return Utterance("h", role, Audio(pcm.astype(np.int16), HEARING_RATE), voiced=1.0)


def test_the_chain_transcribes_answers_and_speaks_and_observes_the_coach() -> None:
    stt = WhisperStt()
    model = EchoModel()
    brain = SpeechChainBrain(stt, model, Espeak())
    try:
        async def run() -> None:
            brain.observe(utterance("coach", "Tell me about your week."))
            for _ in range(200):  # observe transcribes in the background: bounded wait
                if brain._history:
                    break
                await asyncio.sleep(0.05)
            out = [o async for o in brain.respond(utterance("client", "I slept very well."))]
            assert isinstance(out[0], StatusHint)
            reply = out[-1]
            assert isinstance(reply, ReplyAudio) and reply.text.startswith("You said:")
            assert "well" in reply.text.lower() and reply.audio.duration > 0.5
            # The coach's line entered the history (transcribed) without being answered.
            history = model.seen[-1]
            assert len(model.seen) == 1 and history[-1][0] == "client"
            assert [r for r, _ in history[:-1]] == ["coach"], history
            assert "week" in history[0][1].lower()

        async def bounded() -> None:
            try:
                await asyncio.wait_for(run(), 60)
            finally:
                await brain.aclose()

        asyncio.run(bounded())
    finally:
        stt.close()

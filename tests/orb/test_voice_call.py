"""The orb's voice, heard at the client: what it says is what the client hears.

``trio-server --orbs`` in its own process with its default voice (Piper, the ``voice`` extra)
and a stand-in language model (testkit.llm_standin) whose answers are known sentences; a coach
and a client (real aiortc peers) in the room. The client asks twice; the orb answers ten
sentences each time. Everything the client receives from the orb (Opus decoded by aiortc) is
recorded, transcribed back with faster-whisper (the packaged tiny.en) and compared with the
orb's own transcript of what it said: the word error rate over the 20 sentences must be at
most 15 %.

The one text normalisation (both sides): lower case, every character but letters, digits and
the apostrophe dropped (``testkit.speech.words``). The sentences avoid numbers, so "three"
against "3" never counts as an error.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import trio

from orb_bridge.audio import HEARING_RATE, Audio
from orb_bridge.sound import resample
from orb_bridge.speech_config import SpeechConfig
from orb_bridge.stt import WhisperStt, shared_engine
from testkit.llm_standin import StandInModel
from testkit.speech import espeak_pcm48k, word_error_rate, words

from .conftest import in_asyncio
from .test_transcripts import meet, spoken_by, trio_server

pytestmark = [pytest.mark.media]

REPLIES = (
    "That sounds important to you. What would a good evening look like? Tell me about your "
    "family. When do you feel most at ease? What gets in the way right now? Which habit would "
    "you change first? How would your partner notice the change? What could you try this "
    "week? Who could help you with it? How will you know it worked?",
    "You said work keeps you late. What would happen if you left on time? Which meetings "
    "could you skip? What would you say to your manager? How do you want to spend your "
    "mornings? What small promise could you keep tomorrow? Where do you lose the most time? "
    "What would make you proud at the end of the month? What is one thing you will stop "
    "doing? Let us come back to this next time.",
)
ASKS = ("I want more time for my family.", "Work keeps me late every day.")


def pieces(pcm48k: np.ndarray, longest: float = 20.0) -> list[Audio]:
    """What the client heard as 16 kHz pieces of at most ``longest`` seconds, cut in the
    pauses between sentences (Whisper reads 30 s windows and drops words cut at their edge)."""
    pcm = resample(pcm48k, 48_000, 16_000)
    frame = 320  # 20 ms
    levels = [float(np.sqrt(np.mean(pcm[i:i + frame].astype(np.float64) ** 2)))
              for i in range(0, len(pcm) - frame + 1, frame)]
    quiet = [level < 100 for level in levels]  # about -50 dBFS
    out: list[Audio] = []
    start = last_gap = 0
    run = 0
    for i, silent in enumerate(quiet):
        run = run + 1 if silent else 0
        if run == 15:  # 0.3 s of quiet: a place to cut
            last_gap = i
        if (i - start) * frame >= longest * 16_000 and last_gap > start:
            out.append(Audio(pcm[start * frame : last_gap * frame], HEARING_RATE))
            start = last_gap
    out.append(Audio(pcm[start * frame :], HEARING_RATE))
    return out


@pytest.mark.timeout(260)  # over the scenario's bound: its error names the late wait
async def test_the_client_hears_the_words_the_orb_says() -> None:
    sentences = sum(reply.count("?") + reply.count(".") for reply in REPLIES)
    assert sentences >= 20
    with StandInModel(answer=REPLIES[0], first_token_delay=0.05,
                      tokens_per_second=200) as model, \
            trio_server("--orbs", "--orb-mode", "active", "--orb-idle-grace", "1", "--db", "none",
                        "--orb-llm-url", model.url, "--orb-llm-model", "stand-in",
                        "--orb-max-reply-chars", "2000") as (url, _log):
        recorded: list[np.ndarray] = []
        said: list[str] = []

        async def scenario() -> None:
            coach, client, orb = await meet(url, "voice-wer")
            try:
                client.media[orb].recording = recorded
                statuses = [m for m in client.messages if m.get("type") == "ai_status"]
                assert statuses and statuses[-1].get("voice") == "piper", statuses[-1:]
                for i, (ask, answer) in enumerate(zip(ASKS, REPLIES, strict=True)):
                    model.answer = answer
                    client.play(espeak_pcm48k(ask))
                    await client.wait_until(lambda n=i + 1: len(spoken_by(client, "ai")) >= n,
                                            90, f"reply {i + 1} said to its end")
                await asyncio.sleep(0.5)  # the last frames in flight
                said.extend(str(m["text"]) for m in spoken_by(client, "ai"))
            finally:
                client.media[orb].recording = None
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=200)
    assert len(said) == len(REPLIES), said
    engine = shared_engine(SpeechConfig())
    assert isinstance(engine, WhisperStt)
    heard = " ".join([await trio.to_thread.run_sync(engine.transcribe_blocking, piece)
                      for piece in pieces(np.concatenate(recorded))])
    reference = " ".join(said)
    wer = word_error_rate(reference, heard)
    print(json.dumps({"sentences": sentences, "words": len(words(reference)), "wer": wer}))
    assert wer <= 0.15, f"WER {wer:.2f}\nsaid:  {reference}\nheard: {heard}"

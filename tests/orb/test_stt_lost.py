"""An utterance speech-to-text cannot take (its pool is busy) is counted and logged, never lost
silently, and the orb carries on: the next utterance, once the pool has room, is transcribed
and handed on. Real faster-whisper (the packaged model) behind a pool of one worker and no
queue, real espeak-ng speech, the real :class:`~orb_bridge.transcripts.Scribe`."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from orb_bridge import figures
from orb_bridge.hearing import SpeechEnded, TurnEvent, Utterance
from orb_bridge.stt import WhisperStt
from orb_bridge.transcripts import Scribe, TranscriptBook
from testkit.spawned import Spawned
from testkit.speech import espeak_heard

SENTENCES = ("I want to find more time for my family.",
             "My manager keeps changing the deadlines.",
             "Could we talk about how to ask for a raise?")
AFTER = "I would like to start running again in the mornings."


def lost_total() -> float:
    registry = CollectorRegistry()
    registry.register(figures.FiguresCollector())
    body = generate_latest(registry).decode()
    found = re.search(r"^orb_stt_lost_total (\S+)$", body, re.MULTILINE)
    return 0.0 if found is None else float(found.group(1))


def utterance(text: str) -> Utterance:
    audio = espeak_heard(text)
    return Utterance("client-1", "client", audio, voiced=audio.duration)


def test_a_busy_pool_loses_an_utterance_loudly_and_the_next_one_gets_through(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = WhisperStt(workers=1, max_pending=0)
    engine.load()
    delivered: list[TurnEvent] = []
    before = lost_total()

    async def scenario() -> Scribe:
        spawned = Spawned()
        tasks, spawn = spawned.tasks, spawned.spawn

        scribe = Scribe(engine, session_id="s", book=TranscriptBook(), publish=None,
                        deliver=delivered.append, spawn=spawn, min_utterance=0.15)
        # Three finished utterances at once: one worker, no queue, so the pool takes the
        # first and refuses the other two.
        for text in SENTENCES:
            scribe.heard(utterance(text))
        async with asyncio.timeout(60):
            while tasks:
                await asyncio.gather(*tasks)
        # The orb carries on: with the pool free again, the next one is transcribed.
        scribe.heard(utterance(AFTER))
        async with asyncio.timeout(60):
            while tasks:
                await asyncio.gather(*tasks)
        return scribe

    try:
        with caplog.at_level(logging.WARNING, logger="orb_bridge.transcripts"):
            scribe = asyncio.run(scenario())
    finally:
        engine.close()

    assert scribe.lost == 2 and scribe.transcribed == 2, (scribe.lost, scribe.transcribed)
    # Nothing silently: every utterance is either transcribed or counted as lost.
    assert scribe.transcribed + scribe.lost + scribe.empty == len(SENTENCES) + 1
    busy = [r for r in caplog.records if "speech-to-text is busy" in r.getMessage()]
    assert len(busy) == 2 and all(r.levelno == logging.WARNING for r in busy)
    assert "client-1" in busy[0].getMessage()
    assert lost_total() - before == 2
    assert engine.stats.refused == 2
    texts = [e.utterance.text for e in delivered if isinstance(e, SpeechEnded)]
    assert len(texts) == 2 and "running" in str(texts[-1]).lower(), texts

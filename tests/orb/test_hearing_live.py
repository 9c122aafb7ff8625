"""The orb's hearing end to end: real aiortc humans whose microphones play Piper and espeak-ng
voices through ``trio-server --orbs`` (its own process, real Silero VAD, Smart Turn and
faster-whisper). A few scenarios in real time; the rates are in test_hearing.py and
bench/party.py."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request

import numpy as np
import pytest
import trio

from testkit import voices

from .conftest import in_asyncio
from .test_transcripts import meet, spoken_by, trio_server

pytestmark = [pytest.mark.media]

FIRST = "I keep saying yes to every request at work and then"
REST = "I end up staying late every night."
ASK = "How do I stop putting things off until the last minute?"


def stage_line(log: list[str]) -> list[str]:
    return [line for line in log if "turn of client-1" in line]


@pytest.mark.timeout(180)  # over the scenario's bound: its error names the late wait
async def test_a_paused_request_is_one_turn_and_a_finished_one_is_answered_with_figures(
) -> None:
    with trio_server("--orbs", "--orb-mode", "active", "--orb-idle-grace", "2") as (url, log):
        async def scenario() -> None:
            coach, client, _orb = await meet(url, "hears")
            try:
                # A request with a 1.2 s pause in mid-clause: one turn, answered once, after
                # the whole of it.
                request = np.concatenate([voices.piper(FIRST, 48_000),
                                          voices.silence(1.2, 48_000),
                                          voices.piper(REST, 48_000)])
                t1 = time.monotonic()
                client.play(request)
                await coach.wait_until(lambda: "thinking" in coach.statuses_since(t1), 25,
                                       "the orb takes its turn")
                thinking_at = next(t for t, _, s in coach.statuses
                                   if t >= t1 and s == "thinking")
                assert client.mouth.clip_ended_at is not None
                assert thinking_at > client.mouth.clip_ended_at, \
                    "the orb took the turn during the pause"
                [heard] = spoken_by(coach, "client")
                assert "late" in str(heard["text"]).lower() and \
                    "request" in str(heard["text"]).lower(), heard
                await client.wait_until(lambda: "listening" in client.statuses_since(
                    thinking_at), 20, "the reply is over")

                # A finished request: answered, and the turn's figures are logged and counted
                # on /metrics. (That the model ends it sooner than the old 0.6 s hang-over is
                # judged on the simulated clock, test_hearing.py: here speech-to-text, which
                # the decision waits for, runs on a shared machine whose load we cannot
                # bound, and the 1.8 s timeout is the decision's fallback.)
                t2 = time.monotonic()
                client.play(voices.espeak(ASK, 48_000))
                await coach.wait_until(lambda: "speaking" in coach.statuses_since(t2), 25,
                                       "the orb answers")
                await coach.wait_until(lambda: len(stage_line(log)) >= 2, 20,
                                       "the per-turn log line")
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=120)
        first, second = stage_line(log)[:2]
        print(first.strip(), second.strip(), sep="\n")
        figures = dict(re.findall(r"(\w+)=([\d.]+)", second))
        assert re.search(r"ended_by=(model p=[\d.]+|words|timeout) ", second), second
        for stage in ("end_of_turn", "transcript", "first_token", "first_synth",
                      "first_sent"):
            assert stage in figures, second
        assert float(figures["end_of_turn"]) < 1.8 + 0.3  # decided by 1.8 s of quiet at most
        assert float(figures["first_sent"]) >= float(figures["first_synth"]) \
            >= float(figures["end_of_turn"])
        http = url.replace("ws://", "http://")
        body = await trio.to_thread.run_sync(
            lambda: urllib.request.urlopen(f"{http}/metrics", timeout=5).read().decode())
        counts = re.findall(r'orb_turn_stage_seconds_count\{stage="first_sent"\} (\S+)', body)
        assert counts and float(counts[0]) >= 2.0, body[-2000:]

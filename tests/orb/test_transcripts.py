"""The orb understands what is said, through ``trio-server --orbs`` and real aiortc peers.

The client's microphone plays a sentence synthesised by espeak-ng; real faster-whisper
transcribes it inside the orb. The coach receives the client's words as ``ai_transcript``,
the orb's reply takes those words up and its own transcript is published, the coach's speech
is transcribed but never answered, the ledger keeps transcript and summary
(``trio-server sessions --transcript``), and ``--orb-transcripts off`` publishes nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from testkit.speech import espeak_pcm48k, word_error_rate, words
from testkit.synthetic import SyntheticHuman

from .conftest import in_asyncio

pytestmark = [pytest.mark.media]

BIN = os.path.dirname(sys.executable)
CLIENT_SAYS = "I want to find more time for my family and stop working late every evening."
# Whisper tiny.en hears "how your evening(s) usually go(es)" as "how you're even usually
# going", read straight from espeak-ng too (no orb in between), or not, depending on a few
# milliseconds at the end; this line it reads word for word.
COACH_SAYS = "Let us look at what a normal evening looks like."


@contextmanager
def trio_server(*args: str) -> Iterator[tuple[str, list[str]]]:
    """``trio-server --port 0 ARGS`` in its own process; its log lines are drained into a
    list (so the pipe never fills), and it is stopped with SIGINT at the end."""
    proc = subprocess.Popen([os.path.join(BIN, "trio-server"), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    port: list[int] = []
    found = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
            if match and not port:
                port.append(int(match.group(1)))
                found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert found.wait(30), "trio-server did not report its port:\n" + "".join(lines)
        yield f"ws://127.0.0.1:{port[0]}", lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        reader.join(5)


async def meet(url: str, room: str) -> tuple[SyntheticHuman, SyntheticHuman, str]:
    """Coach and client in ``room``, hearing the orb."""
    coach = SyntheticHuman(url, room, "coach-1", "coach", mesh_with_humans=False, camera=None)
    client = SyntheticHuman(url, room, "client-1", "client", mesh_with_humans=False,
                            camera=None)
    await coach.start()
    await coach.wait_until(lambda: coach.orb_id() is not None, 10, "orb")
    await client.start()
    orb = coach.orb_id()
    assert orb is not None
    for human in (coach, client):
        await human.wait_until(lambda h=human: orb in h.media
                               and h.media[orb].audio_frames > 10, 20, "orb audio")
    return coach, client, orb


def spoken_by(human: SyntheticHuman, role: str) -> list[dict[str, object]]:
    return [m for m in human.transcripts() if m["speakerRole"] == role]


@pytest.mark.timeout(180)  # over the scenario's bound: its error names the late wait
async def test_words_are_transcribed_answered_published_and_stored(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    with trio_server("--orbs", "--orb-mode", "active", "--orb-idle-grace", "2",
                     "--db", str(db)) as (url, log):
        async def scenario() -> None:
            coach, client, orb = await meet(url, "words")
            try:
                statuses = [m for m in coach.messages if m.get("type") == "ai_status"]
                assert statuses and statuses[-1]["transcribing"] is True
                # The client speaks: the coach reads it, the orb answers with those words.
                t1 = time.monotonic()
                client.play(espeak_pcm48k(CLIENT_SAYS))
                await coach.wait_until(lambda: spoken_by(coach, "client"), 20,
                                       "the client's transcript at the coach")
                [heard] = spoken_by(coach, "client")
                assert heard["speakerId"] == "client-1" and heard["fromId"] == orb
                assert word_error_rate(CLIENT_SAYS, str(heard["text"])) <= 0.2, heard
                assert float(heard["endedAt"]) > float(heard["startedAt"])  # type: ignore[arg-type]
                await client.wait_until(lambda: spoken_by(client, "ai"), 20,
                                        "the orb's reply transcript")
                [reply] = spoken_by(client, "ai")
                assert reply["speakerId"] == orb
                assert {"family", "time", "evening"} & set(words(str(reply["text"]))), reply
                assert spoken_by(coach, "ai") == [reply]
                loud = client.media[orb].loudest_since(t1)
                assert loud > -40.0, f"the reply was not heard ({loud} dBFS)"
                assert coach.statuses_since(t1)[:2] == ["thinking", "speaking"]

                # The coach speaks: transcribed for the client, never answered.
                t2 = time.monotonic()
                coach.play(espeak_pcm48k(COACH_SAYS))
                await client.wait_until(lambda: spoken_by(client, "coach"), 20,
                                        "the coach's transcript at the client")
                [guided] = spoken_by(client, "coach")
                assert word_error_rate(COACH_SAYS, str(guided["text"])) <= 0.3, guided
                await asyncio.sleep(2.0)
                assert "thinking" not in coach.statuses_since(t2)
                assert len(spoken_by(client, "ai")) == 1
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=120)
        # Both left: the orb writes its summary, ends after the idle grace, the session ends.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown = subprocess.run([os.path.join(BIN, "trio-server"), "sessions", "--db",
                                    str(db), "--limit", "1"], capture_output=True, text=True,
                                   timeout=30)
            if "session_complete" in shown.stdout:
                break
            time.sleep(0.3)
        assert "session_complete" in shown.stdout, shown.stdout + "".join(log[-20:])
    session_id = shown.stdout.splitlines()[1].split()[0]
    out = subprocess.run([os.path.join(BIN, "trio-server"), "sessions", "--db", str(db),
                          "--transcript", session_id], capture_output=True, text=True,
                         timeout=30).stdout
    assert "SUMMARY (extractive" in out and "Key topics:" in out and "family" in out, out
    assert "Client's stated goals:" in out
    transcript = out[out.index("TRANSCRIPT"):]
    assert [role for role in ("client", "ai", "coach")
            if f" {role} " in transcript] == ["client", "ai", "coach"], transcript
    assert transcript.index(" client ") < transcript.index(" ai ") < transcript.index(" coach ")


@pytest.mark.timeout(180)  # over the scenario's bound: its error names the late wait
async def test_transcripts_off_keeps_the_words_for_the_brain_but_publishes_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    with trio_server("--orbs", "--orb-mode", "active", "--orb-transcripts", "off",
                     "--db", str(db)) as (url, _log):
        async def scenario() -> None:
            coach, client, _orb = await meet(url, "quiet")
            try:
                statuses = [m for m in coach.messages if m.get("type") == "ai_status"]
                assert statuses and statuses[-1]["transcribing"] is False
                t1 = time.monotonic()
                client.play(espeak_pcm48k(CLIENT_SAYS))
                # The orb still understood and answered (speech-to-text feeds the brain)...
                await coach.wait_until(lambda: "speaking" in coach.statuses_since(t1), 25,
                                       "the orb answering")
                await coach.wait_until(lambda: "listening" in coach.statuses_since(t1), 25,
                                       "the reply ending")
                await asyncio.sleep(0.5)
                # ...but nobody got a word of it.
                assert coach.transcripts() == [] and client.transcripts() == []
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=120)
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM transcripts").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM summaries").fetchone() == (0,)


async def test_beeps_music_and_noise_get_no_utterance_no_transcription_no_reply() -> None:
    """Loud sounds that are not speech, through a real aiortc microphone: Chromium's fake
    microphone beeps, music, a fan, a keyboard. The neural voice-activity detector starts no
    utterance, so speech-to-text never runs and the orb neither publishes nor answers (the
    level rule took the beeps for 15 s of speech)."""
    from orb_bridge import OrbConfig
    from testkit import voices

    from .conftest import orb_server

    async with orb_server(orb=OrbConfig()) as srv:
        async def scenario() -> None:
            coach, client, _orb = await meet(srv.url, "noise")
            try:
                t1 = time.monotonic()
                sounds = np.concatenate([voices.beeps(2.0, 48_000), voices.music(2.0, 48_000),
                                         voices.noise(1.5, 48_000),
                                         voices.keyboard(1.5, 48_000)])
                client.play(sounds)
                coach.play(voices.beeps(7.0, 48_000))
                await asyncio.sleep(7.0 + 1.0)
                stats = await srv.stats("noise")
                assert stats is not None
                assert stats["humans"]["client-1"]["utterances"] == 0, stats
                assert stats["humans"]["coach-1"]["utterances"] == 0, stats
                assert stats["sttRuns"] == 0 and stats["judgements"] == 0, stats
                assert coach.transcripts() == [] and client.transcripts() == []
                assert coach.statuses_since(t1) == [] and stats["replies"] == 0
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=60)

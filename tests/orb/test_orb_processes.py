"""The orb outside the test process: ``orb-worker`` joining a room on a separately started
server, and ``trio-server --orbs`` (the CLI) bringing the in-process orb into a call."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orb_bridge.stt import stt_available
from signaling_core import CoreConfig
from testkit.speech import espeak_pcm48k
from testkit.synthetic import SyntheticHuman
from trio_server.config import ServerConfig
from trio_server.server import SignalingServer

from .conftest import in_asyncio

pytestmark = pytest.mark.media

BIN = os.path.dirname(sys.executable)
#: A line of orb-worker's log from one of the project's own loggers ("TIME LEVEL NAME: ...").
OWN_LINE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                      r"(orb_bridge|signaling_core)(\.\w+)*: ")


def left(human: SyntheticHuman, user_id: str) -> bool:
    return any(m.get("type") == "user-left" and m.get("userId") == user_id
               for m in human.messages)


#: The worker loads its voice, speech-to-text and end-of-turn models before it joins
#: (orb_bridge/warm_up.py): Piper alone took 9 s at load 10 here, so 15 s was too short.
WORKER_JOIN_SECONDS = 60


@pytest.mark.timeout(180)  # over the scenario's bound: its error names the late wait
async def test_orb_worker_joins_a_room_on_a_separately_started_server() -> None:
    import trio

    server = SignalingServer(ServerConfig(
        port=0, core=CoreConfig(orbs_enabled=False, orb_mode="active")))
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.serve)
        url = f"ws://127.0.0.1:{port}"
        worker = subprocess.Popen(
            [os.path.join(BIN, "orb-worker"), "--url", url, "--room", "gpu-room",
             "--session", "w1", "--log-level", "info"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            async def scenario() -> None:
                coach = SyntheticHuman(url, "gpu-room", "coach-1", "coach")
                client = SyntheticHuman(url, "gpu-room", "client-1", "client")
                try:
                    await coach.start()
                    await client.start()
                    for human in (coach, client):
                        await human.wait_until(lambda h=human: h.orb_id() == "ai-orb-w1",
                                               WORKER_JOIN_SECONDS, "the worker's orb")
                        await human.wait_until(
                            lambda h=human: "ai-orb-w1" in h.media
                            and h.media["ai-orb-w1"].video_frames > 15, 15,
                            "the worker's video")
                    assert coach.media["ai-orb-w1"].video_size == (320, 240)
                    t1 = time.monotonic()
                    if stt_available():  # the worker transcribes: voice bursts have no words
                        client.play(espeak_pcm48k("Hello, can you hear me?"))
                    else:
                        client.say(1.0)
                    await coach.wait_until(lambda: "speaking" in coach.statuses_since(t1), 20,
                                           "the worker's orb answering the client")
                    # SIGTERM: the worker announces its end and the room hears user-left.
                    worker.send_signal(signal.SIGTERM)
                    await coach.wait_until(lambda: left(coach, "ai-orb-w1"), 10,
                                           "user-left for the worker's orb")
                    await client.wait_until(lambda: left(client, "ai-orb-w1"), 5,
                                            "user-left at the client")
                finally:
                    await asyncio.gather(coach.close(), client.close())

            try:
                await in_asyncio(scenario, timeout=WORKER_JOIN_SECONDS + 60)
            except BaseException as exc:
                # The worker's own log says where its orb stood: the failure carries it, and
                # which wait was late.
                worker.kill()
                output, _ = await trio.to_thread.run_sync(lambda: worker.communicate(timeout=15))
                raise AssertionError(f"{exc!r}\nthe worker's log:\n{output}") from exc
            output, _ = await trio.to_thread.run_sync(lambda: worker.communicate(timeout=15))
            print(output)
            assert worker.returncode == 0, output
            # The worker's log (it transcribed the client) holds only the orb's own lines:
            # no faster-whisper, aiortc or aioice chatter, nothing native code printed.
            lines = output.splitlines()
            assert lines and all(OWN_LINE.match(line) for line in lines), output
            assert any("orb ai-orb-w1 ended: session_complete" in line for line in lines)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(5)
            await server.shutdown()
            nursery.cancel_scope.cancel()


def test_orb_worker_reports_an_unreachable_server() -> None:
    # No speech models: the worker loads them before it connects (~4.5 s of CPU), and this
    # one never gets that far; test_orb_worker_joins_a_room... above starts with the defaults.
    result = subprocess.run(
        [os.path.join(BIN, "orb-worker"), "--url", "ws://127.0.0.1:9", "--room", "r",
         "--stt-model", "off", "--voice", "espeak"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "cannot connect" in result.stderr


@contextmanager
def trio_server_cli(*args: str) -> Iterator[str]:
    proc = subprocess.Popen([os.path.join(BIN, "trio-server"), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        port = None
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
        assert port is not None, "trio-server did not report its port"
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def test_trio_server_cli_with_orbs_brings_an_orb_into_the_call() -> None:
    # Only the orb's video is awaited: no speech models (the server would load them in the
    # background, ~4.5 s of CPU); the tests that speak through the CLI keep the defaults
    # (test_voice_call, test_transcripts, *_live.py).
    with trio_server_cli("--orbs", "--orb-mode", "active", "--orb-idle-grace", "5",
                         "--orb-stt-model", "off", "--orb-voice", "espeak") as url:
        async def scenario() -> None:
            coach = SyntheticHuman(url, "cli-room", "coach-1", "coach")
            try:
                await coach.start()
                await coach.wait_until(lambda: coach.orb_id() is not None, 10, "orb")
                orb = coach.orb_id()
                await coach.wait_until(lambda: orb in coach.media
                                       and coach.media[orb].video_frames > 15, 15,
                                       "orb video from trio-server --orbs")
                assert coach.media[orb].video_size == (320, 240)
            finally:
                await coach.close()

        await in_asyncio(scenario)

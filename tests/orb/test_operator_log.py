"""The server's log of a call with the orb holds the project's own lines, nothing else.

``trio-server --orbs --log-json`` in its own process, a coach and a client (real aiortc peers)
and the client saying a sentence, which real faster-whisper transcribes in the orb: every line
the process writes to stdout or stderr must be one JSON object from a ``trio_server`` or
``orb_bridge`` logger. Third-party chatter (faster-whisper's "Processing audio with duration"
at INFO, aioice, aiortc, ...) and what native code prints straight to stderr (CTranslate2,
onnxruntime) would break it: a foreign logger name, or a line that is not JSON at all.
(``orb-worker``'s whole log of a call is held to the same in tests/orb/test_orb_processes.py.)

Cheaper checks beside it: CTranslate2's native warning on stderr appears only when libraries'
logs are asked for, and ``orb-worker``'s levels for its own and other loggers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest

from orb_bridge.logs import native_level
from testkit.speech import espeak_pcm48k, word_error_rate

from .conftest import in_asyncio
from .test_transcripts import CLIENT_SAYS, meet, spoken_by, trio_server

pytestmark = [pytest.mark.media]

OWN_LOGGERS = ("trio_server", "orb_bridge")
BIN = os.path.dirname(sys.executable)


def foreign_lines(log: list[str]) -> list[str]:
    """The lines of ``log`` that are not a JSON log line of one of the project's loggers."""
    foreign = []
    for line in log:
        try:
            name = json.loads(line).get("logger", "")
        except (ValueError, AttributeError):
            name = ""
        if not isinstance(name, str) or name.split(".")[0] not in OWN_LOGGERS:
            foreign.append(line)
    return foreign


async def test_the_server_log_of_a_call_with_the_orb_is_the_projects_own() -> None:
    with trio_server("--orbs", "--orb-mode", "active", "--orb-idle-grace", "1", "--db",
                     "none", "--log-json", "--log-level", "info") as (url, log):
        async def scenario() -> None:
            coach, client, _orb = await meet(url, "quiet-log")
            try:
                client.play(espeak_pcm48k(CLIENT_SAYS))
                # The words reached the coach: faster-whisper ran in the server process.
                await coach.wait_until(lambda: spoken_by(coach, "client"), 20,
                                       "the client's transcript at the coach")
                [heard] = spoken_by(coach, "client")
                assert word_error_rate(CLIENT_SAYS, str(heard["text"])) <= 0.3, heard
                await client.wait_until(lambda: spoken_by(client, "ai"), 20,
                                        "the orb's reply transcript")
            finally:
                await asyncio.gather(coach.close(), client.close())

        await in_asyncio(scenario, timeout=90)
    # The process has exited (SIGINT): its whole log, shutdown included, is in ``log``.
    assert log, "trio-server wrote nothing"
    assert foreign_lines(log) == [], "".join(log)
    loggers = {json.loads(line)["logger"].split(".")[0] for line in log}
    assert loggers == set(OWN_LOGGERS), loggers  # the orb's lines are there, not swallowed


NATIVE_SCRIPT = """
import sys
import ctranslate2
from orb_bridge import logs
from orb_bridge.stt import PACKAGED_MODEL, resolve_model

logs.configure("info", sys.argv[1])
logs.quiet_native_logs()
# The packaged model is saved in float16: loaded with compute type "default" on a CPU without
# float16, CTranslate2's native code warns on stderr that it converted the weights.
ctranslate2.models.Whisper(resolve_model(PACKAGED_MODEL), device="cpu",
                           compute_type="default")
print("loaded", ctranslate2.get_log_level())
"""


def run_native(libraries: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CT2_VERBOSE"}
    return subprocess.run([sys.executable, "-c", NATIVE_SCRIPT, libraries], env=env,
                          capture_output=True, text=True, timeout=60)


def test_ctranslate2_prints_natively_only_errors_unless_libraries_are_asked_for() -> None:
    quiet = run_native("warning")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.split() == ["loaded", str(logging.ERROR)]
    assert quiet.stderr == ""
    chatty = run_native("info")
    assert chatty.returncode == 0, chatty.stderr
    assert chatty.stdout.split() == ["loaded", str(logging.INFO)]
    assert "[ctranslate2]" in chatty.stderr and "float16" in chatty.stderr


def test_native_levels_follow_their_python_loggers() -> None:
    logger = logging.getLogger("ctranslate2")
    before = logger.level
    try:
        for python, native in ((logging.DEBUG, logging.DEBUG), (logging.INFO, logging.INFO),
                               (logging.WARNING, logging.ERROR), (logging.ERROR, logging.ERROR),
                               (logging.CRITICAL, logging.CRITICAL)):
            logger.setLevel(python)
            assert native_level("ctranslate2") == native
    finally:
        logger.setLevel(before)


def test_orb_worker_logs_its_own_lines_at_its_level_and_libraries_at_theirs() -> None:
    """orb-worker's configuration, in a process of its own (it rewires the root logger)."""
    # The real entry point with its real configuration, stopped right after configuring.
    probe = """
import logging, sys
from orb_bridge import logs, worker

real = logs.configure

def configure(level, libraries):
    real(level, libraries)
    enabled = lambda name, lvl: logging.getLogger(name).isEnabledFor(lvl)
    print(enabled("orb_bridge.session", logging.DEBUG), enabled("faster_whisper", logging.INFO),
          enabled("aioice.ice", logging.WARNING), enabled("aiortc", logging.INFO))
    sys.exit(0)

logs.configure = configure
worker.main(sys.argv[1:])
"""
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k != "SIGNALING_LOG_LEVEL_LIBRARIES"}
        return subprocess.run([sys.executable, "-c", probe, "--url", "ws://127.0.0.1:9",
                               "--room", "r", *args], env={**base, **(env or {})},
                              capture_output=True, text=True, timeout=60)

    assert run("--log-level", "debug").stdout.split() == ["True", "False", "True", "False"]
    assert run("--log-level-libraries", "info").stdout.split() == \
        ["False", "True", "True", "True"]
    assert run(env={"SIGNALING_LOG_LEVEL_LIBRARIES": "error"}).stdout.split() == \
        ["False", "False", "False", "False"]
    refused = subprocess.run([os.path.join(BIN, "orb-worker"), "--url", "ws://127.0.0.1:9",
                              "--room", "r"], env={**os.environ,
                                                   "SIGNALING_LOG_LEVEL_LIBRARIES": "loud"},
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "loud" in refused.stderr

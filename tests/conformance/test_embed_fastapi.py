"""examples/embed_fastapi.py, started the way FastAPI apps are (the uvicorn command line, on a
free loopback port, in a subprocess), held to both profiles of the suite, deadlines included."""

from __future__ import annotations

import os
import sys

import pytest

from trio_server.conformance.cases import ALL_CASES
from trio_server.conformance.registry import Profile

from .servers import REPO, free_port, run_suite, running_server

FASTAPI_EXAMPLE = REPO / "examples" / "embed_fastapi.py"
#: Short deadlines, and a reconnect grace shorter than the idle limit: ASGI reports no pongs,
#: so a participant waiting out a long grace in silence would itself be closed as idle.
SHORT = ["--join-timeout", "1", "--idle-timeout", "2", "--reconnect-grace", "0.5"]
EVERY = sorted(c.name for c in ALL_CASES)
ORIGINAL = sorted(c.name for c in ALL_CASES if c.profile is Profile.ORIGINAL)


@pytest.mark.timeout(300)
def test_every_case_passes_against_the_fastapi_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALING_JOIN_TIMEOUT", "1")
    monkeypatch.setenv("SIGNALING_IDLE_TIMEOUT", "2")
    monkeypatch.setenv("SIGNALING_RECONNECT_GRACE", "0.5")
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "embed_fastapi:app", "--app-dir",
            str(FASTAPI_EXAMPLE.parent), "--host", "127.0.0.1", "--port", str(port),
            "--ws-max-size", "65536"]
    assert os.environ["SIGNALING_IDLE_TIMEOUT"] == "2"
    with running_server(argv, port=port) as server:
        for profile, expected in (("full", EVERY), ("original", ORIGINAL)):
            result = run_suite(server.ws_url, "--profile", profile, "--slow", *SHORT,
                               timeout=240)
            output = "\n".join(result.lines) + result.stderr + "\nserver log:\n" + server.log()
            assert sorted(result.results()) == expected, output
            assert result.failures() == [], output
            assert result.returncode == 0, output


def test_fastapi_example_stays_short() -> None:
    lines = FASTAPI_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 130, "the example is meant to be read in one sitting"

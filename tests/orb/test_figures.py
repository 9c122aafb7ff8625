"""Per-turn figures: the stage durations, the log line, and orb-worker's /metrics."""

from __future__ import annotations

import logging
import re
import urllib.request

import pytest

from orb_bridge import figures
from orb_bridge.worker import serve_metrics
from testkit.ports import free_port


def test_a_turn_is_one_log_line_and_one_observation_per_stage(
        caplog: pytest.LogCaptureFixture) -> None:
    times = figures.TurnTimes("client-1", speech_end=10.0, end_of_turn=10.31,
                              ended_by="model", probability=0.93, transcript=10.32,
                              first_token=10.33, first_synth=10.4, first_sent=10.42)
    assert times.stages() == {"end_of_turn": 0.31, "transcript": 0.32, "first_token": 0.33,
                              "first_synth": 0.4, "first_sent": 0.42}
    with caplog.at_level(logging.INFO, logger="orb_bridge.figures"):
        figures.record(times)
    [line] = [r.getMessage() for r in caplog.records if r.name == "orb_bridge.figures"]
    assert line == ("turn of client-1: ended_by=model p=0.93 end_of_turn=0.310 "
                    "transcript=0.320 first_token=0.330 first_synth=0.400 first_sent=0.420")
    # A stage not reached is left out, not faked.
    partial = figures.TurnTimes("c", speech_end=1.0, end_of_turn=1.5)
    assert partial.stages() == {"end_of_turn": 0.5}


def test_orb_worker_serves_the_figures_on_its_metrics_port() -> None:
    figures.record(figures.TurnTimes("c", speech_end=0.0, end_of_turn=0.4, first_sent=0.9))
    figures.stt_lost()
    port = free_port()
    server, thread = serve_metrics(port)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) \
            .read().decode()
    finally:
        server.shutdown()
        thread.join(5)
    count = re.search(r'orb_turn_stage_seconds_count\{stage="first_sent"\} (\S+)', body)
    assert count is not None and float(count.group(1)) >= 1
    assert re.search(r"orb_stt_lost_total (\S+)", body)

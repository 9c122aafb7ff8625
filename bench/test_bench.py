"""Checks of the benchmark's own tools: the checks must catch bad servers, the runs must finish.

Part of the suite (pyproject's ``testpaths``); alone: ``pytest bench/test_bench.py``. The
end-to-end case starts a server and drives real sockets for a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _participants import Member, join_errors, make_rooms, offers
from _wsclient import encode_frame
from loadgen import RelayRun

from signaling_core.wire import Field

HERE = Path(__file__).resolve().parent


def unmask(frame: bytes) -> tuple[int, bytes]:
    length = frame[1] & 0x7F
    start = 2
    if length == 126:
        length, start = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(frame[2:10], "big"), 10
    mask = frame[start:start + 4]
    body = frame[start + 4:]
    assert len(body) == length
    return frame[0], bytes(b ^ mask[i % 4] for i, b in enumerate(body))


@pytest.mark.parametrize("size", [0, 5, 125, 126, 220, 65535, 65536])
def test_client_frames_are_masked_and_round_trip(size: int) -> None:
    payload = os.urandom(size)
    frame = encode_frame(1, payload)
    assert frame[1] & 0x80, "client frames must be masked"
    first, body = unmask(frame)
    assert first == 0x81
    assert body == payload


def joined_room(order: list[int], flip_offer: bool = False) -> list[Member]:
    """A room whose members got what a correct server sends for the given join order."""
    room = make_rooms("t", 1)[0]
    joined: list[Member] = []
    for index in order:
        m = room[index]
        m.peers = [(p.user_id, offers(m, p)) for p in joined]
        for p in joined:
            p.user_joined.append((m.user_id, offers(p, m) != flip_offer))
        joined.append(m)
    return room


def test_join_check_accepts_any_correct_join_order() -> None:
    assert join_errors(joined_room([0, 1, 2])) == []
    assert join_errors(joined_room([2, 0, 1])) == []


def test_join_check_catches_wrong_offer_direction_and_missing_messages() -> None:
    assert join_errors(joined_room([1, 2, 0], flip_offer=True))
    room = joined_room([0, 1, 2])
    room[0].user_joined.pop()
    assert any("user-joined" in p for p in join_errors(room))
    room = joined_room([0, 1, 2])
    room[2].peers = list(reversed(room[2].peers or []))
    assert join_errors(room)


def relayed(run: RelayRun, sender: Member, to: Member, seq: int, *, to_id: str | None = None,
            from_id: str | None = None) -> None:
    i = sender.targets.index(to)
    body = sender.prefixes[i] % (seq, 0)
    msg = json.loads(body)
    msg[Field.FROM_ID] = from_id or sender.user_id
    if to_id is not None:
        msg[Field.TO_ID] = to_id
    sender.sent_to[i] = max(sender.sent_to[i], seq + 1)
    run.on_message(to, json.dumps(msg).encode())


def test_relay_check_counts_misrouted_reordered_and_lost() -> None:
    rooms = make_rooms("r", 2)
    run = RelayRun(rooms, window=32)
    a, b, c = rooms[0]
    relayed(run, a, b, 0)
    relayed(run, a, b, 1)
    assert run.counts()["lost"] == 0
    relayed(run, a, b, 3)  # seq 2 never arrives
    relayed(run, a, b, 2)  # ... until after 3: reordered
    assert run.reordered == 1
    relayed(run, a, c, 0, to_id=b.user_id)  # delivered to c but addressed to b
    relayed(run, rooms[1][0], rooms[1][1], 0, from_id=a.user_id)  # other room's message
    counts = run.counts()
    assert counts["misrouted"] == 2
    # rooms[1][0] -> rooms[1][1] seq 0 never reached its target, and nothing after it did
    assert (counts["lost"], counts["undelivered"]) == (0, 1)
    relayed(run, c, b, 1)  # seq 0 from c skipped: lost, not merely late
    assert run.counts()["lost"] == 1


@pytest.fixture
def baseline() -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "baselines" / "websockets_relay.py"), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield int(match.group(1)), proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


def run_loadgen(baseline: tuple[int, int], *options: str, timeout: float) -> dict[str, Any]:
    """``loadgen.py`` against the baseline server: its lines by scenario (exit 0 asserted)."""
    port, pid = baseline
    done = subprocess.run(
        [sys.executable, str(HERE / "loadgen.py"), "--url", f"ws://127.0.0.1:{port}",
         "--server-pid", str(pid), *options],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return {r["scenario"]: r for r in map(json.loads, done.stdout.splitlines())}


def test_every_scenario_runs_clean_against_the_baseline(baseline: tuple[int, int]) -> None:
    lines = run_loadgen(baseline, "--rooms", "5", "--rounds", "1", "--duration", "1",
                        "--rate", "2000", "--connections", "60", "--hold", "0.2", timeout=90)
    assert set(lines) == {"join-storm", "relay", "paced", "idle", "churn"}
    churn = lines["churn"]
    assert churn["finished"] > 0 and churn["failed"] == 0, churn
    assert churn["server_cpu_per_lifecycle_us"] > 0
    assert lines["join-storm"]["join_errors"] == 0
    assert lines["join-storm"]["server_cpu_per_join_us"] > 0
    for name in ("relay", "paced"):
        r = lines[name]
        assert r["delivered"] > 0 and r["delivered"] == r["sent"]
        assert (r["lost"], r["undelivered"], r["misrouted"], r["reordered"], r["corrupted"],
                r["errors"]) == (0, 0, 0, 0, 0, 0)
        assert r["server_cpu_per_msg_us"] > 0
    assert lines["idle"]["still_open"] == 60
    assert lines["idle"]["server_bytes_per_conn"] is not None


def test_addressing_rescore_judges_what_whisper_heard_with_the_current_rule(
        tmp_path: Path) -> None:
    """bench/party.py --addressing --rescore: the figures of an earlier run's transcripts,
    judged again (no model needed): recognised, falsely addressed, interjections."""
    from _addressing import rescore

    rows = [
        {"addressed": True, "heard": "Hey Orb, what should I try first?", "seconds": 2.0},
        {"addressed": True, "heard": "Or what should I try first?", "seconds": 2.0},
        {"addressed": False, "heard": "I told the orb yesterday.", "seconds": 2.0},
        {"addressed": False, "heard": "Orb, what do you think?", "seconds": 2.0},
    ]
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps({"bench": "party-addressing", "voice": "piper",
                                        "role": "client", "text": r["heard"], **r}) + "\n"
                            for r in rows), encoding="utf-8")
    summary = rescore(str(path))
    assert summary["recognised"] == 0.5 and summary["false_addressed"] == 0.5
    assert summary["interjections_per_10_min"] > 0


def test_paced_halves_merge_into_one_round() -> None:
    """``--paced-halves``: a server's two halves count as one result, CPU per message over both
    halves' messages (not the mean of their ratios), a void half voids the round, and each
    half runs for half the duration."""
    from run_server_bench import half_duration, merge_halves

    first = {"scenario": "paced", "label": "trio", "delivered": 20_000, "sent": 20_000,
             "server_cpu_s": 1.0, "server_cpu_per_msg_us": 50.0, "latency_p99_ms": 1.0,
             "lost": 0}
    second = {"scenario": "paced", "label": "trio", "delivered": 30_000, "sent": 30_000,
              "server_cpu_s": 2.0, "server_cpu_per_msg_us": 66.7, "latency_p99_ms": 3.0,
              "lost": 1}
    merged = merge_halves([first, second])
    assert merged["delivered"] == 50_000 and merged["lost"] == 1
    assert merged["server_cpu_per_msg_us"] == pytest.approx(60.0)
    assert merged["latency_p99_ms"] == pytest.approx(2.0)
    assert "error" not in merged and len(merged["halves"]) == 2
    void = merge_halves([first, dict(second, error="void run: clumped")])
    assert "clumped" in void["error"]
    assert half_duration(["--duration", "8", "--rate", "8000"]) == [
        "--duration", "4", "--rate", "8000"]


def test_the_standard_asyncio_loop_still_drives_the_relay(baseline: tuple[int, int]) -> None:
    """uvloop is the generator's default loop; the standard loop stays a working choice."""
    lines = run_loadgen(baseline, "--rooms", "3", "--duration", "0.5", "--rate", "1000",
                        "--scenario", "relay", "--scenario", "paced", "--loop", "asyncio",
                        timeout=60)
    for name in ("relay", "paced"):
        assert lines[name]["delivered"] > 0, lines[name]
        assert lines[name]["delivered"] == lines[name]["sent"], lines[name]

"""``ai_transcript`` and ``ai_summary``: who may send them, where they go, what is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from signaling_core import SummaryRecorded, TranscriptRecorded
from signaling_core.wire import TranscriptLine

from .harness import Harness
from .test_relay import assert_error, nobody_else, room_of_three

LINE = {"type": "ai_transcript", "utteranceId": "s-1", "speakerId": "client-1",
        "speakerRole": "client", "text": "I want more time for my family",
        "startedAt": 1700000000.25, "endedAt": 1700000002.5}


def test_transcript_goes_to_every_human_and_is_recorded() -> None:
    h, coach, orb, client = room_of_three()
    commands = h.send(orb, {**LINE, "toId": "coach-1", "extra": "dropped"})
    expected = dict(LINE.items()) | {"fromId": "ai-orb-1"}
    assert coach.take() == [expected]
    assert client.take() == [expected]
    nobody_else(orb)
    records = [c for c in commands if isinstance(c, TranscriptRecorded)]
    assert records == [TranscriptRecorded(
        records[0].session_id, "room-1", TranscriptLine(
            "s-1", "client-1", "client", "I want more time for my family", 1700000000.25,
            1700000002.5), h.now)]


def test_transcript_never_reaches_another_ai() -> None:
    h, coach, orb, client = room_of_three()
    other = h.join("ai-2", "ai", ptype="ai")
    for p in (coach, orb, client, other):
        p.take()
    h.send(orb, LINE)
    assert other.inbox == []
    assert len(coach.take()) == 1 and len(client.take()) == 1


@pytest.mark.parametrize("mtype", ["ai_transcript", "ai_summary"])
def test_only_the_ai_may_send(mtype: str) -> None:
    h, coach, orb, client = room_of_three()
    msg = LINE if mtype == "ai_transcript" else {"type": mtype, "text": "x"}
    commands = h.send(client, msg)
    assert_error(client, "forbidden", mtype)
    nobody_else(coach, orb)
    assert not [c for c in commands if isinstance(c, TranscriptRecorded | SummaryRecorded)]


@pytest.mark.parametrize(("field", "value"), [
    ("utteranceId", None), ("utteranceId", ""), ("speakerId", 3), ("speakerRole", "x" * 33),
    ("text", ""), ("text", "x" * 4001), ("text", ["a"]), ("startedAt", "now"),
    ("startedAt", -1), ("endedAt", 1.0), ("startedAt", True),
])
def test_bad_transcripts_are_refused_and_not_relayed(field: str, value: Any) -> None:
    h, coach, orb, client = room_of_three()
    msg = {**LINE, field: value}
    if value is None:
        del msg[field]
    commands = h.send(orb, msg)
    assert_error(orb, "invalid-message", "ai_transcript")
    nobody_else(coach, client)
    assert not [c for c in commands if isinstance(c, TranscriptRecorded)]


def test_summary_is_recorded_and_relayed_to_the_coach_only() -> None:
    h, coach, orb, client = room_of_three()
    commands = h.send(orb, {"type": "ai_summary", "text": "Key topics: family",
                            "method": "llm", "keyTopics": ["family"]})
    assert [m["type"] for m in coach.take()] == ["ai_summary"]
    nobody_else(orb, client)
    assert [c for c in commands if isinstance(c, SummaryRecorded)] == [SummaryRecorded(
        h.snapshot().rooms[0].session_id, "room-1", "ai-orb-1", "Key topics: family", "llm",
        h.now)]


@pytest.mark.parametrize("msg", [
    {"type": "ai_summary"}, {"type": "ai_summary", "text": ""},
    {"type": "ai_summary", "text": "x" * 8001}, {"type": "ai_summary", "text": "x", "method": 1},
    {"type": "ai_summary", "text": "x", "method": "guess"},
])
def test_bad_summaries_are_refused(msg: dict[str, Any]) -> None:
    h, _coach, orb, _client = room_of_three()
    commands = h.send(orb, msg)
    assert_error(orb, "invalid-message", "ai_summary")
    assert not [c for c in commands if isinstance(c, SummaryRecorded)]


def test_before_join_is_not_joined() -> None:
    h = Harness()
    peer = h.connect()
    h.send(peer, LINE)
    assert_error(peer, "not-joined", "ai_transcript")

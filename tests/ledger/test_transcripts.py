"""Transcripts and summaries in the ledger, on SQLite and PostgreSQL: stored from the core's
records, read back in spoken order, shown by ``trio-server sessions --transcript``, served by
``GET /api/sessions/{id}`` only behind the admin token, and erased with their session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import trio
from trio_websocket import open_websocket_url

from signaling_core import CoreConfig
from trio_server.ledger import LedgerReader, backend_from_url, erase_session

from .conftest import query
from .driver import CoreDriver
from .test_cli_server import TOKEN, _get, _start, _stop
from .test_records import play

CLI = [sys.executable, "-m", "trio_server.cli"]
T0 = 1_750_000_000.0


def line(n: int, speaker: str, role: str, text: str) -> dict[str, Any]:
    return {"type": "ai_transcript", "utteranceId": f"s1-{n}", "speakerId": speaker,
            "speakerRole": role, "text": text, "startedAt": T0 + 10 * n,
            "endedAt": T0 + 10 * n + 2.5}


SCRIPT = [
    line(1, "client-1", "client", "I want to find more time for my family."),
    line(2, "ai-orb-s1", "ai", "So you want to find more time for your family. What first?"),
    line(3, "coach-1", "coach", "Let's look at your evenings."),
]


def conversation(d: CoreDriver) -> None:
    coach = d.at(0).join("room-1", "coach-1", "coach", "Coach Carol")
    orb = d.at(1).join("room-1", "ai-orb-s1", "ai", "AI Assistant")
    client = d.at(2).join("room-1", "client-1", "client", "Client Chris")
    for i, msg in enumerate(reversed(SCRIPT)):  # arrival order is not spoken order
        d.at(3 + i).send(orb, msg)
    d.at(9).send(orb, {"type": "ai_summary", "text": "first draft", "method": "extractive"})
    d.at(10).send(client, {"type": "leave"})
    d.at(11).send(coach, {"type": "leave"})
    d.at(12).send(orb, {"type": "ai_summary", "text": "Key topics: family, evenings\n"
                        "Client's stated goals:\n- I want more family time.",
                        "method": "extractive"})
    d.at(13).send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                        "reason": "session_complete"})


async def test_transcript_and_summary_stored_and_shown(db: str) -> None:
    await play(db, CoreConfig(orbs_enabled=True), conversation)
    found = LedgerReader(backend_from_url(db)).session("s1")
    assert found is not None
    session, lines, summary = found
    assert session.ended_at is not None
    assert [(x.utterance_id, x.speaker_role, x.text) for x in lines] == [
        (m["utteranceId"], m["speakerRole"], m["text"]) for m in SCRIPT]
    assert lines[0].started_at == T0 + 10 and lines[0].ended_at == T0 + 12.5
    assert summary is not None and summary.method == "extractive"
    assert summary.text.startswith("Key topics: family, evenings")  # the later one won
    assert LedgerReader(backend_from_url(db)).session("nope") is None

    shown = await trio.run_process([*CLI, "sessions", "--db", db, "--transcript", "s1"],
                                   capture_stdout=True)
    text = shown.stdout.decode()
    assert "SUMMARY (extractive" in text and "Key topics: family, evenings" in text
    assert text.index("I want to find more time") < text.index("Let's look at your evenings")
    assert "client-1: I want to find more time for my family." in text
    as_json = orjson.loads((await trio.run_process(
        [*CLI, "sessions", "--db", db, "--transcript", "s1", "--json"],
        capture_stdout=True)).stdout)
    assert [x["text"] for x in as_json["transcript"]] == [m["text"] for m in SCRIPT]
    assert as_json["summary"]["method"] == "extractive"
    missing = await trio.run_process([*CLI, "sessions", "--db", db, "--transcript", "nope"],
                                     capture_stderr=True, check=False)
    assert missing.returncode == 1 and b"no session nope" in missing.stderr

    erased = erase_session(backend_from_url(db), "s1")
    assert (erased.transcripts, erased.summaries) == (3, 1)
    assert query(db, "SELECT COUNT(*) FROM transcripts") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM summaries") == [(0,)]


async def _ai_and_human(port: int, room: str) -> None:
    url = f"ws://127.0.0.1:{port}/ws-simple/{room}"
    async with open_websocket_url(url) as human, open_websocket_url(url) as ai:
        await human.send_message(orjson.dumps({"type": "join", "userId": "coach-1",
                                               "userRole": "coach"}).decode())
        await ai.send_message(orjson.dumps({"type": "join", "userId": "helper",
                                            "userRole": "ai"}).decode())
        with trio.fail_after(10):
            while b"peer-discovery" not in (await ai.get_message()).encode():
                pass
            await ai.send_message(orjson.dumps(SCRIPT[2]).decode())
            await ai.send_message(orjson.dumps({"type": "ai_summary", "text": "Short.",
                                                "method": "llm"}).decode())
            while True:
                got = orjson.loads(await human.get_message())
                if got["type"] == "ai_transcript":
                    break
        assert got == {**SCRIPT[2], "fromId": "helper"}
        await ai.send_message('{"type": "leave"}')
        await human.send_message('{"type": "leave"}')
        await trio.sleep(0.1)


async def test_api_serves_transcripts_only_with_the_token(tmp_path: Path) -> None:
    db = str(tmp_path / "signaling.sqlite3")
    proc, port = await _start(db, "--admin-token", TOKEN)
    try:
        await _ai_and_human(port, "api-room")
        with trio.fail_after(10):
            while True:
                status, body = await _get(port, "/api/sessions?room=api-room", TOKEN)
                sessions = orjson.loads(body)["sessions"]
                if sessions and sessions[0]["endedAt"]:
                    break
                await trio.sleep(0.05)
        sid = sessions[0]["sessionId"]
        assert "transcript" not in sessions[0]  # the list carries no words
        assert (await _get(port, f"/api/sessions/{sid}", None))[0] == 401
        assert (await _get(port, f"/api/sessions/{sid}", "wrong"))[0] == 401
        status, body = await _get(port, f"/api/sessions/{sid}", TOKEN)
        assert status == 200
        detail = orjson.loads(body)
        assert [x["text"] for x in detail["transcript"]] == [SCRIPT[2]["text"]]
        assert detail["summary"]["text"] == "Short." and detail["summary"]["method"] == "llm"
        assert (await _get(port, "/api/sessions/unknown", TOKEN))[0] == 404
    finally:
        assert await _stop(proc) == 0


async def test_api_refuses_transcripts_without_a_token_even_on_loopback(tmp_path: Path
                                                                         ) -> None:
    db = str(tmp_path / "signaling.sqlite3")
    proc, port = await _start(db)
    try:
        assert (await _get(port, "/api/sessions", None))[0] == 200  # loopback, no content
        status, body = await _get(port, "/api/sessions/anything", None)
        assert status == 403 and b"conversation content" in body
    finally:
        assert await _stop(proc) == 0

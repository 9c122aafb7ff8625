"""``trio-server sessions`` and ``GET /api/sessions`` show what the ledger recorded."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest
import trio

from signaling_core import CoreConfig
from trio_server.ledger import SessionsApi, open_reader
from trio_server.ledger.cli import sessions_main

from .conftest import make_ledger, running
from .driver import CoreDriver


async def _record_a_call(db: str) -> None:
    ledger = make_ledger(db)
    async with running(ledger):
        d = CoreDriver(ledger, CoreConfig(orbs_enabled=True, orb_idle_grace=30.0))
        coach = d.at(0).join("demo-room", "coach-1", "coach", "Coach Carol")
        orb = d.at(1).join("demo-room", "ai-orb-s1", "ai", "AI Assistant")
        client = d.at(2).join("demo-room", "client-1", "client", "Client Chris")
        d.at(3).status(orb, "listening", "s1")
        d.at(70).status(orb, "speaking", "s1")
        d.at(95).close(client)
        d.at(100).close(coach)
        d.at(130).tick()
        d.at(131).send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                             "reason": "session_complete"})
        d.at(140).join("other-room", "someone", "client")
        await ledger.wait_committed()


async def test_cli_prints_a_readable_table(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    await _record_a_call(db)
    assert sessions_main(["--db", db, "--room", "demo-room"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["SESSION", "ROOM", "STARTED", "(UTC)", "DURATION", "ENDED", "BY"]
    assert lines[1].split() == ["s1", "demo-room", "2023-11-14", "22:13:20", "2m11s",
                                "session_complete"]
    assert "other-room" not in out
    orb_line = next(line for line in lines if "ai-orb-s1" in line)
    assert orb_line.split()[-5:] == ["session_complete", "listening", "1m07s,", "speaking",
                                     "1m01s"]
    assert "Coach Carol" in out and "close" in out


async def test_cli_json_and_limit(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    await _record_a_call(db)
    assert sessions_main(["--db", db, "--json", "--limit", "1"]) == 0
    [latest] = orjson.loads(capsys.readouterr().out)["sessions"]
    assert latest["roomId"] == "other-room" and latest["endedAt"] is None
    assert sessions_main(["--db", db, "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    call = doc["sessions"][1]
    assert call["startedAt"] == "2023-11-14T22:13:20.000Z"
    assert call["durationSeconds"] == 131.0
    orb = next(p for p in call["participants"] if p["participantType"] == "ai")
    assert orb["statusSeconds"] == {"listening": 67.0, "speaking": 61.0}
    assert orb["ending"] == "session_complete"


def test_cli_on_a_missing_database_says_so(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing-here.sqlite3"
    assert sessions_main(["--db", str(missing)]) == 1
    assert "no ledger database" in capsys.readouterr().err
    assert not missing.exists()


async def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    db = str(tmp_path / "m.sqlite3")
    await _record_a_call(db)
    result = await trio.run_process(
        [sys.executable, "-m", "trio_server.ledger.cli", "--db", db], capture_stdout=True)
    assert b"demo-room" in result.stdout and b"ai-orb-s1" in result.stdout


async def test_api_answers_json_and_refuses_bad_queries(db: str) -> None:
    await _record_a_call(db)
    api = SessionsApi(open_reader(db))
    status, body = await api({"room": "demo-room", "limit": "5"})
    assert status == 200
    [session] = orjson.loads(body)["sessions"]
    assert session["sessionId"] == "s1" and len(session["participants"]) == 3
    status, body = await api({})
    assert status == 200 and len(orjson.loads(body)["sessions"]) == 2
    for bad in ({"limit": "0"}, {"limit": "x"}, {"limit": "1001"}, {"room": "no spaces"}):
        status, body = await api(bad)
        assert status == 400 and "error" in orjson.loads(body)


async def test_api_on_a_database_not_yet_created_is_empty(tmp_path: Path) -> None:
    api = SessionsApi(open_reader(str(tmp_path / "later.sqlite3")))
    assert await api({}) == (200, b'{"sessions":[]}')


def test_serve_db_values(tmp_path: Path) -> None:
    from trio_server.ledger import Ledger
    from trio_server.ledger.cli import ledger_for_serve

    assert ledger_for_serve("none") is None
    assert ledger_for_serve(None, {"SIGNALING_DB": "NONE"}) is None
    path = tmp_path / "serve.sqlite3"
    ledger = ledger_for_serve(None, {"SIGNALING_DB": str(path)})
    assert isinstance(ledger, Ledger) and path.exists()  # created and migrated up front
    with pytest.raises(SystemExit, match="cannot use the session ledger at"):
        ledger_for_serve(str(tmp_path / "no-such-dir" / "x.sqlite3"))
    with pytest.raises(SystemExit, match="cannot use the session ledger"):
        ledger_for_serve("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")

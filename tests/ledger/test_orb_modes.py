"""Each orb mode a coach sets (``ai_mode``) is recorded in the ledger with who and when; a
client's refused attempt records nothing (issue 24), on SQLite and PostgreSQL."""

from __future__ import annotations

from signaling_core import CoreConfig

from .conftest import query
from .driver import CoreDriver
from .test_records import play


async def test_the_ledger_records_each_mode_the_coach_sets(db: str) -> None:
    def script(d: CoreDriver) -> None:
        coach = d.at(0).join("room-1", "coach-1", "coach", "Coach Carol")
        d.at(1).join("room-1", "ai-orb-s1", "ai", "AI Assistant")
        client = d.at(2).join("room-1", "client-1", "client", "Client Chris")
        d.at(5).send(coach, {"type": "ai_mode", "mode": "listen"})
        d.at(6).send(client, {"type": "ai_mode", "mode": "active"})  # forbidden
        d.at(7).send(coach, {"type": "ai_mode", "mode": "active"})

    await play(db, CoreConfig(orbs_enabled=True), script)
    rows = query(db, "SELECT session_id, room, mode, set_by FROM orb_modes ORDER BY set_at")
    assert rows == [("s1", "room-1", "listen", "coach-1"), ("s1", "room-1", "active", "coach-1")]
    [(first, second)] = query(db, "SELECT MIN(set_at), MAX(set_at) FROM orb_modes")
    assert second - first == 2.0

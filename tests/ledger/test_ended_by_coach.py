"""A session a coach ended (``end_session``) is recorded as ``ended-by-coach``, and the others'
participations as ``session-ended``, on SQLite and PostgreSQL."""

from __future__ import annotations

from signaling_core import CoreConfig
from trio_server.ledger import LedgerReader, backend_from_url

from .driver import CoreDriver
from .test_records import play


async def test_the_ledger_records_how_the_session_ended(db: str) -> None:
    def script(d: CoreDriver) -> None:
        coach = d.at(0).join("room-1", "coach-1", "coach", "Coach Carol")
        orb = d.at(1).join("room-1", "ai-orb-s1", "ai", "AI Assistant")
        d.at(2).join("room-1", "client-1", "client", "Client Chris")
        d.at(10).send(coach, {"type": "end_session"})
        d.at(11).send(orb, {"type": "ai-orb-shutdown", "sessionId": "s1",
                            "reason": "session_complete"})
        d.at(12).send(coach, {"type": "leave"})

    await play(db, CoreConfig(orbs_enabled=True), script)
    found = LedgerReader(backend_from_url(db)).session("s1")
    assert found is not None
    session = found[0]
    assert session.end_reason == "ended-by-coach"
    endings = {p.user_id: p.ending for p in session.participants}
    assert endings == {"coach-1": "leave", "ai-orb-s1": "session_complete",
                       "client-1": "session-ended"}

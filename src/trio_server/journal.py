"""What the server writes down about a call: log lines and session records for the ledger.

The core's session records (``SessionStarted``, ``ParticipantJoined``, ...) go to the ledger
exactly as returned; joins and departures also become log lines naming who it was. A ledger that
raises is logged and ignored: bookkeeping never breaks a call.
"""

from __future__ import annotations

from typing import Protocol

from signaling_core import ParticipantJoined, ParticipantLeft, SessionRecord

from .ledger_contract import LedgerSink
from .logs import ERROR, INFO, event


class Identified(Protocol):
    """A connection as the journal names it in logs (filled in once it has joined)."""

    conn_id: int
    room_id: str
    user_id: str | None
    role: str | None


class Journal:
    def __init__(self, ledger: LedgerSink | None) -> None:
        self.ledger = ledger
        #: (room, userId) -> role, so a departure's log line names the role it had.
        self._roles: dict[tuple[str, str], str] = {}

    def record(self, record: SessionRecord, source: Identified | None) -> None:
        """A session record from the core; ``source``: the connection whose input caused it."""
        if type(record) is ParticipantJoined:
            self._joined(record, source)
        elif type(record) is ParticipantLeft:
            self._left(record)
        if self.ledger is not None:
            try:
                self.ledger.record(record)
            except Exception as exc:
                event(ERROR, "ledger-failed", "ledger refused a record", error=repr(exc))

    def protocol_error(self, conn: Identified, code: str) -> None:
        event(INFO, "protocol-error", "protocol error", conn=conn.conn_id, room=conn.room_id,
              userId=conn.user_id, role=conn.role, code=code)

    def _joined(self, record: ParticipantJoined, source: Identified | None) -> None:
        person = record.participant
        self._roles[(record.room_id, person.user_id)] = person.user_role
        if source is not None and source.room_id == record.room_id:
            # Kept after the participant leaves: the close log names who it was.
            source.user_id = person.user_id
            source.role = person.user_role
        event(INFO, "participant-joined", "participant joined", room=record.room_id,
              userId=person.user_id, role=person.user_role, type=person.participant_type,
              session=record.session_id)

    def _left(self, record: ParticipantLeft) -> None:
        role = self._roles.pop((record.room_id, record.user_id), None)
        event(INFO, "participant-left", "participant left", room=record.room_id,
              userId=record.user_id, role=role, ending=record.ending.value,
              session=record.session_id)

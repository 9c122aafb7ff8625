"""Session records to SQL statements: the ledger's whole data model in one place.

The statements are written for ``?`` placeholders and portable SQL (SQLite and PostgreSQL
both run them; the PostgreSQL store only swaps the placeholder). Every statement tolerates a
missing predecessor (an ``UPDATE`` that matches nothing is a no-op), so a record lost to an
overflow never makes a later batch fail.

How a session ended is mostly not in ``SessionEnded``: the core emits it right after the
departure that emptied the room, at the same instant, so that departure's ending is the
session's ``end_reason`` — unless ``SessionEnded.how`` says better (``ended-by-coach``: a
coach's ``end_session``, whatever the last departure was). A session ended with no such
departure is one whose room held only an orb that never joined (it failed, or was stopped
before joining): ``orb-ended``.
"""

from __future__ import annotations

from collections.abc import Callable

from signaling_core import (
    OrbModeChanged,
    OrbStatusChanged,
    ParticipantJoined,
    ParticipantLeft,
    SessionEnded,
    SessionRecord,
    SessionStarted,
    SummaryRecorded,
    TranscriptRecorded,
)

from ._batch import Op

AI = "ai"

#: ``end_reason``/``ending`` of what a restart closes after a crash (kill -9, power loss).
SERVER_RESTART = "server-restart"
#: ``end_reason`` of a session whose last occupant was an orb that never joined.
ORB_ENDED = "orb-ended"

INSERT_SESSION = (
    "INSERT INTO sessions (session_id, room, run_id, started_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO NOTHING"
)
END_SESSION = (
    "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE session_id = ? AND ended_at IS NULL"
)
INSERT_PARTICIPATION = (
    "INSERT INTO participations (session_id, room, user_id, name, role, type, joined_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
END_PARTICIPATION = (
    "UPDATE participations SET left_at = ?, ending = ? "
    "WHERE session_id = ? AND user_id = ? AND left_at IS NULL"
)
#: Closes the running status span of the participant's open participation.
END_STATUS_SPAN = (
    "UPDATE orb_status_spans SET ended_at = ? WHERE ended_at IS NULL AND participation_id IN "
    "(SELECT id FROM participations WHERE session_id = ? AND user_id = ? AND left_at IS NULL)"
)
START_STATUS_SPAN = (
    "INSERT INTO orb_status_spans (participation_id, status, started_at) "
    "SELECT id, ?, ? FROM participations "
    "WHERE session_id = ? AND user_id = ? AND left_at IS NULL"
)
INSERT_TRANSCRIPT = (
    "INSERT INTO transcripts (session_id, room, utterance_id, speaker_id, speaker_role, text, "
    "started_at, ended_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: The orb's latest summary of a session replaces an earlier one.
UPSERT_SUMMARY = (
    "INSERT INTO summaries (session_id, room, user_id, text, method, written_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
    "user_id = excluded.user_id, text = excluded.text, method = excluded.method, "
    "written_at = excluded.written_at"
)
#: Each ``ai_mode`` a coach set, in order (the session's mode at any moment is the latest
#: one before it, or the server's ``--orb-mode`` before the first).
INSERT_ORB_MODE = (
    "INSERT INTO orb_modes (session_id, room, mode, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
)
INSERT_GAP = (
    "INSERT INTO ledger_gaps (run_id, first_at, last_at, dropped, detail) VALUES (?, ?, ?, ?, ?)"
)


class Translator:
    """Turns records into statements, remembering the last departure for ``end_reason``.

    It also remembers which participants present are ``ai``: only their departure has a
    status span to close, and a human's departure (the common case) stays one statement.
    Used by one writer thread at a time; each batch is translated exactly once.
    """

    def __init__(self, run_id: str, to_wall: Callable[[float], float]) -> None:
        self._run_id = run_id
        self._to_wall = to_wall
        self._last_left: ParticipantLeft | None = None
        self._ai_present: set[tuple[str, str]] = set()

    def ops(self, record: SessionRecord) -> list[Op]:
        wall = self._to_wall(record.at)
        if isinstance(record, ParticipantLeft):
            self._last_left = record
            ending = str(record.ending)
            key = (record.session_id, record.user_id)
            left = (END_PARTICIPATION, (wall, ending, *key))
            if key in self._ai_present:
                self._ai_present.discard(key)
                return [(END_STATUS_SPAN, (wall, *key)), left]
            return [left]
        if isinstance(record, OrbStatusChanged):
            key = (record.session_id, record.user_id)
            return [(END_STATUS_SPAN, (wall, *key)),
                    (START_STATUS_SPAN, (record.status, wall, *key))]
        if isinstance(record, ParticipantJoined):
            p = record.participant
            if p.participant_type == AI:
                self._ai_present.add((record.session_id, p.user_id))
            return [(INSERT_PARTICIPATION, (
                record.session_id, record.room_id, p.user_id, p.user_name, p.user_role,
                p.participant_type, wall))]
        if isinstance(record, SessionStarted):
            return [(INSERT_SESSION, (record.session_id, record.room_id, self._run_id, wall))]
        if isinstance(record, SessionEnded):
            return [(END_SESSION, (wall, self._end_reason(record), record.session_id))]
        if isinstance(record, TranscriptRecorded):
            # The orb's own times (Unix seconds, its clock) are kept as it sent them.
            line = record.line
            return [(INSERT_TRANSCRIPT, (
                record.session_id, record.room_id, line.utterance_id, line.speaker_id,
                line.speaker_role, line.text, line.started_at, line.ended_at, wall))]
        if isinstance(record, SummaryRecorded):
            return [(UPSERT_SUMMARY, (record.session_id, record.room_id, record.user_id,
                                      record.text, record.method, wall))]
        if isinstance(record, OrbModeChanged):
            return [(INSERT_ORB_MODE, (record.session_id, record.room_id, record.mode,
                                       record.by, wall))]
        raise TypeError(f"not a session record: {record!r}")

    def _end_reason(self, ended: SessionEnded) -> str:
        if ended.how is not None:
            return ended.how
        left = self._last_left
        if left is not None and left.session_id == ended.session_id and left.at == ended.at:
            return str(left.ending)
        return ORB_ENDED

    def gap_op(self, first_at: float, last_at: float, dropped: int, detail: str) -> Op:
        return (INSERT_GAP, (self._run_id, first_at, last_at, dropped, detail))

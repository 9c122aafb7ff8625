"""The read side: recent sessions with their participants and orb status timings.

Reads open their own short-lived connection (a WAL database serves readers while the server
writes), so a query never waits behind the writer and never touches its connection.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import attrs

from signaling_core import wire
from signaling_core.wire import Field, HttpField

from ._backend import Backend
from ._schema import NotALedger, check_version, read_version

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20

_SESSIONS = (
    "SELECT session_id, room, started_at, ended_at, end_reason FROM sessions{where} "
    "ORDER BY started_at DESC, session_id LIMIT ?"
)
_PARTICIPATIONS = (
    "SELECT id, session_id, user_id, name, role, type, joined_at, left_at, ending "
    "FROM participations WHERE session_id IN ({marks}) ORDER BY joined_at, id"
)
_STATUS_TIMES = (
    "SELECT participation_id, status, SUM((CASE WHEN ended_at IS NULL THEN ? ELSE ended_at END)"
    " - started_at) FROM orb_status_spans WHERE participation_id IN ({marks}) "
    "GROUP BY participation_id, status"
)


_TRANSCRIPT = (
    "SELECT utterance_id, speaker_id, speaker_role, text, started_at, ended_at "
    "FROM transcripts WHERE session_id = ? ORDER BY started_at, id"
)
_SUMMARY = "SELECT text, method, written_at FROM summaries WHERE session_id = ?"


def iso(ts: float | None) -> str | None:
    """Unix time as ISO 8601 UTC with milliseconds, e.g. ``2025-01-31T09:15:02.250Z``."""
    if ts is None:
        return None
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@attrs.frozen
class ParticipationView:
    """One participant's part in a session; ``status_seconds`` only for orbs."""

    user_id: str
    name: str
    role: str
    type: str
    joined_at: float
    left_at: float | None
    ending: str | None
    status_seconds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            Field.USER_ID: self.user_id, Field.USER_NAME: self.name, Field.USER_ROLE: self.role,
            Field.PARTICIPANT_TYPE: self.type, HttpField.JOINED_AT: iso(self.joined_at),
            HttpField.LEFT_AT: iso(self.left_at), HttpField.ENDING: self.ending,
            HttpField.STATUS_SECONDS: {k: round(v, 3) for k,
                                       v in sorted(self.status_seconds.items())},
        }


@attrs.frozen
class TranscriptLine(wire.TranscriptLine):
    """One finished utterance in words (times: the orb's Unix seconds); the record's fields
    are the wire vocabulary's, its times shown as ISO 8601."""

    def to_json(self) -> dict[str, Any]:
        return {**self.fields(), Field.STARTED_AT: iso(self.started_at),
                Field.ENDED_AT: iso(self.ended_at)}


@attrs.frozen
class SummaryView:
    """The session's summary as the orb last wrote it."""

    text: str
    method: str
    written_at: float

    def to_json(self) -> dict[str, Any]:
        return {Field.TEXT: self.text, Field.METHOD: self.method,
                HttpField.WRITTEN_AT: iso(self.written_at)}


@attrs.frozen
class SessionView:
    """One session: who took part and how it ended (``ended_at`` None while it runs)."""

    session_id: str
    room: str
    started_at: float
    ended_at: float | None
    end_reason: str | None
    participants: tuple[ParticipationView, ...]

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        duration = self.duration
        return {
            Field.SESSION_ID: self.session_id, Field.ROOM_ID: self.room,
            Field.STARTED_AT: iso(self.started_at), Field.ENDED_AT: iso(self.ended_at),
            HttpField.DURATION_SECONDS: None if duration is None else round(duration, 3),
            HttpField.END_REASON: self.end_reason,
            HttpField.PARTICIPANTS: [p.to_json() for p in self.participants],
        }


def open_reader(backend: Backend) -> tuple[Any, Any]:
    """A fresh connection to an existing ledger of this schema version, and its cursor (the
    caller rolls back and closes the connection); :class:`NotALedger` when it holds none."""
    conn = backend.connect_existing()
    try:
        cur = conn.cursor()
        cur.execute(backend.has_schema_sql)
        if cur.fetchone() is None:
            raise NotALedger(f"{backend.describe()} holds no session ledger")
        check_version(read_version(cur))
    except BaseException:
        conn.rollback()
        conn.close()
        raise
    return conn, cur


class LedgerReader:
    """Queries a ledger database; every call blocks (use a thread from Trio)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def sessions(self, *, room: str | None = None, limit: int = DEFAULT_LIMIT,
                 now: float | None = None) -> list[SessionView]:
        """The most recent sessions first; a running status span counts up to ``now``."""
        limit = max(1, min(int(limit), MAX_LIMIT))
        now = time.time() if now is None else now
        conn, cur = open_reader(self.backend)
        try:
            if room is None:
                return _query(cur, self.backend.dialect.sql, "", (), limit, now)
            return _query(cur, self.backend.dialect.sql, " WHERE room = ?", (room,), limit, now)
        finally:
            conn.rollback()
            conn.close()

    def session(self, session_id: str, *, now: float | None = None
                ) -> tuple[SessionView, list[TranscriptLine], SummaryView | None] | None:
        """One session with its transcript (in spoken order) and summary; None if unknown."""
        now = time.time() if now is None else now
        conn, cur = open_reader(self.backend)
        try:
            sql = self.backend.dialect.sql
            found = _query(cur, sql, " WHERE session_id = ?", (session_id,), 1, now)
            if not found:
                return None
            cur.execute(sql(_TRANSCRIPT), (session_id,))
            lines = [TranscriptLine(*row) for row in cur.fetchall()]
            cur.execute(sql(_SUMMARY), (session_id,))
            row = cur.fetchone()
            return found[0], lines, None if row is None else SummaryView(*row)
        finally:
            conn.rollback()
            conn.close()


def _query(cur: Any, sql: Any, where: str, params: tuple[str, ...], limit: int, now: float
           ) -> list[SessionView]:
    cur.execute(sql(_SESSIONS.format(where=where)), (*params, limit))
    session_rows = cur.fetchall()
    if not session_rows:
        return []
    ids = [row[0] for row in session_rows]
    cur.execute(sql(_PARTICIPATIONS.format(marks=", ".join("?" * len(ids)))), ids)
    part_rows = cur.fetchall()
    times: dict[int, dict[str, float]] = {}
    part_ids = [row[0] for row in part_rows if row[5] == "ai"]
    if part_ids:
        cur.execute(sql(_STATUS_TIMES.format(marks=", ".join("?" * len(part_ids)))),
                    [now, *part_ids])
        for pid, status, seconds in cur.fetchall():
            times.setdefault(pid, {})[status] = float(seconds)
    by_session: dict[str, list[ParticipationView]] = {}
    for pid, session_id, user_id, name, role, ptype, joined, left, ending in part_rows:
        by_session.setdefault(session_id, []).append(ParticipationView(
            user_id, name, role, ptype, joined, left, ending, times.get(pid, {})))
    return [
        SessionView(sid, room_id, started, ended, reason, tuple(by_session.get(sid, ())))
        for sid, room_id, started, ended, reason in session_rows
    ]


def session_json(session: SessionView, lines: list[TranscriptLine],
                 summary: SummaryView | None) -> dict[str, Any]:
    """``GET /api/sessions/{id}`` and ``sessions --transcript --json``: one shape."""
    return {**session.to_json(), HttpField.SUMMARY: None if summary is None else summary.to_json(),
            HttpField.TRANSCRIPT: [line.to_json() for line in lines]}

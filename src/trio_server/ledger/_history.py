"""The read side of the coach's history: a page of past sessions, and one session in full.

:class:`~trio_server.ledger.LedgerReader` answers the admin API (who took part, how it
ended); the history a coach browses needs more per row (the summary's first line) and, per
session, the orb's status timeline. Both are plain functions over a DB-API cursor, so the
SQLite and PostgreSQL ledgers share them (each node behind a balancer reads the one shared
PostgreSQL database). Every call blocks: the HTTP side runs them in a worker thread.

The list uses the ``sessions_by_room`` and ``sessions_by_start`` indexes: a page is an index
range scan of ``limit + offset`` rows, not a scan of the table (the CI test holds a 10,000
session ledger to one second per page).
"""

from __future__ import annotations

from typing import Any

import attrs

from signaling_core.wire import Field, HttpField

from ._backend import Backend
from ._query import _PARTICIPATIONS, LedgerReader, iso, open_reader, session_json

#: Rows per page of the history list (and the most a request may ask for).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_LIST = (
    "SELECT s.session_id, s.room, s.started_at, s.ended_at, s.end_reason, m.text "
    "FROM sessions s LEFT JOIN summaries m ON m.session_id = s.session_id{where} "
    "ORDER BY s.started_at DESC, s.session_id LIMIT ? OFFSET ?"
)
_TIMELINE = (
    "SELECT p.user_id, o.status, o.started_at, o.ended_at FROM orb_status_spans o "
    "JOIN participations p ON p.id = o.participation_id WHERE p.session_id = ? "
    "ORDER BY o.started_at, o.id"
)
_ROOM_OF = "SELECT room, ended_at FROM sessions WHERE session_id = ?"


@attrs.frozen
class HistoryFilter:
    """Which sessions a list shows: a room (None: every room the viewer may see) and a
    window of start times (Unix seconds, ``since`` inclusive, ``until`` exclusive)."""

    room: str | None = None
    since: float | None = None
    until: float | None = None


def history_page(backend: Backend, where: HistoryFilter, *, offset: int = 0,
                 limit: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of sessions, newest first: room, start, duration, participants (humans by
    name) and the summary's first line; ``more`` says whether a next page exists."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.room is not None:
        clauses.append("s.room = ?")
        params.append(where.room)
    if where.since is not None:
        clauses.append("s.started_at >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("s.started_at < ?")
        params.append(where.until)
    sql_where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    conn, cur = open_reader(backend)
    try:
        sql = backend.dialect.sql
        cur.execute(sql(_LIST.format(where=sql_where)), (*params, limit + 1, offset))
        rows = cur.fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        people: dict[str, list[dict[str, str]]] = {}
        if rows:
            ids = [row[0] for row in rows]
            cur.execute(sql(_PARTICIPATIONS.format(marks=", ".join("?" * len(ids)))), ids)
            for _pid, sid, user_id, name, role, _type, _joined, _left, _ending in cur.fetchall():
                entries = people.setdefault(sid, [])
                if all(e[Field.USER_ID] != user_id for e in entries):  # a rejoin is one person
                    entries.append({Field.USER_ID: user_id, Field.USER_NAME: name,
                                    Field.USER_ROLE: role})
        sessions = []
        for sid, room, started, ended, reason, summary in rows:
            first_line = summary.strip().split("\n", 1)[0] if summary else None
            sessions.append({
                Field.SESSION_ID: sid, Field.ROOM_ID: room, Field.STARTED_AT: iso(started),
                Field.ENDED_AT: iso(ended),
                HttpField.DURATION_SECONDS: None if ended is None else round(ended - started, 3),
                HttpField.END_REASON: reason, HttpField.PARTICIPANTS: people.get(sid, []),
                HttpField.SUMMARY_FIRST_LINE: first_line,
            })
        return {HttpField.SESSIONS: sessions, HttpField.OFFSET: offset, HttpField.LIMIT: limit,
                HttpField.MORE: more}
    finally:
        conn.rollback()
        conn.close()


def session_room(backend: Backend, session_id: str) -> tuple[str, bool] | None:
    """(room, ended) of a session, or None when the ledger has no such session."""
    conn, cur = open_reader(backend)
    try:
        cur.execute(backend.dialect.sql(_ROOM_OF), (session_id,))
        row = cur.fetchone()
        return None if row is None else (str(row[0]), row[1] is not None)
    finally:
        conn.rollback()
        conn.close()


def history_session(backend: Backend, session_id: str) -> dict[str, Any] | None:
    """One session as the session page shows it: the admin API's shape (participants,
    transcript in spoken order, summary) plus the orb's status timeline."""
    found = LedgerReader(backend).session(session_id)
    if found is None:
        return None
    body = session_json(*found)
    conn, cur = open_reader(backend)
    try:
        cur.execute(backend.dialect.sql(_TIMELINE), (session_id,))
        body[HttpField.STATUS_TIMELINE] = [
            {Field.USER_ID: uid, Field.STATUS: status, Field.STARTED_AT: iso(start),
             Field.ENDED_AT: iso(end)}
            for uid, status, start, end in cur.fetchall()]
    finally:
        conn.rollback()
        conn.close()
    return body


def session_markdown(body: dict[str, Any]) -> str:
    """The Markdown export of :func:`history_session`'s result: header, summary, transcript
    (speakers by name, times), status timeline. Words are copied as they were said."""
    people = body[HttpField.PARTICIPANTS]
    names = {p[Field.USER_ID]: p[Field.USER_NAME] or p[Field.USER_ROLE] for p in people}
    ended = body[Field.ENDED_AT] or "running"
    lines = [f"# Session {body[Field.SESSION_ID]} in room {body[Field.ROOM_ID]}", "",
             f"- Started: {body[Field.STARTED_AT]}", f"- Ended: {ended}",
             f"- How it ended: {body[HttpField.END_REASON] or '-'}",
             "- Participants: " + ", ".join(
                 f"{p[Field.USER_NAME] or p[Field.USER_ID]} ({p[Field.USER_ROLE]})"
                 for p in people), "", "## Summary", ""]
    summary = body.get(HttpField.SUMMARY)
    lines.append(summary[Field.TEXT] if summary else "No summary was written.")
    lines += ["", "## Transcript", ""]
    for line in body[HttpField.TRANSCRIPT]:
        who = names.get(line[Field.SPEAKER_ID], line[Field.SPEAKER_ROLE])
        lines.append(f"- **{who}** ({line[Field.STARTED_AT]}): {line[Field.TEXT]}")
    if not body[HttpField.TRANSCRIPT]:
        lines.append("Nothing was transcribed.")
    lines += ["", "## Assistant status", ""]
    for span in body.get(HttpField.STATUS_TIMELINE, []):
        lines.append(f"- {span[Field.STARTED_AT]} {span[Field.STATUS]}")
    return "\n".join(lines) + "\n"

"""Deleting session records: by age (``--retain-days``) and one session on request.

A session's records are its ``sessions`` row, its ``participations`` and their
``orb_status_spans``, its ``transcripts`` and its ``summaries`` row (anything attached to a
session later belongs in :data:`_ATTACHED` too, so both paths delete it). Only sessions that
have ended are deleted: a running one still receives records, and deleting it would leave
the rest of its records without their session. Both paths run in one transaction, children
first, so a failure deletes nothing and a reader never sees participations without their
session.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._backend import Backend
from ._query import open_reader

#: What belongs to the sessions a ``WHERE`` over ``sessions`` selects, deleted children first.
#: ``{which}`` is a subquery yielding session ids.
_ATTACHED = (
    ("orb_status_spans", "DELETE FROM orb_status_spans WHERE participation_id IN "
                         "(SELECT id FROM participations WHERE session_id IN ({which}))"),
    ("participations", "DELETE FROM participations WHERE session_id IN ({which})"),
    ("transcripts", "DELETE FROM transcripts WHERE session_id IN ({which})"),
    ("summaries", "DELETE FROM summaries WHERE session_id IN ({which})"),
)
_EXPIRED = "SELECT session_id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?"
_ONE_ENDED = "SELECT session_id FROM sessions WHERE session_id = ? AND ended_at IS NOT NULL"
_SESSION_STATE = "SELECT ended_at FROM sessions WHERE session_id = ?"


@attrs.frozen
class Erased:
    """How many rows of each kind were deleted (what the logs say instead of the content)."""

    sessions: int = 0
    participations: int = 0
    orb_status_spans: int = 0
    transcripts: int = 0
    summaries: int = 0

    def __str__(self) -> str:
        return (f"{self.sessions} session(s), {self.participations} participation(s), "
                f"{self.orb_status_spans} orb status span(s), {self.transcripts} transcript "
                f"line(s), {self.summaries} summary(ies)")


class SessionRunning(RuntimeError):
    """The session has not ended (it is live, or its server stopped without closing it)."""


class NoSuchSession(LookupError):
    """The ledger has no session with that id."""


def delete_sessions(cur: Any, sql: Any, which: str, params: tuple[object, ...]) -> Erased:
    """Delete the sessions the subquery ``which`` selects (``params`` fill it) and all that is
    attached to them, inside the caller's transaction."""
    counts: dict[str, int] = {}
    for table, statement in _ATTACHED:
        cur.execute(sql(statement.format(which=which)), params)
        counts[table] = max(cur.rowcount, 0)
    cur.execute(sql(f"DELETE FROM sessions WHERE session_id IN ({which})"), params)
    return Erased(max(cur.rowcount, 0), counts["participations"], counts["orb_status_spans"],
                  counts["transcripts"], counts["summaries"])


def purge_ended_before(cur: Any, sql: Any, cutoff: float) -> Erased:
    """Delete every session that ended before ``cutoff`` (Unix time); running ones stay."""
    return delete_sessions(cur, sql, _EXPIRED, (cutoff,))


def erase_session(backend: Backend, session_id: str) -> Erased:
    """Delete one ended session and everything attached to it, on a connection of its own.

    Raises :class:`NoSuchSession`, or :class:`SessionRunning` for a session without an end
    (deleting it under a live server would orphan the records still coming).
    """
    conn, cur = open_reader(backend)  # checked as a ledger of this version, then written
    try:
        conn.rollback()
        sql = backend.dialect.sql
        for statement in backend.write_begin:
            cur.execute(statement)
        cur.execute(sql(_SESSION_STATE), (session_id,))
        row = cur.fetchone()
        if row is None:
            raise NoSuchSession(f"no session {session_id} in the ledger")
        if row[0] is None:
            raise SessionRunning(
                f"session {session_id} has not ended: it is live, or its server stopped "
                "without closing it (the next server start closes it); delete it after that")
        erased = delete_sessions(cur, sql, _ONE_ENDED, (session_id,))
        conn.commit()
        return erased
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()

"""``GET /api/sessions?room=R&limit=N`` and ``GET /api/sessions/{id}`` for the server's router
(admin check left to it; the second carries the transcript and summary, so the server
registers it as conversation content: only ever served with the admin token).

The query runs in a worker thread on a connection of its own, so a slow database delays the
admin's answer, never the relay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
import trio

from signaling_core import is_valid_room_id

from ._query import DEFAULT_LIMIT, MAX_LIMIT, LedgerReader, session_json
from ._schema import NotALedger

log = logging.getLogger("trio_server.ledger")

class BadQuery(ValueError):
    """A query-string value the endpoint refuses (answered with 400)."""


def parse_query(query: Mapping[str, str]) -> tuple[str | None, int]:
    """``room`` (a valid room id) and ``limit`` (1..1000, default 20)."""
    room = query.get("room") or None
    if room is not None and not is_valid_room_id(room):
        raise BadQuery("room must be a valid room id")
    raw = query.get("limit")
    if raw is None or raw == "":
        return room, DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadQuery("limit must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit must be between 1 and {MAX_LIMIT}")
    return room, limit


class SessionsApi:
    """The endpoint's logic, bound to one ledger database; build it inside Trio."""

    def __init__(self, reader: LedgerReader) -> None:
        self.reader = reader
        # One query at a time: a burst of admin requests must not pile up connections.
        self._limiter = trio.CapacityLimiter(1)

    async def __call__(self, query: Mapping[str, str]) -> tuple[int, bytes]:
        """(HTTP status, JSON body); the server wraps it in its response type."""
        try:
            room, limit = parse_query(query)
        except BadQuery as exc:
            return 400, orjson.dumps({"error": str(exc)})

        def read() -> list[dict[str, Any]]:
            return [s.to_json() for s in self.reader.sessions(room=room, limit=limit)]

        try:
            sessions = await trio.to_thread.run_sync(read, limiter=self._limiter)
        except NotALedger:
            sessions = []
        except Exception as exc:
            log.warning("ledger: /api/sessions query failed: %r", exc)
            return 503, orjson.dumps({"error": "the session ledger cannot be read now"})
        return 200, orjson.dumps({"sessions": sessions})

    async def one(self, session_id: str) -> tuple[int, bytes]:
        """(HTTP status, JSON body) of one session with its transcript and summary."""
        if not 1 <= len(session_id) <= 128 or "/" in session_id:
            return 404, orjson.dumps({"error": "no such session"})

        def read() -> dict[str, Any] | None:
            found = self.reader.session(session_id)
            return None if found is None else session_json(*found)

        try:
            body = await trio.to_thread.run_sync(read, limiter=self._limiter)
        except NotALedger:
            body = None
        except Exception as exc:
            log.warning("ledger: /api/sessions/{id} query failed: %r", exc)
            return 503, orjson.dumps({"error": "the session ledger cannot be read now"})
        if body is None:
            return 404, orjson.dumps({"error": "no such session"})
        return 200, orjson.dumps(body)

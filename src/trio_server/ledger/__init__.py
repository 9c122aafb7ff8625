"""The session ledger: every call and every participant's part in it, durably recorded.

The server hands each session record the core returns to :meth:`Ledger.record` (never
blocks, never raises); :meth:`Ledger.run`, started in the server's nursery, writes them in
batched transactions from a worker thread, to SQLite by default or to PostgreSQL.
See docs/ledger.md.
"""

from __future__ import annotations

from typing import Any

from ._backend import Backend
from ._erase import Erased, NoSuchSession, SessionRunning, erase_session
from ._postgres import PostgresBackend
from ._query import LedgerReader, ParticipationView, SessionView
from ._schema import NotALedger, SchemaTooNew, latest_version
from ._sqlite import SqliteBackend
from ._store import SqlStore
from ._translate import ORB_ENDED, SERVER_RESTART
from ._url import DEFAULT_DB, backend_from_url, is_disabled
from ._writer import Ledger, LedgerStats
from .api import SessionsApi


def open_ledger(db: str, **options: Any) -> Ledger | None:
    """The ledger a ``--db`` value names, or None for ``none``. Opens nothing yet:
    :meth:`Ledger.run` connects, migrates and recovers."""
    if is_disabled(db):
        return None
    return Ledger(SqlStore(backend_from_url(db)), **options)


def open_reader(db: str) -> LedgerReader:
    """The read side of the ledger a ``--db`` value names."""
    return LedgerReader(backend_from_url(db))


__all__ = [
    "DEFAULT_DB",
    "ORB_ENDED",
    "SERVER_RESTART",
    "Backend",
    "Erased",
    "Ledger",
    "LedgerReader",
    "LedgerStats",
    "NoSuchSession",
    "NotALedger",
    "ParticipationView",
    "PostgresBackend",
    "SchemaTooNew",
    "SessionRunning",
    "SessionView",
    "SessionsApi",
    "SqlStore",
    "SqliteBackend",
    "backend_from_url",
    "erase_session",
    "is_disabled",
    "latest_version",
    "open_ledger",
    "open_reader",
]

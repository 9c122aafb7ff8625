"""``--db`` values: ``none``, a SQLite path (or ``sqlite:PATH[?synchronous=full]``), or a
``postgresql://`` DSN."""

from __future__ import annotations

import urllib.parse

from ._backend import Backend
from ._postgres import PostgresBackend
from ._sqlite import SqliteBackend

DEFAULT_DB = "./signaling.sqlite3"
DISABLED = "none"


def is_disabled(db: str) -> bool:
    return db.strip().lower() == DISABLED


def backend_from_url(db: str) -> Backend:
    """The backend a ``--db`` value names (``none`` is the caller's business)."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(db)
    if db.startswith("sqlite:"):
        path, _, query = db[len("sqlite:"):].partition("?")
        options = urllib.parse.parse_qs(query)
        if set(options) - {"synchronous"}:
            raise ValueError(f"unknown sqlite option(s): {', '.join(sorted(options))}")
        synchronous = options.get("synchronous", ["NORMAL"])[-1]
        if path.startswith("//"):  # sqlite:///abs/path
            path = path[2:]
        if not path:
            raise ValueError("sqlite: needs a path")
        return SqliteBackend(path, synchronous=synchronous)
    if not db.strip():
        raise ValueError("--db needs a path, a postgresql:// DSN, or 'none'")
    return SqliteBackend(db)

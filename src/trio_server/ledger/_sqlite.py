"""SQLite, the default ledger: one file, WAL mode, written from one worker thread.

WAL with ``synchronous=NORMAL`` makes every committed transaction survive a crash of the
process (kill -9): the commit is in the WAL file, which the next open replays. Only an
operating-system crash or power loss can take the last transactions, which ``FULL`` (an
fsync per commit; the ledger batches, so that is one per batch) also guards against.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from typing import Any

from ._schema import SQLITE, Dialect, NotALedger

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


class SqliteBackend:
    """A ledger in the SQLite file at ``path``."""

    dialect: Dialect = SQLITE
    migrate_begin: tuple[str, ...] = ("BEGIN IMMEDIATE",)
    write_begin: tuple[str, ...] = ("BEGIN IMMEDIATE",)
    has_schema_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_schema'"

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "NORMAL",
                 busy_timeout: float = 5.0) -> None:
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        self.path = os.fspath(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: the store issues BEGIN IMMEDIATE itself, so DDL is
        # transactional too and the write lock is taken up front, not mid-transaction.
        # check_same_thread=False: trio.to_thread may pick a different worker thread per
        # call; the ledger never uses the connection from two threads at once.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    def connect_existing(self) -> sqlite3.Connection:
        if not os.path.exists(self.path):
            raise NotALedger(f"no ledger database at {self.path}")
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=rw"
        return sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)

    def is_transient(self, exc: BaseException) -> bool:
        # OperationalError covers "database is locked", "disk I/O error" and a full disk.
        return isinstance(exc, sqlite3.OperationalError)

    def describe(self) -> str:
        return f"sqlite:{self.path}"


def sqlite_connection_info(conn: Any) -> dict[str, str]:
    """journal_mode and synchronous of an open connection, for tests and diagnostics."""
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    return {"journal_mode": str(journal), "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL",
                                                           3: "EXTRA"}.get(sync, str(sync))}

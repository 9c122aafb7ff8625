"""PostgreSQL through psycopg 3, for deployments that outgrow one SQLite file.

The same statements and schema as SQLite (see ``_schema.Dialect``). psycopg is imported on
first use, so a server that never points ``--db`` at PostgreSQL does not need it installed.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from ._schema import POSTGRES, Dialect

#: Arbitrary constant: the advisory lock that serializes migrations of one database.
_MIGRATION_LOCK = 0x1ED6E5


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "a postgresql:// ledger needs psycopg 3: pip install 'psycopg[binary]'"
        ) from exc
    return psycopg


def redact(dsn: str) -> str:
    """The DSN without its password, fit for a log line."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _store_nul_as_replacement(conn: Any) -> None:
    """Text with a NUL character is stored with U+FFFD in its place.

    PostgreSQL's text cannot hold NUL, and the ledger's text comes from participants (names,
    transcripts): left as it is, one such name would make its record unwritable and lose it
    (a ``DataError``, dropped as permanent). SQLite stores NUL as it is; here the rest of the
    text survives, which is what a reader of the ledger needs.
    """
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    def nul_free(base: type[Any]) -> type[Any]:
        class NulFree(base):  # type: ignore[misc]
            def dump(self, obj: str) -> Any:
                return super().dump(obj.replace("\x00", "\ufffd"))

        return NulFree

    for base in (StrDumperUnknown, StrBinaryDumper):  # psycopg's defaults for str, as they were
        conn.adapters.register_dumper(str, nul_free(base))


class PostgresBackend:
    """A ledger in the PostgreSQL database named by a ``postgresql://`` DSN."""

    dialect: Dialect = POSTGRES
    migrate_begin: tuple[str, ...] = (f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})",)
    write_begin: tuple[str, ...] = ()  # psycopg opens the transaction on the first statement
    has_schema_sql = "SELECT 1 WHERE to_regclass('ledger_schema') IS NOT NULL"

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.connect_timeout = connect_timeout

    def connect(self) -> Any:
        conn = _psycopg().connect(self.dsn, autocommit=False,
                                  connect_timeout=max(1, round(self.connect_timeout)))
        _store_nul_as_replacement(conn)
        return conn

    def connect_existing(self) -> Any:
        return self.connect()

    def is_transient(self, exc: BaseException) -> bool:
        psycopg = _psycopg()
        # OperationalError: the server went away, refused us, or rolled us back (deadlock,
        # serialization); InterfaceError: our connection object is closed. Both heal with a
        # new connection; a DataError or ProgrammingError would fail the same way again.
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)

    def describe(self) -> str:
        return redact(self.dsn)

"""What differs between the databases the ledger can write: how to connect, and which
failures are worth retrying. Everything else (statements, schema, recovery) is shared."""

from __future__ import annotations

from typing import Any, Protocol

from ._schema import Dialect


class Backend(Protocol):
    """One database the ledger can write to and read from."""

    dialect: Dialect
    #: Statements that open a migration transaction (and serialize concurrent migrations).
    migrate_begin: tuple[str, ...]
    #: Statements that open a write transaction.
    write_begin: tuple[str, ...]
    #: A query returning one row, non-empty when the ledger schema table exists.
    has_schema_sql: str

    def connect(self) -> Any:
        """A DB-API connection with autocommit off (or explicit ``BEGIN`` in write_begin)."""
        ...

    def connect_existing(self) -> Any:
        """A connection for reading that never creates the database."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """True when retrying later may succeed (disk busy or full, connection lost)."""
        ...

    def describe(self) -> str:
        """Where the ledger is, for logs and errors; never shows a password."""
        ...

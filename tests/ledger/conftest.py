"""Ledger fixtures: a database per test, SQLite always, PostgreSQL when a server is given.

PostgreSQL runs when ``LEDGER_TEST_POSTGRES_DSN`` names a database the tests may create
schemas in (``scripts/start-postgres.sh`` starts a throwaway one and prints its DSN); each
test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_server.ledger import Ledger, SqlStore, backend_from_url

from .driver import WALL0

PG_ENV = "LEDGER_TEST_POSTGRES_DSN"


def _with_search_path(dsn: str, schema: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    query = urllib.parse.parse_qsl(parts.query)
    query.append(("options", f"-c search_path={schema}"))
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ``--db`` value naming an empty database."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.sqlite3")
    else:
        yield from _postgres_schema()


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A PostgreSQL ``--db`` value only, for what SQLite has no counterpart of."""
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[str]:
    dsn = os.environ.get(PG_ENV)
    if not dsn:
        pytest.skip(f"PostgreSQL ledger tests need {PG_ENV} "
                    f"(e.g. export {PG_ENV}=\"$(bash scripts/start-postgres.sh)\")")
    import psycopg

    schema = "ledger_test_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_search_path(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_ledger(db: str, store: SqlStore | None = None, **options: Any) -> Ledger:
    options.setdefault("wall_offset", WALL0)
    return Ledger(store or SqlStore(backend_from_url(db)), **options)


@asynccontextmanager
async def running(ledger: Ledger) -> AsyncIterator[Ledger]:
    """The ledger's writer task running for the block; stopped (and flushed) after it."""
    async with trio.open_nursery() as nursery:
        with trio.fail_after(30):
            await nursery.start(ledger.run)
        yield ledger
        nursery.cancel_scope.cancel()


def query(db: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one read-only query, with ``?`` placeholders, on a connection of its own."""
    backend = backend_from_url(db)
    conn = backend.connect_existing()
    try:
        cur = conn.cursor()
        cur.execute(backend.dialect.sql(sql), params)
        rows = [tuple(row) for row in cur.fetchall()]
        conn.rollback()
        return rows
    finally:
        conn.close()

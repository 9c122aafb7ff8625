"""Durable settings, the schema version and its migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_server.ledger import SchemaTooNew, SqlStore, backend_from_url, latest_version
from trio_server.ledger._batch import RunInfo
from trio_server.ledger._schema import MIGRATIONS, Dialect, migrate
from trio_server.ledger._sqlite import sqlite_connection_info

from .conftest import query

RUN = RunInfo("run-1", 1, "host", 1_700_000_000.0, 0.0)


def test_sqlite_runs_in_wal_mode_with_synchronous_normal(tmp_path: Path) -> None:
    backend = backend_from_url(str(tmp_path / "l.sqlite3"))
    conn = backend.connect()
    try:
        assert sqlite_connection_info(conn) == {"journal_mode": "wal", "synchronous": "NORMAL"}
    finally:
        conn.close()
    full = backend_from_url(f"sqlite:{tmp_path / 'f.sqlite3'}?synchronous=full").connect()
    try:
        assert sqlite_connection_info(full)["synchronous"] == "FULL"
    finally:
        full.close()


def test_db_values() -> None:
    assert backend_from_url("postgresql://u@h/db").dialect.name == "postgresql"
    assert backend_from_url("sqlite:///tmp/x.db").describe() == "sqlite:/tmp/x.db"
    assert backend_from_url("x.sqlite3").describe() == "sqlite:x.sqlite3"
    with pytest.raises(ValueError):
        backend_from_url("sqlite:x?journal=off")
    with pytest.raises(ValueError):
        backend_from_url("sqlite:x?synchronous=sometimes")


def test_a_new_database_gets_the_latest_version_and_reopening_is_a_no_op(db: str) -> None:
    store = SqlStore(backend_from_url(db))
    assert store.begin_run(RUN).schema_version == latest_version()
    store.close()
    again = SqlStore(backend_from_url(db))
    assert again.begin_run(RunInfo("run-2", 1, "h", RUN.started_at + 1, 0.0)).schema_version \
        == latest_version()
    again.close()
    assert query(db, "SELECT version FROM ledger_schema") == [(latest_version(),)]


def test_a_database_from_a_newer_server_is_refused(db: str) -> None:
    store = SqlStore(backend_from_url(db))
    store.begin_run(RUN)
    store.close()
    backend = backend_from_url(db)
    conn = backend.connect()
    for statement in backend.write_begin:
        conn.execute(statement)
    conn.cursor().execute("UPDATE ledger_schema SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="version 99"):
        SqlStore(backend_from_url(db)).begin_run(RUN)


def test_a_later_migration_upgrades_an_existing_database_and_keeps_its_rows(db: str) -> None:
    store = SqlStore(backend_from_url(db))
    store.begin_run(RUN)
    store.close()

    def add_note(d: Dialect) -> list[str]:
        return ["ALTER TABLE sessions ADD COLUMN note TEXT"]

    backend = backend_from_url(db)
    conn = backend.connect()
    try:
        version = migrate(conn, backend.dialect, backend.migrate_begin, [*MIGRATIONS, add_note])
    finally:
        conn.close()
    assert version == latest_version() + 1
    assert query(db, "SELECT run_id FROM ledger_runs") == [("run-1",)]
    assert query(db, "SELECT COUNT(note) FROM sessions") == [(0,)]

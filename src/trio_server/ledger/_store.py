"""The writer's side of the database: one connection, used by one worker thread at a time.

Every method here blocks (it talks to the disk or the network); the Trio side calls them
through ``trio.to_thread.run_sync`` only. A batch is one transaction: either all of its
records land, together with the run's committed watermark, or none does.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ._backend import Backend
from ._batch import Batch, Op, Recovery, RunInfo
from ._clock import WallClock
from ._erase import Erased, purge_ended_before
from ._schema import migrate
from ._translate import SERVER_RESTART, Translator

_OPEN_SESSIONS = (
    "SELECT s.session_id, s.started_at, r.alive_at FROM sessions s "
    "LEFT JOIN ledger_runs r ON r.run_id = s.run_id WHERE s.ended_at IS NULL"
)
# A node's own: sessions of its earlier runs, of runs from before nodes had names, or of no
# known run. Another node's open sessions are its live calls: never touched.
_OPEN_SESSIONS_OF_NODE = _OPEN_SESSIONS + " AND (r.node = ? OR r.node IS NULL)"
_CLOSE_SESSION_SPANS = (
    "UPDATE orb_status_spans SET ended_at = CASE WHEN started_at > ? THEN started_at ELSE ? END "
    "WHERE ended_at IS NULL AND participation_id IN "
    "(SELECT id FROM participations WHERE session_id = ? AND left_at IS NULL)"
)
_CLOSE_SESSION_PARTICIPATIONS = (
    "UPDATE participations SET left_at = CASE WHEN joined_at > ? THEN joined_at ELSE ? END, "
    "ending = ? WHERE session_id = ? AND left_at IS NULL"
)
_CLOSE_SESSION = (
    "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE session_id = ? AND ended_at IS NULL"
)
# Leftovers whose session row is missing or already closed (a record lost to an overflow);
# what belongs to a session still open (another node's live call) is not a leftover.
_LIVE_SESSIONS = "SELECT session_id FROM sessions WHERE ended_at IS NULL"
_CLOSE_STRAY_SPANS = (
    "UPDATE orb_status_spans SET ended_at = CASE WHEN started_at > ? THEN started_at ELSE ? END "
    "WHERE ended_at IS NULL AND participation_id NOT IN (SELECT id FROM participations "
    f"WHERE left_at IS NULL AND session_id IN ({_LIVE_SESSIONS}))"
)
_CLOSE_STRAY_PARTICIPATIONS = (
    "UPDATE participations SET left_at = CASE WHEN joined_at > ? THEN joined_at ELSE ? END, "
    f"ending = ? WHERE left_at IS NULL AND session_id NOT IN ({_LIVE_SESSIONS})"
)
_LATEST_ALIVE = "SELECT MAX(alive_at) FROM ledger_runs"
_INSERT_RUN = (
    "INSERT INTO ledger_runs (run_id, pid, host, started_at, alive_at, clock_offset, node) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_RUN_ALIVE = "UPDATE ledger_runs SET alive_at = ?, last_seq = ? WHERE run_id = ?"
_HEARTBEAT = "UPDATE ledger_runs SET alive_at = ? WHERE run_id = ?"
_RUN_STOPPED = "UPDATE ledger_runs SET alive_at = ?, stopped_at = ? WHERE run_id = ?"
_COMMITTED_SEQ = "SELECT last_seq FROM ledger_runs WHERE run_id = ?"


class SqlStore:
    """Writes batches of session records for one run (one server process)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._conn: Any = None
        self._run: RunInfo | None = None
        self._translator: Translator | None = None

    def describe(self) -> str:
        return self.backend.describe()

    def is_transient(self, exc: BaseException) -> bool:
        return self.backend.is_transient(exc)

    # ------------------------------------------------------------------ lifecycle

    def check(self) -> int:
        """Connect and migrate, then let go: fail fast, before a server starts listening."""
        try:
            return migrate(self._connection(), self.backend.dialect, self.backend.migrate_begin)
        finally:
            self.close()

    def begin_run(self, run: RunInfo) -> Recovery:
        """Migrate, close what a crashed predecessor left open, and register this run.

        A lone server (no node id) owns the database: every session still open belongs to a
        process that is gone. A node of a cluster owns only its own runs' sessions (and those
        of runs without a node, written before nodes had names): the other nodes' open
        sessions are calls going on now. Each is closed at the last moment its process was
        known alive (its run's ``alive_at``, refreshed by every batch and by a heartbeat),
        with ``server-restart``.
        """
        conn = self._connection()
        version = migrate(conn, self.backend.dialect, self.backend.migrate_begin)
        sql = self.backend.dialect.sql
        cur = conn.cursor()
        try:
            self._begin(cur)
            if run.node is None:
                cur.execute(_OPEN_SESSIONS)
            else:
                cur.execute(sql(_OPEN_SESSIONS_OF_NODE), (run.node,))
            open_sessions = cur.fetchall()
            sessions = participations = 0
            for session_id, started_at, alive_at in open_sessions:
                until = max(started_at, alive_at if alive_at is not None else started_at)
                cur.execute(sql(_CLOSE_SESSION_SPANS), (until, until, session_id))
                cur.execute(sql(_CLOSE_SESSION_PARTICIPATIONS),
                            (until, until, SERVER_RESTART, session_id))
                participations += max(cur.rowcount, 0)
                cur.execute(sql(_CLOSE_SESSION), (until, SERVER_RESTART, session_id))
                sessions += max(cur.rowcount, 0)
            cur.execute(_LATEST_ALIVE)
            row = cur.fetchone()
            latest = row[0] if row is not None and row[0] is not None else run.started_at
            cur.execute(sql(_CLOSE_STRAY_SPANS), (latest, latest))
            cur.execute(sql(_CLOSE_STRAY_PARTICIPATIONS), (latest, latest, SERVER_RESTART))
            participations += max(cur.rowcount, 0)
            cur.execute(sql(_INSERT_RUN), (run.run_id, run.pid, run.host, run.started_at,
                                           run.started_at, run.clock_offset, run.node))
            conn.commit()
        except BaseException:
            self._abandon()
            raise
        self._run = run
        self._translator = Translator(run.run_id, WallClock(run.clock_offset))
        return Recovery(sessions, participations, version)

    def end_run(self, at: float) -> None:
        """Mark this run as stopped cleanly and close the connection."""
        run = self._require_run()
        try:
            self._execute_committed(_RUN_STOPPED, (at, at, run.run_id))
        finally:
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing a broken connection may fail: there is nothing left to save.
            with contextlib.suppress(Exception):
                conn.close()

    # ------------------------------------------------------------------ writes

    def write(self, batch: Batch) -> None:
        """Commit the batch's records, its gap row and the run's watermark atomically."""
        run = self._require_run()
        translator = self._translator
        assert translator is not None
        conn = self._connection()
        sql = self.backend.dialect.sql
        cur = conn.cursor()
        try:
            self._begin(cur)
            if (batch.retry and batch.records
                    and self._committed_seq(cur) >= batch.last_seq):
                conn.rollback()  # the failed attempt did commit (the error came after)
                return
            if batch.ops is None:
                batch.ops = [translator.ops(record) for record in batch.records]
            ops: list[Op] = [op for record_ops in batch.ops for op in record_ops]
            if batch.gap is not None:
                gap = batch.gap
                ops.append(translator.gap_op(gap.first_at, gap.last_at, gap.dropped,
                                             gap.detail))
            ops.append((_RUN_ALIVE, (batch.alive_at, batch.last_seq, run.run_id)))
            _execute_grouped(cur, ops, sql)
            conn.commit()
        except BaseException:
            self._abandon()
            raise

    def heartbeat(self, at: float) -> None:
        """Record that this process is alive at ``at`` (bounds a crash's closing time)."""
        self._execute_committed(_HEARTBEAT, (at, self._require_run().run_id))

    def purge(self, cutoff: float) -> Erased:
        """Delete the sessions that ended before ``cutoff`` (Unix time) and everything
        attached to them, in one transaction on the writer's connection (so between two
        batches, never inside one); sessions still running are never touched."""
        conn = self._connection()
        cur = conn.cursor()
        try:
            self._begin(cur)
            erased = purge_ended_before(cur, self.backend.dialect.sql, cutoff)
            conn.commit()
        except BaseException:
            self._abandon()
            raise
        return erased

    # ------------------------------------------------------------------ helpers

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.backend.connect()
        return self._conn

    def _require_run(self) -> RunInfo:
        if self._run is None:
            raise RuntimeError("begin_run() has not been called")
        return self._run

    def _begin(self, cur: Any) -> None:
        for statement in self.backend.write_begin:
            cur.execute(statement)

    def _committed_seq(self, cur: Any) -> int:
        cur.execute(self.backend.dialect.sql(_COMMITTED_SEQ), (self._require_run().run_id,))
        row = cur.fetchone()
        return int(row[0]) if row is not None else 0

    def _execute_committed(self, statement: str, params: tuple[object, ...]) -> None:
        conn = self._connection()
        cur = conn.cursor()
        try:
            self._begin(cur)
            cur.execute(self.backend.dialect.sql(statement), params)
            conn.commit()
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Roll back after a failure; a connection that cannot even roll back is replaced."""
        conn = self._conn
        if conn is None:
            return
        if getattr(conn, "broken", False):  # psycopg: the server went away
            self.close()
            return
        try:
            conn.rollback()
        except Exception:
            self.close()


def _execute_grouped(cur: Any, ops: list[Op], sql: Any) -> None:
    """Run statements in order, batching consecutive uses of one statement."""
    i = 0
    n = len(ops)
    while i < n:
        statement = ops[i][0]
        j = i + 1
        while j < n and ops[j][0] == statement:
            j += 1
        if j - i == 1:
            cur.execute(sql(statement), ops[i][1])
        else:
            cur.executemany(sql(statement), [params for _, params in ops[i:j]])
        i = j

"""The ledger as the server sees it: ``record()`` on the hot path, ``run()`` in the nursery.

``record()`` appends the record object to a deque and sets an event: no I/O, no formatting,
no conversion, nothing that can block or raise. The writer task takes everything pending
(up to ``max_batch``) as one batch and hands it to a worker thread, which commits it in one
transaction while new records keep queueing. Batches form by themselves: the slower the disk,
the bigger the next batch, so a slow disk costs latency of the ledger, never of the relay.
After an idle spell the writer waits ``batch_delay`` (50 ms) before its first batch, so a
burst is one transaction, not one per record: at most ~20 commits a second when records
trickle in. A record is thus committed within about ``batch_delay`` plus one write; that is
what a kill -9 can take, never anything committed.

Overflow. The queue holds at most ``max_pending`` records (100 000 by default, tens of MB,
minutes of a busy server's records). Beyond that the disk has been stalled for long, and
blocking the relay is not an option, so further records are dropped, but never silently:
each drop is counted (``stats.dropped``), logged (the first at once, then at most every 10
s), and once the writer catches up a ``ledger_gaps`` row records how many records of which
kinds were lost between which times. Sessions whose end was lost stay open and are closed
``server-restart`` at the next start.

Failures. A write that fails transiently (disk full or locked, database connection lost) is
retried with backoff until it succeeds; records keep queueing meanwhile. A write that fails
for any other reason is retried record by record, and only the records that still fail are
dropped (counted, logged with their content, written as a gap).

Retention. With ``retain_days`` set, sessions that ended more than that many days ago are
deleted with everything attached to them, when the writer starts and then every
``retention_interval`` seconds (an hour), in the same worker thread as the writes (one at a
time, so a purge sits between two batches). A session that has not ended is never deleted.
Each purge that deletes something is logged with counts only.

Shutdown. When cancelled, ``run()`` drains the queue under a shield for at most
``close_timeout`` seconds, then marks the run stopped. The server should hand the core
``ServerStopping`` and record its commands before cancelling the ledger; records that arrive
after the ledger stopped are counted as dropped.
"""

from __future__ import annotations

import collections
import logging
import os
import secrets
import socket
import time
from typing import Any

import attrs
import trio

from signaling_core import SessionRecord

from ._batch import Batch, Gap, Recovery, RunInfo
from ._clock import WallClock
from ._erase import Erased
from ._query import LedgerReader, iso
from ._store import SqlStore

log = logging.getLogger("trio_server.ledger")

_DROP_LOG_INTERVAL = 10.0


@attrs.frozen
class LedgerStats:
    """Counters for metrics and tests; ``recorded == committed + pending + in_flight``."""

    recorded: int
    committed: int
    pending: int
    dropped: int
    batches: int
    write_errors: int
    last_error: str | None


class Ledger:
    """A :class:`~trio_server.ledger_contract.LedgerSink` writing to a SQL database."""

    def __init__(
        self,
        store: SqlStore,
        *,
        max_pending: int = 100_000,
        max_batch: int = 5_000,
        batch_delay: float = 0.05,
        heartbeat_interval: float = 5.0,
        close_timeout: float = 10.0,
        retry_max_delay: float = 5.0,
        wall_offset: float | None = None,
        retain_days: float | None = None,
        retention_interval: float = 3600.0,
    ) -> None:
        if max_pending < 1 or max_batch < 1:
            raise ValueError("max_pending and max_batch must be at least 1")
        self.set_retention(retain_days, retention_interval)
        self.node: str | None = None
        self.store = store
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._batch_delay = batch_delay
        self._heartbeat_interval = heartbeat_interval
        self._close_timeout = close_timeout
        self._retry_max_delay = retry_max_delay
        self._wall_offset = wall_offset
        self._clock: WallClock | None = None
        self._pending: collections.deque[SessionRecord] = collections.deque()
        self._wakeup = trio.Event()
        self._progress = trio.Event()
        self._limiter = trio.CapacityLimiter(1)
        self._stopped = False
        self.recovery: Recovery | None = None
        self.run_id = secrets.token_hex(8)
        # Sequence numbers: accepted = taken into a batch + pending; committed <= taken.
        self._accepted = 0
        self._taken = 0
        self._committed = 0
        self._batches = 0
        self._write_errors = 0
        self._last_error: str | None = None
        # Drops not yet written as a gap row.
        self._dropped_total = 0
        self._gap_kinds: collections.Counter[str] = collections.Counter()
        self._gap_first: float | None = None
        self._gap_last = 0.0
        self._last_drop_log = -_DROP_LOG_INTERVAL

    def set_node(self, node: str | None) -> None:
        """Write as this cluster node (``--node-id``); takes effect when :meth:`run` starts.

        With a node, the start closes only the sessions this node's earlier runs left open,
        so nodes sharing one database never end each other's calls.
        """
        self.node = node

    def set_retention(self, days: float | None, interval: float = 3600.0) -> None:
        """Keep ended sessions ``days`` days (None: forever), checking every ``interval`` s.

        Takes effect when :meth:`run` starts (the server applies ``--retain-days`` here).
        """
        if days is not None and not days > 0:
            raise ValueError("retain_days must be positive (None keeps sessions forever)")
        if not interval > 0:
            raise ValueError("retention_interval must be positive")
        self.retain_days = days
        self.retention_interval = interval
        #: Totals of every purge so far (tests, diagnostics).
        self.purged = Erased()
        self.purges = 0

    # ------------------------------------------------------------------ hot path

    def record(self, record: SessionRecord) -> None:
        """Queue one record for writing. Never blocks, never raises."""
        try:
            if self._stopped or len(self._pending) >= self._max_pending:
                self._drop(record, "ledger stopped" if self._stopped else "queue full")
                return
            self._pending.append(record)
            self._accepted += 1
            self._wakeup.set()
        except Exception:  # pragma: no cover - defensive: the relay must never see this
            log.exception("ledger: failed to queue a record")

    # ------------------------------------------------------------------ observation

    def reader(self) -> LedgerReader:
        """The read side of the same database (``/api/sessions``)."""
        return LedgerReader(self.store.backend)

    @property
    def stats(self) -> LedgerStats:
        return LedgerStats(
            recorded=self._accepted, committed=self._committed, pending=len(self._pending),
            dropped=self._dropped_total, batches=self._batches,
            write_errors=self._write_errors, last_error=self._last_error,
        )

    async def wait_committed(self) -> None:
        """Return once every record accepted so far is committed (or was dropped)."""
        target = self._accepted
        while self._committed < target and not self._stopped:
            await self._progress.wait()

    # ------------------------------------------------------------------ writer task

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Open the database, recover, then write until cancelled; flush on the way out.

        Failing to open the database at start raises (a wrong ``--db`` should stop the
        server from starting); failures later are retried and never propagate.
        """
        self._clock = WallClock(self._wall_offset) if self._wall_offset is not None \
            else WallClock.from_trio()
        started_at = self._clock.now()
        run = RunInfo(self.run_id, os.getpid(), socket.gethostname(), started_at,
                      self._clock.offset, self.node)
        try:
            self.recovery = await trio.to_thread.run_sync(self.store.begin_run, run,
                                                          limiter=self._limiter)
        except BaseException:
            self._stopped = True
            self.store.close()
            raise
        if self.recovery.sessions_closed or self.recovery.participations_closed:
            log.warning(
                "ledger: closed %d session(s) and %d participation(s) left open by a previous "
                "server (reason server-restart)", self.recovery.sessions_closed,
                self.recovery.participations_closed)
        log.info("ledger: writing to %s (schema version %d)", self.store.describe(),
                 self.recovery.schema_version)
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                if self.retain_days is not None:
                    nursery.start_soon(self._retain_forever, self.retain_days)
                await self._write_forever()
        finally:
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + self._close_timeout
                await self._close()

    async def _write_forever(self) -> None:
        last_commit = trio.current_time()
        while True:
            if not self._pending and self._gap_first is None:
                self._wakeup = trio.Event()
                with trio.move_on_at(last_commit + self._heartbeat_interval):
                    await self._wakeup.wait()
                if not self._pending and self._gap_first is None:
                    await self._heartbeat()
                    last_commit = trio.current_time()
                    continue
                # The first record of a burst: give the rest of the burst a moment to join
                # it, so a join storm costs a few transactions, not one per record.
                await trio.sleep(self._batch_delay)
            await self._write(self._take_batch())
            last_commit = trio.current_time()

    async def _close(self) -> None:
        """Drain everything queued, then mark the run stopped (under the caller's deadline)."""
        try:
            while self._pending or self._gap_first is not None:
                await self._write(self._take_batch())
            assert self._clock is not None
            await trio.to_thread.run_sync(self.store.end_run, self._clock.now(),
                                          limiter=self._limiter)
        except trio.Cancelled:
            lost = len(self._pending) + self._taken - self._committed
            log.error("ledger: stopped before writing %d record(s); the sessions they "
                      "belong to will be closed server-restart at the next start", lost)
            raise
        except Exception as exc:
            log.error("ledger: could not close the run cleanly: %r", exc)
        finally:
            self._stopped = True
            self._progress.set()

    async def _retain_forever(self, days: float) -> None:
        """Purge what is past retention now, then every ``retention_interval``."""
        assert self._clock is not None
        while True:
            cutoff = self._clock.now() - days * 86_400.0
            try:
                erased = await trio.to_thread.run_sync(self.store.purge, cutoff,
                                                       limiter=self._limiter)
            except Exception as exc:
                self._note_error(exc)
                log.warning("ledger: retention purge failed (%r); retrying in %.0f s",
                            exc, self.retention_interval)
            else:
                self.purges += 1
                self.purged = Erased(self.purged.sessions + erased.sessions,
                                     self.purged.participations + erased.participations,
                                     self.purged.orb_status_spans + erased.orb_status_spans,
                                     self.purged.transcripts + erased.transcripts,
                                     self.purged.summaries + erased.summaries)
                if erased.sessions or erased.participations:
                    log.info("ledger: retention (%g days) deleted %s that ended before %s",
                             days, erased, iso(cutoff))
            await trio.sleep(self.retention_interval)

    # ------------------------------------------------------------------ batches

    def _take_batch(self) -> Batch:
        assert self._clock is not None
        count = min(len(self._pending), self._max_batch)
        popleft = self._pending.popleft
        records = [popleft() for _ in range(count)]
        batch = Batch(self._taken + 1, records, self._clock.now(), self._take_gap())
        self._taken += count
        return batch

    async def _write(self, batch: Batch) -> None:
        """Commit one batch, retrying transient failures; never raises except Cancelled."""
        delay = 0.05
        while True:
            try:
                await trio.to_thread.run_sync(self.store.write, batch, limiter=self._limiter)
            except Exception as exc:
                self._note_error(exc)
                if not self.store.is_transient(exc):
                    await self._write_one_by_one(batch)
                    return
                log.warning("ledger: write of %d record(s) failed (%r); retrying in %.2f s",
                            len(batch.records), exc, delay)
                batch.retry = True
                await trio.sleep(delay)
                delay = min(delay * 2, self._retry_max_delay)
                continue
            self._committed_through(batch)
            return

    async def _write_one_by_one(self, batch: Batch) -> None:
        """Isolate the record(s) a batch cannot be written with; drop only those."""
        ops = batch.ops
        first = True
        for index, record in enumerate(batch.records):
            single = Batch(batch.first_seq + index, [record], batch.alive_at,
                           batch.gap if first else None, retry=True,
                           ops=[ops[index]] if ops is not None else None)
            first = False
            try:
                await trio.to_thread.run_sync(self.store.write, single, limiter=self._limiter)
            except Exception as exc:
                self._note_error(exc)
                log.error("ledger: dropping a record that cannot be written (%r): %r",
                          exc, record)
                self._drop(record, "unwritable")
                self._committed = single.last_seq  # accounted for, as a drop
                self._progress.set()
                self._progress = trio.Event()
                continue
            self._committed_through(single)

    def _committed_through(self, batch: Batch) -> None:
        self._committed = batch.last_seq
        self._batches += 1
        self._progress.set()
        self._progress = trio.Event()

    async def _heartbeat(self) -> None:
        assert self._clock is not None
        try:
            await trio.to_thread.run_sync(self.store.heartbeat, self._clock.now(),
                                          limiter=self._limiter)
        except Exception as exc:
            self._note_error(exc)
            log.warning("ledger: heartbeat failed: %r", exc)

    def _note_error(self, exc: BaseException) -> None:
        self._write_errors += 1
        self._last_error = repr(exc)

    # ------------------------------------------------------------------ drops

    def _drop(self, record: SessionRecord, why: str) -> None:
        now = time.monotonic()
        wall = self._clock.now() if self._clock is not None else time.time()
        self._dropped_total += 1
        self._gap_kinds[type(record).__name__] += 1
        if self._gap_first is None:
            self._gap_first = wall
        self._gap_last = wall
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.error("ledger: dropping session records (%s); %d dropped so far, the loss "
                      "is written to ledger_gaps", why, self._dropped_total)
        self._wakeup.set()

    def _take_gap(self) -> Gap | None:
        if self._gap_first is None:
            return None
        detail = ", ".join(f"{kind}={n}" for kind, n in sorted(self._gap_kinds.items()))
        gap = Gap(self._gap_first, self._gap_last, sum(self._gap_kinds.values()), detail)
        self._gap_kinds.clear()
        self._gap_first = None
        return gap

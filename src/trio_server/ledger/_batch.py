"""What the Trio side hands to the writer thread: a run of records and their bookkeeping.

Records carry a sequence number (their position among all records this process accepted), so
a write retried after an ambiguous failure (the connection died during ``COMMIT``) can tell
whether it already landed: the run's row stores the last sequence number committed.
"""

from __future__ import annotations

import attrs

from signaling_core import SessionRecord

#: One SQL statement with ``?`` placeholders and its parameters.
Op = tuple[str, tuple[object, ...]]


@attrs.frozen
class Gap:
    """Records the ledger had to drop (queue overflow, poison record), written as a row."""

    first_at: float
    last_at: float
    dropped: int
    detail: str


@attrs.define
class Batch:
    """Records ``first_seq..last_seq`` in core order, committed in one transaction."""

    first_seq: int
    records: list[SessionRecord]
    #: Unix time at hand-off; every record in the batch happened before it.
    alive_at: float
    gap: Gap | None = None
    #: Set after a failed attempt: the store then checks the committed watermark first.
    retry: bool = False
    #: The statements of each record, computed once (translation has state) and reused.
    ops: list[list[Op]] | None = None

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.records) - 1


@attrs.frozen
class RunInfo:
    """This process's row in ``ledger_runs``: who writes, and since when."""

    run_id: str
    pid: int
    host: str
    started_at: float
    clock_offset: float
    #: The server node (``--node-id``); None: a lone server, which owns every open session.
    node: str | None = None


@attrs.frozen
class Recovery:
    """What ``begin_run`` cleaned up after a previous process that did not stop cleanly."""

    sessions_closed: int
    participations_closed: int
    schema_version: int

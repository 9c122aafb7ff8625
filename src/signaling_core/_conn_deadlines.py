"""The connections' join and idle deadlines, on one heap.

A connection must join within ``join_timeout`` of opening (or of leaving its seat) and show
life within ``idle_timeout``. :class:`ConnectionDeadlines` is the component of
:class:`~._core.SignalingCore` that keeps, per connection, the earlier of the two on a heap;
an entry goes stale when the connection is gone or its deadline moves, and is dropped when it
reaches the top. Idle deadlines are pushed lazily: a connection's activity only updates its
``last_seen``, and its entry, once due, is pushed again at its true deadline.
"""

from __future__ import annotations

import heapq

from ._config import CoreConfig
from ._events import ConnectionId
from ._model import Connection


class ConnectionDeadlines:
    """The heap of (deadline, conn id) over the core's connection table ``conns``."""

    def __init__(self, config: CoreConfig, conns: dict[ConnectionId, Connection]) -> None:
        self.config = config
        self._conns = conns
        self._heap: list[tuple[float, ConnectionId]] = []

    def clear(self) -> None:
        self._heap.clear()

    def opened(self, conn: Connection, now: float) -> float:
        """A new connection's first deadline (the idle limit may be earlier than the join's)."""
        conn.heap_deadline = min(conn.join_deadline, now + self.config.idle_timeout)
        heapq.heappush(self._heap, (conn.heap_deadline, conn.conn_id))
        return conn.heap_deadline

    def rejoin(self, conn: Connection, now: float) -> float | None:
        """A connection that left its seat may join again: a fresh join deadline, returned
        when it is earlier than the connection's entry on the heap (None otherwise)."""
        conn.join_deadline = now + self.config.join_timeout
        if conn.join_deadline < conn.heap_deadline:
            conn.heap_deadline = conn.join_deadline
            heapq.heappush(self._heap, (conn.join_deadline, conn.conn_id))
            return conn.join_deadline
        return None

    def expired(self, now: float) -> list[tuple[Connection, str]]:
        """The connections whose deadline has passed, in the order their deadlines fell, with
        the close reason; the others whose entry came due are pushed again at their true
        deadline."""
        heap, conns = self._heap, self._conns
        idle = self.config.idle_timeout
        expired: list[tuple[Connection, str]] = []
        while heap and heap[0][0] <= now:
            entry_deadline, conn_id = heapq.heappop(heap)
            conn = conns.get(conn_id)
            if conn is None or conn.heap_deadline != entry_deadline:
                continue
            true_deadline = conn.last_seen + idle
            if conn.participant is None:
                true_deadline = min(true_deadline, conn.join_deadline)
            if true_deadline > entry_deadline:
                # Pushed again even when due now: it must expire in its own turn, after the
                # connections whose deadlines fell before it.
                conn.heap_deadline = true_deadline
                heapq.heappush(heap, (true_deadline, conn_id))
                continue
            expired.append((conn, "join deadline passed"
                            if conn.participant is None and conn.join_deadline <= now
                            else "idle deadline passed"))
        return expired

    def next_deadline(self) -> float | None:
        """The first deadline still standing (stale entries dropped), or None."""
        heap, conns = self._heap, self._conns
        while heap and (conns.get(heap[0][1]) is None
                        or conns[heap[0][1]].heap_deadline != heap[0][0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

"""Counters kept as plain integers on the hot path, exposed to Prometheus only when scraped.

Incrementing a ``prometheus_client`` metric takes a lock and a label lookup per message; a
relay server counts several things per message, so it keeps dicts and ints here and a custom
collector turns them into metric families at scrape time. Each server has its own
``CollectorRegistry`` (two servers in one process, as in tests, never share counts).
"""

from __future__ import annotations

import bisect
from bisect import bisect_left as _bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from signaling_core import MESSAGE_RULES, Send
from signaling_core.orb_hosting import ObservableOrbHost

OTHER = "other"
_SERVER_TYPES = ("peer-discovery", "user-joined", "user-left", "pong", "error",
                 "session-ended")
_LABELS: dict[bytes, str] = {
    name.encode(): name for name in (*MESSAGE_RULES, *_SERVER_TYPES)
}
_KNOWN = frozenset(_LABELS.values())
#: Seconds; a relay is usually tens of microseconds, a backlog can take much longer.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                   0.05, 0.1, 0.25, 1.0)


def message_type(data: bytes) -> str:
    """The ``type`` label of a JSON message, read from its bytes without parsing it.

    Looks at the first ``"type"`` key only (where every client we know puts it); anything
    unrecognised counts as ``other``, so a client cannot create label values.
    """
    if data.startswith(b'{"type":"'):  # orjson, JSON.stringify: the common case
        k = data.find(b'"', 9, 49)
        return _LABELS.get(data[9:k], OTHER) if k > 0 else OTHER
    i = data.find(b'"type"', 0, 256)
    if i < 0:
        return OTHER
    j = data.find(b'"', i + 6, i + 16)
    if j < 0:
        return OTHER
    k = data.find(b'"', j + 1, j + 40)
    if k < 0:
        return OTHER
    return _LABELS.get(data[j + 1:k], OTHER)


def _label_of(data: bytes) -> str:
    """The metric label of a received text: :func:`message_type`, with its common case (the
    server's own JSON, ``{"type":"…`` first) read straight from the bytes."""
    if data.startswith(b'{"type":"'):
        k = data.find(b'"', 9, 49)
        return _LABELS.get(data[9:k], OTHER) if k > 0 else OTHER
    return message_type(data)


class ServerStats:
    """Everything the server counts, as plain numbers."""

    def __init__(self) -> None:
        self.messages_in: dict[str, int] = {}
        self.messages_out: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.closes: dict[int, int] = {}
        self.handshake_refusals: dict[int, int] = {}
        #: Connections refused on arrival by a cap, by cause (server-full, address-cap).
        self.connection_refusals: dict[str, int] = {}
        self.connections_total = 0
        self.slow_consumers = 0
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def count_in(self, data: bytes) -> None:
        counts = self.messages_in
        label = _label_of(data)
        counts[label] = counts.get(label, 0) + 1

    def count_handled(self, data: bytes, seconds: float) -> None:
        """``count_in`` and ``observe_latency`` of one handled message in one call: a received
        text is the relay's hot path, and a Python call is a measurable part of it."""
        counts = self.messages_in
        label = _label_of(data)
        counts[label] = counts.get(label, 0) + 1
        self.latency_counts[_bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def count_sent(self, send: Send) -> str | None:
        """Count one sent message by type; returns its error code when it is an ``error``.

        The core says what it sent (``Send.kind``, ``Send.error``): nothing is parsed again. A
        kind outside the known labels counts as ``other``, so label values stay bounded.
        """
        kind = send.kind
        label = kind if kind in _KNOWN else OTHER
        self.messages_out[label] = self.messages_out.get(label, 0) + 1
        code = send.error
        if code is None:
            return None
        self.errors[code] = self.errors.get(code, 0) + 1
        return code

    def count_close(self, code: int) -> None:
        self.closes[code] = self.closes.get(code, 0) + 1

    def observe_latency(self, seconds: float) -> None:
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds


class Gauges:
    """Live values read at scrape time."""

    def __init__(self, connections: Callable[[], int], rooms: Callable[[], int],
                 participants: Callable[[], int], orbs: Callable[[], int]) -> None:
        self.connections = connections
        self.rooms = rooms
        self.participants = participants
        self.orbs = orbs


class StatsCollector(Collector):
    def __init__(self, stats: ServerStats, gauges: Gauges) -> None:
        self._stats = stats
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        stats, gauges = self._stats, self._gauges
        yield GaugeMetricFamily("signaling_connections", "Open WebSocket and in-process "
                                "connections.", value=gauges.connections())
        yield GaugeMetricFamily("signaling_rooms", "Rooms that exist now.", value=gauges.rooms())
        yield GaugeMetricFamily("signaling_participants", "Joined participants.",
                                value=gauges.participants())
        yield GaugeMetricFamily("signaling_orbs_running", "AI orbs spawned and not ended.",
                                value=gauges.orbs())
        yield CounterMetricFamily("signaling_connections_opened", "WebSocket handshakes "
                                  "accepted.", value=stats.connections_total)
        yield _labelled("signaling_messages_received", "Messages received, by type.", "type",
                        stats.messages_in)
        yield _labelled("signaling_messages_sent", "Messages sent, by type.", "type",
                        stats.messages_out)
        yield _labelled("signaling_errors", "Protocol errors answered, by error code.", "code",
                        stats.errors)
        yield _labelled("signaling_closes", "Connections closed by the server, by close code.",
                        "code", {str(k): v for k, v in stats.closes.items()})
        yield _labelled("signaling_handshake_refusals", "HTTP upgrades refused, by status.",
                        "status", {str(k): v for k, v in stats.handshake_refusals.items()})
        yield _labelled("signaling_connection_refusals", "TCP connections refused on arrival "
                        "(HTTP 503) by a connection cap, by cause.", "cause",
                        stats.connection_refusals)
        yield CounterMetricFamily("signaling_slow_consumer_disconnects", "Receivers closed "
                                  "with 1013 because their outbound queue overflowed.",
                                  value=stats.slow_consumers)
        buckets = []
        running = 0
        for bound, count in zip(LATENCY_BUCKETS, stats.latency_counts, strict=False):
            running += count
            buckets.append((repr(bound), running))
        running += stats.latency_counts[-1]
        buckets.append(("+Inf", running))
        yield HistogramMetricFamily(
            "signaling_relay_latency_seconds",
            "From a message's arrival to its relays being handed to the receivers' sockets.",
            buckets=buckets, sum_value=stats.latency_sum,
        )


class NodeCollector(Collector):
    """``signaling_node_info{node="..."} 1``: which node a scrape came from, so one dashboard
    can sum and tell apart the nodes of a cluster."""

    def __init__(self, node_id: Callable[[], str]) -> None:
        self._node_id = node_id

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("signaling_node_info", "This node's --node-id.",
                                   labels=["node"])
        family.add_metric([self._node_id()], 1)
        yield family


class OrbFleetCollector(Collector):
    """The numbers of an orb host that places orbs on workers (``--orb-dispatch``)."""

    def __init__(self, host: ObservableOrbHost) -> None:
        self._host = host

    def collect(self) -> Iterator[Metric]:
        report = self._host.fleet_report()
        if report is None:
            return
        yield GaugeMetricFamily("signaling_orb_jobs_queued", "Orb jobs waiting for a worker.",
                                value=report.jobs_queued)
        yield GaugeMetricFamily("signaling_orb_workers_alive", "orb-worker processes whose "
                                "liveness is current.", value=report.workers_alive)
        yield GaugeMetricFamily("signaling_orb_slots_free", "Free orb slots over the live "
                                "workers.", value=report.slots_free)
        yield CounterMetricFamily("signaling_orb_unavailable", "Spawns no worker took in "
                                  "time (or the queue was unreachable).",
                                  value=report.unavailable_total)
        yield CounterMetricFamily("signaling_orb_redispatched", "Orb jobs taken over by "
                                  "another worker after their worker stopped renewing its lease.",
                                  value=report.redispatched_total)
        buckets = [(repr(b), c) for b, c in zip(report.latency_bounds, report.latency_counts,
                                                strict=False)]
        buckets.append(("+Inf", report.latency_counts[-1]))
        yield HistogramMetricFamily(
            "signaling_orb_dispatch_latency_seconds",
            "From the core's SpawnOrb to a worker claiming the job.",
            buckets=buckets, sum_value=report.latency_sum,
        )


def _labelled(name: str, doc: str, label: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key in sorted(values):
        family.add_metric([key], values[key])
    return family


def make_registry(stats: ServerStats, gauges: Gauges) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(stats, gauges))
    return registry

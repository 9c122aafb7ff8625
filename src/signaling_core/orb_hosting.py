"""The written contract between a server and whatever runs its AI orbs (an *orb host*).

It lives in the core because it is the one package both sides depend on: a server
(``trio_server``) implements :class:`OrbHostServer` and :class:`InProcessConnection`; an orb host
(``orb_bridge``'s in-process host, or a remote-worker host) implements :class:`OrbHost`. Neither
imports the other, so a new kind of host is a new file, not a change to the server.

The core decides *when* an orb starts or stops (``SpawnOrb``/``StopOrb``); the host decides
*how*. Everything here is typing only: no I/O, no clock, no event loop. All calls happen on the
server's event-loop thread and none of them may block it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ._commands import SpawnOrb, StopOrb
from ._config import CoreConfig


class InProcessConnection(Protocol):
    """An in-process participant's connection: a WebSocket without the socket.

    Texts sent go to the core exactly as text frames would; what the core sends arrives, in
    order, from :meth:`receive_texts`, which ends after the last text once the server has closed
    the link (replacement, deadline, slow consumer, shutdown). The participant obeys the same
    rules as a remote one.
    """

    def send_text(self, text: str) -> None:
        """Feed one message (UTF-8 JSON text) to the core; ignored once the link is closed."""
        ...

    def receive_texts(self) -> AsyncIterator[bytes]:
        """The UTF-8 JSON texts the core sends to this participant, in order."""
        ...

    def close(self) -> None:
        """Leave like a client's WebSocket close (the others get ``user-left``); idempotent."""
        ...


class OrbHostServer(Protocol):
    """What an orb host may use of the server it serves: nothing else."""

    @property
    def core_config(self) -> CoreConfig:
        """The protocol's limits (orb idle grace, lifetime, cap), for the host to obey."""
        ...

    @property
    def stopping(self) -> bool:
        """True once the server shuts down: orbs end, and their ends need no report."""
        ...

    def open_local(self, room_id: str) -> InProcessConnection:
        """A trusted in-process participant for ``room_id`` (no join token needed).

        Only hosts that run orbs inside the server's process use it; a remote host's orbs join
        over WebSocket like anyone else.
        """
        ...

    def orb_ended(self, room_id: str, session_id: str, spawn_id: int, *,
                  unavailable: bool = False) -> None:
        """The orb of ``SpawnOrb(spawn_id)`` ended without joining (or could not start).

        ``spawn_id`` tells this orb apart from a later one of the same session, so a late
        report cannot end the orb that replaced it. An orb that joined needs no report: its
        departure from the room says it all. ``unavailable``: no orb could be placed (no free
        worker in time, the dispatch queue unreachable); the room's coaches are told
        (``orb-unavailable``).
        """
        ...

    def ice_servers(self, room_id: str, user_id: str) -> list[dict[str, Any]]:
        """The STUN/TURN servers for ``user_id`` in ``room_id``: what a browser gets from
        ``/api/turn-credentials`` (``iceServers`` entries, TURN credentials included)."""
        ...

    def join_token(self, room_id: str, user_id: str, ttl: float) -> str | None:
        """A join token for exactly this orb identity (role ``ai``), valid ``ttl`` seconds;
        ``None`` when the server requires none. Hosts never see the join secret."""
        ...


class OrbHost(Protocol):
    """Runs orbs when the core says so."""

    async def run(self, server: OrbHostServer, *, task_status: Any = ...) -> None:
        """Long-running; started by the server when orbs are enabled.

        Signal readiness through ``task_status.started()`` (the event loop's convention);
        cancelled last at shutdown, after every orb has been asked to stop.
        """
        ...

    def spawn(self, command: SpawnOrb) -> None:
        """Start an orb that joins ``command.room_id`` as ``command.user_id``; non-blocking.

        An orb that cannot be started is reported with ``server.orb_ended``.
        """
        ...

    def stop(self, command: StopOrb) -> None:
        """Ask that room's orb to send ``ai-orb-shutdown`` with ``command.reason``; non-blocking."""
        ...


@attrs.frozen
class OrbFleetReport:
    """What a host that places orbs on workers tells ``/metrics``: plain numbers only."""

    #: Jobs waiting for a worker.
    jobs_queued: int
    workers_alive: int
    slots_free: int
    #: Seconds from ``spawn`` to a worker claiming the job: cumulative bucket counts, one per
    #: upper bound of :attr:`latency_bounds` and a last one for +Inf, and their sum.
    latency_bounds: Sequence[float]
    latency_counts: Sequence[int]
    latency_sum: float
    #: Spawns that found no worker in time (or no queue).
    unavailable_total: int = 0
    #: Jobs taken over by another worker after theirs stopped renewing its lease.
    redispatched_total: int = 0


@runtime_checkable
class ObservableOrbHost(Protocol):
    """Optional: a host that can say where each room's orb runs and how its fleet fares."""

    def orb_placements(self) -> Mapping[str, Mapping[str, Any]]:
        """Room id -> where its orb runs (``worker``, ``state``, ...), for ``/api/rooms``."""
        ...

    def fleet_report(self) -> OrbFleetReport | None:
        """The fleet's numbers for ``/metrics``; ``None`` before the first look."""
        ...


@runtime_checkable
class MetricsOrbHost(Protocol):
    """Optional: a host whose orbs run in the server's process and have figures of their own
    (the per-turn stage histograms) for the server's ``/metrics``."""

    def metric_collectors(self) -> Sequence[object]:
        """Prometheus collectors to register in the server's registry."""
        ...

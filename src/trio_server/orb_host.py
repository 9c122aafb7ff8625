"""What the server expects from whatever runs AI orbs (implemented in ``orb_bridge``).

The server only decides *when* an orb starts or stops (the core's ``SpawnOrb``/``StopOrb``);
the host decides *how*. Calls come from the Trio thread and must never block it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import trio

from signaling_core import SpawnOrb, StopOrb

if TYPE_CHECKING:
    from .server import SignalingServer


class OrbHost(Protocol):
    async def run(
        self, server: SignalingServer, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Long-running; started in the server's nursery when orbs are enabled.

        Cancelled last at shutdown, after every orb has been asked to stop. An orb that ends
        without having joined must be reported with
        ``server.orb_ended(room_id, session_id, spawn_id)`` (the ``SpawnOrb``'s ``spawn_id``).
        """
        ...

    def spawn(self, command: SpawnOrb) -> None:
        """Start an orb that joins ``command.room_id`` as ``command.user_id``; non-blocking."""
        ...

    def stop(self, command: StopOrb) -> None:
        """Ask that room's orb to send ``ai-orb-shutdown`` with ``command.reason``; non-blocking."""
        ...

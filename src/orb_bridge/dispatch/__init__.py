"""Orbs on their own machines: the server queues each orb as a job in Redis, a pool of
``orb-worker --dispatch`` processes runs them (docs/orb.md, "Orbs on worker machines").

:class:`RedisOrbHost` is the server's side (an ``OrbHost``; ``trio-server --orb-dispatch URL``
builds it), :class:`WorkerPool` a worker's. They share nothing but Redis and the key/script
definitions of :mod:`._redis`. Like the rest of ``orb_bridge``, nothing here imports
``trio_server``.
"""

from ._redis import HEARTBEAT_SECONDS, LEASE_SECONDS, Keys
from .pool import WorkerPool
from .redis_host import RedisOrbHost

__all__ = ["HEARTBEAT_SECONDS", "LEASE_SECONDS", "Keys", "RedisOrbHost", "WorkerPool"]

"""``WorkerPool``: one ``orb-worker --dispatch`` process, taking orb jobs from Redis.

The worker runs its orbs exactly as ``orb-worker --room`` does (the same
:class:`~orb_bridge.session.OrbSession` and brain over a WebSocket to ``--url``, which may be a
load balancer), up to ``capacity`` at once. Everything runs on the process's one asyncio loop,
Redis included (``redis.asyncio``, every call bounded by a socket timeout), so the orbs' media
and the dispatch bookkeeping never wait on each other's threads.

* **Taking work**: the worker reads the job stream through the consumer group only while it
  has a free slot (``COUNT`` = free slots), and becomes a job's owner only through the
  ``CLAIM`` script (:mod:`._redis`), which refuses a job that is withdrawn, ended, past its
  deadline, or held by a live worker's lease. Delivery is at-least-once; the claim makes it
  one orb.
* **Liveness**: every ``heartbeat`` the worker renews the lease of each of its jobs (a lost
  lease means another worker took over: this orb is dropped without a word, the newer one
  has the identity), keeps its stream entries fresh, obeys stop orders (within a heartbeat),
  and writes its load (``{p}:worker:{id}``: capacity, free slots) with a short expiry.
* **Taking over**: with a free slot it also claims (``XAUTOCLAIM``) entries idle for longer
  than a lease, i.e. of jobs whose worker stopped renewing: a dead worker's orbs come back
  here, under the same identity, and the server takes them back as the room's orb.
* **Draining** (SIGTERM/SIGINT): no new jobs; each running job is handed back (queued again
  with a fresh deadline, for another worker) and its orb leaves without announcing an end, so
  the room gets it back from another machine; the worker exits once its orbs are gone, within
  ``drain_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from typing import Any, cast

import attrs
import redis
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI

from .._config import OrbConfig
from ..brain import BrainFactory, OfflineBrain
from ..session import OrbSession
from ._redis import (
    CLAIM,
    FINISH,
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    RENEW,
    REQUEUE,
    Keys,
    decode_payload,
)

logger = logging.getLogger(__name__)


@attrs.define(eq=False)
class _Running:
    job_id: str
    entry: str
    room: str
    session: str
    attempt: int
    queued_ms: int
    claimed_at: float
    task: asyncio.Task[None] | None = None
    orb: OrbSession | None = None
    joined_at: float | None = None
    stop_sent: bool = False
    #: Set when this worker no longer owns the job (lease lost, handed back): no outcome.
    abandoned: str | None = None


class WorkerPool:
    def __init__(
        self,
        dispatch_url: str,
        server_url: str,
        *,
        capacity: int,
        config: OrbConfig | None = None,
        brain_factory: BrainFactory = OfflineBrain,
        prefix: str = "orb",
        worker_id: str | None = None,
        lease: float = LEASE_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
        drain_timeout: float = 10.0,
        open_timeout: float = 10.0,
        socket_timeout: float = 2.0,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.dispatch_url = dispatch_url
        self.server_url = server_url
        self.capacity = capacity
        self.config = config or OrbConfig()
        self.keys = Keys(prefix)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-" \
                                      f"{secrets.token_hex(2)}"
        self._brain_factory = brain_factory
        self._lease_ms = int(lease * 1000)
        self._heartbeat = heartbeat
        self._drain_timeout = drain_timeout
        self._open_timeout = open_timeout
        self._socket_timeout = socket_timeout
        self._running: dict[str, _Running] = {}
        self._reserved = 0
        self._slot_freed = asyncio.Event()
        self._draining = asyncio.Event()
        self._redis_ok = True
        self._client: aioredis.Redis | None = None

    # ---------------------------------------------------------------- public
    def drain(self) -> None:
        """Stop taking jobs and hand the running ones back; :meth:`run` then returns."""
        if not self._draining.is_set():
            logger.info("worker %s draining: %d orb(s) to hand back", self.worker_id,
                        len(self._running))
            self._draining.set()

    async def run(self) -> int:
        """Serve jobs until :meth:`drain` (SIGTERM/SIGINT); returns the exit status."""
        client = self._client = aioredis.Redis.from_url(
            self.dispatch_url, socket_timeout=self._socket_timeout,
            socket_connect_timeout=self._socket_timeout, decode_responses=True)
        self._claim = client.register_script(CLAIM)
        self._renew = client.register_script(RENEW)
        self._finish = client.register_script(FINISH)
        self._requeue = client.register_script(REQUEUE)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.drain)
        logger.info("worker %s joins the pool at %s: capacity %d, orbs join %s",
                    self.worker_id, _redact(self.dispatch_url), self.capacity, self.server_url)
        reader = loop.create_task(self._read_jobs(), name="orb-pool-reader")
        beat = loop.create_task(self._heartbeat_forever(), name="orb-pool-heartbeat")
        try:
            await self._draining.wait()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self._hand_back()
        finally:
            beat.cancel()
            reader.cancel()
            await asyncio.gather(beat, reader, return_exceptions=True)
            for run in list(self._running.values()):
                if run.task is not None:
                    run.task.cancel()
            await asyncio.gather(*(r.task for r in self._running.values() if r.task),
                                 return_exceptions=True)
            with contextlib.suppress(redis.RedisError, OSError):
                await asyncio.wait_for(client.delete(self.keys.worker(self.worker_id)),
                                       self._socket_timeout)
                await asyncio.wait_for(client.srem(self.keys.workers, self.worker_id),
                                       self._socket_timeout)
            await client.aclose()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        logger.info("worker %s left the pool", self.worker_id)
        return 0

    # ---------------------------------------------------------------- taking jobs
    def _free(self) -> int:
        return self.capacity - len(self._running) - self._reserved

    async def _read_jobs(self) -> None:
        client = self._client
        assert client is not None
        while not self._draining.is_set():
            free = self._free()
            if free <= 0:
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), 1.0)
                continue
            try:
                reply = await client.xreadgroup(self.keys.group, self.worker_id,
                                                {self.keys.stream: ">"}, count=free,
                                                block=1000)
                self._redis_back()
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    await self._ensure_group()
                else:
                    self._redis_down(exc)
                    await asyncio.sleep(1.0)
                continue
            except (redis.RedisError, OSError) as exc:
                self._redis_down(exc)
                await asyncio.sleep(1.0)
                continue
            for _stream, entries in cast(list[Any], reply) or []:
                for entry_id, fields in entries:
                    await self._take(entry_id, fields.get("job", ""))

    async def _ensure_group(self) -> None:
        assert self._client is not None
        try:
            # From the stream's start: jobs added before the group existed (a Redis that
            # restarted empty while the server queued) are still seen; the claim discards
            # whatever is over.
            await self._client.xgroup_create(self.keys.stream, self.keys.group, id="0",
                                             mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _take(self, entry_id: str, jid: str) -> None:
        """Claim one delivered (or reclaimed) entry and start its orb if the claim is ours."""
        client = self._client
        assert client is not None
        if self._draining.is_set() or self._free() <= 0 or jid in self._running:
            return  # left pending: another worker reclaims it after a lease
        self._reserved += 1
        try:
            verdict = await self._claim(keys=[self.keys.job(jid), self.keys.lease(jid)],
                                        args=[self.worker_id, self._lease_ms, entry_id])
            if verdict[0] != "ok":
                if verdict[0] != "held":  # withdrawn, ended, expired, gone: nothing to run
                    await client.xack(self.keys.stream, self.keys.group, entry_id)
                    logger.info("job %s skipped: %s", jid, verdict[0])
                return
            record = cast(dict[str, str], await client.hgetall(self.keys.job(jid)))
            created, claimed = _millis(record, "created_ms"), _millis(record, "claimed_ms")
        except redis.ResponseError as exc:
            # Redis answered, so it is fine; the job's record is what no server writes (a
            # wrong type, a field that is not a number). Acknowledged, so it is never
            # delivered again; it costs nothing but itself.
            await self._drop_malformed(entry_id, jid, exc)
            return
        except (redis.RedisError, OSError) as exc:
            self._redis_down(exc)
            return
        finally:
            self._reserved -= 1
        run = _Running(jid, entry_id, record.get("room", ""), record.get("session", ""),
                       int(verdict[1]), max(0, claimed - created), time.monotonic())
        self._running[jid] = run
        run.task = asyncio.get_running_loop().create_task(self._run_orb(run, record),
                                                         name=f"orb-job-{jid}")

    async def _drop_malformed(self, entry_id: str, jid: str, why: object) -> None:
        logger.warning("job %r skipped: malformed record (%s)", jid, why)
        assert self._client is not None
        with contextlib.suppress(redis.RedisError, OSError):
            await self._client.xack(self.keys.stream, self.keys.group, entry_id)

    # ---------------------------------------------------------------- one orb
    async def _run_orb(self, run: _Running, record: dict[str, str]) -> None:
        from ..worker import WebSocketLink, room_url

        reason, joined = "error", False
        try:
            try:
                payload = decode_payload(record.get("payload"))
                limits = payload.get("limits") or {}
                config = attrs.evolve(
                    self.config,
                    idle_grace=float(limits.get("idleGrace") or self.config.idle_grace),
                    max_lifetime=float(limits.get("maxLifetime") or self.config.max_lifetime))
                ice_servers = list(payload.get("iceServers") or ())
            except (ValueError, TypeError, AttributeError) as exc:  # orjson's error is one
                reason = "malformed"
                logger.warning("job %s: malformed payload (%s): no orb", run.job_id, exc)
                return
            token = payload.get("token")
            async with connect(room_url(self.server_url, run.room),
                               open_timeout=self._open_timeout, max_size=2**20) as ws:
                orb = run.orb = OrbSession(
                    WebSocketLink(ws, token if isinstance(token, str) else None),
                    room_id=run.room, session_id=run.session, config=config,
                    brain=self._brain_factory(), ice_servers=ice_servers)
                orb.on_joined = lambda: setattr(run, "joined_at", time.monotonic())
                outcome = await orb.run()
                reason, joined = outcome.reason, outcome.joined
        except asyncio.CancelledError:
            reason = run.abandoned or "cancelled"
            if run.abandoned is None:
                raise
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            reason = "unreachable"
            logger.warning("job %s: cannot reach %s: %s", run.job_id, self.server_url, exc)
        except Exception:
            logger.exception("job %s failed", run.job_id)
        finally:
            self._running.pop(run.job_id, None)
            self._slot_freed.set()
            if run.abandoned is None:
                await self._record_outcome(run, reason, joined or run.joined_at is not None)
            self._log_job(run, reason)

    async def _record_outcome(self, run: _Running, reason: str, joined: bool) -> None:
        client = self._client
        if client is None:
            return
        try:
            await self._finish(keys=[self.keys.job(run.job_id), self.keys.lease(run.job_id)],
                               args=[self.worker_id, reason, "1" if joined else "0"])
            await client.xack(self.keys.stream, self.keys.group, run.entry)
        except (redis.RedisError, OSError) as exc:
            self._redis_down(exc)  # the lease lapses; a reclaim finds the job still running

    def _log_job(self, run: _Running, reason: str) -> None:
        now = time.monotonic()
        joined = "never" if run.joined_at is None \
            else f"{(run.joined_at - run.claimed_at) * 1000:.0f} ms"
        logger.info("job %s room %s session %s attempt %d: queued %d ms, joined %s after "
                    "claim, ran %.1f s, ended %s", run.job_id, run.room, run.session,
                    run.attempt, run.queued_ms, joined, now - run.claimed_at, reason)

    # ---------------------------------------------------------------- heartbeat
    async def _heartbeat_forever(self) -> None:
        while True:
            try:
                await self._beat()
                self._redis_back()
            except (redis.RedisError, OSError) as exc:
                self._redis_down(exc)  # running orbs go on; leases are renewed when it is back
            await asyncio.sleep(self._heartbeat)

    async def _beat(self) -> None:
        client = self._client
        assert client is not None
        runs = list(self._running.values())
        if runs:
            async with client.pipeline(transaction=False) as pipe:
                for run in runs:
                    await self._renew(keys=[self.keys.job(run.job_id),
                                            self.keys.lease(run.job_id)],
                                      args=[self.worker_id, self._lease_ms,
                                            (int(self.config.max_lifetime) + 3600) * 1000],
                                      client=pipe)
                replies = await pipe.execute()
            for run, reply in zip(runs, replies, strict=True):
                self._obey(run, reply)
            entries = [r.entry for r in runs if r.abandoned is None]
            if entries:  # keep our entries fresh: only a silent worker's go idle
                await client.xclaim(self.keys.stream, self.keys.group, self.worker_id, 0,
                                    list[Any](entries), justid=True)
        free = max(0, self._free())
        key = self.keys.worker(self.worker_id)
        async with client.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"capacity": self.capacity, "free": free,
                                    "running": len(self._running), "pid": os.getpid(),
                                    "host": socket.gethostname(), "url": self.server_url,
                                    "draining": "1" if self._draining.is_set() else "0"})
            pipe.pexpire(key, self._lease_ms)
            pipe.sadd(self.keys.workers, self.worker_id)
            await pipe.execute()
        if free > 0 and not self._draining.is_set():
            await self._reclaim(free)

    def _obey(self, run: _Running, reply: Any) -> None:
        if run.abandoned is not None or run.task is None:
            return
        if reply[0] != "ok" or reply[1] != "running":
            # Another worker holds the job now (this one was only slow), or it is over.
            logger.warning("job %s: lease lost (%s); dropping this orb", run.job_id, reply)
            run.abandoned = "lease-lost"
            run.task.cancel()
        elif reply[2] and not run.stop_sent and run.orb is not None:
            run.stop_sent = True
            logger.info("job %s: stop order (%s)", run.job_id, reply[2])
            run.orb.request_stop(reply[2])

    async def _reclaim(self, free: int) -> None:
        client = self._client
        assert client is not None
        _cursor, entries, *_deleted = await client.xautoclaim(
            self.keys.stream, self.keys.group, self.worker_id, self._lease_ms,
            start_id="0-0", count=free)
        for entry_id, fields in entries:
            if fields:
                await self._take(entry_id, fields.get("job", ""))
            else:
                await client.xack(self.keys.stream, self.keys.group, entry_id)

    # ---------------------------------------------------------------- draining
    async def _hand_back(self) -> None:
        client = self._client
        assert client is not None
        for run in list(self._running.values()):
            try:
                handed = await self._requeue(
                    keys=[self.keys.job(run.job_id), self.keys.lease(run.job_id),
                          self.keys.stream], args=[self.worker_id, run.job_id])
                if handed:
                    await client.xack(self.keys.stream, self.keys.group, run.entry)
            except (redis.RedisError, OSError) as exc:
                self._redis_down(exc)
                handed = 0
            run.abandoned = "handed-back" if handed else "drained"
            if run.task is not None:
                run.task.cancel()
        tasks = [r.task for r in self._running.values() if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self._drain_timeout)

    # ---------------------------------------------------------------- Redis health
    def _redis_down(self, exc: BaseException) -> None:
        if self._redis_ok:
            logger.warning("worker %s: Redis unusable: %s", self.worker_id, exc)
        self._redis_ok = False

    def _redis_back(self) -> None:
        if not self._redis_ok:
            logger.info("worker %s: Redis is back", self.worker_id)
            self._redis_ok = True


def _millis(record: dict[str, str], field: str) -> int:
    """A time of the job's record, in Redis's milliseconds; raises ``ResponseError`` (a
    malformed record) for what is not a number."""
    try:
        return int(record.get(field) or 0)
    except ValueError:
        raise redis.ResponseError(f"{field} is not a number: {record.get(field)!r:.40}") \
            from None


def _redact(url: str) -> str:
    """The dispatch URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"

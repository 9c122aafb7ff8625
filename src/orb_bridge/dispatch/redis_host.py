"""``RedisOrbHost``: the server's orb host when orbs run on a pool of ``orb-worker`` machines.

It implements :class:`signaling_core.orb_hosting.OrbHost` (and ``ObservableOrbHost``) and knows
the server only through that contract. Each ``SpawnOrb`` becomes a job in Redis
(:mod:`._redis`: a record plus a stream entry the workers' consumer group reads); each
``StopOrb`` withdraws a job nobody has taken yet or leaves a stop order for the worker running
it. A poller follows the records of this server's jobs and reports back through the contract:
a job no worker claimed within ``dispatch_timeout`` is withdrawn (atomically: a worker claiming
it at the same instant either wins or finds it withdrawn) and reported with
``orb_ended(unavailable=True)``, so the coach gets ``orb-unavailable`` and no orb appears later.

**The Trio loop never blocks on Redis**: every Redis call runs in a Trio worker thread
(``trio.to_thread``, at most ``threads`` at once) on redis-py's synchronous client, with socket
timeouts, so a Redis that is down or slow costs a thread's wait, never the event loop. While
Redis is unreachable, spawns fail within the connect timeout and are reported as unavailable;
the client reconnects by itself on the next call, so dispatch resumes when Redis is back.

Jobs are per session: a second ``SpawnOrb`` for a session whose job is still live (queued, or
running on a worker that died and is being replaced) joins that job instead of queueing a
second orb with the same identity.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import redis
import trio

from signaling_core import SpawnOrb, StopOrb
from signaling_core.orb_hosting import OrbFleetReport, OrbHostServer

from ._redis import (
    ENQUEUE,
    STOP,
    WITHDRAW,
    WITHDRAW_ORPHAN,
    Keys,
    encode_payload,
    job_id,
)

logger = logging.getLogger(__name__)

#: Upper bounds (seconds) of the dispatch-latency histogram: SpawnOrb to a worker's claim.
LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FLEET_EVERY = 0.5
#: An enqueue that failed (Redis away or too slow) is sent again this often until the job's
#: deadline.
_ENQUEUE_RETRY = 0.5
#: How long a stop order may still be written after the server began to shut down.
_SHUTDOWN_WRITE_TIMEOUT = 3.0


@attrs.define
class _Job:
    id: str
    room: str
    session: str
    user: str
    spawn: int
    #: enqueuing (not yet in Redis), queued, running; gone from the table once it ends.
    state: str = "enqueuing"
    deadline: float = 0.0
    worker: str = ""
    attempt: int = 0
    stop_reason: str | None = None
    #: When this server first saw the job running without a lease (its worker gone).
    orphaned_since: float | None = None


class RedisOrbHost:
    """Implements :class:`signaling_core.orb_hosting.OrbHost` over Redis streams."""

    def __init__(
        self,
        url: str,
        *,
        dispatch_timeout: float = 10.0,
        prefix: str = "orb",
        poll_interval: float = 0.1,
        threads: int = 4,
        socket_timeout: float = 2.0,
    ) -> None:
        if dispatch_timeout <= 0:
            raise ValueError("dispatch_timeout must be positive")
        self.url = url
        self.dispatch_timeout = dispatch_timeout
        self.keys = Keys(prefix)
        self._poll_interval = poll_interval
        self._limiter = trio.CapacityLimiter(threads)
        self._client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
            decode_responses=True)
        self._enqueue = self._client.register_script(ENQUEUE)
        self._withdraw = self._client.register_script(WITHDRAW)
        self._withdraw_orphan = self._client.register_script(WITHDRAW_ORPHAN)
        self._stop = self._client.register_script(STOP)
        self._server: OrbHostServer | None = None
        self._nursery: trio.Nursery | None = None
        self._jobs: dict[str, _Job] = {}
        self._by_session: dict[str, str] = {}
        self._latency_counts = [0] * (len(LATENCY_BOUNDS) + 1)
        self._latency_sum = 0.0
        self._unavailable = 0
        self._redispatched = 0
        self._workers_alive = 0
        self._slots_free = 0
        self._fleet_seen = False
        self._redis_ok = True

    # ---------------------------------------------------------------- OrbHost
    async def run(self, server: OrbHostServer, *,
                  task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self._server = server
        await self._call(self._ensure_group)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._poll_forever)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True), trio.move_on_after(_SHUTDOWN_WRITE_TIMEOUT):
                # Orbs still running are told to go (the core has already said so; this makes
                # sure the order is written even if those calls were cut short).
                for job in list(self._jobs.values()):
                    await self._call(self._stop, keys=[self.keys.job(job.id)],
                                     args=["session_complete", self._record_ttl_ms()])
            await trio.to_thread.run_sync(self._client.close)

    def spawn(self, command: SpawnOrb) -> None:
        server = self._server
        if server is None:
            raise RuntimeError("orb host is not running")
        live = self._jobs.get(self._by_session.get(command.session_id, ""))
        if live is not None and live.stop_reason is None:
            # The session's orb is already queued or being brought back: one identity, one job.
            live.spawn = command.spawn_id
            live.room = command.room_id
            return
        if self._nursery is None:
            server.orb_ended(command.room_id, command.session_id, command.spawn_id,
                             unavailable=True)
            return
        job = _Job(job_id(command.session_id, command.spawn_id), command.room_id,
                   command.session_id, command.user_id, command.spawn_id,
                   deadline=trio.current_time() + self.dispatch_timeout)
        self._jobs[job.id] = job
        self._by_session[job.session] = job.id
        self._nursery.start_soon(self._queue, job)

    def stop(self, command: StopOrb) -> None:
        job = self._jobs.get(self._by_session.get(command.session_id, ""))
        if job is None or job.room != command.room_id:
            return
        job.stop_reason = command.reason
        if job.state != "enqueuing" and self._nursery is not None:
            self._nursery.start_soon(self._send_stop, job)

    # ---------------------------------------------------------------- ObservableOrbHost
    def orb_placements(self) -> Mapping[str, Mapping[str, Any]]:
        return {job.room: {"jobId": job.id, "state": job.state, "worker": job.worker or None,
                           "attempt": job.attempt} for job in self._jobs.values()}

    def fleet_report(self) -> OrbFleetReport | None:
        if not self._fleet_seen:
            return None
        cumulative, running = [], 0
        for count in self._latency_counts:
            running += count
            cumulative.append(running)
        return OrbFleetReport(
            jobs_queued=sum(1 for j in self._jobs.values() if j.state in ("enqueuing", "queued")),
            workers_alive=self._workers_alive, slots_free=self._slots_free,
            latency_bounds=LATENCY_BOUNDS, latency_counts=cumulative,
            latency_sum=self._latency_sum, unavailable_total=self._unavailable,
            redispatched_total=self._redispatched)

    # ---------------------------------------------------------------- jobs
    def _record_ttl_ms(self) -> int:
        assert self._server is not None
        return int((self.dispatch_timeout + self._server.core_config.orb_max_lifetime
                    + 600) * 1000)

    async def _queue(self, job: _Job) -> None:
        server = self._server
        assert server is not None
        core = server.core_config
        payload = {
            "limits": {"idleGrace": core.orb_idle_grace, "maxLifetime": core.orb_max_lifetime},
            "iceServers": server.ice_servers(job.room, job.user),
            # Exactly this orb identity, for as long as the orb may live (a re-dispatched orb
            # joins again with it).
            "token": server.join_token(job.room, job.user,
                                       core.orb_max_lifetime + self.dispatch_timeout + 60),
        }
        fields = ["room", job.room, "session", job.session, "spawn", str(job.spawn),
                  "user", job.user, "payload", encode_payload(payload)]
        # Sent again until it lands or the job's deadline passes: a Redis that is slow or
        # away for less than the dispatch timeout only delays the orb (ENQUEUE is idempotent).
        while True:
            ok = await self._call(self._enqueue, keys=[self.keys.job(job.id), self.keys.stream],
                                  args=[job.id, self._record_ttl_ms(),
                                        int(self.dispatch_timeout * 1000), *fields])
            if self._jobs.get(job.id) is not job:  # stopped and forgotten meanwhile
                return
            if ok is not None:
                break
            if trio.current_time() + _ENQUEUE_RETRY >= job.deadline:
                self._give_up(job, unavailable=True, why="the dispatch queue is unreachable")
                return
            await trio.sleep(_ENQUEUE_RETRY)
        job.state = "queued"
        logger.info("orb job %s for room %s queued", job.id, job.room)
        if job.stop_reason is not None:
            await self._send_stop(job)

    async def _send_stop(self, job: _Job) -> None:
        state = await self._call(self._stop, keys=[self.keys.job(job.id)],
                                 args=[job.stop_reason or "session_complete",
                                       self._record_ttl_ms()])
        if state == "withdrawn" and self._jobs.get(job.id) is job:
            self._give_up(job, unavailable=False, why="stopped before any worker took it")

    def _give_up(self, job: _Job, *, unavailable: bool, why: str) -> None:
        """The job is over without this server having to wait for its orb to leave."""
        self._forget(job)
        if unavailable:
            self._unavailable += 1
        logger.info("orb job %s for room %s given up: %s", job.id, job.room, why)
        server = self._server
        if server is not None and not server.stopping:
            server.orb_ended(job.room, job.session, job.spawn, unavailable=unavailable)

    def _forget(self, job: _Job) -> None:
        self._jobs.pop(job.id, None)
        if self._by_session.get(job.session) == job.id:
            del self._by_session[job.session]

    # ---------------------------------------------------------------- following the records
    async def _poll_forever(self) -> None:
        next_fleet = 0.0
        while True:
            await trio.sleep(self._poll_interval)
            jobs = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            if jobs:
                records = await self._call(self._read_records, [j.id for j in jobs])
                if records is not None:
                    for job, record in zip(jobs, records, strict=True):
                        if self._jobs.get(job.id) is job:
                            await self._follow(job, record)
            now = trio.current_time()
            for job in [j for j in self._jobs.values() if j.state == "queued"]:
                if now >= job.deadline:
                    await self._withdraw_late(job)
            if now >= next_fleet:
                next_fleet = now + _FLEET_EVERY
                fleet = await self._call(self._read_fleet)
                if fleet is not None:
                    self._workers_alive, self._slots_free = fleet
                    self._fleet_seen = True

    async def _follow(self, job: _Job, record: dict[str, str | None]) -> None:
        state = record.get("state")
        if state is None:
            if job.state == "queued":  # Redis lost the job (restarted without its data)
                self._give_up(job, unavailable=True, why="its record vanished from Redis")
            return  # a running orb's worker writes the record back with its next renewal
        attempt = int(record.get("attempt") or 0)
        if state == "running":
            worker = record.get("worker") or ""
            if job.state == "queued" or attempt != job.attempt:
                created, claimed = record.get("created_ms"), record.get("claimed_ms")
                if created and claimed:
                    latency = max(0.0, (int(claimed) - int(created)) / 1000)
                    self._latency_counts[bisect.bisect_left(LATENCY_BOUNDS, latency)] += 1
                    self._latency_sum += latency
                    logger.info("orb job %s for room %s claimed by %s after %.0f ms "
                                "(attempt %d)", job.id, job.room, worker, latency * 1000,
                                attempt)
                if attempt > 1 and attempt != job.attempt:
                    self._redispatched += 1
            job.state, job.worker, job.attempt = "running", worker, attempt
            await self._watch_lease(job, leased=record.get("leased") != "0")
        elif state == "queued":
            if job.state == "running":  # a draining worker handed it back
                job.state, job.worker = "queued", ""
                job.deadline = trio.current_time() + self.dispatch_timeout
        elif state in ("ended", "withdrawn"):
            expired = record.get("outcome") == "expired"
            self._give_up(job, unavailable=expired,
                          why=f"{state} ({record.get('outcome') or 'no outcome'})")

    async def _watch_lease(self, job: _Job, *, leased: bool) -> None:
        """A running job whose worker died is taken over by another worker once its lease
        lapses; if none does within the dispatch timeout (none alive, or all full), it is
        given up like a job nobody claimed, and the coaches hear ``orb-unavailable``."""
        if leased:
            job.orphaned_since = None
            return
        now = trio.current_time()
        if job.orphaned_since is None:
            job.orphaned_since = now
            return
        if now - job.orphaned_since < self.dispatch_timeout:
            return
        state = await self._call(self._withdraw_orphan,
                                 keys=[self.keys.job(job.id), self.keys.lease(job.id)],
                                 args=["worker-lost"])
        if self._jobs.get(job.id) is not job:
            return
        if state == "withdrawn":
            self._give_up(job, unavailable=True,
                          why=f"its worker is gone and no other took it over within "
                              f"{self.dispatch_timeout:g} s")
        else:
            job.orphaned_since = None

    async def _withdraw_late(self, job: _Job) -> None:
        state = await self._call(self._withdraw, keys=[self.keys.job(job.id)],
                                 args=["no-worker"])
        if self._jobs.get(job.id) is not job:
            return
        if state in ("withdrawn", None):
            # None: Redis is unreachable; the record's own deadline keeps any worker from
            # taking it later, so the coach may be told now.
            self._give_up(job, unavailable=True,
                          why=f"no worker took it within {self.dispatch_timeout:g} s")
        else:
            job.deadline = trio.current_time() + self.dispatch_timeout

    # ---------------------------------------------------------------- Redis calls (threads)
    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one Redis call in a worker thread; ``None`` (logged once) when Redis fails."""
        try:
            result = await trio.to_thread.run_sync(lambda: fn(*args, **kwargs),
                                                   limiter=self._limiter)
        except redis.RedisError as exc:
            if self._redis_ok:
                logger.warning("orb dispatch: Redis at %s unusable: %s", self.url, exc)
            self._redis_ok = False
            return None
        if not self._redis_ok:
            logger.info("orb dispatch: Redis at %s is back", self.url)
            self._redis_ok = True
        return result

    def _ensure_group(self) -> None:
        try:
            self._client.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _read_records(self, ids: list[str]) -> list[dict[str, str | None]]:
        fields = ("state", "worker", "attempt", "created_ms", "claimed_ms", "outcome")
        with self._client.pipeline(transaction=False) as pipe:
            for jid in ids:
                pipe.hmget(self.keys.job(jid), fields)
                pipe.exists(self.keys.lease(jid))
            rows = pipe.execute()
        return [{**dict(zip(fields, row, strict=True)), "leased": "1" if leased else "0"}
                for row, leased in zip(rows[::2], rows[1::2], strict=True)]

    def _read_fleet(self) -> tuple[int, int]:
        members = sorted(str(m) for m in self._client.smembers(self.keys.workers))
        with self._client.pipeline(transaction=False) as pipe:
            for wid in members:
                pipe.hmget(self.keys.worker(wid), ("free", "draining"))
            # Per key, an error in its place (a key that is not a worker's hash) instead of
            # one error for the lot: one bad entry must not blind the server to the fleet.
            rows = pipe.execute(raise_on_error=False)
        alive = free = 0
        gone = []
        for wid, row in zip(members, rows, strict=True):
            if isinstance(row, Exception):
                continue  # not a worker's record: not a worker
            slots, draining = row
            if slots is None:
                gone.append(wid)
                continue
            try:
                slots_free = int(slots)
            except ValueError:
                continue
            alive += 1
            if draining != "1":
                free += slots_free
        if gone:
            self._client.srem(self.keys.workers, *gone)
        return alive, free

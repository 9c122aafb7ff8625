"""The cluster view (``--cluster redis://...``): every node publishes its rooms to Redis, and
``GET /api/rooms?scope=cluster`` on any node merges what the live nodes published.

Why Redis and a time-to-live: nodes know nothing of each other (HAProxy places the rooms), and
a node killed with ``kill -9`` says nothing on its way out. So each node writes a snapshot of
its own state under its own key, with an expiry, every ``ttl / 3`` seconds; a node that stops
writing disappears from the view when its key expires, at most ``ttl`` after its last write,
and Redis's clock alone decides that. Two missed writes in a row are tolerated.

Keys, under one prefix (several deployments may share a Redis, the orb dispatch too):

* ``{p}:node:{nodeId}`` -- the node's last snapshot, JSON, expiring after ``ttl``;
* ``{p}:nodes`` -- a sorted set naming the nodes that published recently (score: when the
  node's key was due to expire, on the node's clock). It only saves readers from scanning the
  keyspace; whether a node is live is its key's existence, never this score. Members whose
  score is long past are trimmed by every publish, so a dead node costs one stale member for
  a while, not forever.

As with :class:`orb_bridge.dispatch.RedisOrbHost`, **the Trio loop never waits on Redis**:
every call runs on a Trio worker thread (bounded by a :class:`trio.CapacityLimiter`) on
redis-py's synchronous client with socket timeouts and no retry loop, and the Trio side gives
up after a fixed bound and abandons the thread. A Redis that is down or frozen costs a 503 on
``scope=cluster`` (within :attr:`ClusterView.read_timeout`) and a skipped publish; the
client reconnects by itself, so publishing resumes when Redis is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import redis
import trio
from redis.backoff import NoBackoff
from redis.retry import Retry

from signaling_core.wire import Field, HttpField

from .logs import INFO, WARNING, event

DEFAULT_PREFIX = "signaling:cluster"
#: Snapshot format; a reader skips versions it does not know, so a rolling upgrade that
#: changes the format shows old and new nodes side by side at worst incomplete, never broken.
FORMAT = 1
#: Members of the node index trimmed once their key has been gone this long (ms): generous,
#: so that nodes' clocks may disagree by up to a minute without trimming a live node.
_STALE_MS = 60_000


class ClusterUnavailable(Exception):
    """Redis could not be read in time; the message says why, for the 503's body."""


def _valid_snapshot(value: Any) -> dict[str, Any] | None:
    """The snapshot if it has the shape this reader relies on, else None (skipped)."""
    if not isinstance(value, dict) or value.get("v") != FORMAT:
        return None
    if not isinstance(value.get(HttpField.NODE), str) or not isinstance(value.get(HttpField.ROOMS),
                                                                        list):
        return None
    if not all(isinstance(room, dict) and isinstance(room.get(Field.ROOM_ID), str)
               for room in value[HttpField.ROOMS]):
        return None
    return value


def _node_summary(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        HttpField.NODE: snapshot[HttpField.NODE],
        HttpField.NODE_STATUS: snapshot.get(HttpField.NODE_STATUS),
        HttpField.PUBLISHED_AT: snapshot.get(HttpField.PUBLISHED_AT),
        HttpField.ROOMS: len(snapshot[HttpField.ROOMS]),
        HttpField.CONNECTIONS: snapshot.get(HttpField.CONNECTIONS),
        HttpField.ORBS: snapshot.get(HttpField.ORBS),
    }


class ClusterView:
    """Publishes this node's snapshot and reads everyone's (see the module docstring)."""

    def __init__(self, url: str, *, ttl: float = 6.0, prefix: str = DEFAULT_PREFIX,
                 socket_timeout: float = 1.0, read_timeout: float = 2.0,
                 threads: int = 4) -> None:
        if ttl < 1:
            raise ValueError("the cluster view's ttl must be at least 1 s")
        self.url = url
        self.ttl = ttl
        #: A reader waits at most this long for Redis before answering 503.
        self.read_timeout = read_timeout
        self.prefix = prefix
        # No retry loop (redis-py's default retries for many seconds): one reconnect on a
        # connection Redis closed (it restarted), nothing on a timeout; the next publish is
        # the retry.
        self._client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
        # Publishing has its own thread so that readers piling up on a frozen Redis never
        # delay it, and two publishes never overlap (an abandoned one holds it until done).
        self._publish_limiter = trio.CapacityLimiter(1)
        self._read_limiter = trio.CapacityLimiter(threads)
        self._publishing_ok = True
        self._bad_nodes: set[str] = set()
        #: Publishes that reached Redis (for tests and logs).
        self.published = 0

    @property
    def period(self) -> float:
        """Seconds between publishes: a third of the TTL, so two may fail before expiry."""
        return self.ttl / 3

    def _node_key(self, node_id: str) -> str:
        return f"{self.prefix}:node:{node_id}"

    @property
    def _index_key(self) -> str:
        return f"{self.prefix}:nodes"

    # ------------------------------------------------------------------ publishing

    async def publish_forever(self, node_id: Callable[[], str],
                              snapshot: Callable[[], dict[str, Any]]) -> None:
        """Publish every :attr:`period` until cancelled; then remove this node's key.

        ``snapshot`` is called on the Trio thread (it reads the core); encoding and the Redis
        write happen on the worker thread. The key is removed on a clean stop (SIGTERM or
        SIGINT, after the connections are closed) so the view is right at once; after a crash
        it lapses within ``ttl``.
        """
        try:
            while True:
                document = {"v": FORMAT, **snapshot(), HttpField.NODE: node_id(),
                            HttpField.PUBLISHED_AT: round(time.time(), 3)}
                ok = False  # a write still going after a period counts as failed
                with trio.move_on_after(self.period):
                    ok = await self._call(self._publish_limiter, self._write, document)
                self._note_publish(ok)
                await trio.sleep(self.period)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self.read_timeout):
                if await self._call(self._publish_limiter, self._withdraw, node_id()):
                    event(INFO, "cluster-view-withdrawn",
                          "cluster view: this node's rooms were removed from Redis")
                await trio.to_thread.run_sync(self._client.close, abandon_on_cancel=True)

    def _note_publish(self, ok: bool) -> None:
        if ok:
            self.published += 1
            if not self._publishing_ok:
                event(INFO, "cluster-view-publishing", "cluster view: publishing again",
                      redis=self._safe_url)
        elif self._publishing_ok:
            event(WARNING, "cluster-view-unpublished",
                  "cluster view: cannot publish this node's rooms to Redis; other nodes stop "
                  f"showing them within {self.ttl:g} s", redis=self._safe_url)
        self._publishing_ok = ok

    def _write(self, document: dict[str, Any]) -> bool:
        """One round trip (MULTI): the node's key with its expiry, the index, its trim."""
        node = str(document[HttpField.NODE])
        ttl_ms = int(self.ttl * 1000)
        now_ms = int(time.time() * 1000)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._node_key(node), orjson.dumps(document), px=ttl_ms)
            pipe.zadd(self._index_key, {node: now_ms + ttl_ms})
            pipe.zremrangebyscore(self._index_key, "-inf", now_ms - _STALE_MS)
            pipe.pexpire(self._index_key, _STALE_MS + ttl_ms)
            pipe.execute()
        return True

    def _withdraw(self, node: str) -> bool:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(self._node_key(node))
            pipe.zrem(self._index_key, node)
            pipe.execute()
        return True

    # ------------------------------------------------------------------ reading

    async def read(self, local: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every live node's rooms, each naming its node; raises :class:`ClusterUnavailable`
        if Redis does not answer within :attr:`read_timeout`.

        ``local``: this node's own live snapshot, shown instead of its last publish (which may
        be up to a period old, or missing just after the start).
        """
        entries: list[tuple[bytes, bytes | None]] | None = None
        failure = f"Redis did not answer within {self.read_timeout:g} s"
        with trio.move_on_after(self.read_timeout):
            try:
                entries = await trio.to_thread.run_sync(
                    self._read_all, limiter=self._read_limiter, abandon_on_cancel=True)
            except redis.RedisError as exc:
                failure = f"Redis is unreachable: {exc}"
        if entries is None:
            raise ClusterUnavailable(failure)
        snapshots: dict[str, dict[str, Any]] = {}
        skipped: list[str] = []
        for raw_node, raw in entries:
            node = raw_node.decode("utf-8", "replace")
            if raw is None:
                continue  # its key expired: a dead node still listed in the index
            snapshot = self._parse(node, raw)
            if snapshot is None:
                skipped.append(node)
            else:
                snapshots[snapshot[HttpField.NODE]] = snapshot
        if local is not None:
            snapshots[local[HttpField.NODE]] = {HttpField.PUBLISHED_AT: round(time.time(), 3),
                                                **local}
        ordered = [snapshots[name] for name in sorted(snapshots)]
        rooms = [{**room, HttpField.NODE: snap[HttpField.NODE]}
                 for snap in ordered for room in snap[HttpField.ROOMS]]
        return {
            "scope": "cluster",
            "nodes": [_node_summary(snap) for snap in ordered],
            HttpField.ROOMS: rooms,
            HttpField.CONNECTIONS: sum(_count(snap, HttpField.CONNECTIONS) for snap in ordered),
            HttpField.ORBS: sum(_count(snap, HttpField.ORBS) for snap in ordered),
            "skipped": sorted(skipped),
        }

    def _read_all(self) -> list[tuple[bytes, bytes | None]]:
        """The index, then every listed node's key: two round trips on one thread."""
        # Any: redis-py's stubs cover every response option; this client returns bytes.
        members: Any = self._client.zrange(self._index_key, 0, -1)
        if not members:
            return []
        values: Any = self._client.mget(
            [self._node_key(member.decode("utf-8", "replace")) for member in members])
        return list(zip(members, values, strict=True))

    def _parse(self, node: str, raw: bytes) -> dict[str, Any] | None:
        """The snapshot, or None for one that cannot be read (logged once per node)."""
        try:
            snapshot = _valid_snapshot(orjson.loads(raw))
        except orjson.JSONDecodeError:
            snapshot = None
        if snapshot is None or snapshot[HttpField.NODE] != node:
            if node not in self._bad_nodes:
                self._bad_nodes.add(node)
                event(WARNING, "cluster-view-skipped",
                      f"cluster view: skipping node {node!r}: its snapshot in Redis cannot be "
                      "read", peer=node, size=len(raw))
            return None
        self._bad_nodes.discard(node)
        return snapshot

    # ------------------------------------------------------------------ plumbing

    async def _call(self, limiter: trio.CapacityLimiter,
                    fn: Callable[..., bool], *args: Any) -> bool:
        """``fn(*args)`` on a worker thread; False when Redis fails (the caller logs)."""
        try:
            return await trio.to_thread.run_sync(fn, *args, limiter=limiter,
                                                 abandon_on_cancel=True)
        except redis.RedisError:
            return False

    @property
    def _safe_url(self) -> str:
        """The URL without its password, for logs."""
        kwargs = self._client.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"{where}/{kwargs.get('db', 0)}"


def _count(snapshot: dict[str, Any], name: str) -> int:
    value = snapshot.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

"""The Redis side of orb dispatch, shared by the server's host and the workers: keys and scripts.

A job is one orb for one session (``job id = {sessionId}.{spawnId}``). Its record is a hash
whose ``state`` is the job's single outcome so far, and every change of that state is one Lua
script, so it is atomic against every other change (Redis runs one script at a time) and all
times come from one clock, Redis's own (``TIME``), whatever the machines' clocks say::

    queued ──claim──► running ──finish──► ended
      │                 │  ▲
      │                 │  └── claim (lease lapsed: the worker died; another worker takes over)
      │                 ├──── requeue (a draining worker hands it back) ──► queued
      │                 └──── withdraw (lease lapsed, nobody took over in time) ──► withdrawn
      └── withdraw / claim after the deadline / stop ──► withdrawn

* ``{p}:jobs`` — the stream of job ids, read by the consumer group ``{p}:workers``
  (at-least-once: a job may be delivered twice, which is why the claim decides, not delivery);
* ``{p}:job:{id}`` — the job's record (hash, expires after the orb's lifetime at the latest);
* ``{p}:lease:{id}`` — the running worker's id, with a short expiry its heartbeat renews; a
  lapsed lease is what "the worker is dead" means;
* ``{p}:worker:{wid}`` — a live worker's load (hash, expires unless renewed), ids listed in
  the set ``{p}:workers``.

Nothing here does I/O by itself: the host (sync client, Trio worker threads) and the workers
(``redis.asyncio`` on their asyncio loop) run these scripts with their own clients.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

#: A lease lapses this long after its last renewal: the time to notice a dead worker.
LEASE_SECONDS = 3.0
#: Workers renew leases, read stop orders and report load this often (stop within 1 s).
HEARTBEAT_SECONDS = 0.5
#: Stream length kept (approximately); entries of ended jobs are history only.
STREAM_MAXLEN = 10_000

JOB_FIELDS = ("state", "room", "session", "spawn", "worker", "attempt", "created_ms",
              "claimed_ms", "deadline_ms", "ended_ms", "outcome", "joined", "stop")


@attrs.frozen
class Keys:
    """Every key name, under one prefix (several deployments may share a Redis)."""

    prefix: str = "orb"

    @property
    def stream(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def group(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def lease(self, job_id: str) -> str:
        return f"{self.prefix}:lease:{job_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"


def job_id(session_id: str, spawn_id: int) -> str:
    return f"{session_id}.{spawn_id}"


def encode_payload(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def decode_payload(text: str | bytes | None) -> dict[str, Any]:
    if not text:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

#: KEYS: job, stream. ARGV: job id, record ttl ms, dispatch timeout ms, then field/value pairs.
#: Creates the record (queued, with its deadline on Redis's clock) and announces it; returns
#: the time, or -1 when the record exists already. That makes it safe to send again after a
#: timeout: a try that did reach Redis (slow, its answer late) is not queued twice, and a job
#: a worker holds already is not reset.
ENQUEUE = _NOW + """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'state', 'queued', 'created_ms', now, 'attempt', 0,
           'timeout_ms', ARGV[3], 'deadline_ms', now + tonumber(ARGV[3]), unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', @MAXLEN@, '*', 'job', ARGV[1])
return now
""".replace("@MAXLEN@", str(STREAM_MAXLEN))

#: KEYS: job, lease. ARGV: worker id, lease ms, stream entry id.
#: The one place a worker becomes a job's owner. Returns {'ok', attempt} or {reason}.
CLAIM = _NOW + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' then
  if now > tonumber(redis.call('HGET', KEYS[1], 'deadline_ms') or '0') then
    redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'outcome', 'expired', 'ended_ms', now)
    return {'expired'}
  end
elseif state == 'running' then
  local owner = redis.call('GET', KEYS[2])
  if owner then return {'held', owner} end
  if redis.call('HGET', KEYS[1], 'stop') then
    redis.call('HSET', KEYS[1], 'state', 'ended', 'outcome', 'stopped', 'ended_ms', now)
    return {'ended'}
  end
  redis.call('HINCRBY', KEYS[1], 'redispatched', 1)
else
  return {state or 'gone'}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1], 'claimed_ms', now,
           'entry', ARGV[3])
return {'ok', tostring(attempt)}
"""

#: KEYS: job, lease. ARGV: worker id, lease ms, record ttl ms.
#: Keeps the lease while it is ours (or lapsed with nobody else on the job; a Redis that lost
#: its data gets the record back). Returns {'ok', state, stop reason} or {'lost', new owner}.
RENEW = """
local owner = redis.call('GET', KEYS[2])
if not owner then
  local worker = redis.call('HGET', KEYS[1], 'worker')
  if worker and worker ~= ARGV[1] then return {'lost', worker} end
  if redis.call('EXISTS', KEYS[1]) == 0 or not redis.call('HGET', KEYS[1], 'state') then
    redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
elseif owner ~= ARGV[1] then
  return {'lost', owner}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {'ok', redis.call('HGET', KEYS[1], 'state') or '',
        redis.call('HGET', KEYS[1], 'stop') or ''}
"""

#: KEYS: job, lease. ARGV: worker id, outcome, joined (0/1). The job's single outcome.
FINISH = _NOW + """
if redis.call('HGET', KEYS[1], 'worker') == ARGV[1]
    and redis.call('HGET', KEYS[1], 'state') == 'running' then
  redis.call('HSET', KEYS[1], 'state', 'ended', 'outcome', ARGV[2], 'joined', ARGV[3],
             'ended_ms', now)
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return redis.call('HGET', KEYS[1], 'state') or ''
"""

#: KEYS: job, lease, stream. ARGV: worker id, job id. A draining worker hands a running job
#: back: queued again with a fresh deadline, announced again, our lease gone.
REQUEUE = _NOW + """
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1]
    or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
local timeout = tonumber(redis.call('HGET', KEYS[1], 'timeout_ms') or '10000')
redis.call('HSET', KEYS[1], 'state', 'queued', 'worker', '', 'deadline_ms', now + timeout,
           'created_ms', now)
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', @MAXLEN@, '*', 'job', ARGV[2])
return 1
""".replace("@MAXLEN@", str(STREAM_MAXLEN))

#: KEYS: job. ARGV: outcome. The server gives a job up (nobody took it in time, or the core
#: stopped it before any worker did): only a queued job can be withdrawn. Returns the state.
WITHDRAW = _NOW + """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'outcome', ARGV[1], 'ended_ms', now)
  return 'withdrawn'
end
return state or ''
"""

#: KEYS: job, lease. ARGV: outcome. The server gives up a running job whose worker is gone
#: (its lease lapsed) when no other worker took it over in time: only then, atomically against
#: a claim. A worker that was only frozen finds it withdrawn at its next renewal and drops its
#: orb. Returns the state.
WITHDRAW_ORPHAN = _NOW + """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'running' and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'outcome', ARGV[1], 'ended_ms', now)
  return 'withdrawn'
end
return state or ''
"""

#: KEYS: job. ARGV: reason, record ttl ms. The core's StopOrb: a queued job is withdrawn, a
#: running one gets a stop order its worker reads within a heartbeat. Returns the state.
STOP = _NOW + """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'outcome', 'stopped', 'ended_ms', now)
  return 'withdrawn'
end
redis.call('HSET', KEYS[1], 'stop', ARGV[1])
if not state then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return state or ''
"""

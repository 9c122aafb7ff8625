"""The dispatch Redis frozen, and garbage in it (Redis stopped and restarted is in
test_dispatch_jobs.py).

Frozen (SIGSTOP, longer than a lease): every Redis call of the server runs on a worker thread
with a socket timeout, so joins are answered at once meanwhile; the orb that was running stays
(one orb, never left), and a coach who came during the freeze gets its orb once Redis runs
(the server sends the job again until its dispatch deadline).

Garbage: stream entries and records no server wrote.

Anyone who can write to the dispatch Redis can do worse than this, but a bug, a version skew
or an operator's typo can leave such entries too, and one bad entry must cost nothing but
itself: the worker skips it (logged) and keeps its slots, the server keeps serving its
metrics and dispatching, and the next coaches get their orbs.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from testkit.fleet import Coach, Fleet, RedisProcess, worker_id_of

from .conftest import SPEECHLESS_WORKER, run

FAR = "99999999999999"  # a deadline in milliseconds that never comes


@pytest.fixture
def fleet(fleet: Fleet) -> Fleet:
    """The conftest's fleet, its workers without speech models (:data:`SPEECHLESS_WORKER`):
    no orb here ever gets media."""
    fleet.worker_args = SPEECHLESS_WORKER
    return fleet


def _inject(redis_proc: RedisProcess) -> None:
    client = redis_proc.client()
    try:
        stream = "orb:jobs"
        client.xadd(stream, {"nope": "1"})                       # no job field at all
        client.xadd(stream, {"job": ""})                         # an empty job id
        client.xadd(stream, {"job": "\x00\xff" * 8})            # bytes that name nothing
        # Records that look queued but are not what a server writes.
        client.hset("orb:job:evil.1", mapping={
            "state": "queued", "deadline_ms": FAR, "created_ms": "abc", "attempt": "x",
            "payload": "{not json", "room": ""})
        client.xadd(stream, {"job": "evil.1"})
        client.hset("orb:job:evil.2", mapping={
            "state": "queued", "deadline_ms": "soon", "payload": "[1, 2]", "room": "r"})
        client.xadd(stream, {"job": "evil.2"})
        client.hset("orb:job:evil.3", mapping={"state": "nonsense", "deadline_ms": FAR})
        client.xadd(stream, {"job": "evil.3"})
        client.set("orb:job:evil.4", "a string, not a hash")
        client.xadd(stream, {"job": "evil.4"})
        # Claimable, but its payload is not what a server writes.
        for jid, payload in (("evil.5", "{not json"), ("evil.6", '{"limits": [1]}'),
                             ("evil.7", '{"limits": {"idleGrace": "long"}}'),
                             ("evil.8", '{"iceServers": 7}')):
            client.hset(f"orb:job:{jid}", mapping={
                "state": "queued", "deadline_ms": FAR, "created_ms": "1", "attempt": "0",
                "payload": payload, "room": "garbage-room", "session": "s"})
            client.xadd(stream, {"job": jid})
        # A "worker" whose load is not a number, and one that is not a hash.
        client.hset("orb:worker:ghost", mapping={"free": "many", "draining": "maybe"})
        client.set("orb:worker:ghost2", "not a hash")
        client.sadd("orb:workers", "ghost", "ghost2")
    finally:
        client.close()


def test_garbage_in_redis_costs_nothing_but_itself(fleet: Fleet,
                                                   redis_proc: RedisProcess) -> None:
    server = fleet.start_server()
    worker = fleet.start_worker(capacity=2)
    _inject(redis_proc)

    async def scenario() -> None:
        # The worker reads and skips every bad entry, and a lease later (3 s) would have
        # reclaimed whatever it left pending.
        await asyncio.sleep(5.0)
        coaches = [Coach(fleet.ws_url, f"after-garbage-{i}") for i in range(2)]
        try:
            for coach in coaches:
                await coach.start()
            for coach in coaches:  # both slots still free: nothing leaked
                await coach.wait_until(lambda coach=coach: bool(coach.orbs_present()), 15,
                                       f"the orb of {coach.room_id}")
                assert coach.errors() == []
        finally:
            await asyncio.gather(*(coach.close() for coach in coaches))

    run(scenario, 60)
    # Each bad entry was skipped once and acknowledged: none comes back after a lease.
    log = worker.log.text()
    for jid in ("evil.1", "evil.2", "evil.4"):
        assert log.count(f"job '{jid}' skipped: malformed record") == 1, log[-3000:]
    for jid in ("evil.5", "evil.6", "evil.7", "evil.8"):
        assert log.count(f"job {jid}: malformed payload") == 1, log[-3000:]
    assert "Redis unusable" not in log
    assert worker.alive() and server.alive()
    # The server's fleet view counts the one real worker, not the ghosts, and never took
    # Redis for down over them.
    fleet.wait_metrics({"signaling_orb_workers_alive": 1.0}, timeout=5)
    assert "unusable" not in server.log.text(), server.log.text()[-3000:]
    fleet.wait_workers(lambda alive: worker_id_of(worker) in alive, 5)
    assert fleet.get_json("/healthz")["status"] == "ok"
    assert "Traceback" not in worker.log.text(), worker.log.text()[-3000:]
    assert "Traceback" not in server.log.text(), server.log.text()[-3000:]


def test_a_frozen_redis_delays_orbs_but_no_join(fleet: Fleet, redis_proc: RedisProcess) -> None:
    server = fleet.start_server(dispatch_timeout=15.0)
    worker = fleet.start_worker(capacity=2)

    async def scenario() -> None:
        before = Coach(fleet.ws_url, "before-freeze")
        during = Coach(fleet.ws_url, "during-freeze")
        try:
            await before.start()
            await before.wait_until(lambda: bool(before.orbs_present()), 15, "the first orb")
            assert redis_proc.proc is not None
            redis_proc.proc.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                await during.start()
                await during.wait_until(
                    lambda: any(m.get("type") == "peer-discovery" for _, m in during.messages),
                    2, "the join answered while Redis is frozen")
                assert time.monotonic() - started < 1.0, "a join waited for Redis"
                await asyncio.sleep(4.0)  # past a lease (3 s) and the first enqueue's timeout
            finally:
                redis_proc.proc.send_signal(signal.SIGCONT)
            await during.wait_until(lambda: bool(during.orbs_present()), 15,
                                    "the orb once Redis runs again")
            await asyncio.sleep(2.0)
            assert [k for _, k, _ in before.orb_events()] == ["joined"], before.orb_events()
            for coach in (before, during):
                assert coach.most_orbs_at_once() == 1, coach.orb_events()
                assert coach.errors() == [], (coach.room_id, coach.errors())
        finally:
            await asyncio.gather(before.close(), during.close())

    run(scenario, 60)
    assert worker.alive() and server.alive()
    assert "Traceback" not in worker.log.text() + server.log.text()

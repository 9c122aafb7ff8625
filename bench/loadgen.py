"""Load generator for any server of docs/protocol.md: join storm, relay, paced relay, idle.

Runs in its own process against a server on loopback and prints one JSON line per scenario.
Given ``--server-pid`` it reads the server's CPU time and RSS from /proc, so servers are compared
on **server CPU per message and per join** and on bytes per idle connection, not only on
throughput (on two cores the load generator saturates first). Every scenario is bounded in
connections and in time; the generator refuses any host that is not loopback.

    python bench/loadgen.py --url ws://127.0.0.1:3000 --server-pid 1234 --scenario relay
    python bench/loadgen.py --url ws://127.0.0.1:3000 --smoke    # seconds: does it run? (CI)

Scenarios (defaults are the benchmark's real settings):
- ``join-storm``: 100 rooms x 3 connections open, then all 300 joins sent at once; joins/s,
  join -> peer-discovery p50/p99, server CPU per join, and the peer lists and ``user-joined`` /
  ``shouldCreateOffer`` of every room checked against §4-§5.
- ``relay``: 20 rooms x 3; every participant sends ~200-byte ``ice-candidate`` messages with
  ``toId`` to both others, alternately, keeping 32 of its messages in flight, for 10 s;
  delivered/s, latency p50/p99, server CPU per delivered message, and lost / misrouted /
  reordered / corrupted counts (all must be 0).
- ``paced``: the same rooms, 10,000 messages/s in total spread over every pair; latency p99 and
  server CPU per message at a fixed rate. ``--arrivals poisson`` (the default): every
  connection sends on its own Poisson process, as browsers do; the run checks its own sends
  (bench/arrivals.py) and is void when they clumped. ``--arrivals tick``: all sends in 1 ms
  ticks, the model of the figures before 2026-12-06.
- ``churn``: participants arrive at random (50/s, one Poisson process) into rooms of at most
  three, stay an exponential while (mean 3 s), send a few broadcast ``ice-candidate`` messages
  and close; server CPU per participant lifecycle, join -> peer-discovery p50/p99.
- ``idle``: 3,000 joined connections (rooms of 3) held open; server RSS bytes per connection.
  Point it at a freshly started server: RSS only tells the truth from a clean start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import heapq
import ipaddress
import json
import math
import os
import random
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import _arrivals as arrivals
import _procstat
import orjson
from _participants import (
    Member,
    close_all,
    join_errors,
    make_rooms,
    noop_handler,
    now_ns,
    open_all,
    percentile,
    record_join_messages,
)
from _wsclient import connect

from signaling_core.wire import Field, WebRtcField

CANDIDATE = (
    "candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.5 "
    "rport 54321 generation 0 ufrag 4ZcD network-cost 999"
)


class Server:
    """The observed server: its URL, and its /proc figures when its pid is known."""

    def __init__(self, url: str, pid: int | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "http") or parts.hostname is None or parts.port is None:
            raise SystemExit(f"expected ws://HOST:PORT, got {url!r}")
        host = parts.hostname
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise SystemExit(f"refusing non-loopback host {host!r}: benchmarks stay on loopback")
        self.url = url
        self.host = host
        self.port = parts.port
        self.pid = pid

    def cpu(self) -> float | None:
        return _procstat.cpu_seconds(self.pid) if self.pid else None

    def rss(self) -> int | None:
        return _procstat.rss_bytes(self.pid) if self.pid else None


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Keep the collector out of measured phases (it would pause the generator, not the server)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def ms(ns: float | None) -> float | None:
    return None if ns is None else round(ns / 1e6, 3)


def per(numerator: float | None, denominator: float, scale: float = 1.0) -> float | None:
    if numerator is None or denominator <= 0:
        return None
    return round(numerator / denominator * scale, 3)


def delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


# -- join storm ---------------------------------------------------------------------------------
async def join_storm(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[int] = []
    cpu_join = 0.0
    cpu_connect = 0.0
    cpu_close = 0.0
    elapsed_ns = 0
    joins = 0
    problems: list[str] = []
    for rnd in range(-args.warmup_rounds, args.rounds):
        rooms = make_rooms(f"js{os.getpid()}r{rnd + args.warmup_rounds}", args.rooms)
        members = [m for room in rooms for m in room]
        c0 = server.cpu()
        await open_all(server.host, server.port, members, args.connect_concurrency)
        c1 = server.cpu()
        expected_user_joined = sum(len(r) * (len(r) - 1) // 2 for r in rooms)
        done = asyncio.Event()
        pending = {"pd": len(members), "uj": expected_user_joined}

        def counting(member: Member, payload: bytes, pending: dict[str, int] = pending,
                     done: asyncio.Event = done) -> None:
            peers_before = member.peers
            joined_before = len(member.user_joined)
            record_join_messages(member, payload)
            if peers_before is None and member.peers is not None:
                pending["pd"] -= 1
            pending["uj"] -= len(member.user_joined) - joined_before
            if pending["pd"] <= 0 and pending["uj"] <= 0:
                done.set()

        for m in members:
            m.handler = counting
        with no_gc():
            c2 = server.cpu()
            t0 = now_ns()
            for m in members:
                m.send_join()
            try:
                await asyncio.wait_for(done.wait(), args.timeout)
            except TimeoutError:
                problems.append(f"round {rnd}: timed out waiting, missing {pending}")
            t1 = now_ns()
            c3 = server.cpu()
        for room in rooms:
            problems.extend(join_errors(room))
        if rnd >= 0:  # warm-up rounds are checked but not measured
            latencies.extend(m.peer_discovery_ns - m.join_sent_ns for m in members if m.peers)
            joins += len(members)
            elapsed_ns += t1 - t0
        if rnd >= 0 and c0 is not None and c1 is not None and c2 is not None and c3 is not None:
            cpu_connect += c1 - c0
            cpu_join += c3 - c2
        for m in members:
            m.handler = noop_handler
        c4 = server.cpu()
        await close_all(members)
        await asyncio.sleep(0.3)  # let the server finish the departures outside the window
        c5 = server.cpu()
        if rnd >= 0 and c4 is not None and c5 is not None:
            cpu_close += c5 - c4
    latencies.sort()
    has_cpu = server.pid is not None
    return {
        "joins": joins,
        "rounds": args.rounds,
        "warmup_rounds": args.warmup_rounds,
        "joins_per_s": per(joins, elapsed_ns / 1e9),
        "join_to_peer_discovery_p50_ms": ms(percentile(latencies, 50)),
        "join_to_peer_discovery_p99_ms": ms(percentile(latencies, 99)),
        "server_cpu_per_join_us": per(cpu_join if has_cpu else None, joins, 1e6),
        "server_cpu_per_connect_us": per(cpu_connect if has_cpu else None, joins, 1e6),
        # A participant's whole life in the storm: connect (handshake), join, close.
        "server_cpu_per_lifecycle_us": per(cpu_connect + cpu_join + cpu_close if has_cpu
                                           else None, joins, 1e6),
        "join_errors": len(problems),
        "join_error_samples": problems[:5],
    }


#: The load generator's event loops. It shares the machine's cores with the server it measures,
#: and at 8,000 Poisson sends/s the standard loop's turn is long enough that sends due during a
#: burst of received messages leave together (the run's own check voids it); uvloop's turn is
#: cheaper. Every server is driven by the same loop, so the comparison stays side by side.
LOOPS = ("uvloop", "asyncio")


# -- relay and paced relay ----------------------------------------------------------------------
class RelayRun:
    """Sends and checks the relayed messages of the relay scenarios.

    Each message carries the sender's per-target sequence number and its send time, so the
    receiver can measure latency and check order; the sender of a message is found from the
    ``fromId`` the server set, never from anything the generator kept on the side.
    """

    def __init__(self, rooms: list[list[Member]], window: int) -> None:
        self.members = [m for room in rooms for m in room]
        self.by_id = {m.user_id: m for m in self.members}
        self.window = window
        self.pumping = False
        self.latencies: list[int] = []
        self.misrouted = 0
        self.reordered = 0
        self.corrupted = 0
        self.other = 0
        self.errors = 0
        self.error_codes: dict[str, int] = {}
        for room in rooms:
            for m in room:
                m.targets = [o for o in room if o is not m]
                m.prefixes = [
                    b'{"type":"ice-candidate","toId":"' + o.user_id.encode()
                    + b'","candidate":{"candidate":"' + CANDIDATE.encode()
                    + b'","sdpMid":"0","sdpMLineIndex":0},"seq":%d,"ts":%d}'
                    for o in m.targets
                ]
                m.sent_to = [0] * len(m.targets)
                m.handler = self.on_message

    def send(self, m: Member, i: int, stamp: int) -> None:
        seq = m.sent_to[i]
        m.sent_to[i] = seq + 1
        m.inflight += 1
        assert m.client is not None
        m.client.send_text(m.prefixes[i] % (seq, stamp))

    def pump(self, m: Member) -> None:
        """Keep `window` of this sender's messages in flight, alternating its targets."""
        n = len(m.targets)
        while m.inflight < self.window:
            i = m.turn
            m.turn = (i + 1) % n
            self.send(m, i, now_ns())

    def on_message(self, member: Member, payload: bytes) -> None:
        arrived = now_ns()
        try:
            msg = orjson.loads(payload)
            sender = self.by_id[msg[Field.FROM_ID]]
            seq: int = msg["seq"]
            sent: int = msg["ts"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.other_message(payload)
            return
        if (msg.get(Field.TYPE) != "ice-candidate" or msg.get(Field.TO_ID) != member.user_id
                or sender.room_id != member.room_id):
            self.misrouted += 1
        elif msg.get(Field.CANDIDATE, {}).get(WebRtcField.CANDIDATE) != CANDIDATE:
            self.corrupted += 1
        last = member.last_seq.get(sender.user_id, -1)
        if seq <= last:
            self.reordered += 1
        else:
            member.last_seq[sender.user_id] = seq
        member.received_from[sender.user_id] = member.received_from.get(sender.user_id, 0) + 1
        self.latencies.append(arrived - sent)
        sender.inflight -= 1
        if self.pumping:
            self.pump(sender)

    def other_message(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
            kind = msg.get(Field.TYPE)
        except (orjson.JSONDecodeError, AttributeError):
            msg, kind = {}, None
        if kind == "error":
            self.errors += 1
            code = str(msg.get(Field.CODE))
            self.error_codes[code] = self.error_codes.get(code, 0) + 1
        else:
            self.other += 1

    def in_flight(self) -> int:
        return sum(m.inflight for m in self.members)

    def close_codes(self) -> dict[str, int]:
        """How the connections that the server closed during the run were closed."""
        codes: dict[str, int] = {}
        for m in self.members:
            if m.closed_code is not None:
                codes[str(m.closed_code)] = codes.get(str(m.closed_code), 0) + 1
        return codes

    def counts(self) -> dict[str, int]:
        """Per (sender, receiver) pair the stream is ordered, so the newest sequence number
        received splits what is missing: before it, lost (a later message overtook it, or it
        never came); after it, still undelivered when the drain gave up (a slow server, or a
        dropped tail: either way it must be 0)."""
        sent = lost = duplicated = undelivered = 0
        for m in self.members:
            for i, target in enumerate(m.targets):
                got = target.received_from.get(m.user_id, 0)
                reached = target.last_seq.get(m.user_id, -1) + 1
                sent += m.sent_to[i]
                lost += max(0, reached - got)
                duplicated += max(0, got - reached)
                undelivered += m.sent_to[i] - reached
        return {
            "sent": sent,
            "delivered": len(self.latencies),
            "lost": lost,
            "undelivered": undelivered,
            "misrouted": self.misrouted,
            "reordered": self.reordered,
            "duplicated": duplicated,
            "corrupted": self.corrupted,
            "errors": self.errors,
            "other_messages": self.other,
            "disconnects": sum(1 for m in self.members if m.closed_code is not None),
        }


async def drain(run: RelayRun, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while run.in_flight() > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


async def setup_relay(server: Server, args: argparse.Namespace, tag: str) -> RelayRun:
    rooms = make_rooms(f"{tag}{os.getpid()}", args.rooms)
    members = [m for room in rooms for m in room]
    await open_all(server.host, server.port, members, args.connect_concurrency, join=True)
    await asyncio.sleep(0.2)  # let the last user-joined messages arrive before rewiring
    return RelayRun(rooms, args.window)


def relay_report(run: RelayRun, cpu: float | None, elapsed_ns: int) -> dict[str, Any]:
    counts = run.counts()
    run.latencies.sort()
    lat = run.latencies
    return {
        **counts,
        "delivered_per_s": per(counts["delivered"], elapsed_ns / 1e9),
        "latency_p50_ms": ms(percentile(lat, 50)),
        "latency_p99_ms": ms(percentile(lat, 99)),
        "latency_max_ms": ms(lat[-1] if lat else None),
        "server_cpu_per_msg_us": per(cpu, counts["delivered"], 1e6),
        "server_cpu_s": None if cpu is None else round(cpu, 4),
        "error_codes": run.error_codes,
        "close_codes": run.close_codes(),
    }


async def relay(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    run = await setup_relay(server, args, "rl")
    with no_gc():
        c0 = server.cpu()
        t0 = now_ns()
        run.pumping = True
        for m in run.members:
            run.pump(m)
        await asyncio.sleep(args.duration)
        run.pumping = False
        await drain(run, args.drain)
        t1 = now_ns()
        c1 = server.cpu()
    report = relay_report(run, delta(c1, c0), t1 - t0)
    await close_all(run.members)
    return {"window": args.window, "duration_s": args.duration, **report}


async def send_ticks(run: RelayRun, args: argparse.Namespace, t0: int, end: int,
                     sends: list[list[int]], lags: list[int]) -> None:
    """The tick model: every ``--tick-ms`` the messages due leave, consecutive ones from
    different senders, so one tick's messages spread over connections and leave together."""
    pairs = [(index, i) for i in range(2) for index in range(len(run.members))]
    tick = args.tick_ms / 1000
    k = 0
    while True:
        now = now_ns()
        if now >= end:
            return
        due = (now - t0) * args.rate // 1_000_000_000 + 1
        if k < due:
            lags.append(now - (t0 + k * 1_000_000_000 // args.rate))
        while k < due:
            index, i = pairs[k % len(pairs)]
            run.send(run.members[index], i, now)
            sends[index].append(now)
            k += 1
        await asyncio.sleep(tick)


async def send_poisson(run: RelayRun, args: argparse.Namespace, t0: int, end: int,
                       sends: list[list[int]], lags: list[int]) -> None:
    """The Poisson model: each connection sends on its own Poisson process (its own random
    stream, rate/connections), alternating its targets. Far from the next send the loop
    sleeps; close to it, it only yields (a timer would round the wait to a millisecond and
    clump the sends back into ticks)."""
    members = run.members
    rate_ns = args.rate / len(members) / 1e9
    streams = [random.Random(f"{args.seed}/{index}") for index in range(len(members))]
    heap = [(t0 + int(streams[index].expovariate(rate_ns)), index)
            for index in range(len(members))]
    heapq.heapify(heap)
    while True:
        now = now_ns()
        if now >= end:
            return
        while heap[0][0] <= now:
            due, index = heapq.heappop(heap)
            m = members[index]
            i = m.turn
            m.turn = (i + 1) % len(m.targets)
            stamp = now_ns()
            run.send(m, i, stamp)
            sends[index].append(stamp)
            lags.append(stamp - due)
            heapq.heappush(heap, (due + int(streams[index].expovariate(rate_ns)), index))
        wait = heap[0][0] - now_ns()
        await asyncio.sleep((wait - 1_000_000) / 1e9 if wait > 2_000_000 else 0)


ARRIVALS = {"tick": send_ticks, "poisson": send_poisson}


async def paced(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    run = await setup_relay(server, args, "pc")
    sends: list[list[int]] = [[] for _ in run.members]
    lags: list[int] = []
    with no_gc():
        c0 = server.cpu()
        t0 = now_ns()
        await ARRIVALS[args.arrivals](run, args, t0, t0 + int(args.duration * 1e9), sends, lags)
        await drain(run, args.drain)
        t1 = now_ns()
        c1 = server.cpu()
    report = relay_report(run, delta(c1, c0), t1 - t0)
    checked = arrivals.check(sends, lags, args.rate,
                             judge=args.arrivals == "poisson" and not args.smoke)
    await close_all(run.members)
    result: dict[str, Any] = {
        "rate": args.rate,
        "arrivals": args.arrivals,
        "duration_s": args.duration,
        **report,
        **checked.report(),
    }
    if checked.void is not None:  # the figures are kept for reading, the run counts for nothing
        result["error"] = f"void run: {checked.void}"
    return result


# -- churn: participants who come and go at random --------------------------------------------
async def churn(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Participants arrive on one Poisson process (``--arrival-rate`` per second) into rooms
    of at most three (``--rooms`` of them to begin with, more when all are full), stay an
    exponential while (mean ``--stay`` s), send a few broadcast
    ``ice-candidate`` messages spread over their stay (``--relays-per-stay``), and close.
    Unlike the join storm's waves, nothing is synchronised: the server sees the join, the
    relays and the departures of real calls' comings and goings. Reported: server CPU per
    participant lifecycle (connect, join, its relays, close: the window's CPU over the
    lifecycles that finished in it), join -> peer-discovery p50/p99, and the arrivals' own
    CV of gaps (1 for Poisson)."""
    rng = random.Random(f"{args.seed}/churn")
    occupancy = dict.fromkeys((f"ch{os.getpid()}-{r}" for r in range(args.rooms)), 0)
    roles = {room: list(ROLES_BY_SEAT) for room in occupancy}
    latencies: list[int] = []
    arrivals_ns: list[int] = []
    counts = {"finished": 0, "failed": 0, "relays_sent": 0, "relays_received": 0}
    failures: list[str] = []

    def received(member: Member, payload: bytes) -> None:
        if b'"ice-candidate"' in payload:
            counts["relays_received"] += 1

    async def participant(index: int, room: str, role: str, ptype: str) -> None:
        member = Member(room, f"{room}-c{index}", role, ptype)
        try:
            member.client = await connect(server.host, server.port, f"/ws-simple/{room}", member)
            member.send_join()
            assert member.joined is not None
            await asyncio.wait_for(member.joined, args.timeout)
            latencies.append(member.peer_discovery_ns - member.join_sent_ns)
            member.handler = received
            # Capped, so that the window's end is not one straggler's long stay away.
            stay = min(rng.expovariate(1 / args.stay), 3 * args.stay)
            for _ in range(args.relays_per_stay):
                await asyncio.sleep(stay / args.relays_per_stay)
                member.client.send_text(CHURN_CANDIDATE)
                counts["relays_sent"] += 1
            await close_all([member], timeout=args.timeout)
            counts["finished"] += 1
        except (OSError, TimeoutError, ConnectionError) as exc:
            counts["failed"] += 1
            failures.append(f"{type(exc).__name__}: {exc}"[:200])
            if member.client is not None and not member.client.closed:
                member.client.close()
        finally:
            occupancy[room] -= 1
            roles[room].append((role, ptype))

    tasks: set[asyncio.Task[None]] = set()
    with no_gc():
        c0 = server.cpu()
        t0 = now_ns()
        end = t0 + int(args.duration * 1e9)
        due = t0
        index = 0
        while True:
            due += int(rng.expovariate(args.arrival_rate) * 1e9)
            if due >= end:
                break
            await asyncio.sleep(max(0, due - now_ns()) / 1e9)
            free = [room for room, n in occupancy.items() if n < 3]
            if not free:  # every call is full: a new one starts
                room = f"ch{os.getpid()}-{len(occupancy)}"
                occupancy[room], roles[room] = 0, list(ROLES_BY_SEAT)
                free = [room]
            room = rng.choice(free)
            occupancy[room] += 1
            role, ptype = roles[room].pop(0)
            arrivals_ns.append(now_ns())
            task = asyncio.create_task(participant(index, room, role, ptype))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        if tasks:
            await asyncio.wait(set(tasks), timeout=args.timeout + 10 * args.stay)
        t1 = now_ns()
        c1 = server.cpu()
    for task in tasks:
        task.cancel()
    latencies.sort()
    cv = arrivals.coefficient_of_variation(arrivals_ns)
    return {
        "arrival_rate": args.arrival_rate,
        "stay_s": args.stay,
        "participants": index,
        **counts,
        "failures": failures[:5],
        "arrivals_cv": None if cv is None else round(cv, 3),
        "join_to_peer_discovery_p50_ms": ms(percentile(latencies, 50)),
        "join_to_peer_discovery_p99_ms": ms(percentile(latencies, 99)),
        "server_cpu_per_lifecycle_us": per(delta(c1, c0), counts["finished"], 1e6),
        "elapsed_s": round((t1 - t0) / 1e9, 3),
        **({"error": f"{counts['failed']} participants failed"} if counts["failed"] else {}),
    }


CHURN_CANDIDATE = (
    b'{"type":"ice-candidate","candidate":{"candidate":"' + CANDIDATE.encode()
    + b'","sdpMid":"0","sdpMLineIndex":0}}'
)
#: A room's seats in the order they are given out (a coach, a client, an AI orb).
ROLES_BY_SEAT = (("coach", "human"), ("client", "human"), ("ai", "ai"))


# -- idle ---------------------------------------------------------------------------------------
async def idle(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n = args.connections
    rooms = make_rooms(f"id{os.getpid()}", math.ceil(n / 3))
    members = [m for room in rooms for m in room][:n]
    rss0 = server.rss()
    c0 = server.cpu()
    t0 = now_ns()
    await open_all(server.host, server.port, members, args.connect_concurrency, join=True,
                   timeout=args.timeout)
    t1 = now_ns()
    c1 = server.cpu()
    for m in members:
        m.handler = noop_handler  # user-joined and anything later is not this scenario's business
    await asyncio.sleep(args.hold)
    rss1 = server.rss()
    still_open = sum(1 for m in members if m.client is not None and not m.client.closed)
    await close_all(members, timeout=args.timeout)
    return {
        "connections": n,
        "still_open": still_open,
        "connect_join_per_s": per(n, (t1 - t0) / 1e9),
        "server_rss_before": rss0,
        "server_rss_after": rss1,
        "server_bytes_per_conn": per(delta(rss1, rss0), n),
        "server_cpu_per_connect_join_us": per(delta(c1, c0), n, 1e6),
    }


SCENARIOS: dict[str, Callable[[Server, argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    "join-storm": join_storm,
    "relay": relay,
    "paced": paced,
    "idle": idle,
    "churn": churn,
}


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise SystemExit(f"need {needed} file descriptors, the hard limit is {hard}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--url", required=True, help="server base URL, ws://127.0.0.1:PORT")
    p.add_argument("--server-pid", type=int, help="read the server's CPU and RSS from /proc")
    p.add_argument("--scenario", action="append", choices=[*SCENARIOS, "all"],
                   help="repeatable; default all")
    p.add_argument("--label", default="", help="copied into every output line")
    p.add_argument("--rooms", type=int, default=None,
                   help="rooms of 3 (join-storm: 100, relay/paced: 20)")
    p.add_argument("--rounds", type=int, default=3, help="join-storm rounds, fresh rooms each")
    p.add_argument("--warmup-rounds", type=int, default=1, help="join-storm rounds not measured")
    p.add_argument("--duration", type=float, default=10.0, help="relay/paced seconds")
    p.add_argument("--window", type=int, default=32, help="relay: messages in flight per sender")
    p.add_argument("--rate", type=int, default=10_000, help="paced: messages/s in total")
    p.add_argument("--arrivals", choices=arrivals.MODELS, default="poisson",
                   help="paced: each connection on its own Poisson process (default), or all "
                        "in --tick-ms ticks")
    p.add_argument("--seed", default="loadgen", help="paced poisson: the random streams' seed")
    p.add_argument("--loop", choices=LOOPS, default="uvloop",
                   help="the generator's own event loop: uvloop (default: a cheaper loop turn, so "
                        "Poisson sends leave on time) or the standard asyncio loop")
    p.add_argument("--tick-ms", type=float, default=1.0, help="paced: send tick (tick model)")
    p.add_argument("--connections", type=int, default=3000, help="idle: connections")
    p.add_argument("--arrival-rate", type=float, default=50.0,
                   help="churn: participants arriving per second (one Poisson process)")
    p.add_argument("--stay", type=float, default=3.0,
                   help="churn: mean seconds a participant stays (at most 3x that)")
    p.add_argument("--relays-per-stay", type=int, default=5,
                   help="churn: broadcast ice-candidates each participant sends while there")
    p.add_argument("--hold", type=float, default=2.0, help="idle: seconds held before RSS")
    p.add_argument("--connect-concurrency", type=int, default=64)
    p.add_argument("--drain", type=float, default=30.0,
                   help="seconds to wait for messages still in flight when sending stops")
    p.add_argument("--timeout", type=float, default=120.0, help="bound on each phase")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, whatever else is given (3 rooms, 1 round, 0.5 s relays, 30 "
                        "idle connections): checks that the bench runs (CI), not the figures")
    args = p.parse_args(argv)
    if args.smoke:
        args.rooms, args.rounds, args.warmup_rounds, args.duration = 3, 1, 0, 0.5
        args.rate, args.connections, args.hold, args.drain, args.timeout = 600, 30, 0.2, 5.0, 30.0
        args.arrival_rate, args.stay, args.relays_per_stay = 20.0, 0.3, 2
    if args.rooms is not None and not 1 <= args.rooms <= 2000:
        p.error("--rooms must be 1..2000")
    if not 1 <= args.connections <= 10_000 or not 0 < args.duration <= 120:
        p.error("--connections must be 1..10000 and --duration 0..120")
    return args


async def run(args: argparse.Namespace) -> int:
    server = Server(args.url, args.server_pid)
    names = list(SCENARIOS) if not args.scenario or "all" in args.scenario else args.scenario
    failed = 0
    for name in names:
        scenario_args = argparse.Namespace(**vars(args))
        if scenario_args.rooms is None:
            scenario_args.rooms = 100 if name in ("join-storm", "churn") else 20
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        line: dict[str, Any] = {"scenario": name, "label": args.label, "url": args.url}
        try:
            line.update(await asyncio.wait_for(SCENARIOS[name](server, scenario_args),
                                               args.timeout + 2 * args.duration + 60))
        except Exception as exc:  # report and go on: one broken scenario is still a result
            line["error"] = f"{type(exc).__name__}: {exc}"
            failed += 1
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        line["loadgen_cpu_s"] = round(usage1.ru_utime + usage1.ru_stime
                                      - usage0.ru_utime - usage0.ru_stime, 3)
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit(args.connections + 256)
    if args.loop == "uvloop":
        import uvloop  # a bench dependency (the 'test' extra); imported only when chosen

        return uvloop.run(run(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

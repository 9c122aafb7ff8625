"""Throughput of the sans-IO core alone: targeted relays and join/leave cycles per second.

Each run is a fresh Python process pinned to one CPU, so runs do not share warm caches or a
heap, and the figure is what one core of the server can do for the protocol work alone (no
sockets, no framing). The clock handed to the core is the real elapsed time, and the core runs
with its default limits (rate limit included), as in the server.

* ``relay``: rooms of three (coach, client, orb); every participant sends browser-sized
  (~230 bytes) ``ice-candidate`` messages with ``toId`` to each of its two peers in turn, as
  ``bytes`` (what the server passes). Each result is checked: exactly one ``Send``, to the
  target.
* ``join-close``: into rooms that hold two participants, a connection opens, joins (getting
  ``peer-discovery``, the others ``user-joined``) and closes (the others get ``user-left``).
* ``join-leave-close``: the same with an explicit ``leave`` before the close.

Usage::

    python bench/core_bench.py                    # 5 runs of 2 s each per scenario
    python bench/core_bench.py --runs 3 --duration 1 --scenario relay
    python bench/core_bench.py --profile relay    # cProfile of one in-process run
    python bench/core_bench.py --smoke            # 1 run of 0.2 s: does it still run? (CI)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from signaling_core import (
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    Send,
    SignalingCore,
    TextReceived,
    TimeAdvanced,
    join_message,
)
from signaling_core.wire import AI, HUMAN, Field, MessageType, WebRtcField

TARGETS = {"relay": 250_000.0, "join-close": 50_000.0, "join-leave-close": 50_000.0}
UNITS = {"relay": "targeted relays/s", "join-close": "join+close cycles/s",
         "join-leave-close": "join+leave+close cycles/s"}
#: A host candidate as Chrome trickles it on a LAN.
CANDIDATE = {
    WebRtcField.CANDIDATE: "candidate:3169017464 1 udp 2113937151 192.168.1.23 54400 typ host "
                           "generation 0 ufrag EsJ1 network-id 1",
    WebRtcField.SDP_MID: "0",
    WebRtcField.SDP_M_LINE_INDEX: 0,
    WebRtcField.USERNAME_FRAGMENT: "EsJ1",
}
CHECK_EVERY = 4096
TICK_EVERY = 0.1


def _join(room: str, user_id: str, role: str) -> bytes:
    ptype = AI if role == AI else HUMAN
    return orjson.dumps(join_message(room, user_id, role, user_name=user_id.title(),
                                     participant_type=ptype))


def _populate(
    core: SignalingCore, rooms: int, roles: tuple[str, ...]
) -> dict[tuple[int, str], int]:
    """Open and join ``roles`` in every room; returns (room, role) -> connection id."""
    conns: dict[tuple[int, str], int] = {}
    conn_id = 0
    for room in range(rooms):
        for role in roles:
            conn_id += 1
            core.handle(ConnectionOpened(conn_id, f"room-{room}", 0.0))
            join = _join(f"room-{room}", f"{role}-{room}", role)
            out = core.handle(TextReceived(conn_id, join, 0.0))
            assert any(isinstance(c, Send) for c in out), out
            conns[(room, role)] = conn_id
    return conns


class _Clock:
    """Runs for ``duration`` seconds of this thread's CPU time.

    On a shared machine the wall clock mostly measures the other processes; the CPU time this
    thread got is what one core delivered. The core itself is handed real elapsed time.
    """

    def __init__(self, duration: float) -> None:
        self.start_cpu = time.thread_time()
        self.start_wall = time.perf_counter()
        self.end_cpu = self.start_cpu + duration

    def now(self) -> float:
        return time.perf_counter() - self.start_wall

    def done(self) -> bool:
        return time.thread_time() >= self.end_cpu

    def cpu(self) -> float:
        return time.thread_time() - self.start_cpu

    def wall(self) -> float:
        return time.perf_counter() - self.start_wall


def bench_relay(duration: float, rooms: int) -> tuple[int, _Clock]:
    core = SignalingCore(CoreConfig())
    roles = ("coach", "client", "ai")
    conns = _populate(core, rooms, roles)
    schedule: list[tuple[int, bytes, int]] = []
    for sender in roles:
        for target in roles:
            if sender == target:
                continue
            for room in range(rooms):
                msg = {Field.TYPE: MessageType.ICE_CANDIDATE.value,
                       Field.TO_ID: f"{target}-{room}", Field.CANDIDATE: CANDIDATE}
                schedule.append((conns[(room, sender)], orjson.dumps(msg), conns[(room, target)]))
    size = len(schedule[0][1])
    assert 200 <= size <= 260, size
    handle = core.handle
    received = TextReceived(0, b"", 0.0)  # filled in place per message, as the server does
    count = bad = 0
    clock = _Clock(duration)
    while True:
        received.now = clock.now()
        for sender_id, payload, target_id in schedule:
            received.conn_id, received.text = sender_id, payload
            out = handle(received)
            if len(out) != 1 or out[0].conn_id != target_id:
                bad += 1
        count += len(schedule)
        if clock.done():
            break
    if bad:
        raise SystemExit(f"relay: {bad} of {count} messages were not relayed as one Send "
                         "to their target (rate limit hit? use more --rooms)")
    return count, clock


def bench_join(duration: float, rooms: int, with_leave: bool) -> tuple[int, _Clock]:
    core = SignalingCore(CoreConfig())
    _populate(core, rooms, ("coach", "client"))
    joins = [(f"room-{r}", _join(f"room-{r}", f"guest-{r}", "observer")) for r in range(rooms)]
    leave = orjson.dumps({Field.TYPE: MessageType.LEAVE.value})
    handle = core.handle
    conn_id = 10 * rooms + 1
    count = bad = 0
    clock = _Clock(duration)
    next_tick = TICK_EVERY
    while True:
        now = clock.now()
        for room_id, join in joins:
            conn_id += 1
            handle(ConnectionOpened(conn_id, room_id, now))
            # peer-discovery, two user-joined and the session record
            if len(handle(TextReceived(conn_id, join, now))) != 4:
                bad += 1
            if with_leave and len(handle(TextReceived(conn_id, leave, now))) != 3:
                bad += 1
            # two user-left and the session record (none left after an explicit leave)
            if len(handle(ConnectionClosed(conn_id, now))) != (0 if with_leave else 3):
                bad += 1
        count += len(joins)
        if now >= next_tick:  # as the server's timer would: expire what is due
            handle(TimeAdvanced(now))
            next_tick = now + TICK_EVERY
        if clock.done():
            break
    if bad:
        raise SystemExit(f"join: {bad} unexpected results in {count} cycles")
    if core.connection_count != 2 * rooms:
        raise SystemExit("join: connections leaked")
    return count, clock


def run_scenario(scenario: str, duration: float, rooms: int) -> tuple[int, _Clock]:
    if scenario == "relay":
        return bench_relay(duration, rooms)
    return bench_join(duration, rooms, with_leave=scenario == "join-leave-close")


def _worker(scenario: str, duration: float, rooms: int, cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    run_scenario(scenario, min(duration, 0.3), rooms)  # warm-up, discarded
    count, clock = run_scenario(scenario, duration, rooms)
    cpu_s, wall_s = clock.cpu(), clock.wall()
    print(json.dumps({"scenario": scenario, "count": count, "cpu_seconds": cpu_s,
                      "wall_seconds": wall_s, "rate": count / cpu_s,
                      "wall_rate": count / wall_s}))


def _spawn(scenario: str, duration: float, rooms: int, cpu: int | None) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", scenario,
           "--duration", str(duration), "--rooms", str(rooms)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration * 10 + 60)
    if done.returncode != 0:
        raise SystemExit(f"{scenario} run failed:\n{done.stderr}{done.stdout}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _profile(scenario: str, duration: float, rooms: int) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_scenario, scenario, duration, rooms)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)


def _default_cpu() -> int | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Throughput of the signaling core, one core.")
    parser.add_argument("--scenario", action="append", choices=sorted(TARGETS),
                        help="repeatable; default: all")
    parser.add_argument("--runs", type=int, default=5, help="processes per scenario")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per run")
    parser.add_argument("--rooms", type=int, default=1000,
                        help="rooms in use (relay: 3 connections each, so that each stays "
                             "under the default per-connection rate limit)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin runs to")
    parser.add_argument("--profile", choices=sorted(TARGETS), help="cProfile one run in-process")
    parser.add_argument("--worker", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true",
                        help="1 run of 0.2 s per scenario, whatever else is given: checks that "
                             "the bench runs (CI), not the figures")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.duration = 1, 0.2
    if args.worker:
        _worker(args.worker, args.duration, args.rooms, args.cpu)
        return
    if args.profile:
        _profile(args.profile, args.duration, args.rooms)
        return
    cpu = args.cpu if args.cpu is not None else _default_cpu()
    scenarios = args.scenario or list(TARGETS)
    rows: list[tuple[str, list[dict[str, Any]]]] = []
    for scenario in scenarios:
        runs = [_spawn(scenario, args.duration, args.rooms, cpu) for _ in range(args.runs)]
        rows.append((scenario, runs))
    _print_table(rows, args, cpu)
    if args.smoke:
        print("(--smoke: one short run, so the figures above mean little)")


def _print_table(rows: list[tuple[str, list[dict[str, Any]]]], args: argparse.Namespace,
                 cpu: int | None) -> None:
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}"  # noqa: E731
    print(f"signaling_core, Python {sys.version.split()[0]}, {args.runs} runs x "
          f"{args.duration:g} s CPU, {args.rooms} rooms, pinned to CPU {cpu}; "
          "rates per CPU-second (wall-clock median in the last column)")
    print(f"| {'measure':26} | {'median':>9} | {'min':>9} | {'max':>9} | {'target':>9} | ok  "
          f"| {'wall median':>11} |")
    print(f"|{'-' * 28}|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|-----|{'-' * 12}:|")
    for scenario, runs in rows:
        rates = [r["rate"] for r in runs]
        median = statistics.median(rates)
        target = TARGETS[scenario]
        wall = statistics.median(r["wall_rate"] for r in runs)
        print(f"| {UNITS[scenario]:26} | {fmt(median):>9} | {fmt(min(rates)):>9} | "
              f"{fmt(max(rates)):>9} | {fmt(target):>9} | {'yes' if median >= target else 'NO':3} "
              f"| {fmt(wall):>11} |")


if __name__ == "__main__":
    main()

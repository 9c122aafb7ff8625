"""The session ledger's cost: join storm and relay with the ledger on and off, side by side.

Two ways to measure, both printing a markdown table of medians and the on/off ratio (target:
server CPU per join and per message with the ledger on <= 1.1x off):

    # the core and the ledger in this process, no sockets: the ledger's cost against the
    # cheapest possible join (the worst case for the ratio); a few seconds
    python bench/ledger_bench.py inprocess --runs 5

    # the real server (trio-server with and without a SQLite ledger) under bench/loadgen.py
    # (join storm, relay flat out, paced relay);
    # a fresh server per (run, scenario, setting), the order alternating from run to run
    python bench/ledger_bench.py server --runs 3 [--duration 5]

    # either, in seconds with tiny sizes, to check that it still runs (CI); no figures
    python bench/ledger_bench.py server --smoke

CPU is process CPU (every thread: the ledger's writer thread counts). For the server it is
read from /proc over the whole scenario (connects, joins, departures, and a settle time for
the writer to commit), not only the join window loadgen reports, because the ledger writes
after the join window closes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import trio

from signaling_core import (
    ConnectionClosed,
    ConnectionOpened,
    CoreConfig,
    SessionRecord,
    SignalingCore,
    TextReceived,
    join_message,
    orb_user_id,
)
from signaling_core.wire import Field, MessageType, WebRtcField
from trio_server.ledger import Ledger, open_ledger

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGET = 1.1


# -- in process ---------------------------------------------------------------------------------
class Sink:
    """Hands records to the ledger, or drops them (ledger off): the same call either way."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger
        self.records = 0

    def __call__(self, commands: list[Any]) -> None:
        for command in commands:
            if isinstance(command, SessionRecord):
                self.records += 1
                if self.ledger is not None:
                    self.ledger.record(command)


async def _storm(sink: Sink, rooms: int, rounds: int) -> tuple[int, int]:
    """Rooms of coach, client and ai join and then close; returns (joins, messages)."""
    core = SignalingCore(CoreConfig())
    conn = 0
    now = 0.0
    joins = 0
    for rnd in range(rounds):
        conns: list[int] = []
        for r in range(rooms):
            for role in ("coach", "client", "ai"):
                conn += 1
                now += 1e-4
                core.handle(ConnectionOpened(conn, f"r{rnd}-{r}", now))
                join = orjson.dumps(join_message(None, f"{role}-{r}", role))
                sink(core.handle(TextReceived(conn, join, now)))
                conns.append(conn)
                joins += 1
            if r % 50 == 0:
                await trio.sleep(0)  # the server's loop yields between reads, too
        for c in conns:
            now += 1e-4
            sink(core.handle(ConnectionClosed(c, now)))
        await trio.sleep(0)
    return joins, joins


async def _relay(sink: Sink, messages: int, status_every: int) -> tuple[int, int]:
    """20 rooms of 3 exchange ice-candidates; every ``status_every``-th is an orb status."""
    core = SignalingCore(CoreConfig(rate_limit_per_second=0))
    now = 0.0
    members: list[tuple[int, str, str]] = []  # (conn, room, userId)
    for r in range(20):
        for i, role in enumerate(("coach", "client", "ai")):
            conn = r * 3 + i + 1
            core.handle(ConnectionOpened(conn, f"room-{r}", now))
            user = orb_user_id(f"s{r}") if role == "ai" else f"{role}-{r}"
            sink(core.handle(TextReceived(conn, orjson.dumps(join_message(None, user, role)), now)))
            members.append((conn, f"room-{r}", user))
    payload = {WebRtcField.CANDIDATE: "candidate:1 1 udp 1 192.0.2.1 1 typ host",
               WebRtcField.SDP_MID: "0", WebRtcField.SDP_M_LINE_INDEX: 0}
    candidate = orjson.dumps({Field.TYPE: MessageType.ICE_CANDIDATE.value,
                              Field.TO_ID: "client-0", Field.CANDIDATE: payload})
    texts: dict[int, bytes] = {}
    for conn, _room, user in members:
        room = (conn - 1) // 3
        target = f"coach-{room}" if not user.startswith("coach") else f"client-{room}"
        texts[conn] = candidate.replace(b"client-0", target.encode())
    statuses = [orjson.dumps({Field.TYPE: MessageType.AI_STATUS.value, Field.STATUS: s,
                              Field.SESSION_ID: "x"})
                for s in ("listening", "thinking", "speaking")]
    for i in range(messages):
        now += 1e-5
        conn = members[i % len(members)][0]
        if status_every and i % status_every == 0:
            conn = (i // status_every % 20) * 3 + 3  # an orb
            sink(core.handle(TextReceived(conn, statuses[i % 3], now)))
        else:
            sink(core.handle(TextReceived(conn, texts[conn], now)))
        if i % 500 == 0:
            await trio.sleep(0)
    return 0, messages


async def _measure(db: str | None, scenario: Callable[[Sink], Any]) -> dict[str, float]:
    ledger = open_ledger(db) if db else None
    sink = Sink(ledger)
    async with trio.open_nursery() as nursery:
        if ledger is not None:
            await nursery.start(ledger.run)
        cpu0 = time.process_time()
        joins, messages = await scenario(sink)
        if ledger is not None:
            await ledger.wait_committed()  # the writer's work is part of the cost
        cpu = time.process_time() - cpu0
        nursery.cancel_scope.cancel()
    if ledger is not None:
        assert ledger.stats.dropped == 0 and ledger.stats.committed == sink.records
    return {"cpu_s": cpu, "joins": joins, "messages": messages, "records": sink.records}


def inprocess(args: argparse.Namespace) -> int:
    scenarios: dict[str, tuple[Callable[[Sink], Any], str]] = {
        "join-storm": (lambda s: _storm(s, 100, args.rounds), "joins"),
        "relay": (lambda s: _relay(s, args.messages, 0), "messages"),
        "relay+orb-status-1%": (lambda s: _relay(s, args.messages, 100), "messages"),
    }
    rows: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        for run in range(args.runs):
            order = ["off", "on"] if run % 2 == 0 else ["on", "off"]
            for name, (scenario, unit) in scenarios.items():
                for setting in order:
                    db = os.path.join(tmp, f"{name}-{run}.sqlite3") if setting == "on" else None
                    result = trio.run(_measure, db, scenario)
                    per_unit = result["cpu_s"] / result[unit] * 1e6
                    rows.setdefault((name, setting), []).append(per_unit)
                    print(f"run {run + 1} {name:20} ledger {setting:3}: {per_unit:7.2f} µs CPU "
                          f"per {unit[:-1]} ({result['records']} records)", file=sys.stderr)
    print(f"\nIn-process core + ledger (SQLite, WAL, synchronous=NORMAL), {args.runs} runs, "
          "median (min-max):\n")
    print(_table([(f"CPU per {'join' if n == 'join-storm' else 'message'}, {n} (µs)", n)
                  for n in scenarios], rows))
    return 0


# -- the real server ----------------------------------------------------------------------------
def server(args: argparse.Namespace) -> int:
    import _procstat
    from run_server_bench import ServerProcess, run_loadgen

    trio_server = shutil.which("trio-server", path=str(Path(sys.executable).parent))
    # The same flags as run_server_bench.py, the relay's rate limit raised for the load.
    base = [trio_server or "trio-server", "--log-level", "warning", "--max-participants", "8",
            "--rate-limit", "1000000", "--rate-limit-burst", "1000000"]
    extra = ["--duration", str(args.duration), "--rounds", str(args.rounds)]
    if args.smoke:
        extra.append("--smoke")  # loadgen's own tiny sizes
    rows: dict[tuple[str, str], list[float]] = {}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        for run in range(args.runs):
            order = ["off", "on"] if run % 2 == 0 else ["on", "off"]
            for scenario in args.scenario or ("join-storm", "relay", "paced"):
                for setting in order:
                    db = os.path.join(tmp, f"{scenario}-{run}.sqlite3") \
                        if setting == "on" else "none"
                    proc = ServerProcess(f"ledger-{setting}", [*base, "--db", db], Path(tmp))
                    try:
                        cpu0 = _procstat.cpu_seconds(proc.proc.pid)
                        result = run_loadgen(proc, scenario, extra, 300 + 3 * args.duration)
                        time.sleep(args.settle)  # let the ledger commit the departures
                        cpu = _procstat.cpu_seconds(proc.proc.pid) - cpu0
                    finally:
                        proc.stop()
                    if "error" in result:
                        failures += 1
                        print(f"run {run + 1} {scenario} {setting}: {result['error']}",
                              file=sys.stderr)
                        continue
                    if scenario == "join-storm":
                        joins = result["joins"] * (result["rounds"] + result["warmup_rounds"]) \
                            / result["rounds"]
                        measures = {"join_window": result["server_cpu_per_join_us"],
                                    "whole": cpu / joins * 1e6}
                    else:
                        measures = {"msg": result["server_cpu_per_msg_us"]}
                    for key, value in measures.items():
                        rows.setdefault((f"{scenario}:{key}", setting), []).append(value)
                    print(f"run {run + 1} {scenario:10} ledger {setting:3}: "
                          + json.dumps({k: round(v, 2) for k, v in measures.items()}),
                          file=sys.stderr)
                    if setting == "on":
                        sessions = _count_sessions(db)
                        print(f"    ledger rows: {sessions}", file=sys.stderr)
    print(f"\ntrio-server with --db none vs a SQLite ledger, {args.runs} runs "
          f"(relay {args.duration:g} s, join storm {args.rounds} rounds of 100 rooms x 3 "
          "+ 1 warm-up), median (min-max):\n")
    print(_table([
        ("server CPU per join, join window only (µs)", "join-storm:join_window"),
        ("server CPU per join, whole storm incl. connect/close/commit (µs)",
         "join-storm:whole"),
        ("server CPU per relayed message, relay flat out (µs)", "relay:msg"),
        ("server CPU per relayed message, paced 10k/s (µs)", "paced:msg"),
    ], rows))
    return 1 if failures else 0


def _count_sessions(db: str) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("sessions", "participations", "ledger_gaps")}
    finally:
        conn.close()


def _table(lines: list[tuple[str, str]], rows: dict[tuple[str, str], list[float]]) -> str:
    out = ["| figure | ledger off | ledger on | on/off | target |", "|---|---|---|---|---|"]
    for label, key in lines:
        off, on = rows.get((key, "off"), []), rows.get((key, "on"), [])
        if not off or not on:
            out.append(f"| {label} | - | - | - | <= {TARGET} |")
            continue
        ratio = statistics.median(on) / statistics.median(off)
        verdict = "ok" if ratio <= TARGET else "MISSED"
        out.append(f"| {label} | {_cell(off)} | {_cell(on)} | {ratio:.3f} | <= {TARGET} "
                   f"{verdict} |")
    return "\n".join(out)


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("mode", choices=["inprocess", "server"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3, help="join-storm rounds")
    p.add_argument("--messages", type=int, default=200_000, help="in-process relay messages")
    p.add_argument("--duration", type=float, default=5.0, help="server relay seconds")
    p.add_argument("--scenario", action="append", choices=["join-storm", "relay", "paced"],
                   help="server mode: repeatable; default all three")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds after a server scenario still counted (the writer commits)")
    p.add_argument("--smoke", action="store_true",
                   help="1 run with tiny sizes, whatever else is given: checks that the bench "
                        "runs (CI), not the figures")
    args = p.parse_args(argv)
    if args.smoke:
        args.runs, args.rounds, args.messages, args.duration, args.settle = 1, 1, 2_000, 0.5, 0.2
    if not 1 <= args.runs <= 20 or not 1 <= args.rounds <= 20 \
            or not 1_000 <= args.messages <= 2_000_000 or not 0 < args.duration <= 60:
        p.error("--runs 1..20, --rounds 1..20, --messages 1e3..2e6, --duration 0..60")
    rc = inprocess(args) if args.mode == "inprocess" else server(args)
    if args.smoke:
        print("\n(--smoke: tiny sizes, so the figures above mean nothing)")
    return rc


if __name__ == "__main__":
    sys.exit(main())

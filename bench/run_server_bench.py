"""Runs the Trio server and two baselines side by side and prints the comparison.

The baselines: ``baseline``, the `websockets` relay a Python developer would write in an
afternoon (``bench/baselines/websockets_relay.py``), and ``node``, our reconstruction of the
original system's Node/ws server (``bench/baselines/node_original``, see its README: the bench
copies its three files into a temporary directory and runs ``npm ci`` there; it says so, and
skips the column when ``node``/``npm`` is missing).

All servers are measured in the same run, by the same load generator, on the same machine, so
the ratios mean something even on a shared two-core box where absolute figures drift. Every
(run, scenario, server) gets a freshly started server process (RSS only tells the truth from a
clean start, and no scenario inherits another's garbage); the order of the servers rotates from
run to run so that a slow minute hurts all alike. Medians are reported, with the spread over
runs.

    python bench/run_server_bench.py --runs 5
    python bench/run_server_bench.py --quick            # short settings, to check the setup
    python bench/run_server_bench.py --smoke            # seconds: does it run? (CI)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _machine_load import LoadMeter

HERE = Path(__file__).resolve().parent
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
SCENARIOS = ("idle", "join-storm", "churn", "relay", "paced")
ZERO_COUNTS = ("lost", "undelivered", "misrouted", "reordered", "duplicated", "corrupted", "errors",
               "disconnects")

#: (label, scenario, metric, {baseline: target ratio trio/baseline}); lower is better.
TARGETS: list[tuple[str, str, str, dict[str, float]]] = [
    ("server CPU per relayed message, relay (µs)", "relay", "server_cpu_per_msg_us",
     {"baseline": 0.75, "node": 0.9, "before": 1.0}),
    ("server CPU per relayed message, paced (µs)", "paced", "server_cpu_per_msg_us",
     {"baseline": 0.75, "node": 1.0, "before": 1.0}),
    ("server CPU per join (µs)", "join-storm", "server_cpu_per_join_us",
     {"baseline": 1.0, "node": 1.0, "before": 1.0}),
    ("server CPU per participant: connect + join + close (µs)", "join-storm",
     "server_cpu_per_lifecycle_us", {"baseline": 1.0, "node": 1.0, "before": 1.0}),
    ("server CPU per participant lifecycle, churn (µs)", "churn",
     "server_cpu_per_lifecycle_us", {"baseline": 1.0, "node": 1.0, "before": 1.0}),
    ("idle server bytes per connection", "idle", "server_bytes_per_conn",
     {"baseline": 1.0, "node": 0.7, "before": 1.0}),
    ("paced relay p99 latency (ms)", "paced", "latency_p99_ms",
     {"baseline": 1.0, "node": 1.0, "before": 1.1}),
]
#: Our reconstruction of the original Node server (bench/baselines/node_original/README.md).
NODE_ORIGINAL = HERE / "baselines" / "node_original"
NODE_FILES = ("package.json", "package-lock.json", "server.mjs")
#: Stands for the port in a server command that takes it as an argument of its own.
PORT = "{port}"
FIGURES: list[tuple[str, str, str]] = [
    ("relay delivered/s", "relay", "delivered_per_s"),
    ("relay latency p50 (ms)", "relay", "latency_p50_ms"),
    ("relay latency p99 (ms)", "relay", "latency_p99_ms"),
    ("paced latency p50 (ms)", "paced", "latency_p50_ms"),
    ("paced delivered/s", "paced", "delivered_per_s"),
    ("joins/s (storm)", "join-storm", "joins_per_s"),
    ("join -> peer-discovery p50 (ms)", "join-storm", "join_to_peer_discovery_p50_ms"),
    ("join -> peer-discovery p99 (ms)", "join-storm", "join_to_peer_discovery_p99_ms"),
    ("churn: join -> peer-discovery p99 (ms)", "churn", "join_to_peer_discovery_p99_ms"),
    ("server CPU per connection handshake (µs)", "join-storm", "server_cpu_per_connect_us"),
    ("load generator CPU, relay (s)", "relay", "loadgen_cpu_s"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    """Run in the server child: 3,000 idle connections need more than the usual 1,024 fds."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ServerProcess:
    """One server started for one scenario, and stopped (SIGTERM, then SIGKILL) after it."""

    def __init__(self, name: str, command: Sequence[str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # The port is chosen here rather than with --port 0: a server quiet at --log-level
        # warning need not print its "listening on" line, and logging more would cost it CPU.
        port = free_port()
        argv = ([str(port) if part == PORT else part for part in command] if PORT in command
                else [*command, "--port", str(port)])
        self.proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=raise_fd_limit, env=env,
        )
        self.port = self._wait_listening(port, timeout=20.0)

    def _wait_listening(self, port: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self.log_path.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return port
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {self.log_tail()}")

    def log_tail(self, chars: int = 600) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def run_loadgen(server: ServerProcess, scenario: str, extra: Sequence[str],
                timeout: float) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "loadgen.py"), "--url", f"ws://127.0.0.1:{server.port}",
               "--server-pid", str(server.proc.pid), "--scenario", scenario,
               "--label", server.name, *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"scenario": scenario, "error": f"loadgen rc={done.returncode}: "
                f"{done.stderr.strip()[-400:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    if server.proc.poll() is not None:
        result["error"] = f"server died (rc={server.proc.returncode}): {server.log_tail()}"
    return result


def loadgen_args(args: argparse.Namespace) -> list[str]:
    out = ["--duration", str(args.duration), "--rounds", str(args.rounds),
           "--connections", str(args.connections)]
    out += ["--arrivals", args.arrivals]
    if args.smoke:
        return [*out, "--smoke"]
    if args.rate:
        out += ["--rate", str(args.rate)]
    return out


def median_and_spread(values: list[float]) -> tuple[float, float, float] | None:
    clean = [v for v in values if v is not None]
    if not clean:
        return None
    return statistics.median(clean), min(clean), max(clean)


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def cell(stats: tuple[float, float, float] | None) -> str:
    if stats is None:
        return "n/a"
    med, lo, hi = stats
    return f"{fmt(med)} ({fmt(lo)}-{fmt(hi)})"


def collect(results: list[dict[str, Any]], server: str, scenario: str, metric: str) -> list[Any]:
    return [r.get(metric) for r in results
            if r.get("label") == server and r.get("scenario") == scenario and "error" not in r]


def ratio_of(results: list[dict[str, Any]], trio: str, base: str, scenario: str,
             metric: str) -> float | None:
    b = median_and_spread(collect(results, base, scenario, metric))
    t = median_and_spread(collect(results, trio, scenario, metric))
    return t[0] / b[0] if b and t and b[0] else None


def per_run_ratios(results: list[dict[str, Any]], trio: str, bases: Sequence[str],
                   runs: int) -> list[str]:
    """Each target's ratio run by run (the two servers of one run ran back to back), so a
    target "in every round" can be read off, not only the medians."""
    if runs < 2:
        return []
    out = ["", "| ratio run by run | " + " | ".join(f"run {k + 1}" for k in range(runs)) + " |",
           "|" + "---|" * (runs + 1)]
    for label, scenario, metric, _ in TARGETS:
        for base in bases:
            row = []
            for run in range(runs):
                here = [r for r in results if r.get("run") == run]
                t = collect(here, trio, scenario, metric)
                b = collect(here, base, scenario, metric)
                row.append(f"{t[0] / b[0]:.2f}x" if t and b and t[0] and b[0] else "n/a")
            out.append(f"| {label}, trio/{base} | " + " | ".join(row) + " |")
    return out


def report(results: list[dict[str, Any]], servers: Sequence[str], runs: int,
           settings: str) -> str:
    """One column per server; a ratio (trio / that server) and its target per baseline."""
    trio = "trio" if "trio" in servers else servers[-1]
    bases = [s for s in servers if s != trio]
    out = [f"Side by side, {runs} run(s) each, fresh server per scenario; {settings}.",
           "Cells: median (min-max over runs). Ratio = median(trio) / median(that baseline).", ""]
    head = ["target", *servers] + [f"trio/{b}" for b in bases] + ["met"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, scenario, metric, targets in TARGETS:
        cells = [cell(median_and_spread(collect(results, s, scenario, metric))) for s in servers]
        ratios, verdicts = [], []
        for base in bases:
            ratio = ratio_of(results, trio, base, scenario, metric)
            target = targets.get(base)
            if ratio is None or target is None:
                ratios.append("n/a")
                continue
            ratios.append(f"{ratio:.2f}x (≤ {target}x)")
            verdicts.append("yes" if ratio <= target else "NO")
        met = "n/a" if not verdicts else ("yes" if all(v == "yes" for v in verdicts) else "NO")
        out.append("| " + " | ".join([label, *cells, *ratios, met]) + " |")
    for name in servers:
        totals = {c: sum(v or 0 for s in ("relay", "paced") for v in collect(results, name, s, c))
                  for c in ZERO_COUNTS}
        totals["join_errors"] = sum(v or 0 for v in collect(results, name, "join-storm",
                                                            "join_errors"))
        bad = {k: v for k, v in totals.items() if v}
        out.append(f"| {', '.join(totals)}: {name}, all runs | {bad if bad else '0'} "
                   + "| " * (len(head) - 3) + f"| {'yes' if not bad else 'NO'} |")
    out += per_run_ratios(results, trio, bases, runs)
    head = ["other figures", *servers] + [f"trio/{b}" for b in bases]
    out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, scenario, metric in FIGURES:
        cells = [cell(median_and_spread(collect(results, s, scenario, metric))) for s in servers]
        ratios = []
        for base in bases:
            ratio = ratio_of(results, trio, base, scenario, metric)
            ratios.append("n/a" if ratio is None else f"{ratio:.2f}x")
        out.append("| " + " | ".join([label, *cells, *ratios]) + " |")
    errors = [r for r in results if "error" in r]
    if errors:
        out += ["", "Failed measurements:"]
        out += [f"- {r.get('label')} {r.get('scenario')}: {r['error'][:300]}" for r in errors]
    return "\n".join(out)


def install_node_original(source: Path, into: Path) -> list[str] | None:
    """The Node original's command, after ``npm ci`` in a temporary copy (the lock file pins
    ``ws``); None (and a line saying why) when node, npm or the source directory is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None or not (source / "server.mjs").is_file():
        print(f"[bench] no node column: node={node} npm={npm} source={source}", file=sys.stderr)
        return None
    into.mkdir(parents=True, exist_ok=True)
    for name in NODE_FILES:
        shutil.copyfile(source / name, into / name)
    print(f"[bench] node column: npm ci in {into} (from {source})", file=sys.stderr)
    done = subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=into,
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        print(f"[bench] no node column: npm ci failed: {done.stderr[-300:]}",
              file=sys.stderr)
        return None
    return [node, str(into / "server.mjs"), PORT]


def variant_arg(text: str) -> tuple[str, Path]:
    """``NAME=SRC`` of ``--variant``."""
    name, sep, src = text.partition("=")
    if not sep or not name or not src or name in ("baseline", "node", "before", "trio"):
        raise argparse.ArgumentTypeError(f"expected NAME=SRC with a new NAME, got {text!r}")
    return name, Path(src)


def server_commands(args: argparse.Namespace, tmp: Path) -> dict[str, list[str]]:
    trio = shutil.which("trio-server", path=str(Path(sys.executable).parent)) or "trio-server"
    commands = {
        "baseline": [sys.executable, str(HERE / "baselines" / "websockets_relay.py")],
        # The per-connection rate limit (default 200 msg/s) guards against abusive clients; the
        # relay scenario's senders exceed it on purpose. It is raised, not turned off, so the
        # token-bucket check still runs (and costs) on every message, as in production.
        # The session ledger is off like the baseline's (it has none); bench/ledger_bench.py
        # measures its cost on its own.
        "trio": [trio, "--log-level", "warning", "--max-participants", "8", "--db", "none",
                 "--rate-limit", "1000000", "--rate-limit-burst", "1000000", *args.trio_arg],
    }
    if args.before_src is not None:
        # The same server from another checkout's sources (PYTHONPATH comes before the
        # installed package): before/after figures of one change, in one interleaved run.
        env = shutil.which("env") or "/usr/bin/env"
        commands["before"] = [env, f"PYTHONPATH={args.before_src}", *commands["trio"]]
    for name, src in args.variant:
        # More columns of the same kind (e.g. main's hub beside this branch's), same rounds.
        env = shutil.which("env") or "/usr/bin/env"
        commands[name] = [env, f"PYTHONPATH={src}", *commands["trio"]]
    if "node" in args.servers:
        node = install_node_original(args.node_original, tmp / "node-original")
        if node is not None:
            commands["node"] = node
    return commands


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=5,
                   help="interleaved runs (rounds) of every scenario on every server")
    p.add_argument("--max-load", type=float, default=1.5,
                   help="a run during which other processes used more cores than this is run "
                        "again (see --max-reruns)")
    p.add_argument("--max-reruns", type=int, default=3,
                   help="runs done again for load, at most, in all")
    p.add_argument("--room-rate", type=float, default=1.0,
                   help="rooms per core: relayed messages per second per room of three")
    p.add_argument("--call-minutes", type=float, default=10.0,
                   help="rooms per core: a call's length (each participant joins and leaves "
                        "once per call)")
    p.add_argument("--servers", default="baseline,node,trio",
                   help="comma-separated, from: baseline, node, before, trio and the "
                        "--variant names (trio last)")
    p.add_argument("--before-src", type=Path,
                   help="the 'before' column: trio-server run from this src/ folder (e.g. "
                        "another commit's, from git archive), same options as trio")
    p.add_argument("--variant", action="append", default=[], type=variant_arg,
                   metavar="NAME=SRC",
                   help="repeatable: one more column NAME, trio-server run from the src/ folder "
                        "SRC (as --before-src; name it in --servers)")
    p.add_argument("--node-original", type=Path, default=NODE_ORIGINAL,
                   help="the Node original's folder (server.mjs, package.json, package-lock.json)")
    p.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default all")
    p.add_argument("--quick", action="store_true",
                   help="short settings to check the setup (2 s relays, 600 idle connections)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, whatever else is given (one run, the load generator's "
                        "--smoke): checks that the bench runs (CI), not the figures")
    p.add_argument("--duration", type=float, default=10.0, help="relay/paced seconds")
    p.add_argument("--rounds", type=int, default=3, help="join-storm rounds")
    p.add_argument("--connections", type=int, default=3000, help="idle connections")
    p.add_argument("--rate", type=int, default=None, help="paced messages/s (loadgen: 10,000)")
    p.add_argument("--arrivals", choices=("poisson", "tick"), default="poisson",
                   help="paced: each connection on its own Poisson process (default; a run "
                        "whose sends clumped is void), or 1 ms ticks (figures before 2026-12-06)")
    p.add_argument("--paced-halves", action="store_true",
                   help="paced: each round runs every server twice for half the duration, the "
                        "second time in the reverse order, and merges the halves")
    p.add_argument("--trio-arg", action="append", default=[],
                   help="extra argument for trio-server (repeatable)")
    p.add_argument("--json-out", type=Path, help="write every raw result here")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.connections = 2.0, 1, 600
    if args.smoke:
        args.runs, args.duration, args.rounds, args.connections = 1, 0.5, 1, 30
        args.max_reruns = 0
    if not 1 <= args.runs <= 20:
        p.error("--runs must be 1..20")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = args.scenario or list(SCENARIOS)
    extra = loadgen_args(args)
    timeout = 240 + 3 * args.duration
    results: list[dict[str, Any]] = []
    #: Runs done again for load: their results, kept for --json-out only.
    discarded: list[dict[str, Any]] = []
    loads: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        commands = server_commands(args, Path(tmp))
        wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in commands and s != "node"]
        if unknown:
            raise SystemExit(f"unknown server(s) {unknown}; known: {sorted(commands)}")
        servers = [s for s in wanted if s in commands]
        meter = LoadMeter()
        reruns_left = args.max_reruns
        run = 0
        while run < args.runs:
            shift = run % len(servers)
            order = servers[shift:] + servers[:shift]
            meter.start()
            here = run_round(run, order, scenarios, commands, extra, timeout, Path(tmp),
                             started, args.runs, halves=args.paced_halves)
            sample = meter.stop()
            busy = sample.others_cores is not None and sample.others_cores > args.max_load
            for result in here:
                result.update(load=sample.as_dict())
            loads.append({"run": run, **sample.as_dict(), "rerun": busy and reruns_left > 0})
            print(f"[bench] run {run + 1}: load average {sample.load_start:.2f} -> "
                  f"{sample.load_end:.2f}, other processes {fmt(sample.others_cores)} cores"
                  + (" (over --max-load: run again)" if busy and reruns_left > 0 else ""),
                  file=sys.stderr)
            if busy and reruns_left > 0:
                reruns_left -= 1
                discarded.extend(dict(r, discarded=True) for r in here)
                continue
            results.extend(here)
            run += 1
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for r in [*results, *discarded]))
    settings = (f"relay/paced {args.duration:g} s ({args.arrivals} arrivals), join storm "
                f"{args.rounds} round(s) of 100 rooms x 3, churn, idle {args.connections} "
                f"connections")
    print(report(results, servers, args.runs, settings))
    print(load_report(loads, args.max_load, args.max_reruns))
    print(capacity_report(results, servers, args.room_rate, args.call_minutes))
    return 1 if any("error" in r for r in results) else 0


def run_round(run: int, order: Sequence[str], scenarios: Sequence[str],
              commands: dict[str, list[str]], extra: Sequence[str], timeout: float,
              tmp: Path, started: float, runs: int, halves: bool = False
              ) -> list[dict[str, Any]]:
    """One round: every scenario on every server (in ``order``), a fresh server each time.

    With ``halves``, the paced scenario runs twice per server for half the duration each, the
    second time in the reverse order (A B C, then C B A), and each server's two halves are
    merged (:func:`merge_halves`): a drift of the machine during the round then weighs on
    every server alike, and each figure is two fresh processes' rather than one's.
    """
    results: list[dict[str, Any]] = []
    for scenario in scenarios:
        if halves and scenario == "paced":
            passes = [list(order), list(order)[::-1]]
            here_extra = half_duration(extra)
        else:
            passes, here_extra = [list(order)], list(extra)
        parts: dict[str, list[dict[str, Any]]] = {name: [] for name in order}
        for names in passes:
            for name in names:
                result = run_one(name, scenario, commands, here_extra, timeout, tmp)
                result.update(label=name, run=run)
                parts[name].append(result)
                print(f"[{time.monotonic() - started:6.1f}s] run {run + 1}/{runs} "
                      f"{scenario:10} {name:8} " + summary(result), file=sys.stderr)
        for name in order:
            results.append(parts[name][0] if len(parts[name]) == 1
                           else merge_halves(parts[name]))
    return results


def run_one(name: str, scenario: str, commands: dict[str, list[str]], extra: Sequence[str],
            timeout: float, tmp: Path) -> dict[str, Any]:
    """One scenario on a freshly started server ``name``."""
    try:
        server = ServerProcess(name, commands[name], tmp)
    except RuntimeError as exc:
        return {"scenario": scenario, "error": str(exc)}
    try:
        result = run_loadgen(server, scenario, extra, timeout)
    finally:
        rc = server.stop()
    result.update(server_exit=rc)
    return result


def half_duration(extra: Sequence[str]) -> list[str]:
    """The load generator's arguments with ``--duration`` halved."""
    out = list(extra)
    i = out.index("--duration")
    out[i + 1] = f"{float(out[i + 1]) / 2:g}"
    return out


#: Counts summed over the halves of a paced round; figures of rate or latency are averaged.
_SUMMED = ("sent", "delivered", "server_cpu_s", *ZERO_COUNTS)
_AVERAGED = ("latency_p50_ms", "latency_p99_ms", "delivered_per_s", "send_lag_p99_ms",
             "loadgen_cpu_s")


def merge_halves(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's halves of a paced round as one result: CPU per message over both halves
    (their CPU over their messages), latencies the mean of the halves'; void if either half
    is (the halves' own figures are kept under ``halves``)."""
    merged = dict(parts[0])
    for key in _SUMMED:
        values: list[float] = [p[key] for p in parts if isinstance(p.get(key), int | float)]
        if len(values) == len(parts):
            merged[key] = round(sum(values), 4) if key == "server_cpu_s" else sum(values)
    for key in _AVERAGED:
        values = [p[key] for p in parts if isinstance(p.get(key), int | float)]
        if len(values) == len(parts):
            merged[key] = round(sum(values) / len(values), 3)
    cpu, delivered = merged.get("server_cpu_s"), merged.get("delivered")
    if isinstance(cpu, int | float) and isinstance(delivered, int) and delivered:
        merged["server_cpu_per_msg_us"] = round(cpu / delivered * 1e6, 3)
    errors = [str(p["error"]) for p in parts if "error" in p]
    merged.pop("error", None)
    if errors:
        merged["error"] = "; ".join(f"half: {e}" for e in errors)
    merged["halves"] = [{k: p.get(k) for k in ("server_cpu_per_msg_us", "latency_p99_ms",
                                               "error") if k in p} for p in parts]
    return merged


def load_report(loads: list[dict[str, Any]], max_load: float, max_reruns: int) -> str:
    """Each run's load: the machine's load average and what other processes used."""
    out = ["", f"Load per run (a run whose other processes used more than {max_load:g} cores is "
           f"run again, {max_reruns} time(s) at most in all):", "",
           "| run | load average start -> end | other processes (cores) | seconds | kept |",
           "|---|---|---|---|---|"]
    for item in loads:
        out.append(f"| {item['run'] + 1} | {item['load_start']} -> {item['load_end']} | "
                   f"{fmt(item['others_cores'])} | {item['seconds']} | "
                   f"{'no, run again' if item['rerun'] else 'yes'} |")
    kept_busy = [i for i in loads if not i["rerun"] and i["others_cores"] is not None
                 and i["others_cores"] > max_load]
    if kept_busy:
        out.append(f"\n{len(kept_busy)} run(s) kept over {max_load:g} cores of other load: "
                   "the reruns were used up.")
    return "\n".join(out)


def capacity_report(results: list[dict[str, Any]], servers: Sequence[str], room_rate: float,
                    call_minutes: float) -> str:
    """Rooms one core serves at a realistic signaling rate, from the measured medians.

    A room of three relays ``room_rate`` messages a second (paced CPU per message) and its
    three participants each come and go once per call of ``call_minutes`` (churn CPU per
    lifecycle): a core's second divided by what one room costs in it.
    """
    out = ["", f"Rooms per core at {room_rate:g} relayed messages/s per room and 3 participant "
           f"lifecycles per {call_minutes:g}-minute call (paced CPU per message, churn CPU per "
           "lifecycle):", ""]
    cells = []
    for name in servers:
        msg = median_and_spread(collect(results, name, "paced", "server_cpu_per_msg_us"))
        note = ""
        if msg is None:  # every paced run void (a loaded machine): say so, but say something
            void = [r.get("server_cpu_per_msg_us") for r in results
                    if r.get("label") == name and r.get("scenario") == "paced"
                    and str(r.get("error", "")).startswith("void run")]
            msg = median_and_spread(void)
            note = " (from void paced runs)"
        life = median_and_spread(collect(results, name, "churn", "server_cpu_per_lifecycle_us"))
        if msg is None or life is None:
            cells.append(f"{name}: n/a")
            continue
        per_room_us = room_rate * msg[0] + 3 * life[0] / (call_minutes * 60)
        cells.append(f"{name}: {fmt(1e6 / per_room_us)}{note}")
    out.append("; ".join(cells))
    return "\n".join(out)


def summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return "ERROR " + str(result["error"])[:200]
    keys = ("server_cpu_per_msg_us", "server_cpu_per_join_us", "server_bytes_per_conn",
            "latency_p99_ms", "lost", "undelivered", "reordered", "misrouted", "errors",
            "error_codes", "close_codes", "join_errors")
    return " ".join(f"{k}={result[k]}" for k in keys if result.get(k) not in (None, {}))


if __name__ == "__main__":
    sys.exit(main())

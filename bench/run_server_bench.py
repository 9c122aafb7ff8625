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

HERE = Path(__file__).resolve().parent
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
SCENARIOS = ("idle", "join-storm", "relay", "paced")
ZERO_COUNTS = ("lost", "undelivered", "misrouted", "reordered", "duplicated", "corrupted", "errors",
               "disconnects")

#: (label, scenario, metric, {baseline: target ratio trio/baseline}); lower is better.
TARGETS: list[tuple[str, str, str, dict[str, float]]] = [
    ("server CPU per relayed message, relay (µs)", "relay", "server_cpu_per_msg_us",
     {"baseline": 0.75, "node": 0.9}),
    ("server CPU per relayed message, paced (µs)", "paced", "server_cpu_per_msg_us",
     {"baseline": 0.75, "node": 1.0}),
    ("server CPU per join (µs)", "join-storm", "server_cpu_per_join_us",
     {"baseline": 1.0, "node": 1.0}),
    ("server CPU per participant: connect + join + close (µs)", "join-storm",
     "server_cpu_per_lifecycle_us", {"baseline": 1.0, "node": 1.0}),
    ("idle server bytes per connection", "idle", "server_bytes_per_conn",
     {"baseline": 1.0, "node": 0.7}),
    ("paced relay p99 latency (ms)", "paced", "latency_p99_ms", {"baseline": 1.0, "node": 1.0}),
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
    if "node" in args.servers:
        node = install_node_original(args.node_original, tmp / "node-original")
        if node is not None:
            commands["node"] = node
    return commands


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=3, help="runs of every scenario on every server")
    p.add_argument("--servers", default="baseline,node,trio",
                   help="comma-separated, from: baseline, node, trio (trio last)")
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
    p.add_argument("--trio-arg", action="append", default=[],
                   help="extra argument for trio-server (repeatable)")
    p.add_argument("--json-out", type=Path, help="write every raw result here")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.connections = 2.0, 1, 600
    if args.smoke:
        args.runs, args.duration, args.rounds, args.connections = 1, 0.5, 1, 30
    if not 1 <= args.runs <= 20:
        p.error("--runs must be 1..20")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = args.scenario or list(SCENARIOS)
    extra = loadgen_args(args)
    timeout = 240 + 3 * args.duration
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        commands = server_commands(args, Path(tmp))
        wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in commands and s != "node"]
        if unknown:
            raise SystemExit(f"unknown server(s) {unknown}; known: {sorted(commands)}")
        servers = [s for s in wanted if s in commands]
        for run in range(args.runs):
            shift = run % len(servers)
            order = servers[shift:] + servers[:shift]
            for scenario in scenarios:
                for name in order:
                    try:
                        server = ServerProcess(name, commands[name], Path(tmp))
                    except RuntimeError as exc:
                        results.append({"label": name, "scenario": scenario, "run": run,
                                        "error": str(exc)})
                        continue
                    try:
                        result = run_loadgen(server, scenario, extra, timeout)
                    finally:
                        rc = server.stop()
                    result.update(label=name, run=run, server_exit=rc)
                    results.append(result)
                    print(f"[{time.monotonic() - started:6.1f}s] run {run + 1}/{args.runs} "
                          f"{scenario:10} {name:8} " + summary(result), file=sys.stderr)
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(r) + "\n" for r in results))
    settings = (f"relay/paced {args.duration:g} s, join storm {args.rounds} round(s) of "
                f"100 rooms x 3, idle {args.connections} connections")
    print(report(results, servers, args.runs, settings))
    return 1 if any("error" in r for r in results) else 0


def summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return "ERROR " + str(result["error"])[:200]
    keys = ("server_cpu_per_msg_us", "server_cpu_per_join_us", "server_bytes_per_conn",
            "latency_p99_ms", "lost", "undelivered", "reordered", "misrouted", "errors",
            "error_codes", "close_codes", "join_errors")
    return " ".join(f"{k}={result[k]}" for k in keys if result.get(k) not in (None, {}))


if __name__ == "__main__":
    sys.exit(main())

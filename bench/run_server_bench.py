"""Runs the Trio server and the `websockets` baseline side by side and prints the comparison.

Both servers are measured in the same run, by the same load generator, on the same machine, so
the ratios trio/baseline mean something even on a shared two-core box where absolute figures
drift. Every (run, scenario, server) gets a freshly started server process (RSS only tells the
truth from a clean start, and no scenario inherits another's garbage); the order of the two
servers alternates from run to run so that a slow minute hurts both alike. Medians are reported,
with the spread over runs.

    python bench/run_server_bench.py --runs 5
    python bench/run_server_bench.py --quick            # short settings, to check the setup
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

#: (label, scenario, metric, target ratio trio/baseline or None, lower is better)
TARGETS: list[tuple[str, str, str, float | None]] = [
    ("server CPU per relayed message, relay (µs)", "relay", "server_cpu_per_msg_us", 0.75),
    ("server CPU per relayed message, paced (µs)", "paced", "server_cpu_per_msg_us", 0.75),
    ("server CPU per join (µs)", "join-storm", "server_cpu_per_join_us", 1.0),
    ("idle server bytes per connection", "idle", "server_bytes_per_conn", 1.0),
    ("paced relay p99 latency (ms)", "paced", "latency_p99_ms", 1.0),
]
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
        self.proc = subprocess.Popen(
            [*command, "--port", str(port)], stdout=self._log, stderr=subprocess.STDOUT,
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


def report(results: list[dict[str, Any]], servers: Sequence[str], runs: int,
           settings: str) -> str:
    base, other = servers[0], servers[-1]
    out = [f"Side by side, {runs} run(s) each, fresh server per scenario; {settings}.",
           "Cells: median (min-max over runs). Ratio = median(trio) / median(baseline).", ""]
    out += [f"| target | {base} | {other} | ratio | target | met |", "|---|---|---|---|---|---|"]
    for label, scenario, metric, target in TARGETS:
        b = median_and_spread(collect(results, base, scenario, metric))
        t = median_and_spread(collect(results, other, scenario, metric))
        ratio = t[0] / b[0] if b and t and b[0] else None
        met = "n/a" if ratio is None or target is None else ("yes" if ratio <= target else "NO")
        out.append(f"| {label} | {cell(b)} | {cell(t)} | "
                   f"{'n/a' if ratio is None else f'{ratio:.2f}x'} | ≤ {target}x | {met} |")
    for name in servers:
        totals = {c: sum(v or 0 for s in ("relay", "paced") for v in collect(results, name, s, c))
                  for c in ZERO_COUNTS}
        totals["join_errors"] = sum(v or 0 for v in collect(results, name, "join-storm",
                                                            "join_errors"))
        bad = {k: v for k, v in totals.items() if v}
        out.append(f"| {', '.join(totals)}: {name}, all runs | {bad if bad else '0'} "
                   f"| | | = 0 | {'yes' if not bad else 'NO'} |")
    out += ["", f"| other figures | {base} | {other} | ratio |", "|---|---|---|---|"]
    for label, scenario, metric in FIGURES:
        b = median_and_spread(collect(results, base, scenario, metric))
        t = median_and_spread(collect(results, other, scenario, metric))
        ratio_text = f"{t[0] / b[0]:.2f}x" if b and t and b[0] else "n/a"
        out.append(f"| {label} | {cell(b)} | {cell(t)} | {ratio_text} |")
    errors = [r for r in results if "error" in r]
    if errors:
        out += ["", "Failed measurements:"]
        out += [f"- {r.get('label')} {r.get('scenario')}: {r['error'][:300]}" for r in errors]
    return "\n".join(out)


def server_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    trio = shutil.which("trio-server", path=str(Path(sys.executable).parent)) or "trio-server"
    return {
        "baseline": [sys.executable, str(HERE / "baselines" / "websockets_relay.py")],
        # The per-connection rate limit (default 200 msg/s) guards against abusive clients; the
        # relay scenario's senders exceed it on purpose. It is raised, not turned off, so the
        # token-bucket check still runs (and costs) on every message, as in production.
        # The session ledger is off like the baseline's (it has none); bench/ledger_bench.py
        # measures its cost on its own.
        "trio": [trio, "--log-level", "warning", "--max-participants", "8", "--db", "none",
                 "--rate-limit", "1000000", "--rate-limit-burst", "1000000", *args.trio_arg],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=3, help="runs of every scenario on every server")
    p.add_argument("--servers", default="baseline,trio", help="comma-separated: baseline,trio")
    p.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default all")
    p.add_argument("--quick", action="store_true",
                   help="short settings to check the setup (2 s relays, 600 idle connections)")
    p.add_argument("--duration", type=float, default=10.0, help="relay/paced seconds")
    p.add_argument("--rounds", type=int, default=3, help="join-storm rounds")
    p.add_argument("--connections", type=int, default=3000, help="idle connections")
    p.add_argument("--rate", type=int, default=None, help="paced messages/s (loadgen: 10,000)")
    p.add_argument("--trio-arg", action="append", default=[],
                   help="extra argument for trio-server (repeatable)")
    p.add_argument("--json-out", type=Path, help="write every raw result here")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.connections = 2.0, 1, 600
    if not 1 <= args.runs <= 20:
        p.error("--runs must be 1..20")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commands = server_commands(args)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [s for s in servers if s not in commands]
    if unknown:
        raise SystemExit(f"unknown server(s) {unknown}; known: {sorted(commands)}")
    scenarios = args.scenario or list(SCENARIOS)
    extra = loadgen_args(args)
    timeout = 240 + 3 * args.duration
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        for run in range(args.runs):
            order = servers if run % 2 == 0 else servers[::-1]
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

"""Start a server under test as a subprocess and learn its port from its log line.

Our servers print ``listening on <scheme>://127.0.0.1:PORT`` once they accept connections
(``--port 0`` picks a free port). The Node original (our reconstruction) is given a free port
and waited for by connecting. The output is drained by a thread for the whole life of the
process, so a chatty server never blocks on a full pipe, and kept for failure messages.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

from testkit.ports import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "embed_asyncio.py"
LISTENING = re.compile(r"listening on (?:https?|wss?)://([0-9.]+):(\d+)")
STARTUP_SECONDS = 20.0


@attrs.define
class RunningServer:
    process: subprocess.Popen[str]
    host: str
    port: int
    output: list[str]

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def log(self) -> str:
        return "".join(self.output[-60:])


def script(name: str) -> list[str]:
    """A console script of this virtualenv, or its module form when it is not installed."""
    path = Path(sys.executable).with_name(name)
    if path.exists():
        return [str(path)]
    modules = {"signaling-conformance": "trio_server.conformance.cli", "trio-server":
               "trio_server.cli"}
    return [sys.executable, "-m", modules[name]]



def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_server(argv: Sequence[str], *, port: int | None = None,
                   cwd: Path = REPO) -> Iterator[RunningServer]:
    """Run ``argv`` until the block ends; SIGTERM, then SIGKILL after five seconds.

    Without ``port`` the server's log line names its port; with it, the server is ready once
    that port accepts a connection.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, cwd=cwd)
    output: list[str] = []
    found: list[tuple[str, int]] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = LISTENING.search(line)
            if match and not found:
                found.append((match.group(1), int(match.group(2))))
                ready.set()
        ready.set()  # the process ended: stop waiting

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if port is None:
            ready.wait(STARTUP_SECONDS)
        else:
            deadline = time.monotonic() + STARTUP_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                if _accepts(port):
                    found.append(("127.0.0.1", port))
                    break
                time.sleep(0.1)
        if not found:
            raise RuntimeError(f"{argv[0]} did not report its port within {STARTUP_SECONDS}s:"
                               f"\n{''.join(output[-40:])}")
        host, port = found[0]
        yield RunningServer(process, host, port, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        reader.join(5)


#: Our reconstruction of the original Node server (bench/baselines/node_original/README.md),
#: read-only; copied to a temporary directory for each run.
NODE_BASELINE = REPO / "bench" / "baselines" / "node_original"
NODE_FILES = ("package.json", "package-lock.json", "server.mjs")
NPM_SECONDS = 180.0


@contextmanager
def running_node_original() -> Iterator[RunningServer]:
    """The reconstructed Node server, installed from its folder into a temporary directory
    with ``npm ci`` (the lock file pins ``ws``; the folder stays untouched), on a free port."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("node and npm are needed to run the original Node server "
                           "(scripts/test.sh installs them)")
    with tempfile.TemporaryDirectory(prefix="node-original-") as tmp:
        work = Path(tmp)
        for name in NODE_FILES:
            shutil.copyfile(NODE_BASELINE / name, work / name)
        subprocess.run([npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=work,
                       check=True, timeout=NPM_SECONDS, capture_output=True)
        port = free_port()
        with running_server([node, "server.mjs", str(port)], port=port, cwd=work) as server:
            yield server


@attrs.frozen
class SuiteRun:
    returncode: int
    lines: list[str]
    stderr: str

    @property
    def summary(self) -> str:
        return self.lines[-1] if self.lines else ""

    def results(self) -> dict[str, bool]:
        """Case name -> passed, from the ``PASS|FAIL name: detail`` lines."""
        out = {}
        for line in self.lines:
            verdict, _, rest = line.partition(" ")
            if verdict in ("PASS", "FAIL"):
                out[rest.split(":", 1)[0]] = verdict == "PASS"
        return out

    def failures(self) -> list[str]:
        return [line for line in self.lines if line.startswith("FAIL")]


def run_suite(url: str, *args: str, timeout: float = 120.0) -> SuiteRun:
    """Run ``signaling-conformance`` as a user would; bounded by ``timeout``."""
    done = subprocess.run([*script("signaling-conformance"), url, *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)
    return SuiteRun(done.returncode, done.stdout.splitlines(), done.stderr)

"""A dispatch fleet in real processes: a Redis, a ``trio-server --orb-dispatch`` and ``orb-worker``
pool members, plus a light coach that speaks the protocol over a plain WebSocket.

Test and bench tooling only (``tests/dispatch``, ``bench/orb_dispatch.py``). Every process is
started on a free loopback port and stopped (then killed, if need be) by :meth:`Fleet.close`;
every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import IO, Any

import redis
from websockets.asyncio.client import ClientConnection, connect

from signaling_core import join_message
from testkit.ports import free_port

BIN = os.path.dirname(sys.executable)
ORB_PREFIX = "ai-orb-"
#: Bound for an orb-worker to start: it loads its models before it joins the pool.
WORKER_START_SECONDS = 60.0


class RedisProcess:
    """``redis-server`` on a loopback port, without persistence (a restart starts empty)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="orb-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed (apt-get install redis-server)"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True,
                           socket_timeout=2, socket_connect_timeout=2)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


class LogTail:
    """Collects a process's output lines on a thread (so its pipe never fills)."""

    def __init__(self, stream: IO[str], echo: str | None = None) -> None:
        self.lines: list[str] = []
        self._echo = echo
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            if self._echo is not None:
                print(f"[{self._echo}] {line}", end="", file=sys.stderr)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        seen = 0
        while time.monotonic() < deadline:
            while seen < len(self.lines):
                match = regex.search(self.lines[seen])
                seen += 1
                if match:
                    return match
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; last lines: "
                             f"{self.lines[-15:]}")

    def text(self) -> str:
        return "\n".join(self.lines)


class Proc:
    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                 echo: bool = False) -> None:
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        self.log = LogTail(self.proc.stdout, name if echo else None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return None
        return self.proc.returncode


class Fleet:
    """One server and its workers around one Redis; :meth:`close` ends them all."""

    def __init__(self, redis_proc: RedisProcess, *, echo: bool = False) -> None:
        self.redis = redis_proc
        self.server: Proc | None = None
        self.port: int | None = None
        self.workers: list[Proc] = []
        #: Arguments every worker of this fleet gets (before a call's own ``extra``).
        self.worker_args: tuple[str, ...] = ()
        self._echo = echo

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_server(self, *extra: str, dispatch_timeout: float = 10.0,
                     env: dict[str, str] | None = None) -> Proc:
        argv = [os.path.join(BIN, "trio-server"), "--port", "0", "--db", "none", "--orbs",
                "--orb-dispatch", self.redis.url,
                "--orb-dispatch-timeout", str(dispatch_timeout), *extra]
        self.server = Proc("server", argv, env={**os.environ, **(env or {})}, echo=self._echo)
        match = self.server.log.wait_for(r"listening on https?://127\.0\.0\.1:(\d+)", 20)
        self.port = int(match.group(1))
        return self.server

    def start_worker(self, capacity: int, *extra: str, wait: bool = True,
                     size: tuple[int, int, float] = (96, 64, 8.0),
                     env: dict[str, str] | None = None, url: str | None = None) -> Proc:
        """``url``: where its orbs join (default this fleet's server; a balancer is fine)."""
        width, height, fps = size
        argv = [os.path.join(BIN, "orb-worker"), "--dispatch", self.redis.url,
                "--url", url or self.ws_url, "--capacity", str(capacity), "--width", str(width),
                "--height", str(height), "--fps", str(fps), *self.worker_args, *extra]
        base = {k: v for k, v in os.environ.items() if k != "SIGNALING_JOIN_SECRET"}
        worker = Proc(f"worker{len(self.workers) + 1}", argv, env={**base, **(env or {})},
                      echo=self._echo)
        self.workers.append(worker)
        if wait:
            # It loads its voice, speech-to-text and end-of-turn models first (warm_up.py):
            # 9 s for Piper alone at load 10, so the bound is generous.
            worker.log.wait_for(r"joins the pool", WORKER_START_SECONDS)
            self.wait_workers(lambda alive: worker_id_of(worker) in alive, 10)
        return worker

    def wait_workers(self, predicate: Callable[[set[str]], bool], timeout: float) -> None:
        client = self.redis.client()
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(redis.RedisError):
                    alive = {w for w in client.smembers("orb:workers")
                             if client.exists(f"orb:worker:{w}")}
                    if predicate(alive):
                        return
                time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError("workers did not reach the expected state in Redis")

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.http_url + path, timeout=5) as response:
            return json.loads(response.read())

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.http_url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if line.startswith("signaling_orb") and " " in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def wait_metrics(self, expected: dict[str, float], timeout: float = 5.0) -> dict[str, float]:
        """``/metrics`` once every name in ``expected`` has its value (the host reads the
        fleet's state periodically)."""
        deadline = time.monotonic() + timeout
        while True:
            values = self.metrics()
            if all(values.get(k) == v for k, v in expected.items()):
                return values
            if time.monotonic() > deadline:
                raise AssertionError(f"metrics {expected} not reached: {values}")
            time.sleep(0.1)

    def wait_metrics_at_least(self, name: str, least: float, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            value = self.metrics().get(name, 0.0)
            if value >= least:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} stayed at {value} (< {least}) for {timeout}s")
            time.sleep(0.1)

    def placements(self) -> dict[str, Any]:
        rooms = self.get_json("/api/rooms")["rooms"]
        return {room["roomId"]: room.get("orbHost") for room in rooms}

    def wait_placed(self, rooms: list[str], timeout: float = 5.0) -> dict[str, Any]:
        """``/api/rooms`` placements once each of ``rooms`` shows the worker running its orb."""
        deadline = time.monotonic() + timeout
        while True:
            placements = self.placements()
            if all((placements.get(r) or {}).get("worker") for r in rooms):
                return placements
            if time.monotonic() > deadline:
                raise AssertionError(f"orbs not placed within {timeout}s: {placements}")
            time.sleep(0.05)

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.proc.kill()
                worker.proc.wait(5)
        if self.server is not None:
            self.server.stop()


def worker_id_of(worker: Proc) -> str:
    match = re.search(r"worker (\S+) joins the pool", worker.log.text())
    assert match, "the worker has not announced itself"
    return match.group(1)


class Coach:
    """A human over a plain WebSocket (no media): enough to see orbs come and go."""

    def __init__(self, ws_url: str, room_id: str, user_id: str = "coach-1",
                 role: str = "coach", token: str | None = None) -> None:
        self.url = f"{ws_url}/ws-simple/{room_id}"
        self.room_id = room_id
        self.user_id = user_id
        self.role = role
        self.token = token
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.joined_at = 0.0
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self._ws = await asyncio.wait_for(connect(self.url), 10)
        self.joined_at = time.monotonic()
        message = join_message(self.room_id, self.user_id, self.role, user_name=self.user_id)
        if self.token is not None:
            message["token"] = self.token
        await self._ws.send(json.dumps(message))
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(Exception):
            async for raw in self._ws:
                self.messages.append((time.monotonic(), json.loads(raw)))
                self._changed.set()

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # ---------------------------------------------------------------- observations
    def orb_events(self) -> list[tuple[float, str, str]]:
        """(time, "joined"/"left", userId) of every orb coming and going, in order."""
        out = []
        for t, msg in self.messages:
            if msg.get("type") == "peer-discovery":
                for peer in msg.get("peers", []):
                    if str(peer.get("userId", "")).startswith(ORB_PREFIX):
                        out.append((t, "joined", peer["userId"]))
            elif msg.get("type") in ("user-joined", "user-left") \
                    and str(msg.get("userId", "")).startswith(ORB_PREFIX):
                out.append((t, msg["type"][5:], msg["userId"]))
        return out

    def orbs_present(self) -> set[str]:
        present: set[str] = set()
        for _, kind, uid in self.orb_events():
            if kind == "joined":
                present.add(uid)
            else:
                present.discard(uid)
        return present

    def most_orbs_at_once(self) -> int:
        present: set[str] = set()
        most = 0
        for _, kind, uid in self.orb_events():
            if kind == "joined":
                present.add(uid)
            else:
                present.discard(uid)
            most = max(most, len(present))
        return most

    def errors(self) -> list[str]:
        return [m.get("code", "") for _, m in self.messages if m.get("type") == "error"]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float,
                         what: str) -> float:
        """Wait (bounded) for ``predicate``; returns when it held (monotonic time)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.room_id}/{self.user_id}: no {what} within "
                                     f"{timeout}s; got {[m for _, m in self.messages][-8:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
        return time.monotonic()

"""A cluster in real processes: N ``trio-server`` nodes behind a real HAProxy running
``deploy/haproxy.cfg`` as it is (its variables point it at the nodes).

Test and bench tooling only (``tests/cluster``, ``bench/cluster.py``). Ports are free loopback
ports; every wait is bounded; :meth:`Cluster.close` stops everything it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testkit.fleet import BIN, Proc, free_port

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
#: The config names three servers; a cluster of fewer leaves the rest on a closed port.
CONFIG_NODES = 3


def make_pem(directory: Path) -> Path:
    """A throwaway self-signed certificate and key in one PEM (HAProxy's ``crt``)."""
    pem = directory / "cluster.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True, timeout=30)
    pem.write_bytes((directory / "cert.pem").read_bytes() + (directory / "key.pem").read_bytes())
    return pem


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class Cluster:
    """Nodes ``node1..nodeN`` and HAProxy; :attr:`url` is the balancer's ``ws://``."""

    def __init__(self, nodes: int = 3, *, node_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None, echo: bool = False) -> None:
        assert 1 <= nodes <= CONFIG_NODES
        self.count = nodes
        self.node_args = node_args
        self.env = {**os.environ, **(env or {})}
        self.echo = echo
        self.dir = Path(tempfile.mkdtemp(prefix="cluster-"))
        self.ports = [free_port() for _ in range(CONFIG_NODES)]
        self.port = free_port()
        self.tls_port = free_port()
        self.nodes: dict[int, Proc] = {}
        self.haproxy: Proc | None = None
        self.pem = make_pem(self.dir)

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def wss_url(self) -> str:
        return f"wss://127.0.0.1:{self.tls_port}"

    def node_http(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index - 1]}"

    # ------------------------------------------------------------------ processes

    def start(self) -> Cluster:
        for index in range(1, self.count + 1):
            self.start_node(index)
        self.start_haproxy()
        return self

    def start_haproxy(self) -> Proc:
        """HAProxy on the cluster's ports, with ``deploy/haproxy.cfg`` as it is; returns once
        it sees every running node UP. Also a restart after :meth:`kill_haproxy`: same
        config, same ports, an empty stick table (rooms go where the hash puts them)."""
        exe = shutil.which("haproxy")
        assert exe, "haproxy is not installed (apt-get install haproxy)"
        env = {**self.env, "CLUSTER_BIND": f"127.0.0.1:{self.port}",
               "CLUSTER_TLS_BIND": f"127.0.0.1:{self.tls_port}",
               "CLUSTER_CERT": str(self.pem), "CLUSTER_STATE_DIR": str(self.dir),
               **{f"NODE{i + 1}": f"127.0.0.1:{port}" for i, port in enumerate(self.ports)}}
        self.haproxy = Proc("haproxy", [exe, "-db", "-f", str(HAPROXY_CFG)], env=env,
                            echo=self.echo)
        self.wait_up({i for i, proc in self.nodes.items() if proc.alive()})
        return self.haproxy

    def kill_haproxy(self) -> None:
        """``kill -9`` the balancer: every connection through it drops without a close frame
        (the nodes see their clients lost, the clients their server)."""
        assert self.haproxy is not None
        self.haproxy.proc.send_signal(signal.SIGKILL)
        self.haproxy.proc.wait(10)

    def start_node(self, index: int, *extra: str) -> Proc:
        argv = [f"{BIN}/trio-server", "--host", "127.0.0.1",
                "--port", str(self.ports[index - 1]), "--node-id", f"node{index}",
                "--trusted-proxy", "127.0.0.1/32", *self.node_args, *extra]
        proc = Proc(f"node{index}", argv, env=self.env, echo=self.echo)
        proc.log.wait_for(r"listening on", 15)
        self.nodes[index] = proc
        return proc

    def kill_node(self, index: int) -> None:
        """``kill -9``: no close frames, no drain; HAProxy finds out by itself."""
        proc = self.nodes[index]
        proc.proc.send_signal(signal.SIGKILL)
        proc.proc.wait(10)

    def admin(self, command: str) -> str:
        """One command on HAProxy's admin socket (``show table rooms``, ``show stat``)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.dir / "haproxy.sock"))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[int, str]:
        """HAProxy's view of each node in the rooms backend: UP, DOWN, ..."""
        states: dict[int, str] = {}
        lines = self.admin("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "rooms" and row.get("svname", "").startswith("node"):
                states[int(row["svname"][4:])] = row.get("status", "")
        return states

    def wait_up(self, nodes: set[int], timeout: float = 15.0) -> None:
        """Until HAProxy sees exactly ``nodes`` UP (and its admin socket answers)."""
        deadline = time.monotonic() + timeout
        last: dict[int, str] = {}
        while time.monotonic() < deadline:
            try:
                last = self.server_states()
            except OSError:
                time.sleep(0.05)
                continue
            if {i for i, state in last.items() if state.startswith("UP")} == nodes:
                return
            time.sleep(0.05)
        raise AssertionError(f"HAProxy did not see nodes {sorted(nodes)} up: {last}")

    def _live_rooms(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(node id, room) for every room of every live node, each node asked directly."""
        for index, proc in self.nodes.items():
            if not proc.alive():
                continue
            try:
                body = get_json(self.node_http(index) + "/api/rooms")
            except (OSError, urllib.error.URLError):
                continue
            for room in body["rooms"]:
                yield body["node"], room

    def rooms_by_node(self) -> dict[str, set[str]]:
        """room id -> the nodes (directly asked, live ones only) that hold it."""
        where: dict[str, set[str]] = {}
        for node, room in self._live_rooms():
            where.setdefault(room["roomId"], set()).add(node)
        return where

    def members_by_room(self) -> dict[str, dict[str, dict[str, str]]]:
        """room id -> node -> {userId: participantType} of that room there (live nodes only,
        directly asked): "whole on exactly one node" is one node key holding every seat."""
        where: dict[str, dict[str, dict[str, str]]] = {}
        for node, room in self._live_rooms():
            where.setdefault(room["roomId"], {})[node] = {
                p["userId"]: p["participantType"] for p in room["participants"]}
        return where

    def close(self) -> None:
        for proc in [*self.nodes.values(), *([self.haproxy] if self.haproxy else [])]:
            proc.stop(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
